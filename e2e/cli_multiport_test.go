package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
)

// -m multiport through the CLI: add rule and an apply file load rules
// whose nft rules look up anonymous sets (nft lists them), list -o iptables
// gives the words back, and delete rule takes the group's sets with it
// (the kernel lists none of them after).
func TestCLIMultiport(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--create", "--", "-p", "tcp", "-m", "multiport", "--ports", "22,80,8000:8100", "-j", "ACCEPT")
	mustCLI(t, bin, ns, "add rule ip6 fw input -- -p udp -m multiport ! --dports 53,123 -j DROP\n", "apply", "--create", "-f", "-")
	nft := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	for _, want := range []string{
		"tcp sport { 22, 80, 8000-8100 } counter packets 0 bytes 0 accept",
		"tcp sport != { 22, 80, 8000-8100 } tcp dport { 22, 80, 8000-8100 } counter packets 0 bytes 0 accept",
		"udp dport != { 53, 123 } counter packets 0 bytes 0 drop",
	} {
		if !strings.Contains(nft, want) {
			t.Errorf("nft lists\n%s\nwithout %q", nft, want)
		}
	}
	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables", "-a")
	for _, want := range []string{
		"-A input -p tcp -m multiport --ports 22,80,8000:8100 -j ACCEPT",
		"-A input -p udp -m multiport ! --dports 53,123 -j DROP",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list -o iptables:\n%s\nwant the line %q", out, want)
		}
	}
	handle := regexp.MustCompile(`# handles? (\d+)`).FindStringSubmatch(out)
	if handle == nil {
		t.Fatalf("list -o iptables -a shows no handle:\n%s", out)
	}
	mustCLI(t, bin, ns, "", "delete", "rule", "inet", "fw", "input", "handle", handle[1])
	// The kernel's own listing: nft 1.0.7 and later leave anonymous sets
	// out of nft list sets.
	conn := kerneltest.Dial(t, ns)
	inet, err := conn.Sets(context.Background(), expr.FamilyInet, "fw")
	if err != nil {
		t.Fatal(err)
	}
	ip6, err := conn.Sets(context.Background(), expr.FamilyIP6, "fw")
	if err != nil {
		t.Fatal(err)
	}
	if len(inet) != 0 || len(ip6) != 2 {
		t.Errorf("after delete rule, the kernel lists %d sets in inet fw and %d in ip6 fw, want none and the 2 of the ip6 rule's two nft rules:\n%+v\n%+v", len(inet), len(ip6), inet, ip6)
	}
}

// Rules with lists of ports that nft wrote itself (no group record; the
// kernel names their sets) are read back from the kernel's dump with their
// sets and listed as multiport words: a lookup is --sports or --dports, the
// list as the set holds it; a port comparison of sctp is the sctp match's
// --dport, as of tcp the tcp match's (a multiport of one port writes the
// same nft rule); and a list without the fragment test is not decompiled, nor is one
// half of an IPv6 rule's two.
func TestCLIListMultiportFromNft(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	ktest.Run(t, ns, `add table ip6 t
add chain ip6 t c
add rule ip6 t c exthdr frag missing tcp dport { https, 8000-8100, 80 } counter accept
add rule ip6 t c frag frag-off 0 tcp dport { https, 8000-8100, 80 } counter accept
add table ip t
add chain ip t c2
add rule ip t c2 ip frag-off & 0x1fff == 0 udp sport != { 123, 53 } counter drop
add rule ip t c2 ip frag-off & 0x1fff == 0 meta l4proto sctp th dport 5060 counter
add rule ip t c2 ip frag-off & 0x1fff == 0 tcp sport != { 22, 80 } tcp dport { 22, 80 } counter
add rule ip t c2 tcp dport { 22, 80 } counter
`, "nft", "-f", "-")
	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	for _, want := range []string{
		// Each half of an ip6tables port match alone has no iptables
		// form (without the group record that ties them).
		"is two nft rules, one with \"exthdr frag missing\" and one with \"frag frag-off 0\"",
		"-A c2 -p udp -m multiport ! --sports 53,123 -j DROP",
		// One port of sctp is the sctp match's, which means the same
		// as multiport's (both test the fragment offset first).
		"-A c2 -p sctp -m sctp --dport 5060",
		"-A c2 -p tcp -m multiport ! --sports 22,80 -m multiport --dports 22,80",
		"# not decompiled: handle",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list -o iptables of nft's rules:\n%s\nwant %q", out, want)
		}
	}
}
