package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// -m multiport through the CLI: add rule and an apply file load rules
// whose nft rules look up anonymous sets (nft lists them), list -o iptables
// gives the words back, and delete rule takes the group's sets with it
// (nft lists none of them after).
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
	sets := ktest.Run(t, ns, "", "nft", "--debug=netlink", "list", "sets")
	if strings.Contains(sets, "inet fw @__set") || strings.Count(sets, "ip6 fw @__set") != 2 {
		t.Errorf("after delete rule, nft lists these sets:\n%s\nwant none in inet fw, and the 2 of the ip6 rule's two nft rules", sets)
	}
}
