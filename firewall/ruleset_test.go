package firewall

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/script"
)

// CreateTables creates every table in one transaction; with Check it sends
// it to be checked and changes nothing; a table that exists, whoever made
// it, is ErrTableExists and nothing is sent.
func TestCreateTables(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	fw := desiredFW(t)
	nat := DesiredTable{Family: expr.FamilyIP, Name: "nat", Chains: []DesiredChain{
		{Name: "PREROUTING", Base: &kernel.BaseChain{Type: "nat", Hook: kernel.HookPrerouting, Priority: -100}, Rules: []DesiredRule{
			{Rule: translate(t, expr.FamilyIP, "-m conntrack --ctstate DNAT -j DOCKER")},
		}},
		{Name: "DOCKER"},
	}}
	res, err := c.CreateTables(ctx, []DesiredTable{fw, nat}, SyncOptions{Check: true})
	if err != nil || !res.Checked || f.commits() != 0 || f.checks() != 1 || len(f.tables()) != 0 {
		t.Fatalf("check: %+v, %v; %d commits, %d checks, %d tables; want one check and nothing made", res, err, f.commits(), f.checks(), len(f.tables()))
	}
	res, err = c.CreateTables(ctx, []DesiredTable{fw, nat}, SyncOptions{})
	if err != nil || res.Checked || f.commits() != 1 || len(res.Diffs) != 2 {
		t.Fatalf("create: %+v, %v; %d commits; want one", res, err, f.commits())
	}
	if tb := f.table(expr.FamilyIP, "nat"); tb == nil || !expr.OwnedTable(tb.t.UserData) {
		t.Fatalf("table ip nat: %+v, want one with ctmatch's record", tb)
	}
	if diff := cmp.Diff([]string{"-m conntrack --ctstate DNAT -j DOCKER #"}, fakeRules(t, f.table(expr.FamilyIP, "nat").chain("PREROUTING"))); diff != "" {
		t.Errorf("ip nat PREROUTING (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT #replies", "-m conntrack --ctstate NEW -j new_conns #"}, fakeRules(t, f.table(expr.FamilyInet, "fw").chain("input"))); diff != "" {
		t.Errorf("inet fw input (-want +got):\n%s", diff)
	}
	if b := f.table(expr.FamilyInet, "fw").chain("input").c.Base; b == nil || b.Policy != kernel.PolicyDrop {
		t.Errorf("inet fw input: %+v, want policy drop", b)
	}

	// Again: both exist. A new table next to one that exists: nothing.
	other := DesiredTable{Family: expr.FamilyIP, Name: "other"}
	for _, ds := range [][]DesiredTable{{fw}, {other, nat}} {
		_, err := c.CreateTables(ctx, ds, SyncOptions{})
		if !errors.Is(err, ErrTableExists) || f.commits() != 1 || f.table(expr.FamilyIP, "other") != nil {
			t.Errorf("CreateTables of %s again: %v, %d commits; want ErrTableExists and nothing sent", ds[len(ds)-1].Name, err, f.commits())
		}
	}
	if _, err := c.CreateTables(ctx, []DesiredTable{other, other}, SyncOptions{}); !errors.Is(err, ErrInvalidChange) {
		t.Errorf("a table named twice: %v, want ErrInvalidChange", err)
	}
}

// script.BuiltinBase (pure, for translate -f's scripts) and CreatedChain
// (what --create and apply -f make) give every built-in chain the same base
// chain.
func TestBuiltinBaseAgrees(t *testing.T) {
	n := 0
	for _, tb := range script.Tables {
		for _, ch := range tb.Chains {
			b, ok := script.BuiltinBase(tb.Name, ch)
			k, err := CreatedChain(tb.Name, ch)
			if !ok || err != nil || k == nil || b.Type != k.TypeName() || b.Hook != k.Hook.String() || b.Priority != int(k.Priority) {
				t.Errorf("%s %s: script says %+v (%v), CreatedChain %+v (%v)", tb.Name, ch, b, ok, k, err)
			}
			n++
		}
	}
	if n != 17 {
		t.Errorf("%d built-in chains, want 17", n)
	}
	if _, ok := script.BuiltinBase("nat", "FORWARD"); ok {
		t.Errorf("nat has a FORWARD chain")
	}
}
