package e2e

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/parse"
)

// The iptables oracle of comma lists: iptables and ip6tables make of each
// case the rules ctmatch's Expand gives, in the same order (iptables -A
// appends them in that order, iptables -I puts the last first).
func TestIptablesOracleAddressLists(t *testing.T) {
	ns := ktest.Namespace(t, "iptables", "ip6tables")
	for _, c := range cases.AddressLists {
		r, err := parse.ParseArgs(c.Args, parse.Options{Family: c.Family})
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		var ours []string
		for _, e := range r.Expand() {
			ours = append(ours, e.String())
		}
		if diff := cmp.Diff(c.Want, ours); diff != "" {
			t.Errorf("%s: ctmatch's rules (-case +ctmatch):\n%s", c.Name, diff)
		}
		ktest.Run(t, ns, "", tool(c.Family, ""), "-F", "INPUT")
		ktest.Run(t, ns, "", tool(c.Family, ""), c.Args...)
		want := slices.Clone(c.Want)
		if r.Command.Op == parse.Insert {
			slices.Reverse(want)
			for i, w := range want {
				want[i] = "-A" + strings.TrimPrefix(w, "-I")
			}
		}
		if diff := cmp.Diff(want, savedRules(ktest.Run(t, ns, "", tool(c.Family, ""), "-S", "INPUT"))); diff != "" {
			t.Errorf("%s: %s %q saves (-ctmatch +iptables):\n%s", c.Name, tool(c.Family, ""), c.Args, diff)
		}
	}
}

// savedRules returns the -A lines of iptables -S.
func savedRules(out string) []string {
	var rules []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-A ") {
			rules = append(rules, l)
		}
	}
	return rules
}

// add rule, insert rule (at an index and at the top) and apply put the rules
// of comma lists where iptables puts them: the same commands given to
// iptables and to ctmatch leave the same rules in the same order, and list
// -o iptables shows each as a rule of its own. translate prints a line per
// rule, as iptables-translate does.
func TestCLIAddressLists(t *testing.T) {
	ns := ktest.Namespace(t, "iptables", "iptables-translate", "nft")
	bin := ctmatchCLI(t)
	steps := []struct {
		iptables []string // iptables' command
		ctmatch  []string // ctmatch's, with its words after "--"
		apply    string   // or an apply line
	}{
		{iptables: []string{"-A", "INPUT", "-s", "9.9.9.1", "-j", "ACCEPT"}, ctmatch: []string{"add", "rule", "--create", "ip", "t", "INPUT"}},
		{iptables: []string{"-A", "INPUT", "-s", "9.9.9.2", "-j", "ACCEPT"}, ctmatch: []string{"add", "rule", "ip", "t", "INPUT"}},
		{iptables: []string{"-I", "INPUT", "2", "-s", "7.7.7.7,8.8.8.8", "-j", "DROP"}, ctmatch: []string{"insert", "rule", "--index", "2", "ip", "t", "INPUT"}},
		{iptables: []string{"-A", "INPUT", "-s", "1.1.1.1,2.2.2.2", "-d", "3.3.3.3,4.4.4.4", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"}, ctmatch: []string{"add", "rule", "ip", "t", "INPUT"}},
		{iptables: []string{"-I", "INPUT", "-s", "5.5.5.5,6.6.6.6", "-j", "DROP"}, ctmatch: []string{"insert", "rule", "ip", "t", "INPUT"}},
		{iptables: []string{"-I", "INPUT", "4", "-d", "10.0.0.1,10.0.0.2,10.0.0.3", "-j", "RETURN"}, apply: "insert rule ip t INPUT --index 4 -- "},
		{iptables: []string{"-A", "INPUT", "-s", "11.0.0.1,11.0.0.2", "-j", "DROP"}, apply: "add rule ip t INPUT -- "},
	}
	for _, s := range steps {
		ktest.Run(t, ns, "", "iptables", s.iptables...)
		words := s.iptables[2:]
		if s.iptables[0] == "-I" && words[0] != "-s" && words[0] != "-d" {
			words = words[1:] // the rule number
		}
		if s.apply != "" {
			mustCLI(t, bin, ns, s.apply+strings.Join(words, " ")+"\n", "apply", "-f", "-")
			continue
		}
		mustCLI(t, bin, ns, "", append(append(s.ctmatch, "--"), words...)...)
	}
	want := savedRules(ktest.Run(t, ns, "", "iptables", "-S", "INPUT"))
	if len(want) != 15 {
		t.Fatalf("iptables made %d rules, want 15:\n%s", len(want), strings.Join(want, "\n"))
	}
	got := savedRules(mustCLI(t, bin, ns, "", "list", "chain", "ip", "t", "INPUT", "-o", "iptables"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ctmatch's chain against iptables' (-iptables +ctmatch):\n%s", diff)
	}

	// translate: one nft command per rule, as iptables-translate prints.
	for _, words := range [][]string{
		{"-A", "INPUT", "-s", "1.1.1.1,2.2.2.2", "-d", "3.3.3.3,4.4.4.4", "-j", "ACCEPT"},
		{"-I", "INPUT", "-s", "7.7.7.7,8.8.8.8", "-j", "DROP"},
	} {
		theirs := strings.Split(strings.TrimSpace(ktest.Run(t, ns, "", "iptables-translate", words...)), "\n")
		out, err := exec.Command(bin, append([]string{"translate", "--"}, words...)...).Output()
		if err != nil {
			t.Fatalf("ctmatch translate %q: %v", words, err)
		}
		ours := strings.Split(strings.TrimSpace(string(out)), "\n")
		for i, l := range theirs {
			// iptables-translate 1.8.9 leaves the "nft " off every second
			// line of an address list.
			if !strings.HasPrefix(l, "nft ") {
				theirs[i] = "nft " + l
			}
		}
		if diff := cmp.Diff(theirs, ours); diff != "" {
			t.Errorf("translate %q (-iptables-translate +ctmatch):\n%s", words, diff)
		}
	}
}
