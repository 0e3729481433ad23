package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// wantListedAndReloaded checks that list -o iptables of ns holds each of
// wants as a line, then that it still does after the ruleset is flushed and
// list -o nft's text loaded back with nft -f: the nft text keeps no group
// record, and each rule decompiles to the same words from its expressions.
func wantListedAndReloaded(t *testing.T, bin string, ns *netns.NS, wants []string) {
	t.Helper()
	check := func(when, out string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w+"\n") {
				t.Errorf("%slist -o iptables:\n%s\nwant the line %q", when, out, w)
			}
		}
	}
	check("", mustCLI(t, bin, ns, "", "list", "-o", "iptables"))
	saved := mustCLI(t, bin, ns, "", "list", "-o", "nft")
	ktest.Run(t, ns, "flush ruleset\n"+saved, "nft", "-f", "-")
	check("after nft -f of list -o nft, ", mustCLI(t, bin, ns, "", "list", "-o", "iptables"))
}
