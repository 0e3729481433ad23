package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// The base chains --create makes (firewall.CreatedChain) are those
// iptables-nft makes: for every iptables table and each of its built-in
// chains, iptables and ip6tables -t TABLE -A CHAIN make the chain, which the
// kernel then lists with the type, hook, priority and policy CreatedChain
// gives; and CreatedChain refuses every built-in name the table lacks.
func TestCreatedChainsAreIptables(t *testing.T) {
	ns := ktest.Namespace(t, "iptables", "ip6tables")
	c := kerneltest.Dial(t, ns)
	builtins := []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}
	compared := 0
	for _, tool := range []struct {
		name string
		fam  expr.Family
	}{{"iptables", expr.FamilyIP}, {"ip6tables", expr.FamilyIP6}} {
		for _, table := range []string{"raw", "mangle", "nat", "filter", "security"} {
			for _, chain := range builtins {
				_, errOut, err := ktest.Exec(ns, "", tool.name, "-t", table, "-A", chain, "-j", "ACCEPT")
				want, cerr := firewall.CreatedChain(table, chain)
				if err != nil {
					// iptables has no such chain in this table: nor has
					// CreatedChain.
					if cerr == nil || !strings.Contains(errOut, "No chain") && !strings.Contains(errOut, "does not exist") {
						t.Errorf("%s -t %s -A %s: %v %s; CreatedChain: %v", tool.name, table, chain, err, errOut, cerr)
					}
					continue
				}
				if cerr != nil {
					t.Errorf("%s -t %s has chain %s, but CreatedChain refuses it: %v", tool.name, table, chain, cerr)
					continue
				}
				chains, err := c.Chains(context.Background(), tool.fam, table)
				if err != nil {
					t.Fatal(err)
				}
				var got *kernel.BaseChain
				for _, kc := range chains {
					if kc.Name == chain {
						got = kc.Base
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s -t %s chain %s: CreatedChain (-) against iptables-nft's (+):\n%s", tool.name, table, chain, diff)
				}
				compared++
			}
		}
	}
	if compared != 2*17 {
		t.Errorf("%d chains compared, want 34 (17 built-in chains in 5 tables, two families)", compared)
	}
}
