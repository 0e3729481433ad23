package firewall

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// The planner decides from what was read alone, without a connection:
// which tables and chains to create, where a group goes among the chain's
// groups, and where its rules go in the transaction.
func TestPlanFromASnapshot(t *testing.T) {
	const fam = expr.FamilyInet
	ud, err := expr.TableUserData("")
	if err != nil {
		t.Fatal(err)
	}
	p := &plan{o: ApplyOptions{Create: true}, tables: []kernel.Table{{Family: fam, Name: "fw", Handle: 1, UserData: ud}},
		planned: map[tableKey]*plannedTable{}}
	jump := translate(t, fam, "-m conntrack --ctstate NEW -j newconns")
	ins := &Change{Family: fam, Table: "fw", Chain: "in", Rule: jump, Insert: true, Index: 2}

	pt, err := p.table(ins, 0)
	if err != nil || !pt.exists || len(p.pending) != 0 {
		t.Fatalf("table: %+v, %v, %d to create; want the existing table", pt, err, len(p.pending))
	}
	p.addChains(pt, []kernel.Chain{{Family: fam, Table: "fw", Name: "in", Handle: 2}})
	pc, err := p.chain(pt, ins, 0)
	if err != nil || !pc.exists || !needsGroups(ins) {
		t.Fatalf("chain: %+v, %v", pc, err)
	}
	// Two rules without a group record: two groups.
	one := lowered(t, translate(t, fam, "-m conntrack --ctstate INVALID -j DROP"))[0]
	p.addGroups(pc, []kernel.Rule{{Family: fam, Table: "fw", Chain: "in", Handle: 10, Exprs: one}, {Family: fam, Table: "fw", Chain: "in", Handle: 11, Exprs: one}}, nil)
	if err := p.jumps(pt, ins, 0); err != nil {
		t.Fatal(err)
	}
	want := []creation{{Created: Created{Family: fam, Table: "fw", Chain: "newconns"}}}
	if diff := cmp.Diff(want, p.pending, cmp.AllowUnexported(creation{})); diff != "" {
		t.Errorf("to create (-want +got):\n%s", diff)
	}
	if !pt.chains["newconns"].jumpOnly {
		t.Error("the chain made for the jump is not marked as such")
	}
	at, err := p.place(pc, ins, 0)
	if err != nil || at != 1 {
		t.Fatalf("insert as group 2: slot %d, %v; want 1", at, err)
	}
	spec, reverse, byID := where(pc, at, false, nil)
	if !spec.Insert || spec.Position != 11 || reverse || byID {
		t.Errorf("insert as group 2 goes %+v (reverse %v, by id %v); want before handle 11", spec, reverse, byID)
	}

	// Added after group 1, which was read: after its last rule.
	add := &Change{Family: fam, Table: "fw", Chain: "in", Rule: translate(t, fam, "-m conntrack --ctstate NEW -j ACCEPT"), Index: 1}
	at, err = p.place(pc, add, 1)
	if err != nil || at != 1 {
		t.Fatalf("add after group 1: slot %d, %v; want 1", at, err)
	}
	spec, reverse, byID = where(pc, at, false, nil)
	if spec.Insert || spec.Position != 10 || !reverse || byID {
		t.Errorf("add after group 1 goes %+v (reverse %v, by id %v); want after handle 10", spec, reverse, byID)
	}
	// Between two new groups: before the rules of the next one, by the
	// rule id of its first rule, since the kernel has no handle for it yet.
	between := &Change{Family: fam, Table: "fw", Chain: "in", Rule: add.Rule, Index: 2}
	at, err = p.place(pc, between, 2)
	if err != nil || at != 2 {
		t.Fatalf("add after group 2: slot %d, %v; want 2", at, err)
	}
	spec, reverse, byID = where(pc, at, false, func(change int) uint32 { return uint32(100 + change) })
	if !spec.Insert || spec.PositionID != 100 || reverse || !byID {
		t.Errorf("add after group 2 goes %+v (reverse %v, by id %v); want before rule id 100", spec, reverse, byID)
	}

	// At the end: no position at all, and the chain's groups stay as read.
	end := &Change{Family: fam, Table: "fw", Chain: "in", Rule: add.Rule}
	at, err = p.place(pc, end, 3)
	if spec, _, _ := where(pc, at, appended(end), nil); err != nil || spec.Insert || spec.Position != 0 || len(pc.tail) != 1 {
		t.Errorf("at the end: %+v, %v, tail %v", spec, err, pc.tail)
	}
}

// Create adds no chain to an existing table of another program (no
// ctmatch record) unless Force: a base chain there would filter beside
// that program's chains. Rules go into its existing chains all the same.
func TestPlanCreateInAnotherProgramsTable(t *testing.T) {
	const fam = expr.FamilyInet
	for _, force := range []bool{false, true} {
		p := &plan{o: ApplyOptions{Create: true, Force: force}, tables: []kernel.Table{{Family: fam, Name: "other", Handle: 1}},
			planned: map[tableKey]*plannedTable{}}
		ch := &Change{Family: fam, Table: "other", Chain: "INPUT", Rule: translate(t, fam, "-j ACCEPT")}
		pt, err := p.table(ch, 0)
		if err != nil {
			t.Fatal(err)
		}
		p.addChains(pt, []kernel.Chain{{Family: fam, Table: "other", Name: "mine", Handle: 2}})
		_, err = p.chain(pt, ch, 0)
		if force != (err == nil) || !force && !errors.Is(err, ErrNotOwned) {
			t.Errorf("Force %v: a new chain in another program's table: %v", force, err)
		}
		into := &Change{Family: fam, Table: "other", Chain: "mine", Rule: translate(t, fam, "-j ACCEPT")}
		if _, err := p.chain(pt, into, 1); err != nil {
			t.Errorf("Force %v: a rule into its existing chain: %v", force, err)
		}
	}
}
