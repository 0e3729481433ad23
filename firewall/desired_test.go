package firewall

import (
	"context"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// DesiredTables makes the tables of an iptables-save file: built-in chains
// as iptables-nft makes them, with their policies, user chains regular,
// the rules in order; CreateTables writes them.
func TestDesiredTables(t *testing.T) {
	s := ctmatch.NewSaveRuleset(ctmatch.Options{})
	for i, l := range strings.Split("*filter\n:INPUT DROP [0:0]\n:svc - [0:0]\n-A INPUT -j svc\n-A svc -p tcp -j ACCEPT\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT", "\n") {
		if _, err := s.Line(l, parse.Position{File: "rules.v4", Line: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.End(); err != nil {
		t.Fatal(err)
	}
	ds, err := DesiredTables(s.Ruleset(), expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Name != "filter" || ds[1].Name != "nat" {
		t.Fatalf("tables %+v", ds)
	}
	in, svc, post := ds[0].Chains[0], ds[0].Chains[1], ds[1].Chains[0]
	if in.Base == nil || in.Base.Hook != kernel.HookInput || in.Base.Policy != kernel.PolicyDrop || len(in.Rules) != 1 ||
		svc.Base != nil || len(svc.Rules) != 1 || post.Base == nil || post.Base.Type != "nat" || post.Base.Priority != 100 {
		t.Errorf("chains %+v, %+v, %+v", in, svc, post)
	}
	f := newFakeConn()
	if _, err := f.client().CreateTables(context.Background(), ds, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := DesiredTables(s.Ruleset(), expr.FamilyInet); err == nil {
		t.Error("DesiredTables of rules compiled for ip tables, as inet: no error")
	}
}
