package firewall

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// Create makes what is missing: the table with ctmatch's ownership record,
// base chains as iptables-nft makes them for the rule's -t, regular chains
// for other names; every nft rule carries its group record.
func TestApplyCreate(t *testing.T) {
	f := newFakeConn()
	c := f.client()
	const fam = expr.FamilyInet
	changes := []Change{
		{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")},
		{Family: fam, Table: "fw", Chain: "PREROUTING", Rule: translate(t, fam, "-t nat -m conntrack --ctstate NEW")},
		{Family: fam, Table: "fw", Chain: "Output", Rule: translate(t, fam, "-t mangle -m conntrack --ctstate NEW")},
		{Family: fam, Table: "fw", Chain: "web", Rule: translate(t, fam, "-m conntrack --ctstate NEW")},
		{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate ESTABLISHED,RELATED -j web")},
	}
	res, err := c.Apply(context.Background(), changes, ApplyOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for _, cr := range res.Created {
		created = append(created, cr.String())
	}
	want := []string{
		"add table inet fw",
		"add chain inet fw input { type filter hook input priority 0; policy accept; }",
		"add chain inet fw PREROUTING { type nat hook prerouting priority -100; policy accept; }",
		"add chain inet fw Output { type route hook output priority -150; policy accept; }",
		"add chain inet fw web",
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	tb := f.table(fam, "fw")
	if tb == nil || !expr.OwnedTable(tb.t.UserData) {
		t.Fatalf("table inet fw: %+v, want it with ctmatch's ownership record", tb)
	}
	in := tb.chain("input")
	if diff := cmp.Diff([]string{"*1.0/2", "*1.1/2", "*5.0/1"}, chainOrder(t, in)); diff != "" {
		t.Errorf("chain input's group records (-want +got):\n%s", diff)
	}
	_, g, _ := expr.ParseUserData(in.rules[0].UserData)
	if g.Words != "-m conntrack --ctstate NEW,DNAT -j ACCEPT" || g.IPv6 {
		t.Errorf("group record %+v: want the canonical words without -A or -t, IPv4", g)
	}
	_, g, _ = expr.ParseUserData(tb.chain("PREROUTING").rules[0].UserData)
	if g.Words != "-m conntrack --ctstate NEW" {
		t.Errorf("group record words %q: -t is not part of them", g.Words)
	}
	// Handles, per change and piece, are those of the chain.
	if h := res.Changes[0].Handles; len(h) != 2 || h[0] != in.rules[0].Handle || h[1] != in.rules[1].Handle {
		t.Errorf("handles of change 0: %v, chain %v", h, in.rules)
	}
	if res.Generation != 11 || f.commits() != 1 {
		t.Errorf("generation %d after %d commits, want 11 after 1", res.Generation, f.commits())
	}
}

// Without Create, nothing is created, and the error says how.
func TestApplyCreateErrors(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyInet
	rule := translate(t, fam, "-m conntrack --ctstate NEW")
	for _, tc := range []struct {
		name    string
		setup   func(f *fakeConn)
		changes []Change
		create  bool
		kind    error
		want    string
		hint    string
	}{
		{name: "no table", changes: []Change{{Family: fam, Table: "fw", Chain: "input", Rule: rule}},
			kind: ErrNoTable, want: "add rule inet fw input (-m conntrack --ctstate NEW): no such table inet fw",
			hint: "create it with --create, or with nft add table inet fw"},
		{name: "no chain", setup: func(f *fakeConn) { f.addTable(fam, "fw", nil) },
			changes: []Change{{Family: fam, Table: "fw", Chain: "input", Rule: rule, Insert: true}},
			kind:    ErrNoChain, want: "insert rule inet fw input (-m conntrack --ctstate NEW): no such chain input in table inet fw",
			hint: "create it with --create, or with nft add chain inet fw input"},
		{name: "regular chain named INPUT", setup: func(f *fakeConn) { f.addTable(fam, "fw", nil).addChain("INPUT", nil) },
			changes: []Change{{Family: fam, Table: "fw", Chain: "INPUT", Rule: rule}}, create: true,
			kind: ErrChainDiffers, want: "add rule inet fw INPUT (-m conntrack --ctstate NEW): chain inet fw INPUT exists as a regular chain, and --create would have made it a base chain (type filter hook input priority 0; policy accept) for -t filter",
			hint: "leave out --create to write into it as it is, or write into another chain"},
		{name: "base chain of another priority", setup: func(f *fakeConn) {
			f.addTable(fam, "fw", nil).addChain("input", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput, Priority: 10})
		},
			changes: []Change{{Family: fam, Table: "fw", Chain: "input", Rule: rule}}, create: true, kind: ErrChainDiffers},
		{name: "base chain for a regular name", setup: func(f *fakeConn) {
			f.addTable(fam, "fw", nil).addChain("web", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput})
		},
			changes: []Change{{Family: fam, Table: "fw", Chain: "web", Rule: rule}}, create: true, kind: ErrChainDiffers},
		{name: "nat has no FORWARD", changes: []Change{{Family: fam, Table: "fw", Chain: "forward", Rule: translate(t, fam, "-t nat -m conntrack --ctstate NEW")}}, create: true,
			kind: ErrInvalidChange, want: `add rule inet fw forward (-m conntrack --ctstate NEW): iptables' nat table has no FORWARD chain (only PREROUTING, INPUT, OUTPUT, POSTROUTING), so --create does not know which base chain "forward" should be`,
			hint: "create the chain first, or pick the table with -t"},
		{name: "two -t for one new chain", changes: []Change{
			{Family: fam, Table: "fw", Chain: "OUTPUT", Rule: rule},
			{Family: fam, Table: "fw", Chain: "OUTPUT", Rule: translate(t, fam, "-t raw -m conntrack --ctstate NEW")},
		}, create: true, kind: ErrChainDiffers},
		{name: "jump to a missing chain", setup: func(f *fakeConn) { f.addTable(fam, "fw", nil).addChain("input", nil) },
			changes: []Change{{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW -j newconns")}},
			kind:    ErrNoChain, want: "add rule inet fw input (-m conntrack --ctstate NEW -j newconns): the rule jumps to chain newconns, which table inet fw does not have",
			hint: "create it first (nft add chain inet fw newconns)"},
		{name: "jump to a chain no change writes into", changes: []Change{{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW -j newconns")}}, create: true,
			kind: ErrNoChain, want: "add rule inet fw input (-m conntrack --ctstate NEW -j newconns): the rule jumps to chain newconns, which table inet fw does not have",
			hint: "create it first (nft add chain inet fw newconns)"},
		{name: "jump to a chain made a base chain later", changes: []Change{
			{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW -j OUTPUT")},
			{Family: fam, Table: "fw", Chain: "OUTPUT", Rule: translate(t, fam, "-t raw -m conntrack --ctstate NEW")},
		}, create: true,
			kind: ErrChainDiffers, want: "add rule inet fw OUTPUT (-m conntrack --ctstate NEW): chain inet fw OUTPUT is created as a base chain (type filter hook output priority 0; policy accept) for the jump of the rule of change 1 (-t filter), but this rule's -t raw makes it a base chain (type filter hook output priority -300; policy accept)",
			hint: "use the same -t for every rule of the chain"},
		{name: "rule for another family", setup: func(f *fakeConn) { f.addTable(fam, "fw", nil).addChain("input", nil) },
			changes: []Change{{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, expr.FamilyIP, "-m conntrack --ctstate NEW")}}, kind: ErrInvalidChange},
		{name: "negative index", changes: []Change{{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW"), Index: -1}}, create: true,
			kind: ErrInvalidChange, want: "add rule inet fw input (-m conntrack --ctstate NEW): index -1: an index counts groups from 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeConn()
			if tc.setup != nil {
				tc.setup(f)
			}
			before := f.snapshot()
			_, err := f.client().Apply(ctx, tc.changes, ApplyOptions{Create: tc.create})
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v, want %v", err, tc.kind)
			}
			if tc.want != "" && err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			if tc.want != "" && hintOf(err) != tc.hint {
				t.Errorf("hint %q, want %q", hintOf(err), tc.hint)
			}
			if f.commits()+f.checks() != 0 || f.snapshot() != before {
				t.Errorf("something was sent or changed")
			}
		})
	}
}

// Positions count groups, as the changes before left them; group ids are
// new in the chain; the rules of each group keep their order.
func TestApplyPositions(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyIP
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	// G1: two pieces with group record 3; G2: one rule without a record;
	// G3: one rule with record 7.
	g1 := translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")
	var g1Handles []uint64
	for i, b := range lowered(t, g1) {
		ud, _ := expr.Group{ID: 3, Index: i, Count: 2, Words: ctmatch.Words(g1.Source)}.UserData("")
		g1Handles = append(g1Handles, f.addRule(ch, b, ud, nil))
	}
	f.addRule(ch, lowered(t, translate(t, fam, "-m conntrack --ctstate INVALID -j DROP"))[0], nil, nil)
	ud, _ := expr.Group{ID: 7, Count: 1}.UserData("a comment")
	f.addRule(ch, lowered(t, translate(t, fam, "-m conntrack --ctdir REPLY"))[0], ud, nil)

	two := translate(t, fam, "-m conntrack ! --ctstate SNAT -j ACCEPT") // two pieces
	one := translate(t, fam, "-m conntrack --ctstate NEW")
	changes := []Change{
		{Family: fam, Table: "fw", Chain: "in", Rule: two, Insert: true, Index: 2}, // X: [G1 X G2 G3]
		{Family: fam, Table: "fw", Chain: "in", Rule: one},                         // Y: [G1 X G2 G3 Y]
		{Family: fam, Table: "fw", Chain: "in", Rule: one, Insert: true},           // Z: [Z G1 X G2 G3 Y]
		{Family: fam, Table: "fw", Chain: "in", Rule: two, Handle: g1Handles[1]},   // W: [Z G1 W X G2 G3 Y]
		{Family: fam, Table: "fw", Chain: "in", Rule: one, Insert: true, Index: 3}, // V: [Z G1 V W X G2 G3 Y]
		{Family: fam, Table: "fw", Chain: "in", Rule: one, Insert: true, Index: 9}, // U: one past the end
	}
	res, err := f.client().Apply(ctx, changes, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ch = f.table(fam, "fw").chain("in")
	// New ids, in the order of the changes from the batch's base (0 here):
	// 1 (X), 2 (Y), 3 (Z), 4 (W), 5 (V), 6 (U).
	want := []string{"*3.0/1", "3.0/2", "3.1/2", "*5.0/1", "*4.0/2", "*4.1/2", "*1.0/2", "*1.1/2", "-", "7.0/1", "*2.0/1", "*6.0/1"}
	if diff := cmp.Diff(want, chainOrder(t, ch)); diff != "" {
		t.Errorf("chain order (-want +got):\n%s", diff)
	}
	if f.dumps() != 1 {
		t.Errorf("the chain was listed %d times, want once", f.dumps())
	}
	for i, ac := range res.Changes {
		for k, h := range ac.Handles {
			idx := -1
			for j, r := range ch.rules {
				if r.Handle == h {
					idx = j
				}
			}
			if idx < 0 {
				t.Errorf("change %d piece %d: handle %d not in the chain", i, k, h)
				continue
			}
			if _, g, _ := expr.ParseUserData(ch.rules[idx].UserData); g.ID != ac.Group.ID || g.Index != k {
				t.Errorf("change %d piece %d: handle %d holds record %+v", i, k, h, g)
			}
		}
	}

	// Only the top and the end (the groups are not needed then, nor is
	// the chain): a two-piece insert at the top keeps its order; the next
	// batch's ids start at its own base (100).
	dumps := f.dumps()
	if _, err := f.client().Apply(ctx, []Change{
		{Family: fam, Table: "fw", Chain: "in", Rule: one},
		{Family: fam, Table: "fw", Chain: "in", Rule: two, Insert: true},
	}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	got := chainOrder(t, f.table(fam, "fw").chain("in"))
	if want := append(append([]string{"*102.0/2", "*102.1/2"}, want...), "*101.0/1"); !cmp.Equal(want, got) {
		t.Errorf("chain order after top and end (-want +got):\n%s", cmp.Diff(want, got))
	}
	if f.dumps() != dumps {
		t.Errorf("adding at the top and the end listed the chain %d times", f.dumps()-dumps)
	}

	for _, tc := range []struct {
		change Change
		want   string
		hint   string
	}{
		{Change{Family: fam, Table: "fw", Chain: "in", Rule: one, Insert: true, Index: 13},
			"insert rule ip fw in (-m conntrack --ctstate NEW): index 13 is too big: chain ip fw in holds 11 rules (groups of nft rules), so insert takes an index from 1 to 12", ""},
		{Change{Family: fam, Table: "fw", Chain: "in", Rule: one, Index: 12},
			"add rule ip fw in (-m conntrack --ctstate NEW): index 12 is too big: chain ip fw in holds 11 rules (groups of nft rules), so add takes an index from 1 to 11 (the rule goes after that group)", ""},
		{Change{Family: fam, Table: "fw", Chain: "in", Rule: one, Handle: 9999, Pos: parse.Position{File: "rules", Line: 3}},
			"add rule ip fw in (rules:3: -m conntrack --ctstate NEW): no rule with handle 9999 in chain ip fw in", "ctmatch list chain ip fw in -a shows the handles"},
		{Change{Family: fam, Table: "fw", Chain: "empty", Rule: one, Index: 1},
			"add rule ip fw empty (-m conntrack --ctstate NEW): index 1: chain ip fw empty holds no rule to add after; leave out the index (or insert at index 1)", ""},
	} {
		_, err := f.client().Apply(ctx, []Change{tc.change}, ApplyOptions{Create: tc.change.Chain == "empty", Force: true})
		if !errors.Is(err, ErrNoPosition) || err.Error() != tc.want || hintOf(err) != tc.hint {
			t.Errorf("error:\n got %v (hint %q)\nwant %s (hint %q)", err, hintOf(err), tc.want, tc.hint)
		}
	}
}

// Check sends the transaction for checking only: nothing changes.
func TestApplyCheck(t *testing.T) {
	f := newFakeConn()
	const fam = expr.FamilyInet
	res, err := f.client().Apply(context.Background(), []Change{{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW,DNAT")}}, ApplyOptions{Create: true, Check: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Checked || f.checks() != 1 || f.commits() != 0 || len(f.tables()) != 0 || f.gen() != 10 {
		t.Errorf("checked %v, %d checks, %d commits, %d tables, generation %d: want only a check", res.Checked, f.checks(), f.commits(), len(f.tables()), f.gen())
	}
	if h := res.Changes[0].Handles; len(h) != 2 || h[0] != 0 || len(res.Created) != 2 {
		t.Errorf("result %+v: want two unknown handles and what would be created", res)
	}
}

func TestApplyPlacement(t *testing.T) {
	const fam = expr.FamilyIP
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	exprs, uds := placementStart(t, fam)
	var handles []uint64
	for i := range exprs {
		handles = append(handles, f.addRule(ch, exprs[i], uds[i], nil))
	}
	changes, want := placement(t, fam, handles[1])
	if _, err := f.client().Apply(context.Background(), changes, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, chainOrder(t, f.table(fam, "fw").chain("in"))); diff != "" {
		t.Errorf("chain order (-want +got):\n%s", diff)
	}
}

// With Create, a rule may jump to a chain that a later change writes into:
// the chain is created before the rule that jumps to it.
func TestApplyJumpBeforeItsChain(t *testing.T) {
	const fam = expr.FamilyInet
	f := newFakeConn()
	res, err := f.client().Apply(context.Background(), []Change{
		{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW -j newconns")},
		{Family: fam, Table: "fw", Chain: "newconns", Rule: translate(t, fam, "-m conntrack --ctorigdstport 22 -j ACCEPT")},
	}, ApplyOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for _, c := range res.Created {
		created = append(created, c.String())
	}
	want := []string{"add table inet fw", "add chain inet fw input { type filter hook input priority 0; policy accept; }", "add chain inet fw newconns"}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	// The fake kernel applies the changes in order: the chain was there
	// before the rule that jumps to it.
	var ops []string
	for _, c := range f.tables()[0].chains() {
		ops = append(ops, fmt.Sprintf("%s %d", c.c.Name, len(c.rules)))
	}
	if diff := cmp.Diff([]string{"input 1", "newconns 1"}, ops); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}
}

// A Batch refuses to go on after an error of Add, and to commit twice.
func TestBatchSpent(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyInet
	f := newFakeConn()
	f.addTable(fam, "fw", nil).addChain("input", nil)
	rule := translate(t, fam, "-m conntrack --ctstate NEW")
	b := f.client().Batch(ApplyOptions{})
	if err := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "input", Rule: rule}); err != nil {
		t.Fatal(err)
	}
	bad := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "nochain", Rule: rule})
	if !errors.Is(bad, ErrNoChain) {
		t.Fatalf("Add into a missing chain: %v", bad)
	}
	if err := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "input", Rule: rule}); err != bad {
		t.Errorf("Add after an error: %v, want the error again", err)
	}
	if _, err := b.Commit(ctx); err != bad || f.commits() != 0 {
		t.Errorf("Commit after an error: %v (%d commits), want the error again and nothing sent", err, f.commits())
	}

	b = f.client().Batch(ApplyOptions{})
	if err := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "input", Rule: rule}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(ctx); !errors.Is(err, ErrInvalidChange) || f.commits() != 1 {
		t.Errorf("second Commit: %v (%d commits)", err, f.commits())
	}
	if err := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "input", Rule: rule}); !errors.Is(err, ErrInvalidChange) {
		t.Errorf("Add after Commit: %v", err)
	}
}

// A batch numbers its groups from a random base that the Client's
// randomness gives it, with the top bit set: the ids differ within the
// batch, never meet the 32-bit ids of the records of earlier versions, and
// need no listing of the chain.
func TestApplyGroupIDs(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyIP
	one := translate(t, fam, "-m conntrack --ctstate NEW")
	two := translate(t, fam, "-m conntrack --ctstate NEW,DNAT")
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	for _, id := range []uint64{5, math.MaxUint32} {
		ud, _ := expr.Group{ID: id, Count: 1}.UserData("")
		f.addRule(ch, lowered(t, one)[0], ud, nil)
	}
	c := f.client()
	add := func(r *ctmatch.Rule) Change { return Change{Family: fam, Table: "fw", Chain: "in", Rule: r} }
	res, err := c.Apply(ctx, []Change{add(one), add(two), add(one)}, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, []Change{add(two)}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"5.0/1", "4294967295.0/1", "*1.0/1", "*2.0/2", "*2.1/2", "*3.0/1", "*101.0/2", "*101.1/2"}
	if diff := cmp.Diff(want, chainOrder(t, f.table(fam, "fw").chain("in"))); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
	if got := res.Changes[1].Group.ID; got != 1<<63|2 {
		t.Errorf("Applied's group id is %#x, want %#x", got, uint64(1<<63|2))
	}
	if f.dumps() != 0 {
		t.Errorf("the chain was listed %d times", f.dumps())
	}
	// The base wraps around, the top bit stays set.
	b := &Batch{idBase: math.MaxUint64 - 1}
	if got := []uint64{b.newID(), b.newID(), b.newID()}; !cmp.Equal(got, []uint64{math.MaxUint64, 1 << 63, 1<<63 | 1}) {
		t.Errorf("ids from the base 2^64-2: %#x", got)
	}
}

// Adding at the end of a chain and inserting at its top list none of its
// rules (a long chain takes the kernel long to list): nothing in them
// depends on what the chain holds, not even the group ids.
func TestApplyTopAndEndReadNoRules(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyInet
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	exprs, uds := placementStart(t, fam)
	for i := range exprs {
		f.addRule(ch, exprs[i], uds[i], nil)
	}
	c := f.client()
	two := translate(t, fam, "-m conntrack ! --ctstate SNAT -j ACCEPT") // two pieces
	one := translate(t, fam, "-m conntrack --ctstate NEW")
	for _, changes := range [][]Change{
		{{Family: fam, Table: "fw", Chain: "in", Rule: two}},
		{{Family: fam, Table: "fw", Chain: "in", Rule: two, Insert: true}},
		{{Family: fam, Table: "fw", Chain: "in", Rule: one, Insert: true}, {Family: fam, Table: "fw", Chain: "in", Rule: one},
			{Family: fam, Table: "fw", Chain: "in", Rule: two, Insert: true}},
		// Group 1 is the top.
		{{Family: fam, Table: "fw", Chain: "in", Rule: one, Insert: true, Index: 1}},
	} {
		if _, err := c.Apply(ctx, changes, ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"*301.0/1", "*203.0/2", "*203.1/2", "*201.0/1", "*101.0/2", "*101.1/2", "3.0/2", "3.1/2", "-", "7.0/1", "*1.0/2", "*1.1/2", "*202.0/1"}
	if diff := cmp.Diff(want, chainOrder(t, f.table(fam, "fw").chain("in"))); diff != "" {
		t.Errorf("chain order (-want +got):\n%s", diff)
	}
	if f.dumps() != 0 {
		t.Errorf("the chain's rules were listed %d times, want none", f.dumps())
	}
}

// A rule that goes between two rules of the same transaction is placed by
// rule id, which kernels before 5.1 ignore (they would put it at the top):
// there, it is refused when it is added (kernel.PositionIDs says which
// kernels; kernel/ tests it).
func TestApplyPositionIDNeedsLinux51(t *testing.T) {
	const fam = expr.FamilyIP
	one := translate(t, fam, "-m conntrack --ctstate NEW")
	changes := []Change{
		{Family: fam, Table: "fw", Chain: "in", Rule: one},
		{Family: fam, Table: "fw", Chain: "in", Rule: one},
		{Family: fam, Table: "fw", Chain: "in", Rule: one, Insert: true, Index: 2}, // between the two
	}
	defer func(p func() bool) { positionIDs = p }(positionIDs)
	for _, ok := range []bool{false, true} {
		positionIDs = func() bool { return ok }
		f := newFakeConn()
		f.addTable(fam, "fw", nil).addChain("in", nil)
		_, err := f.client().Apply(context.Background(), changes, ApplyOptions{})
		if (err == nil) != ok || !ok && (!errors.Is(err, ErrNoPosition) || !strings.Contains(err.Error(), "needs Linux 5.1 or later") || f.commits() != 0) {
			t.Errorf("position ids %v: %v", ok, err)
		}
	}
}
