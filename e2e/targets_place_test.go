package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/parse"
)

// TestTargetPlacesIptables runs every case of cases.Places through the
// installed iptables and ip6tables (the nft backend) and through
// iptables-legacy (the kernel's x_tables): each adds exactly the rules
// whose target the kernel allows there, as compile.CheckTargetPlace says.
func TestTargetPlacesIptables(t *testing.T) {
	ns := ktest.Namespace(t, "iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy")
	for _, suffix := range []string{"", "-legacy"} {
		for _, table := range []string{"filter", "nat", "raw"} {
			for _, tool := range []string{"iptables", "ip6tables"} {
				ktest.Run(t, ns, "", tool+suffix, "-t", table, "-N", "place_chain")
			}
		}
		for _, c := range cases.Places {
			tool := "iptables" + suffix
			if c.Family == parse.IPv6 {
				tool = "ip6tables" + suffix
			}
			_, stderr, err := ktest.Exec(ns, "", tool, strings.Fields(c.Text)...)
			if (err == nil) != c.OK {
				t.Errorf("%s: %s %s: error %v (%s), want ok %v", c.Name, tool, c.Text, err, strings.TrimSpace(stderr), c.OK)
			}
		}
	}
}
