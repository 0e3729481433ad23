package firewall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/internal/nftwire"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// kernelClient returns a network namespace of the test's own, with nft
// available, and a Client in it, closed at the end of the test.
func kernelClient(t *testing.T) (*netns.NS, *Client) {
	t.Helper()
	ns := ktest.Namespace(t, "nft")
	c, err := Dial(context.Background(), DialOptions{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ns, c
}

// ctKey255 is an expression list of one ct load of key 255, which the
// kernel refuses with EOPNOTSUPP: a change only the kernel can refuse.
func ctKey255() []byte {
	return nftwire.Expr("ct", func(d *netlink.AttributeEncoder) {
		d.Uint32(1, 1)   // NFTA_CT_DREG
		d.Uint32(2, 255) // NFTA_CT_KEY
	})
}

// Apply is atomic: 1,000 changes, as from a file, the 700th of which the
// kernel refuses (a test hook replaces its expressions), change nothing at
// all — not even the table and chain Create would make — and the error
// wraps EOPNOTSUPP and names line 700.
func TestKernelApplyAtomic(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	const fam = expr.FamilyInet
	var changes []Change
	for i := 1; i <= 1000; i++ {
		words := fmt.Sprintf("-m conntrack --ctstate NEW,DNAT --ctorigdstport %d -j ACCEPT", i)
		r, err := ctmatch.Translate(words, ctmatch.Options{Table: fam})
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, Change{Family: fam, Table: "fw", Chain: "input", Rule: r, Pos: parse.Position{File: "rules.ctmatch", Line: i}})
	}
	testRuleHook = func(change, piece int, exprs []byte) []byte {
		if change == 699 && piece == 1 {
			return ctKey255()
		}
		return exprs
	}
	defer func() { testRuleHook = nil }()
	conn := kerneltest.Dial(t, ns)
	gen, err := conn.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, check := range []bool{true, false} {
		_, err = c.Apply(ctx, changes, ApplyOptions{Create: true, Check: check})
		t.Logf("check %v: %v", check, err)
		var ke *kernel.Error
		if !errors.As(err, &ke) || !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "(rules.ctmatch:700: -m conntrack --ctstate NEW,DNAT --ctorigdstport 700 -j ACCEPT)") {
			t.Fatalf("check %v: error %v: want a *kernel.Error wrapping EOPNOTSUPP that names line 700", check, err)
		}
		if e := (*Error)(nil); !errors.As(err, &e) || e.Pos != (parse.Position{File: "rules.ctmatch", Line: 700}) || e.Index != 699 {
			t.Errorf("check %v: error %#v: want an *Error about change 699 at rules.ctmatch:700", check, err)
		}
		if !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("check %v: the error does not say nothing was changed: %v", check, err)
		}
		if g, err := conn.Generation(ctx); err != nil || g != gen {
			t.Errorf("check %v: generation %d (%v), want %d: something was committed", check, g, err, gen)
		}
		if out := ktest.Run(t, ns, "", "nft", "list", "ruleset"); strings.TrimSpace(out) != "" {
			t.Errorf("check %v: the ruleset is not empty:\n%s", check, out)
		}
	}
	// Without the broken change, the same 1,000 go in, 2,000 nft rules.
	testRuleHook = nil
	res, err := c.Apply(ctx, changes, ApplyOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Changes); n != 1000 || res.Changes[999].Handles[1] == 0 {
		t.Fatalf("%d changes applied, last handles %v", n, res.Changes[n-1].Handles)
	}
	l, err := c.List(ctx, Scope{Family: fam, Table: "fw", Chain: "input"})
	if err != nil {
		t.Fatal(err)
	}
	groups := l.Tables[0].Chains[0].Groups
	if len(groups) != 1000 || ctmatch.Words(groups[699].Rule) != "-m conntrack --ctstate NEW,DNAT --ctorigdstport 700 -j ACCEPT" {
		t.Errorf("%d groups listed; the 700th is %q", len(groups), ctmatch.Words(groups[699].Rule))
	}
}

// A table ctmatch creates carries its ownership record, which nft 1.0.6
// ignores: it lists the table (and its comment) as usual and deletes it.
func TestKernelOwnerRecord(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	ctx := context.Background()
	conn := kerneltest.Dial(t, ns)
	ud, err := expr.TableUserData("made by ctmatch")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddTable(expr.FamilyIP, "filter", ud)
	tx.AddChain(expr.FamilyIP, "filter", "INPUT", &kernel.BaseChain{Hook: kernel.HookInput}, nil)
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	tables, err := conn.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || !expr.OwnedTable(tables[0].UserData) {
		t.Fatalf("tables %+v: want ip filter with the ownership record", tables)
	}
	out := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	if !strings.Contains(out, "table ip filter {") || !strings.Contains(out, `comment "made by ctmatch"`) {
		t.Errorf("nft list ruleset:\n%s", out)
	}
	// ctmatch writes into it although it is an ip table named filter with
	// a chain INPUT: it is ctmatch's.
	c, err := Dial(ctx, DialOptions{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := ctmatch.Translate("-m conntrack --ctstate NEW -j ACCEPT", ctmatch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, []Change{{Family: expr.FamilyIP, Table: "filter", Chain: "INPUT", Rule: r}}, ApplyOptions{}); err != nil {
		t.Errorf("writing into ctmatch's table filter: %v", err)
	}
	ktest.Run(t, ns, "", "nft", "delete", "table", "ip", "filter")
}

// A change to the ruleset between Apply's reading and its commit makes the
// kernel refuse the whole transaction (the transaction carries the
// generation Apply read): nothing of it lands, at a position that moved.
func TestKernelApplyConcurrentChange(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	const fam = expr.FamilyInet
	r, err := ctmatch.Translate("-m conntrack --ctstate NEW,DNAT -j ACCEPT", ctmatch.Options{Table: fam})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, []Change{{Family: fam, Table: "fw", Chain: "input", Rule: r}}, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	// The hook runs after Apply read the ruleset and before it commits:
	// someone else inserts a rule at the top meanwhile.
	testRuleHook = func(change, piece int, exprs []byte) []byte {
		if piece == 0 {
			ktest.Run(t, ns, "", "nft", "insert", "rule", "inet", "fw", "input", "meta", "mark", "1", "accept")
		}
		return exprs
	}
	defer func() { testRuleHook = nil }()
	_, err = c.Apply(ctx, []Change{{Family: fam, Table: "fw", Chain: "input", Rule: r, Insert: true, Index: 2}}, ApplyOptions{})
	if !errors.Is(err, kernel.ErrConcurrentChange) || !strings.Contains(err.Error(), "nothing was changed") || !strings.Contains(hintOf(err), "read the ruleset again and retry") {
		t.Fatalf("error %v, want kernel.ErrConcurrentChange", err)
	}
	testRuleHook = nil
	l, err := c.List(ctx, Scope{Family: fam, Table: "fw", Chain: "input"})
	if err != nil {
		t.Fatal(err)
	}
	if g := l.Tables[0].Chains[0].Groups; len(g) != 2 || g[0].Rule != nil || ctmatch.Words(g[1].Rule) != "-m conntrack --ctstate NEW,DNAT -j ACCEPT" {
		t.Errorf("after the refused transaction: %+v, want nft's rule and the first group only", g)
	}
}

// The kernel places new groups as the fake kernel of the unit tests does
// (TestApplyPlacement): the same Apply, with rules placed before and after
// handles, at the top, at the end and next to rules of the same transaction
// (by rule id), leaves the chain in the same order.
func TestKernelApplyPlacement(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	ctx := context.Background()
	const fam = expr.FamilyIP
	conn := kerneltest.Dial(t, ns)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddTable(fam, "fw", nil)
	tx.AddChain(fam, "fw", "in", nil, nil)
	exprs, uds := placementStart(t, fam)
	for i := range exprs {
		tx.AddRule(fam, "fw", "in", kernel.RuleSpec{Exprs: exprs[i], UserData: uds[i]})
	}
	kr, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// (Group ids from the base 0, as the fake's first batch has them.)
	c, err := Dial(ctx, DialOptions{NetNS: ns.Path(), Rand: bytes.NewReader(make([]byte, 8))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	changes, want := placement(t, fam, kr.Handles[1])
	if _, err := c.Apply(ctx, changes, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	rules, err := conn.Rules(ctx, fam, "fw", "in")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, groupOrder(rules)); diff != "" {
		t.Errorf("chain order in the kernel (-want +got):\n%s", diff)
	}
}

// A change to another table while a batch is being built does not fail it:
// the batch reads again what it is based on, and the kernel takes the
// transaction at the new generation. A change to the rules of a chain it
// places rules in by their groups fails it, and nothing is sent; one to a
// chain it only adds to at the end does not (the batch never read it).
func TestKernelBatchCurrent(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	const fam = expr.FamilyIP
	r, err := ctmatch.Translate("-m conntrack --ctstate NEW -j ACCEPT", ctmatch.Options{Table: fam})
	if err != nil {
		t.Fatal(err)
	}
	ktest.Run(t, ns, "", "nft", "add table ip fw; add chain ip fw in")
	ktest.Run(t, ns, "", "nft", "add rule ip fw in meta mark 2 accept")
	for _, tc := range []struct {
		meanwhile string
		index     int
		ok        bool
	}{
		{"add table ip other", 0, true},
		{"add rule ip fw in meta mark 1 accept", 0, true},
		{"add rule ip fw in meta mark 1 accept", 1, false},
	} {
		b := c.Batch(ApplyOptions{NoHandles: true})
		if err := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "in", Rule: r, Index: tc.index}); err != nil {
			t.Fatal(err)
		}
		ktest.Run(t, ns, "", "nft", tc.meanwhile)
		if err := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "in", Rule: r}); err != nil {
			t.Fatal(err)
		}
		before := ktest.Run(t, ns, "", "nft", "list", "chain", "ip", "fw", "in")
		_, err := b.Commit(ctx)
		after := ktest.Run(t, ns, "", "nft", "list", "chain", "ip", "fw", "in")
		switch {
		case tc.ok && (err != nil || strings.Count(after, "ct state new") != strings.Count(before, "ct state new")+2 ||
			!strings.HasSuffix(strings.TrimSpace(after), "ct state new counter packets 0 bytes 0 accept\n\t\tct state new counter packets 0 bytes 0 accept\n\t}\n}")):
			t.Errorf("%s meanwhile: %v\n%s", tc.meanwhile, err, after)
		case !tc.ok && (!errors.Is(err, kernel.ErrConcurrentChange) || after != before):
			t.Errorf("%s meanwhile: %v, want a concurrent change and nothing changed\n%s", tc.meanwhile, err, after)
		}
	}
}

// Rules added at the end and inserted at the top, one Apply each as
// ctmatch add rule and insert rule make them, land in the kernel where
// they must, next to the groups already there (of ctmatch, with a 32-bit id
// as earlier versions gave, and of nft, without a record), and list back as their groups, each
// with an id of its own; deleting any piece deletes its whole group.
func TestKernelAppendAndTopInsert(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	const fam = expr.FamilyInet
	ktest.Run(t, ns, "", "nft", "add table inet fw; add chain inet fw in")
	// What the chain holds first: a group of two pieces with a record as
	// earlier versions wrote it (id 5), and a rule of nft's.
	old, err := ctmatch.Translate("-m conntrack --ctstate NEW,DNAT -j ACCEPT", ctmatch.Options{Table: fam})
	if err != nil {
		t.Fatal(err)
	}
	conn := kerneltest.Dial(t, ns)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, nr := range old.Rules {
		b, err := nr.Lower(fam)
		if err != nil {
			t.Fatal(err)
		}
		v1 := append([]byte{0xc7, 8 + 41, 1, 2, 0, 0, 0, 5, byte(i), 2}, "-m conntrack --ctstate NEW,DNAT -j ACCEPT"...)
		tx.AddRule(fam, "fw", "in", kernel.RuleSpec{Exprs: b, UserData: v1})
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ktest.Run(t, ns, "", "nft", "add rule inet fw in meta mark 7 accept")

	var ids []uint64
	for _, step := range []struct {
		words  string
		insert bool
	}{
		{"-m conntrack ! --ctstate SNAT -j ACCEPT", false}, // two pieces
		{"-m conntrack --ctstate INVALID -j DROP", true},
		{"-m conntrack --ctstate NEW,DNAT --ctorigdstport 22 -j ACCEPT", true}, // two pieces
		{"-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", false},
		{"-m conntrack --ctstate NEW,SNAT -j DROP", false}, // two pieces
	} {
		r, err := ctmatch.Translate(step.words, ctmatch.Options{Table: fam})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Apply(ctx, []Change{{Family: fam, Table: "fw", Chain: "in", Rule: r, Insert: step.insert}}, ApplyOptions{})
		if err != nil {
			t.Fatalf("%s: %v", step.words, err)
		}
		ids = append(ids, res.Changes[0].Group.ID)
	}
	l, err := c.List(ctx, Scope{Family: fam, Table: "fw", Chain: "in"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	seen := map[uint64]bool{}
	for _, g := range l.Tables[0].Chains[0].Groups {
		line := "(nft's)"
		if g.Rule != nil {
			line = fmt.Sprintf("%s (%d)", ctmatch.Words(g.Rule), len(g.Pieces))
		}
		got = append(got, line)
		if p := g.Pieces[0]; p.Group != nil {
			if seen[p.Group.ID] {
				t.Errorf("group id %#x twice", p.Group.ID)
			}
			seen[p.Group.ID] = true
		}
	}
	want := []string{
		"-m conntrack --ctstate NEW,DNAT --ctorigdstport 22 -j ACCEPT (2)",
		"-m conntrack --ctstate INVALID -j DROP (1)",
		"-m conntrack --ctstate NEW,DNAT -j ACCEPT (2)",
		"(nft's)",
		"-m conntrack ! --ctstate SNAT -j ACCEPT (2)",
		"-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT (1)",
		"-m conntrack --ctstate NEW,SNAT -j DROP (2)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups in the kernel (-want +got):\n%s", diff)
	}
	for _, id := range ids {
		if id&(1<<63) == 0 || !seen[id] {
			t.Errorf("group id %#x: want the top bit set, and the id listed (%v)", id, ids)
		}
	}
	// Deleting the second piece of the group added last deletes the group.
	last := l.Tables[0].Chains[0].Groups[6]
	d, err := c.Delete(ctx, fam, "fw", "in", last.Pieces[1].Handle, DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(last.Handles(), d.Handles); diff != "" {
		t.Errorf("deleted handles (-want +got):\n%s", diff)
	}
}
