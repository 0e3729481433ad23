package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// -m recent --set through every path that loads rules: add rule, insert
// rule and apply -f each load the rule without the match, warn once that
// the list is not kept, and list -o iptables gives the words back from the
// group record; the kernel's xt_recent holds no list of that name (none
// was made: /proc/net/xt_recent has no file for it), and a rule that reads
// the list is refused (exit 1) without loading anything.
func TestCLIRecentSet(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	warned := func(r cliResult, list string) {
		t.Helper()
		if n := strings.Count(r.stderr, "warning: -m recent --set: the list "+list+" is not kept"); n != 1 {
			t.Errorf("stderr warns %d times about the list %s, want once:\n%s", n, list, r.stderr)
		}
	}
	r := runCLI(t, bin, ns, "", "add", "rule", "ip", "fw", "input", "--create", "--", "-p", "tcp", "--dport", "22", "-m", "recent", "--set", "--name", "ctm-ssh", "-j", "ACCEPT")
	if r.code != 0 {
		t.Fatalf("add rule: exit %d\n%s", r.code, r.stderr)
	}
	warned(r, "ctm-ssh")
	r = runCLI(t, bin, ns, "", "insert", "rule", "ip", "fw", "input", "--", "-m", "recent", "--rdest", "--set", "--name", "ctm-ssh", "-j", "DROP")
	if r.code != 0 {
		t.Fatalf("insert rule: exit %d\n%s", r.code, r.stderr)
	}
	warned(r, "ctm-ssh")
	r = runCLI(t, bin, ns, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent --set --name ctm-x -j ACCEPT\n-A INPUT -m recent --set --name ctm-x\nCOMMIT\n", "apply", "-f", "-")
	if r.code != 0 {
		t.Fatalf("apply -f: exit %d\n%s", r.code, r.stderr)
	}
	warned(r, "ctm-x")

	nft := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	for _, want := range []string{"tcp dport 22 counter packets 0 bytes 0 accept", "counter packets 0 bytes 0 drop"} {
		if !strings.Contains(nft, want) {
			t.Errorf("nft list ruleset:\n%s\nwant a rule with %q", nft, want)
		}
	}
	// No rule holds an xt match (nft lists one as xt match "recent"): the
	// rules are the rules without the match.
	if strings.Contains(nft, "xt ") || strings.Contains(nft, "recent") {
		t.Errorf("nft list ruleset:\n%s\nwant no xt match and no recent", nft)
	}
	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	for _, want := range []string{
		"-A input -m recent --set --name ctm-ssh --mask 255.255.255.255 --rdest -j DROP\n-A input -p tcp -m tcp --dport 22 -m recent --set --name ctm-ssh --mask 255.255.255.255 --rsource -j ACCEPT\n",
		"-A INPUT -m recent --set --name ctm-x --mask 255.255.255.255 --rsource -j ACCEPT\n-A INPUT -m recent --set --name ctm-x --mask 255.255.255.255 --rsource\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list -o iptables:\n%s\nwant the lines\n%s", out, want)
		}
	}
	// (With xt_recent in the kernel, every namespace has the directory.)
	if ls, _, err := ktest.Exec(ns, "", "sh", "-c", "if [ -d /proc/net/xt_recent ]; then ls /proc/net/xt_recent; fi"); err != nil {
		t.Errorf("ls /proc/net/xt_recent: %v", err)
	} else if strings.Contains(ls, "ctm-ssh") || strings.Contains(ls, "ctm-x") {
		t.Errorf("/proc/net/xt_recent holds %q: ctmatch made an xt_recent list", ls)
	}

	before := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	r = runCLI(t, bin, ns, "", "add", "rule", "ip", "fw", "input", "--", "-m", "recent", "--update", "--seconds", "60", "--name", "ctm-ssh", "-j", "DROP")
	if r.code != 1 || !strings.Contains(r.stderr, "-m recent --update is valid iptables, but ctmatch cannot translate it exactly") {
		t.Errorf("add rule of a reader: exit %d, want 1 with the reason:\n%s", r.code, r.stderr)
	}
	if after := mustCLI(t, bin, ns, "", "list", "-o", "iptables"); after != before {
		t.Errorf("a refused rule changed the ruleset:\n%s\nwas\n%s", after, before)
	}
}
