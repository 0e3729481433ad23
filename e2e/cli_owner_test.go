package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// The owner match in the output hook: the kernel's xt_owner (an iptables
// rule) and ctmatch's meta skuid and skgid rules count the same packets,
// sent by root, by a process running as 65534:65534, and by the kernel
// itself (the ICMP errors it answers datagrams to a closed port with, from
// a socket without a file); and iptables-translate's "meta skuid != 0" for
// "! --uid-owner 0" misses the kernel's packets, which xt_owner counts.
func TestCLIOwner(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables", "iptables-save", "setpriv", "bash")
	bin := ctmatchCLI(t)
	matches := []string{
		"--uid-owner 0",
		"--uid-owner 65534",
		"--gid-owner 65534",
		"--uid-owner 1-65534",
		"--uid-owner 65534 --gid-owner 0-65534",
	}
	var lines strings.Builder
	for _, m := range matches {
		words := "-m owner " + m
		ktest.Run(t, ns, "", "iptables", append([]string{"-A", "OUTPUT"}, strings.Fields(words)...)...)
		fmt.Fprintf(&lines, "add rule inet ow OUTPUT -- %s\n", words)
	}
	ktest.Run(t, ns, "", "iptables", "-A", "OUTPUT", "-m", "owner", "!", "--uid-owner", "0")
	mustCLI(t, bin, ns, lines.String(), "apply", "--create", "-f", "-")
	// iptables-translate's text for ! --uid-owner 0.
	ktest.Run(t, ns, "add table inet tr\nadd chain inet tr o { type filter hook output priority 0; }\nadd rule inet tr o meta skuid != 0 counter\n", "nft", "-f", "-")

	// Root sends 1 datagram, nobody 2 (each answered by the kernel with an
	// ICMP port unreachable: 3 more packets in the output hook).
	send := "for i in $(seq %d); do echo x > /dev/udp/127.0.0.1/9; done"
	ktest.Run(t, ns, "", "bash", "-c", fmt.Sprintf(send, 1))
	ktest.Run(t, ns, "", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-c", fmt.Sprintf(send, 2))

	xt := xtCountsOf(t, ktest.Run(t, ns, "", "iptables-save", "-c", "-t", "filter"), "-m owner")
	nft := nftCountsOf(t, ktest.Run(t, ns, "", "nft", "list", "chain", "inet", "ow", "OUTPUT"), "meta sk")
	if len(xt) != len(matches)+1 || len(nft) != len(matches) {
		t.Fatalf("%d xt counters and %d nft counters for %d matches", len(xt), len(nft), len(matches))
	}
	t.Logf("packets counted per rule: xt %v, ctmatch %v", xt, nft)
	if rules := ktest.Run(t, ns, "", "nft", "--debug=netlink", "list", "table", "ip", "filter"); strings.Count(rules, "[ match name owner rev 1 ]") != len(matches)+1 {
		t.Errorf("iptables did not load its rules as xt_owner matches:\n%s", rules)
	}
	for i, m := range matches {
		if xt[i] != nft[i] {
			t.Errorf("-m owner %s: xt_owner counted %d packets, ctmatch's rule %d", m, xt[i], nft[i])
		}
	}
	if xt[0] != 1 || xt[1] != 2 {
		t.Errorf("xt_owner counted %d packets of root and %d of 65534, want 1 and 2", xt[0], xt[1])
	}
	// ! --uid-owner 0: nobody's 2 datagrams and the kernel's 3 errors.
	tr := nftCountsOf(t, ktest.Run(t, ns, "", "nft", "list", "table", "inet", "tr"), "meta skuid")
	if neg := xt[len(matches)]; neg != 5 || len(tr) != 1 || tr[0] != 2 {
		t.Errorf("! --uid-owner 0: xt_owner counted %d packets (want 5), iptables-translate's meta skuid != 0 %v (want 2)", neg, tr)
	}

	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables", "table", "inet", "ow")
	for _, m := range matches {
		if want := "-A OUTPUT -m owner " + m + "\n"; !strings.Contains(out, want) {
			t.Errorf("list -o iptables:\n%s\nwant the line %q", out, want)
		}
	}
	r := runCLI(t, bin, ns, "", "add", "rule", "inet", "ow", "input", "--", "-m", "owner", "--uid-owner", "0")
	if r.code != 2 || !strings.Contains(r.stderr, "not valid in chain input") {
		t.Errorf("add rule -m owner into input: exit %d\n%s", r.code, r.stderr)
	}
}
