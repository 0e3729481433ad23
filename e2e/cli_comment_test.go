package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// A rule's -m comment goes into the kernel as nft's comment of each of its
// nft rules (nft lists it), and list -o iptables gives the same words back;
// an apply file's rule does the same.
func TestCLIComment(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--create", "--", "-p", "tcp", "--dport", "22", "-m", "conntrack", "--ctstate", "NEW,DNAT", "-m", "comment", "--comment", "it's ssh", "-j", "ACCEPT")
	mustCLI(t, bin, ns, "add rule ip6 fw input -- -m comment --comment \"tab\tand space\" -j DROP\n", "apply", "--create", "-f", "-")
	nft := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	if n := strings.Count(nft, `comment "it's ssh"`); n != 2 {
		t.Errorf("nft lists %d rules with the comment, want the 2 pieces of the group:\n%s", n, nft)
	}
	if !strings.Contains(nft, "counter packets 0 bytes 0 drop comment \"tab\tand space\"") {
		t.Errorf("nft lists no rule with the apply line's comment:\n%s", nft)
	}
	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	for _, want := range []string{
		`-A input -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW,DNAT -m comment --comment "it\'s ssh" -j ACCEPT`,
		"-A input -m comment --comment \"tab\tand space\" -j DROP",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("list -o iptables:\n%s\nwant the line %q", out, want)
		}
	}
	// The listing as nft text loads back with the same comments.
	saved := mustCLI(t, bin, ns, "", "list", "-o", "nft")
	if !strings.Contains(saved, `comment "it's ssh"`) {
		t.Errorf("list -o nft:\n%s\nwant the comment as nft reads it", saved)
	}
	// (nft text holds no group record: the pieces come back as rules of
	// their own, each with the comment.)
	ktest.Run(t, ns, "flush ruleset\n"+saved, "nft", "-f", "-")
	again := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	if n := strings.Count(again, `-m comment --comment "it\'s ssh" -j ACCEPT`+"\n"); n != 2 || !strings.Contains(again, "-A input -m comment --comment \"tab\tand space\" -j DROP\n") {
		t.Errorf("after nft -f of list -o nft, list -o iptables gives\n%s\nwant each rule with its comment", again)
	}
}
