package firewall

import (
	"context"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// A rule whose nft rules look up anonymous sets (-m multiport) sends each
// set and its elements in the rule's transaction, the sets of every rule
// numbered apart; List reads them back as the same words, with the group
// records and without; deleting the group takes its sets with it; Sync of
// the same rules twice sends nothing the second time.
func TestApplyMultiportSets(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	const ports = "-p tcp -m multiport --ports 22,80 -j ACCEPT"
	const dports = "-p udp -m multiport ! --dports 53,123,5000:5010"
	p, err := Prepare(translate(t, expr.FamilyInet, dports))
	if err != nil {
		t.Fatal(err)
	}
	changes := []Change{
		{Family: expr.FamilyInet, Table: "fw", Chain: "input", Rule: translate(t, expr.FamilyInet, ports)},
		{Family: expr.FamilyInet, Table: "fw", Chain: "input", Prepared: p},
	}
	if _, err := c.Apply(ctx, changes, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	sets, err := f.Sets(ctx, expr.FamilyInet, "fw")
	if err != nil || len(sets) != 4 {
		t.Fatalf("%d sets (%v), want 4: three for --ports' two nft rules, one for ! --dports", len(sets), err)
	}
	l, err := c.List(ctx, Scope{Family: expr.FamilyInet, Table: "fw"})
	if err != nil {
		t.Fatal(err)
	}
	groups := l.Tables[0].Chains[0].Groups
	if len(groups) != 2 || groups[0].Rule == nil || groups[1].Rule == nil ||
		ctmatch.Words(groups[0].Rule) != ports || ctmatch.Words(groups[1].Rule) != dports {
		t.Fatalf("listed %+v, want %q and %q", groups, ports, dports)
	}

	// Without the records, each nft rule is a group of its own, read from
	// its expressions and its sets: --ports' two rules list as the two
	// iptables rules each of them is.
	ch := f.addTable(expr.FamilyInet, "bare", nil).addChain("in", nil)
	tx := f.BeginAt(0)
	r := translate(t, expr.FamilyInet, ports)
	id := uint32(1)
	for _, nr := range r.Rules {
		b, s, err := nr.LowerSets(expr.FamilyInet, id)
		if err != nil {
			t.Fatal(err)
		}
		id += uint32(len(s))
		queueSets(tx, expr.FamilyInet, "bare", s)
		tx.AddRule(expr.FamilyInet, "bare", ch.c.Name, kernel.RuleSpec{Exprs: b})
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	l, err = c.List(ctx, Scope{Family: expr.FamilyInet, Table: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-p tcp -m multiport --sports 22,80 -j ACCEPT", "-p tcp -m multiport ! --sports 22,80 -m multiport --dports 22,80 -j ACCEPT"}
	g := l.Tables[0].Chains[0].Groups
	if len(g) != 2 {
		t.Fatalf("listed without records: %d groups, want 2", len(g))
	}
	for i := range g {
		if g[i].Rule == nil || ctmatch.Words(g[i].Rule) != want[i] {
			t.Errorf("listed without records: group %d is %v (%v), want %q", i, g[i].Rule, g[i].Err, want[i])
		}
	}

	// Deleting a group deletes its sets.
	if _, err := c.Delete(ctx, expr.FamilyInet, "fw", "input", groups[0].Pieces[0].Handle, DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if sets, _ := f.Sets(ctx, expr.FamilyInet, "fw"); len(sets) != 1 {
		t.Errorf("after deleting --ports: %d sets, want 1", len(sets))
	}

	// Sync: the same desired rules twice, the second time nothing is sent.
	d := DesiredTable{Family: expr.FamilyInet, Name: "s", Chains: []DesiredChain{{Name: "in", Rules: []DesiredRule{
		{Rule: translate(t, expr.FamilyInet, ports)}, {Rule: translate(t, expr.FamilyInet, dports)},
	}}}}
	if res, err := c.Sync(ctx, d, SyncOptions{}); err != nil || !res.Sent {
		t.Fatalf("first sync: %+v, %v", res, err)
	}
	if sets, _ := f.Sets(ctx, expr.FamilyInet, "s"); len(sets) != 4 {
		t.Errorf("after sync: %d sets, want 4", len(sets))
	}
	if res, err := c.Sync(ctx, d, SyncOptions{}); err != nil || res.Sent {
		t.Errorf("second sync: %+v, %v: want nothing sent", res, err)
	}
}
