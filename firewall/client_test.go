package firewall

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nftwire"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// translate compiles words for a table of family f, or fails the test.
func translate(t testing.TB, f expr.Family, words string) *ctmatch.Rule {
	t.Helper()
	r, err := ctmatch.Translate(words, ctmatch.Options{Table: f, IPv6: f == expr.FamilyIP6})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// lowered returns the wire expressions of r's nft rules.
func lowered(t testing.TB, r *ctmatch.Rule) [][]byte {
	t.Helper()
	w, err := r.Wire()
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// xtRule is an expression list with an xt match, as iptables-nft writes
// -m conntrack (the match's blob left out).
func xtRule() []byte {
	return nftwire.Expr("match", func(d *netlink.AttributeEncoder) {
		d.String(1, "conntrack") // NFTA_MATCH_NAME
		d.Uint32(2, 3)           // NFTA_MATCH_REV
	})
}

// nftComment is rule userdata as nft writes it for comment c: its comment
// record alone (type 0, NUL-terminated), no ctmatch group record.
func nftComment(c string) []byte {
	return append(append([]byte{0, byte(len(c) + 1)}, c...), 0)
}

// chainOrder returns, for each rule of the fake chain, "ID.INDEX/COUNT" of
// its group record, or "-" for a rule without one.
func chainOrder(t *testing.T, c *fakeChain) []string {
	t.Helper()
	return groupOrder(c.rules)
}

// groupOrder is chainOrder of a chain's rules.
func groupOrder(rules []kernel.Rule) []string {
	var out []string
	for _, r := range rules {
		_, g, err := expr.ParseUserData(r.UserData)
		if err != nil {
			out = append(out, "-")
			continue
		}
		id := fmt.Sprint(g.ID)
		if g.ID&(1<<63) != 0 {
			id = fmt.Sprintf("*%d", g.ID&^(1<<63))
		}
		out = append(out, fmt.Sprintf("%s.%d/%d", id, g.Index, g.Count))
	}
	return out
}

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
	if res.Generation != 11 || f.commits != 1 {
		t.Errorf("generation %d after %d commits, want 11 after 1", res.Generation, f.commits)
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeConn()
			if tc.setup != nil {
				tc.setup(f)
			}
			before := fmt.Sprint(f.tables)
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
			if f.commits+f.checks != 0 || fmt.Sprint(f.tables) != before {
				t.Errorf("something was sent or changed")
			}
		})
	}
}

// A table that looks like iptables-nft's is refused unless Force, in every
// shape iptables-nft leaves (it marks its tables in no other way); a table
// ctmatch made is never refused, whatever its name; a table whose chains
// are all base chains iptables-nft does not make is not, but with Create.
func TestApplyIptablesTables(t *testing.T) {
	ctx := context.Background()
	owned, err := expr.TableUserData("")
	if err != nil {
		t.Fatal(err)
	}
	input := &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput}
	native := lowered(t, translate(t, expr.FamilyIP, "-m conntrack --ctstate NEW -j ACCEPT"))[0]
	for _, tc := range []struct {
		name    string
		fam     expr.Family
		table   string
		chain   string // written into; INPUT when empty
		create  bool
		setup   func(f *fakeConn, tb *fakeTable)
		refused string // what the error says, "" when not refused
	}{
		{name: "built-in chain", fam: expr.FamilyIP, table: "filter", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", input)
		}, refused: "it has iptables' built-in chain INPUT"},
		{name: "built-in chain of nat", fam: expr.FamilyIP6, table: "nat", chain: "mine", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("mine", &kernel.BaseChain{Type: "nat", Hook: kernel.HookPrerouting, Priority: 0})
			tb.addChain("POSTROUTING", &kernel.BaseChain{Type: "nat", Hook: kernel.HookPostrouting, Priority: 100})
		}, refused: "it has iptables' built-in chain POSTROUTING"},
		// iptables -N FOO; iptables -A FOO -s 10.0.0.1 -j ACCEPT: a user
		// chain with a native rule, and nothing else.
		{name: "user chain only", fam: expr.FamilyIP, table: "filter", chain: "FOO", setup: func(f *fakeConn, tb *fakeTable) {
			f.addRule(tb.addChain("FOO", nil), native, nil, nil)
		}, refused: "it has the regular chain FOO, which iptables lists as a user-defined chain"},
		{name: "regular chain named INPUT", fam: expr.FamilyIP, table: "security", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", nil)
		}, refused: "it has the regular chain INPUT"},
		// iptables -N FOO; iptables -X FOO leaves the table empty.
		{name: "no chains", fam: expr.FamilyIP, table: "filter", create: true, setup: func(f *fakeConn, tb *fakeTable) {},
			refused: "it has no chains, as iptables -F and -X leave iptables-nft's tables"},
		{name: "xt match in a base chain of another priority", fam: expr.FamilyIP6, table: "mangle", chain: "mine", setup: func(f *fakeConn, tb *fakeTable) {
			f.addRule(tb.addChain("mine", &kernel.BaseChain{Type: "filter", Hook: kernel.HookForward, Priority: -151}), native, nil, nil)
			f.addRule(tb.chain("mine"), xtRule(), nil, nil)
		}, refused: "rule handle 102 in chain mine uses an xt match"},
		// nft add chain ip filter input { type filter hook input priority
		// 0; }: iptables-nft leaves the chain out of its listing.
		{name: "base chains iptables-nft does not make", fam: expr.FamilyIP, table: "filter", chain: "input", setup: func(f *fakeConn, tb *fakeTable) {
			f.addRule(tb.addChain("input", input), native, nil, nil)
			tb.addChain("INPUT", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput, Priority: 10})
			tb.addChain("OUTPUT", &kernel.BaseChain{Type: "route", Hook: kernel.HookOutput})
		}},
		// --create that creates nothing changes nothing: the chain exists.
		{name: "base chains iptables-nft does not make, with Create", fam: expr.FamilyIP, table: "filter", chain: "input", create: true, setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("input", input)
		}},
		{name: "base chains iptables-nft does not make, a chain to create", fam: expr.FamilyIP, table: "filter", chain: "mine", create: true, setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("input", input)
		}, refused: "iptables-nft reads every ip table named filter, and would read the chain mine that --create adds to it"},
		{name: "ctmatch's own filter", fam: expr.FamilyIP, table: "filter", setup: func(f *fakeConn, tb *fakeTable) {
			tb.t.UserData = owned
			tb.addChain("INPUT", input)
			tb.addChain("FOO", nil)
		}},
		{name: "inet filter", fam: expr.FamilyInet, table: "filter", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", input)
		}},
		{name: "not an iptables table name", fam: expr.FamilyIP, table: "fw", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", input)
		}},
		{name: "a chain named like another table's", fam: expr.FamilyIP, table: "raw", setup: func(f *fakeConn, tb *fakeTable) {
			tb.addChain("INPUT", input)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeConn()
			tb := f.addTable(tc.fam, tc.table, nil)
			tc.setup(f, tb)
			if tc.chain == "" {
				tc.chain = "INPUT"
			}
			if tb.chain(tc.chain) == nil && !tc.create {
				tb.addChain(tc.chain, nil)
			}
			ch := []Change{{Family: tc.fam, Table: tc.table, Chain: tc.chain, Rule: translate(t, tc.fam, "-m conntrack --ctstate NEW")}}
			_, err := f.client().Apply(ctx, ch, ApplyOptions{Create: tc.create})
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrIptablesTable) || !strings.Contains(err.Error(), "looks like iptables-nft's own ("+tc.refused) ||
				!strings.HasSuffix(err.Error(), "iptables -S and -L fail and iptables-save leaves the table out (a comment in its place, exit status 0)") ||
				!strings.Contains(hintOf(err), "--force") || strings.Contains(err.Error(), "--force") {
				t.Fatalf("error %v (hint %q), want ErrIptablesTable saying %q and why, and --force in its hint", err, hintOf(err), tc.refused)
			}
			if f.commits != 0 {
				t.Fatal("something was sent")
			}
			if _, err := f.client().Apply(ctx, ch, ApplyOptions{Create: tc.create, Force: true}); err != nil {
				t.Fatalf("with Force: %v", err)
			}
		})
	}
}

// Creating a table that iptables-nft reads as its own warns, with the
// fact and a hint apart; other tables and chains do not.
func TestApplyWarnings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		fam   expr.Family
		table string
		warn  bool
	}{
		{expr.FamilyIP, "filter", true},
		{expr.FamilyIP6, "raw", true},
		{expr.FamilyInet, "filter", false},
		{expr.FamilyIP, "fw", false},
	} {
		f := newFakeConn()
		ch := []Change{{Family: tc.fam, Table: tc.table, Chain: "INPUT", Rule: translate(t, tc.fam, "-m conntrack --ctstate NEW")}}
		for _, check := range []bool{true, false} {
			res, err := f.client().Apply(ctx, ch, ApplyOptions{Create: true, Check: check})
			if err != nil {
				t.Fatal(err)
			}
			var want []Warning
			if tc.warn {
				obj := object(tc.fam, tc.table)
				want = []Warning{{Object: obj,
					Reason: "table " + obj + " is named like an iptables table, and iptables-nft reads every " + tc.fam.String() + " table of that name as its own: with native rules in it, iptables -S and -L fail on it and iptables-save leaves it out",
					Hint:   "if iptables is used on this host, write into a table of another name (ctmatch add rule " + tc.fam.String() + " fw input --create …)"}}
			}
			if diff := cmp.Diff(want, res.Warnings()); diff != "" {
				t.Errorf("%v %s (check %v): warnings (-want +got):\n%s", tc.fam, tc.table, check, diff)
			}
		}
		// Once the table is there, nothing is created: no warning.
		res, err := f.client().Apply(ctx, ch, ApplyOptions{Create: true})
		if err != nil || len(res.Warnings()) != 0 {
			t.Errorf("%v %s again: %v, warnings %+v", tc.fam, tc.table, err, res.Warnings())
		}
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
	if f.dumps != 1 {
		t.Errorf("the chain was listed %d times, want once", f.dumps)
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
	f.dumps = 0
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
	if f.dumps != 0 {
		t.Errorf("adding at the top and the end listed the chain %d times", f.dumps)
	}

	for _, tc := range []struct {
		change Change
		want   string
		hint   string
	}{
		{Change{Family: fam, Table: "fw", Chain: "in", Rule: one, Insert: true, Index: 13},
			"insert rule ip fw in (-m conntrack --ctstate NEW): index 13 is too big: chain ip fw in holds 11 rules, so insert takes an index from 1 to 12", ""},
		{Change{Family: fam, Table: "fw", Chain: "in", Rule: one, Index: 12},
			"add rule ip fw in (-m conntrack --ctstate NEW): index 12 is too big: chain ip fw in holds 11 rules, so add takes an index from 1 to 11 (the rule goes after that group)", ""},
		{Change{Family: fam, Table: "fw", Chain: "in", Rule: one, Handle: 9999, Source: "rules:3: x"},
			"add rule ip fw in (rules:3: x): no rule with handle 9999 in chain ip fw in", "ctmatch list chain ip fw in -a shows the handles"},
	} {
		_, err := f.client().Apply(ctx, []Change{tc.change}, ApplyOptions{})
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
	if !res.Checked || f.checks != 1 || f.commits != 0 || len(f.tables) != 0 || f.gen != 10 {
		t.Errorf("checked %v, %d checks, %d commits, %d tables, generation %d: want only a check", res.Checked, f.checks, f.commits, len(f.tables), f.gen)
	}
	if h := res.Changes[0].Handles; len(h) != 2 || h[0] != 0 || len(res.Created) != 2 {
		t.Errorf("result %+v: want two unknown handles and what would be created", res)
	}
}

// Deleting any rule of a group deletes the group; a rule in no group goes
// alone.
func TestDelete(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyIP
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	grouped := translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")
	var hs []uint64
	for i, b := range lowered(t, grouped) {
		ud, _ := expr.Group{ID: 1, Index: i, Count: 2}.UserData("")
		hs = append(hs, f.addRule(ch, b, ud, nil))
	}
	single := f.addRule(ch, lowered(t, translate(t, fam, "-m conntrack --ctstate INVALID -j DROP"))[0], nil, nil)
	// Two rules without records that one iptables rule compiles to (as nft
	// loads translate's output, or as someone writes them by hand, each
	// with its comment): nothing says they are one rule's pieces, so each
	// is deleted alone.
	var shaped []uint64
	for i, b := range lowered(t, translate(t, fam, "-m conntrack ! --ctstate SNAT -j DROP")) {
		shaped = append(shaped, f.addRule(ch, b, nftComment(fmt.Sprintf("by hand %d", i)), nil))
	}
	xt := f.addRule(ch, xtRule(), nil, nil)

	c := f.client()
	res, err := c.Delete(ctx, fam, "fw", "in", hs[1], DeleteOptions{Check: true})
	if err != nil || !res.Checked || len(ch.rules) != 6 {
		t.Fatalf("check: %v, %+v; %d rules left, want 6", err, res, len(ch.rules))
	}
	for _, step := range []struct {
		handle uint64
		gone   []uint64
		words  string
	}{
		{hs[1], hs, "-m conntrack --ctstate NEW,DNAT -j ACCEPT"},
		{shaped[0], shaped[:1], "-m conntrack --ctstate INVALID,UNTRACKED -j DROP"},
		{shaped[1], shaped[1:], "-m conntrack ! --ctstate SNAT -m conntrack ! --ctstatus NONE -j DROP"},
		{single, []uint64{single}, "-m conntrack --ctstate INVALID -j DROP"},
		{xt, []uint64{xt}, ""},
	} {
		res, err := c.Delete(ctx, fam, "fw", "in", step.handle, DeleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(step.gone, res.Handles); diff != "" {
			t.Errorf("delete handle %d (-want +got):\n%s", step.handle, diff)
		}
		if ctmatch.Words(res.Rule) != step.words {
			t.Errorf("delete handle %d: rule %q, want %q", step.handle, ctmatch.Words(res.Rule), step.words)
		}
		ch = f.table(fam, "fw").chain("in")
		for _, r := range ch.rules {
			for _, h := range step.gone {
				if r.Handle == h {
					t.Errorf("handle %d is still there", h)
				}
			}
		}
	}
	_, err = c.Delete(ctx, fam, "fw", "in", hs[0], DeleteOptions{})
	if !errors.Is(err, ErrNoRule) || err.Error() != fmt.Sprintf("delete rule ip fw in handle %d: no rule with handle %d in chain ip fw in", hs[0], hs[0]) ||
		hintOf(err) != "ctmatch list chain ip fw in -a shows the handles" {
		t.Errorf("delete of a handle that is gone: %v (hint %q)", err, hintOf(err))
	}
}

// Delete refuses iptables-nft's tables unless Force.
func TestDeleteIptablesTables(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyIP
	f := newFakeConn()
	ch := f.addTable(fam, "filter", nil).addChain("FOO", nil)
	h := f.addRule(ch, lowered(t, translate(t, fam, "-m conntrack --ctstate INVALID -j DROP"))[0], nil, nil)
	_, err := f.client().Delete(ctx, fam, "filter", "FOO", h, DeleteOptions{})
	want := "delete rule ip filter FOO: table ip filter looks like iptables-nft's own (it has the regular chain FOO, which iptables lists as a user-defined chain), and the rule was not written by ctmatch"
	if !errors.Is(err, ErrIptablesTable) || err.Error() != want || hintOf(err) != "use --force to delete it anyway" {
		t.Fatalf("error:\n got %v (hint %q)\nwant %s", err, hintOf(err), want)
	}
	if f.commits+f.checks != 0 || len(ch.rules) != 1 {
		t.Fatal("something was sent")
	}
	// A group ctmatch wrote there (with --force) is ctmatch's to delete:
	// no Force needed.
	ud, _ := expr.Group{ID: 9, Count: 1}.UserData("")
	own := f.addRule(ch, lowered(t, translate(t, fam, "-m conntrack --ctstate NEW -j ACCEPT"))[0], ud, nil)
	res, err := f.client().Delete(ctx, fam, "filter", "FOO", own, DeleteOptions{})
	if err != nil || len(res.Handles) != 1 || len(f.table(fam, "filter").chain("FOO").rules) != 1 {
		t.Fatalf("ctmatch's own rule: %v, %+v", err, res)
	}
	res, err = f.client().Delete(ctx, fam, "filter", "FOO", h, DeleteOptions{Force: true})
	if err != nil || len(res.Handles) != 1 || len(f.table(fam, "filter").chain("FOO").rules) != 0 {
		t.Fatalf("with Force: %v, %+v", err, res)
	}
}

// Rules without a group record list as one group each, with their own
// counters, though one iptables rule compiles to them.
func TestListWithoutRecords(t *testing.T) {
	const fam = expr.FamilyIP
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	for i, b := range lowered(t, translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")) {
		f.addRule(ch, b, nftComment(fmt.Sprintf("rule %d", i)), &kernel.Counter{Packets: uint64(1 + i), Bytes: uint64(100 + 100*i)})
	}
	l, err := f.client().List(context.Background(), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range l.Tables[0].Chains[0].Groups {
		got = append(got, fmt.Sprintf("%s %v %s %+v", ctmatch.Words(g.Rule), g.Handles(), g.Pieces[0].Comment, *g.Counter))
	}
	want := []string{
		"-m conntrack --ctstate NEW -j ACCEPT [101] rule 0 {Packets:1 Bytes:100}",
		"-m conntrack ! --ctstate NEW -m conntrack --ctstate DNAT -j ACCEPT [102] rule 1 {Packets:2 Bytes:200}",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

// List decompiles groups, sums their counters, and keeps every rule it does
// not understand, with its debug lines.
func TestList(t *testing.T) {
	const fam = expr.FamilyInet
	f := newFakeConn()
	owned, _ := expr.TableUserData("")
	tb := f.addTable(fam, "fw", owned)
	ch := tb.addChain("input", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput})
	r := translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")
	for i, b := range lowered(t, r) {
		ud, _ := expr.Group{ID: 1, Index: i, Count: 2, Words: ctmatch.Words(r.Source)}.UserData("")
		f.addRule(ch, b, ud, &kernel.Counter{Packets: uint64(3 + i), Bytes: uint64(300 + 100*i)})
	}
	f.addRule(ch, xtRule(), nil, nil)
	r6, err := ctmatch.Translate("-m conntrack --ctorigsrc 2001:db8::/32 -j DROP", ctmatch.Options{Table: fam, IPv6: true, NoCounter: true})
	if err != nil {
		t.Fatal(err)
	}
	ud, _ := expr.Group{ID: 2, Count: 1, IPv6: true, Words: ctmatch.Words(r6.Source)}.UserData("")
	f.addRule(ch, lowered(t, r6)[0], ud, nil)
	f.addTable(expr.Family(7), "br", nil) // a bridge table: not listed

	l, err := f.client().List(context.Background(), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Tables) != 1 || !l.Tables[0].Owned || len(l.Tables[0].Chains[0].Groups) != 3 {
		t.Fatalf("listing %+v", l)
	}
	g := l.Tables[0].Chains[0].Groups[0]
	if g.Counter == nil || *g.Counter != (kernel.Counter{Packets: 7, Bytes: 700}) {
		t.Errorf("summed counter %+v, want 7 packets, 700 bytes", g.Counter)
	}
	if x := l.Tables[0].Chains[0].Groups[1]; x.Rule != nil || x.Err == nil || len(x.Pieces[0].DebugLines()) != 1 {
		t.Errorf("the xt rule: %+v, want not understood, with its debug line", x)
	}

	var b strings.Builder
	for _, form := range []struct {
		f    ListFormat
		want string
	}{
		{ListIptables, `# table inet fw
# chain input (type filter hook input priority 0; policy accept)
-A input -m conntrack --ctstate NEW,DNAT -j ACCEPT # handles 101,102 packets 7 bytes 700
# not decompiled: handle 103: expression 1: expression "match" is not one ctmatch reads
#   [ match attr1=636f6e6e747261636b00 attr2=00000003 ]
-A input -m conntrack --ctorigsrc 2001:db8::/32 -j DROP # -6 handle 104
`},
		{ListNft, `table inet fw { # handle 1
	chain input { # handle 1
		type filter hook input priority 0; policy accept;
		meta nfproto ipv4 ct state new counter packets 3 bytes 300 accept # handle 101
		meta nfproto ipv4 ct state ! new ct status dnat counter packets 4 bytes 400 accept # handle 102
		# not decompiled: handle 103: expression 1: expression "match" is not one ctmatch reads
		#   [ match attr1=636f6e6e747261636b00 attr2=00000003 ]
		meta nfproto ipv6 ct original ip6 saddr 2001:db8::/32 drop # handle 104
	}
}
`},
	} {
		b.Reset()
		if err := l.Write(&b, form.f, ListText{Handles: true}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(strings.Split(form.want, "\n"), strings.Split(b.String(), "\n")); diff != "" {
			t.Errorf("format %d (-want +got):\n%s", form.f, diff)
		}
	}
	b.Reset()
	if err := l.Write(&b, ListBytecode, ListText{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "inet fw input\n  [ meta load nfproto => reg 1 ]\n") ||
		!strings.Contains(b.String(), "inet fw input\n  # not decompiled: expression 1: expression \"match\" is not one ctmatch reads\n  [ match") {
		t.Errorf("bytecode:\n%s", b.String())
	}

	for _, s := range []Scope{{Family: fam, Table: "nope"}, {Family: fam, Table: "fw", Chain: "nope"}, {Chain: "x"}} {
		if _, err := f.client().List(context.Background(), s); err == nil {
			t.Errorf("List(%+v) succeeded", s)
		}
	}
}

func TestOwnerRecord(t *testing.T) {
	for _, comment := range []string{"", "my firewall"} {
		ud, err := expr.TableUserData(comment)
		if err != nil {
			t.Fatal(err)
		}
		if !expr.OwnedTable(ud) {
			t.Errorf("expr.OwnedTable(expr.TableUserData(%q)) = false", comment)
		}
	}
	ud, _ := expr.TableUserData("x")
	if want := []byte{0, 2, 'x', 0, 0xc7, 8, 1, 'c', 't', 'm', 'a', 't', 'c', 'h'}; string(ud) != string(want) {
		t.Errorf("expr.TableUserData(\"x\") = % x, want % x", ud, want)
	}
	for _, ud := range [][]byte{nil, {0, 3, 'a', 'b', 0}, {0xc7, 8, 1, 'c', 't', 'm'}, {0xc7, 4, 1, 'c', 't', 'm'}, {0xc8, 8, 1, 'c', 't', 'm', 'a', 't', 'c', 'h'}} {
		if expr.OwnedTable(ud) {
			t.Errorf("expr.OwnedTable(% x) = true", ud)
		}
	}
}

func TestCreatedChain(t *testing.T) {
	for _, tc := range []struct {
		table, chain string
		want         string
	}{
		{"", "input", "type filter hook input priority 0; policy accept"},
		{"filter", "FORWARD", "type filter hook forward priority 0; policy accept"},
		{"raw", "prerouting", "type filter hook prerouting priority -300; policy accept"},
		{"mangle", "OUTPUT", "type route hook output priority -150; policy accept"},
		{"mangle", "PostRouting", "type filter hook postrouting priority -150; policy accept"},
		{"nat", "PREROUTING", "type nat hook prerouting priority -100; policy accept"},
		{"nat", "OUTPUT", "type nat hook output priority -100; policy accept"},
		{"nat", "INPUT", "type nat hook input priority 100; policy accept"},
		{"nat", "POSTROUTING", "type nat hook postrouting priority 100; policy accept"},
		{"security", "OUTPUT", "type filter hook output priority 150; policy accept"},
		{"filter", "web", "a regular chain"},
		{"filter", "PREROUTING", "error"},
		{"raw", "INPUT", "error"},
		{"nat", "FORWARD", "error"},
	} {
		b, err := CreatedChain(tc.table, tc.chain)
		got := describeBase(b)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("CreatedChain(%q, %q) = %s (%v), want %s", tc.table, tc.chain, got, err, tc.want)
		}
	}
}

// Rules rebuilt from their expressions (no words in their record) come back
// as one conntrack match when that means the same, and only then.
func TestListOneMatch(t *testing.T) {
	const fam = expr.FamilyIP
	words := "-m conntrack --ctstate NEW,ESTABLISHED --ctproto 6 --ctorigdstport 22 -j ACCEPT"
	f := newFakeConn()
	ch := f.addTable(fam, "fw", nil).addChain("in", nil)
	for _, b := range lowered(t, translate(t, fam, words)) {
		f.addRule(ch, b, nil, nil)
	}
	l, err := f.client().List(context.Background(), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if g := l.Tables[0].Chains[0].Groups; len(g) != 1 || ctmatch.Words(g[0].Rule) != words {
		t.Errorf("listed %+v, want %q", g, words)
	}

	// Two matches that mean something else as one: kept as they are.
	two := translate(t, fam, "-m conntrack --ctstate INVALID -m conntrack --ctproto 17")
	if got := compile.MergeMatches(two.Source, parse.IPv4, fam, two.Rules); got != two.Source {
		t.Errorf("MergeMatches merged %q into %q", ctmatch.Words(two.Source), ctmatch.Words(got))
	}
}

// placement is one Apply that places new groups in every way there is,
// among themselves and among a chain's existing groups: before an existing
// group, at the end, at the top before an existing group, after an existing
// group with a new one after it, between two new groups, at the top before
// a new group, and between a new group and an existing one. The chain
// holds G1 (two pieces, group 3), G2 (one rule without a record) and G3
// (group 7) at first; g1Last is the handle of G1's second rule.
func placement(t testing.TB, fam expr.Family, g1Last uint64) (changes []Change, want []string) {
	two := translate(t, fam, "-m conntrack ! --ctstate SNAT -j ACCEPT") // two pieces
	one := translate(t, fam, "-m conntrack --ctstate NEW")
	c := func(r *ctmatch.Rule, insert bool, index int, handle uint64) Change {
		return Change{Family: fam, Table: "fw", Chain: "in", Rule: r, Insert: insert, Index: index, Handle: handle}
	}
	changes = []Change{
		c(two, true, 2, 0),       // X: [G1 X G2 G3]
		c(one, false, 0, 0),      // Y: [G1 X G2 G3 Y]
		c(one, true, 0, 0),       // Z: [Z G1 X G2 G3 Y]
		c(two, false, 0, g1Last), // W: [Z G1 W X G2 G3 Y]
		c(two, true, 4, 0),       // V: [Z G1 W V X G2 G3 Y]
		c(two, true, 1, 0),       // T: [T Z G1 W V X G2 G3 Y]
		c(one, false, 1, 0),      // S: [T S Z G1 W V X G2 G3 Y]
		c(two, false, 10, 0),     // R: [T S Z G1 W V X G2 G3 Y R]
		c(one, true, 8, 0),       // Q: [T S Z G1 W V X Q G2 G3 Y R]
	}
	// (The ids, from the batch's base, which is 0 here: X 1, Y 2, … Q 9.)
	want = []string{"*6.0/2", "*6.1/2", "*7.0/1", "*3.0/1", "3.0/2", "3.1/2", "*4.0/2", "*4.1/2", "*5.0/2", "*5.1/2",
		"*1.0/2", "*1.1/2", "*9.0/1", "-", "7.0/1", "*2.0/1", "*8.0/2", "*8.1/2"}
	return changes, want
}

// placementStart returns the rules of placement's chain before the Apply:
// expressions and userdata.
func placementStart(t testing.TB, fam expr.Family) (exprs, userdata [][]byte) {
	g1 := translate(t, fam, "-m conntrack --ctstate NEW,DNAT -j ACCEPT")
	for i, b := range lowered(t, g1) {
		ud, _ := expr.Group{ID: 3, Index: i, Count: 2, Words: ctmatch.Words(g1.Source)}.UserData("")
		exprs, userdata = append(exprs, b), append(userdata, ud)
	}
	exprs, userdata = append(exprs, lowered(t, translate(t, fam, "-m conntrack --ctstate INVALID -j DROP"))[0]), append(userdata, nil)
	ud, _ := expr.Group{ID: 7, Count: 1}.UserData("a comment")
	exprs, userdata = append(exprs, lowered(t, translate(t, fam, "-m conntrack --ctdir REPLY"))[0]), append(userdata, ud)
	return exprs, userdata
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
	for _, c := range f.tables[0].chains {
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
	if _, err := b.Commit(ctx); err != bad || f.commits != 0 {
		t.Errorf("Commit after an error: %v (%d commits), want the error again and nothing sent", err, f.commits)
	}

	b = f.client().Batch(ApplyOptions{})
	if err := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "input", Rule: rule}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(ctx); !errors.Is(err, ErrInvalidChange) || f.commits != 1 {
		t.Errorf("second Commit: %v (%d commits)", err, f.commits)
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
	if f.dumps != 0 {
		t.Errorf("the chain was listed %d times", f.dumps)
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
	if f.dumps != 0 {
		t.Errorf("the chain's rules were listed %d times, want none", f.dumps)
	}
}

// A change to the ruleset while a batch is being built fails it only when
// it touches what the batch is based on: the batch reads again what it read,
// and then has the kernel check the transaction at the new generation.
func TestBatchCurrent(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyIP
	rule := translate(t, fam, "-m conntrack --ctstate NEW")
	aRule := func(f *fakeConn) { f.addRule(f.table(fam, "fw").chain("in"), lowered(t, rule)[0], nil, nil) }
	for _, tc := range []struct {
		name   string
		index  int // of the change, which then needs the chain's groups
		change func(f *fakeConn)
		want   string // "" for success
	}{
		{"another table", 0, func(f *fakeConn) { f.addTable(fam, "other", nil) }, ""},
		{"another chain's rules", 0, func(f *fakeConn) { f.addRule(f.table(fam, "fw").chain("out"), lowered(t, rule)[0], nil, nil) }, ""},
		// At the end, or at the top, a rule goes to the same place whatever
		// the chain holds: the batch never read it.
		{"a rule of the chain, adding at the end", 0, aRule, ""},
		{"a rule of the chain, adding after a group", 1, aRule,
			"add rule ip fw in (-m conntrack --ctstate NEW): concurrent change: chain ip fw in changed after generation 10, which the transaction is based on; nothing was changed"},
		{"a new chain in the table", 0, func(f *fakeConn) { f.table(fam, "fw").addChain("x", nil) },
			"add rule ip fw in (-m conntrack --ctstate NEW): concurrent change: the chains of table ip fw changed after generation 10, which the transaction is based on; nothing was changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeConn()
			tab := f.addTable(fam, "fw", nil)
			tab.addChain("in", nil)
			tab.addChain("out", nil)
			aRule(f)
			b := f.client().Batch(ApplyOptions{})
			if err := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "in", Rule: rule, Index: tc.index}); err != nil {
				t.Fatal(err)
			}
			tc.change(f)
			f.gen++
			_, err := b.Commit(ctx)
			switch {
			case tc.want == "" && (err != nil || f.commits != 1):
				t.Errorf("commit: %v (%d sent), want success", err, f.commits)
			case tc.want != "" && (!errors.Is(err, kernel.ErrConcurrentChange) || err.Error() != tc.want || f.commits != 0):
				t.Errorf("commit: %v (%d sent)\nwant %s, nothing sent", err, f.commits, tc.want)
			case tc.want != "" && hintOf(err) != "read the ruleset again and retry":
				t.Errorf("hint %q, want the advice to read again and retry", hintOf(err))
			}
		})
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
		if (err == nil) != ok || !ok && (!errors.Is(err, ErrNoPosition) || !strings.Contains(err.Error(), "needs Linux 5.1 or later") || f.commits != 0) {
			t.Errorf("position ids %v: %v", ok, err)
		}
	}
}

// hintOf is Hint, for the tests' messages.
func hintOf(err error) string { return Hint(err) }

// Hint finds the advice in every error a Client returns, whichever of the
// two error types carries it and however it is wrapped.
func TestHint(t *testing.T) {
	ke := &kernel.Error{Op: "add rule", Reason: "no such table inet fw", Hint: "create it, or use --create"}
	fe := &Error{Op: "add rule", Err: ke}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("plain"), ""},
		{ke, "create it, or use --create"},
		{fe, "create it, or use --create"},
		{&Error{Op: "add rule", Err: ke, Hint: "first"}, "first"},
		{fmt.Errorf("apply: %w", fe), "create it, or use --create"},
		{errors.Join(errors.New("x"), fe), "create it, or use --create"},
		{&Error{Op: "list", Err: ErrNoChain}, ""},
	} {
		if got := Hint(tc.err); got != tc.want {
			t.Errorf("Hint(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
