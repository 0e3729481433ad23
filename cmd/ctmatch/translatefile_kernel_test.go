package main

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// saveRulesets are iptables-save files of rules that iptables-nft stores as
// native nft expressions (addresses, jumps, verdicts), so that the kernel's
// listing of what iptables-restore loaded and of what ctmatch's script
// loaded can be compared whole: tables, chains with their types, hooks,
// priorities and policies, and the rules in their order, -I positions,
// -F, -X, -N, -P and a table given twice included.
var saveRulesets = []struct {
	name string
	v6   bool
	text string
}{
	{"positions", false, `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:user - [0:0]
-A INPUT -s 10.0.0.1/32 -j ACCEPT
-A INPUT -s 10.0.0.2/32 -j user
-I INPUT 2 -s 10.0.0.3/32 -j DROP
-I INPUT -s 10.0.0.4/32 -j ACCEPT
-I INPUT 5 -s 10.0.0.5/32 -j ACCEPT
-A user -s 10.0.1.1/32 -j RETURN
-I user 1 -s 10.0.1.2/32 -j DROP
-I user 2 -s 10.0.1.3/32 -j ACCEPT
-N second
-A second -d 10.0.2.1/32 -j DROP
-A FORWARD -j second
-P FORWARD DROP
-F second
-A second -d 10.0.2.2/32 -j ACCEPT
-I second 1 -d 10.0.2.3/32 -j DROP
-N gone
-X gone
COMMIT
`},
	{"every-table", false, `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -s 10.0.0.1/32 -j ACCEPT
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A OUTPUT -d 10.0.0.1/32 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -d 10.0.0.1/32 -j DOCKER
-A DOCKER -s 10.0.0.2/32 -j RETURN
COMMIT
*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.1/32 -j ACCEPT
COMMIT
*filter
:INPUT ACCEPT [0:0]
-A INPUT -s 10.9.9.9/32 -j DROP
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -s 10.0.0.9/32 -j ACCEPT
COMMIT
`},
	{"comma-lists", false, `*filter
:INPUT ACCEPT [0:0]
:user - [0:0]
-A INPUT -s 10.0.0.1,10.0.0.2 -j ACCEPT
-I INPUT 3 -j DROP
-I INPUT 2 -d 10.0.0.3,10.0.0.4 -s 10.0.0.5 -j user
-A user -s 10.0.1.1,10.0.1.2 -d 10.0.1.3,10.0.1.4 -j RETURN
-I INPUT 1 -j RETURN
-I user 3 -s 10.0.2.1 -j DROP
COMMIT
`},
	{"flush-builtin", false, `*filter
-F OUTPUT
-A INPUT -s 10.0.0.1/32 -j ACCEPT
-F FORWARD
COMMIT
`},
	{"ipv6", true, `*filter
:INPUT DROP [0:0]
:mine - [0:0]
-A INPUT -s 2001:db8::1/128 -j mine
-I INPUT 1 -s 2001:db8::2/128 -j ACCEPT
-A mine -d 2001:db8::3/128 -j DROP
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 2001:db8::4/128 -j ACCEPT
COMMIT
`},
}

// TestTranslateSaveFileKernel loads each ruleset with iptables-restore in
// one namespace and ctmatch translate -f's script with nft -f in another,
// and compares nft's listings of the two: the kernel must hold the same
// ruleset.
func TestTranslateSaveFileKernel(t *testing.T) {
	for _, rs := range saveRulesets {
		t.Run(rs.name, func(t *testing.T) {
			restore, flag := "iptables-restore", "-f"
			if rs.v6 {
				restore, flag = "ip6tables-restore", "--file6"
			}
			r := runCLI(t, []string{"translate", "--no-counter", flag, "-"}, rs.text)
			if r.code != 0 {
				t.Fatalf("translate: exit %d\n%s", r.code, r.stderr)
			}
			ipt := ktest.Namespace(t, restore, "nft")
			ktest.Run(t, ipt, rs.text, restore)
			want := ktest.Run(t, ipt, "", "nft", "list", "ruleset")
			ctm := ktest.Namespace(t, "nft")
			ktest.Run(t, ctm, r.stdout, "nft", "-f", "-")
			got := ktest.Run(t, ctm, "", "nft", "list", "ruleset")
			// iptables-nft counts every rule; the script was made without
			// counters, so that nothing but the rules' order and matches
			// is compared.
			want = strings.ReplaceAll(want, "counter packets 0 bytes 0 ", "")
			if got != want {
				t.Errorf("the kernel holds another ruleset after ctmatch's script than after %s\nscript:\n%s\n--- %s:\n%s\n--- ctmatch:\n%s", restore, r.stdout, restore, want, got)
			}
		})
	}
}

// TestTranslateSaveFileShape compares translate -f's script with
// iptables-restore-translate's for the same file: the same lines, but for
// the one recorded difference, the security table's priority (150, as
// iptables-nft makes the chains; iptables-restore-translate 1.8.9 says 0).
// The file has no -I N, -P, -F, -X or second *filter, which
// iptables-restore-translate gets wrong or refuses.
func TestTranslateSaveFileShape(t *testing.T) {
	rs := saveRulesets[1]
	text := strings.TrimSuffix(rs.text, "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.9/32 -j ACCEPT\nCOMMIT\n")
	ns := ktest.Namespace(t, "iptables-restore-translate")
	peer := ktest.Run(t, ns, text, "iptables-restore-translate", "-f", "/dev/stdin")
	var want []string
	for _, l := range strings.Split(peer, "\n") {
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		if strings.HasPrefix(l, "add chain ip security ") {
			l = strings.Replace(l, "priority 0;", "priority 150;", 1)
		}
		want = append(want, l)
	}
	r := runCLI(t, []string{"translate", "-f", "-"}, text)
	if r.code != 0 {
		t.Fatalf("translate: exit %d\n%s", r.code, r.stderr)
	}
	if got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("translate -f differs from iptables-restore-translate:\n--- iptables-restore-translate (security at 150):\n%s\n--- ctmatch:\n%s", strings.Join(want, "\n"), r.stdout)
	}
}

// TestTranslateSaveFileFailedLoadsNothing: the script of a file that could
// not be translated whole ends with a line nft refuses, and nft -f then
// loads none of the lines before it; with --keep-going the script is whole
// and loads.
func TestTranslateSaveFileFailedLoadsNothing(t *testing.T) {
	text := "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n-A INPUT -m recent --name x --rcheck -j DROP\n-A INPUT -s 10.0.0.2/32 -j ACCEPT\nCOMMIT\n"
	for _, tc := range []struct {
		args  []string
		loads bool
	}{
		{[]string{"translate", "-f", "-"}, false},
		{[]string{"translate", "--keep-going", "-f", "-"}, true},
	} {
		r := runCLI(t, tc.args, text)
		if r.code != 1 || !strings.Contains(r.stdout, "add rule ip filter INPUT ip saddr 10.0.0.1") {
			t.Fatalf("%v: exit %d, want 1 with the first rule written\n%s", tc.args, r.code, r.stdout)
		}
		ns := ktest.Namespace(t, "nft")
		_, stderr, err := ktest.Exec(ns, r.stdout, "nft", "-f", "-")
		listed := ktest.Run(t, ns, "", "nft", "list", "ruleset")
		if tc.loads {
			if err != nil || !strings.Contains(listed, "10.0.0.2") {
				t.Errorf("%v: nft -f: %v %s\n%s", tc.args, err, stderr, listed)
			}
			continue
		}
		if err == nil || listed != "" {
			t.Errorf("%v: nft -f loaded a script that is not whole (err %v):\n%s", tc.args, err, listed)
		}
	}
}

// TestTranslateRulesFileKernel runs a file of rules with -I positions and
// comma lists of addresses through iptables, a command per line, in one
// namespace, and translate -f's commands through sh in another, where the
// chain exists, and compares nft's listings of the chain: -I N goes where
// iptables puts it, and each address of a comma list is a rule of its own,
// inserted at N in turn.
func TestTranslateRulesFileKernel(t *testing.T) {
	rules := []string{
		"-I INPUT 1 -s 10.0.0.1,10.0.0.2 -j RETURN",
		"-I INPUT 3 -s 10.0.0.3 -j ACCEPT",
		"-I INPUT -s 10.0.0.4,10.0.0.5 -d 10.0.1.1 -j DROP",
		"-I INPUT 2 -d 10.0.1.2,10.0.1.3 -j ACCEPT",
		"-A INPUT -s 10.0.0.6,10.0.0.7 -j DROP",
	}
	r := runCLI(t, []string{"translate", "--no-counter", "-f", "-"}, strings.Join(rules, "\n")+"\n")
	if r.code != 0 {
		t.Fatalf("translate: exit %d\n%s", r.code, r.stderr)
	}
	ipt := ktest.Namespace(t, "iptables", "nft")
	for _, rule := range rules {
		ktest.Run(t, ipt, "", "iptables", strings.Fields(rule)...)
	}
	want := ktest.Run(t, ipt, "", "nft", "list", "chain", "ip", "filter", "INPUT")
	ctm := ktest.Namespace(t, "nft", "sh")
	ktest.Run(t, ctm, "add table ip filter\nadd chain ip filter INPUT { type filter hook input priority 0; policy accept; }\n", "nft", "-f", "-")
	ktest.Run(t, ctm, r.stdout, "sh", "-e")
	got := ktest.Run(t, ctm, "", "nft", "list", "chain", "ip", "filter", "INPUT")
	want = strings.ReplaceAll(want, "counter packets 0 bytes 0 ", "")
	if got != want || strings.Count(got, "ip saddr")+strings.Count(got, "ip daddr") < 10 {
		t.Errorf("the chain differs after ctmatch's commands and after iptables\ncommands:\n%s\n--- iptables:\n%s\n--- ctmatch:\n%s", r.stdout, want, got)
	}
}
