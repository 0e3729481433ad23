package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// iptablesView is what iptables shows of the ruleset: iptables -S (its
// output, or its error) and iptables-save without its comment lines.
func iptablesView(t *testing.T, ns *netns.NS) (string, string) {
	t.Helper()
	s, serr, err := ktest.Exec(ns, "", "iptables", "-S")
	if err != nil {
		s = "error: " + serr
	}
	save := ktest.Run(t, ns, "", "iptables-save")
	var kept []string
	for _, l := range strings.Split(save, "\n") {
		if !strings.HasPrefix(l, "# Generated") && !strings.HasPrefix(l, "# Completed") {
			kept = append(kept, l)
		}
	}
	return s, strings.Join(kept, "\n")
}

// A table iptables-nft made is refused, in every shape it leaves (it marks
// its tables in no other way): with an xt match (iptables -m conntrack),
// with native rules only (iptables -j ACCEPT, iptables -s), with only a
// user chain (iptables -N), or empty (iptables -X) — with a message that
// says why and how to go on, and iptables goes on working as before; with
// --force the rule is written, and iptables -S and -L then fail on the
// table and iptables-save leaves it out for a comment (exit 0), which is
// what the refusal says and protects from. delete rule refuses the table
// too, and deletes with --force.
// A table named filter that ctmatch made is not refused.
func TestCLIIptablesTables(t *testing.T) {
	tools := []string{"nft", "iptables", "iptables-save"}
	for _, tc := range []struct {
		name  string
		setup [][]string
		chain string
		why   string
		saved string // what iptables-save shows of the setup; "-A CHAIN" when empty
		later string // why, once iptables -A made CHAIN; why when empty
	}{
		{"xt match", [][]string{{"-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"}}, "INPUT", "(it has iptables' built-in chain INPUT)", "", ""},
		{"native rules only", [][]string{{"-A", "INPUT", "-j", "ACCEPT"}}, "INPUT", "(it has iptables' built-in chain INPUT)", "", ""},
		{"xt match in a chain of its own", [][]string{{"-N", "MYCHAIN"}, {"-A", "MYCHAIN", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"}}, "MYCHAIN",
			"(it has the regular chain MYCHAIN, which iptables lists as a user-defined chain)", "", ""},
		// iptables -N makes no built-in chain, and -s is a native payload
		// match: the user chain alone tells.
		{"native rule in a chain of its own", [][]string{{"-N", "FOO"}, {"-A", "FOO", "-s", "10.0.0.1", "-j", "ACCEPT"}}, "FOO",
			"(it has the regular chain FOO, which iptables lists as a user-defined chain)", "", ""},
		// iptables -X leaves the table with no chain at all.
		{"empty", [][]string{{"-N", "FOO"}, {"-X", "FOO"}}, "INPUT",
			"(it has no chains, as iptables -F and -X leave iptables-nft's tables)", ":INPUT ACCEPT", "(it has iptables' built-in chain INPUT)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := ktest.Namespace(t, tools...)
			bin := ctmatchCLI(t)
			for _, args := range tc.setup {
				ktest.Run(t, ns, "", "iptables", args...)
			}
			if tc.saved == "" {
				tc.saved = "-A " + tc.chain
			}
			if tc.later == "" {
				tc.later = tc.why
			}
			show0, save0 := iptablesView(t, ns)
			gen, listing := rulesetState(t, ns)
			if !strings.Contains(listing, "table ip filter") {
				t.Fatalf("iptables made no table ip filter:\n%s", listing)
			}

			r := runCLI(t, bin, ns, "", "add", "rule", "ip", "filter", tc.chain, "--", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT")
			head := "ctmatch: add rule ip filter " + tc.chain + " (-m conntrack --ctstate ESTABLISHED -j ACCEPT): table ip filter looks like iptables-nft's own "
			tail := tc.why + "; after one native rule in it, iptables -S and -L fail and iptables-save leaves the table out (a comment in its place, exit status 0)\n  write into another table (ctmatch add rule ip fw input --create …), or use --force to write into it anyway\n"
			if r.code != 1 || !strings.HasPrefix(r.stderr, head) || !strings.HasSuffix(r.stderr, tail) {
				t.Errorf("exit %d\n got %q\nwant %q…%q", r.code, r.stderr, head, tail)
			}
			// --create changes nothing about it: the table exists.
			if r := runCLI(t, bin, ns, "", "insert", "rule", "ip", "filter", tc.chain, "--create", "--", "-m", "state", "--state", "NEW"); r.code != 1 || !strings.Contains(r.stderr, "looks like iptables-nft's own") {
				t.Errorf("with --create: exit %d: %s", r.code, r.stderr)
			}
			unchangedSince(t, ns, "the refusals", gen, listing)
			if show, save := iptablesView(t, ns); show != show0 || save != save0 {
				t.Errorf("iptables sees another ruleset after the refusals:\n%s\n%s\nbefore:\n%s\n%s", show, save, show0, save0)
			}
			if strings.HasPrefix(show0, "error") || !strings.Contains(save0, tc.saved) {
				t.Fatalf("iptables did not work before: %s\n%s", show0, save0)
			}
			ktest.Run(t, ns, "", "iptables", "-A", tc.chain, "-j", "DROP")
			if show, _ := iptablesView(t, ns); !strings.Contains(show, "-A "+tc.chain+" -j DROP") {
				t.Errorf("iptables -A did not work after the refusal: %s", show)
			}

			// With --force the rule goes in, and iptables-nft is lost.
			out := mustCLI(t, bin, ns, "", "add", "rule", "ip", "filter", tc.chain, "--force", "--echo", "--", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT")
			if !strings.HasPrefix(out, "add rule ip filter "+tc.chain+" ct state established counter accept # handle ") {
				t.Errorf("--force --echo printed %q", out)
			}
			// What the refusal says: iptables -S and -L fail, iptables-save
			// leaves the table out, with a comment in its place, and exits 0.
			show, save := iptablesView(t, ns)
			_, lerr, err := ktest.Exec(ns, "", "iptables", "-L", "-n")
			saved, _, serr := ktest.Exec(ns, "", "iptables-save")
			if !strings.HasPrefix(show, "error") || err == nil || serr != nil || strings.Contains(save, "-A "+tc.chain) || !strings.Contains(saved, "# Table `filter' is incompatible") {
				t.Errorf("after a native rule, iptables -S gave %q, -L %v %q, iptables-save %v:\n%s\nthe refusal's reason is not true (any more)", show, err, lerr, serr, saved)
			}

			// delete rule deletes ctmatch's own rule (its group record says
			// whose it is) without --force, and iptables reads the table
			// again.
			h := strings.TrimSpace(out[strings.LastIndex(out, "# handle ")+len("# handle "):])
			if out := mustCLI(t, bin, ns, "", "delete", "rule", "ip", "filter", tc.chain, "handle", h, "--echo"); out != "delete rule ip filter "+tc.chain+" handle "+h+"\n" {
				t.Errorf("delete --echo printed %q", out)
			}
			if show, _ := iptablesView(t, ns); strings.HasPrefix(show, "error") || !strings.Contains(show, "-A "+tc.chain+" -j DROP") {
				t.Errorf("iptables -S after the native rule was deleted: %s", show)
			}

			// A rule iptables wrote is refused, and deleted with --force.
			drop := iptablesDropHandle(t, ns, tc.chain)
			gen, listing = rulesetState(t, ns)
			r = runCLI(t, bin, ns, "", "delete", "rule", "ip", "filter", tc.chain, "handle", drop)
			if want := "ctmatch: delete rule ip filter " + tc.chain + ": table ip filter looks like iptables-nft's own " + tc.later + ", and the rule was not written by ctmatch\n  use --force to delete it anyway\n"; r.code != 1 || r.stderr != want {
				t.Errorf("delete: exit %d\n got %q\nwant %q", r.code, r.stderr, want)
			}
			unchangedSince(t, ns, "the refused delete", gen, listing)
			if out := mustCLI(t, bin, ns, "", "delete", "rule", "ip", "filter", tc.chain, "handle", drop, "--force", "--echo"); out != "delete rule ip filter "+tc.chain+" handle "+drop+"\n" {
				t.Errorf("delete --force --echo printed %q", out)
			}
			if show, _ := iptablesView(t, ns); strings.Contains(show, "-A "+tc.chain+" -j DROP") {
				t.Errorf("iptables -S after the iptables rule was deleted with --force: %s", show)
			}
		})
	}

	// A table ip filter that nft made with base chains iptables-nft does
	// not make: iptables-nft leaves them out, so ctmatch writes there
	// without --force and iptables -S goes on working, with --create too
	// when it creates nothing; a chain --create would add (one iptables
	// reads) is refused.
	t.Run("nft's base chains", func(t *testing.T) {
		ns := ktest.Namespace(t, tools...)
		bin := ctmatchCLI(t)
		ktest.Run(t, ns, "table ip filter {\n chain input { type filter hook input priority 0; }\n}\n", "nft", "-f", "-")
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "input", "--", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT")
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "input", "--create", "--", "-m", "conntrack", "--ctstate", "RELATED", "-j", "ACCEPT")
		show, _, err := ktest.Exec(ns, "", "iptables", "-S")
		if err != nil || !strings.Contains(show, "# Table `filter' contains incompatible base-chains") || !strings.Contains(show, "-P INPUT ACCEPT") {
			t.Errorf("iptables -S after a native rule in nft's base chain: %v\n%s", err, show)
		}
		gen, listing := rulesetState(t, ns)
		r := runCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "FOO", "--create", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT")
		if !strings.Contains(r.stderr, "looks like iptables-nft's own (iptables-nft reads every ip table named filter, and would read the chain FOO that --create adds to it)") || r.code != 1 {
			t.Errorf("with --create: exit %d: %s", r.code, r.stderr)
		}
		unchangedSince(t, ns, "the refusal", gen, listing)
		// What the refusal protects from: a regular chain with a native
		// rule, which iptables does read.
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "FOO", "--create", "--force", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT")
		if _, serr, err := ktest.Exec(ns, "", "iptables", "-S"); err == nil || !strings.Contains(serr, "incompatible") {
			t.Errorf("iptables -S with a native rule in a regular chain: %v %s", err, serr)
		}
	})

	t.Run("apply --create warns", func(t *testing.T) {
		ns := ktest.Namespace(t, tools...)
		bin := ctmatchCLI(t)
		r := runCLI(t, bin, ns, "add rule ip raw PREROUTING -- -t raw -m conntrack --ctstate INVALID -j DROP\nadd rule ip fw input -- -m conntrack --ctstate NEW\n", "apply", "-f", "-", "--create")
		if r.code != 0 || r.stderr != "ctmatch: warning: table ip raw is named like an iptables table, and iptables-nft reads every ip table of that name as its own: with native rules in it, iptables -S and -L fail on it and iptables-save leaves it out\n"+
			"  if iptables is used on this host, write into a table of another name (ctmatch add rule ip fw input --create …)\n" {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		if _, serr, err := ktest.Exec(ns, "", "iptables", "-t", "raw", "-S"); err == nil || !strings.Contains(serr, "incompatible") {
			t.Errorf("iptables -t raw -S in ctmatch's table raw: %v %s: the warning is not true", err, serr)
		}
	})

	t.Run("ctmatch's table filter", func(t *testing.T) {
		ns := ktest.Namespace(t, tools...)
		bin := ctmatchCLI(t)
		r := runCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "INPUT", "--create", "--echo", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "add table ip filter\nadd chain ip filter INPUT { type filter hook input priority 0; policy accept; }\n") {
			t.Errorf("--create --echo: exit %d, printed %q", r.code, r.stdout)
		}
		// Creating it warns, and the warning's fact holds: iptables -S fails.
		warning := "ctmatch: warning: table ip filter is named like an iptables table, and iptables-nft reads every ip table of that name as its own: with native rules in it, iptables -S and -L fail on it and iptables-save leaves it out\n" +
			"  if iptables is used on this host, write into a table of another name (ctmatch add rule ip fw input --create …)\n"
		if r.stderr != warning {
			t.Errorf("--create printed on stderr\n%q\nwant\n%q", r.stderr, warning)
		}
		if _, serr, err := ktest.Exec(ns, "", "iptables", "-S"); err == nil || !strings.Contains(serr, "incompatible") {
			t.Errorf("iptables -S in ctmatch's table filter: %v %s: the warning is not true", err, serr)
		}
		// Once the table is there: no warning.
		if r := runCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "INPUT", "--create", "--check", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"); r.code != 0 || r.stderr != "" {
			t.Errorf("again: exit %d: %s", r.code, r.stderr)
		}
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "INPUT", "--", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
		out := mustCLI(t, bin, ns, "", "list", "table", "ip", "filter", "-o", "iptables")
		want := "# table ip filter\n# chain INPUT (type filter hook input priority 0; policy accept)\n" +
			"-A INPUT -m conntrack --ctstate NEW -j ACCEPT\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
		if out != want {
			t.Errorf("list:\n%s\nwant:\n%s", out, want)
		}
	})
}

// iptablesDropHandle is the handle of the rule `iptables -A chain -j DROP`
// made in table ip filter, as nft lists it.
func iptablesDropHandle(t *testing.T, ns *netns.NS, chain string) string {
	t.Helper()
	out, stderr, err := ktest.Exec(ns, "", "nft", "-a", "list", "chain", "ip", "filter", chain)
	if err != nil {
		t.Fatalf("nft -a list chain: %v: %s", err, stderr)
	}
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, " drop # handle "); i >= 0 {
			return strings.TrimSpace(line[i+len(" drop # handle "):])
		}
	}
	t.Fatalf("no drop rule in:\n%s", out)
	return ""
}
