package firewall

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// desiredFW is the state the sync tests start from: a base chain of their
// own (policy drop, priority 10) jumping to an empty-able regular chain.
func desiredFW(t *testing.T) DesiredTable {
	const f = expr.FamilyInet
	return DesiredTable{Family: f, Name: "fw", Chains: []DesiredChain{
		{Name: "input", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput, Priority: 10, Policy: kernel.PolicyDrop}, Rules: []DesiredRule{
			{Rule: translate(t, f, "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"), Comment: "replies"},
			{Rule: translate(t, f, "-m conntrack --ctstate NEW -j new_conns")},
		}},
		{Name: "new_conns", Rules: []DesiredRule{
			{Rule: translate(t, f, "-m conntrack --ctstate DNAT -j ACCEPT")},
		}},
		{Name: "spare"},
	}}
}

// fakeRules returns, per rule of a fake chain, its comment and words.
func fakeRules(t *testing.T, c *fakeChain) []string {
	t.Helper()
	var out []string
	for _, r := range c.rules {
		comment, g, err := expr.ParseUserData(r.UserData)
		if err != nil {
			t.Fatalf("handle %d: %v", r.Handle, err)
		}
		out = append(out, g.Words+" #"+comment)
	}
	return out
}

// Sync creates the whole table in one transaction, sends nothing when the
// table is as desired, sends one transaction for a changed state (a rule
// changed, a chain gone, a policy changed) that leaves the table exactly
// as desired, and nothing again after that.
func TestSyncFake(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	d := desiredFW(t)

	res, err := c.Sync(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `add table inet fw
add chain inet fw input { type filter hook input priority 10; policy drop; }
+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT # replies
+ -m conntrack --ctstate NEW -j new_conns
add chain inet fw new_conns
+ -m conntrack --ctstate DNAT -j ACCEPT
add chain inet fw spare
`
	if diff := cmp.Diff(want, res.Diff.String()); diff != "" {
		t.Errorf("first sync's diff (-want +got):\n%s", diff)
	}
	if !res.Sent || f.commits() != 1 {
		t.Fatalf("first sync: sent %v, %d commits; want one", res.Sent, f.commits())
	}
	tb := f.table(expr.FamilyInet, "fw")
	if tb == nil || !expr.OwnedTable(tb.t.UserData) {
		t.Fatalf("table: %+v, want one with ctmatch's record", tb)
	}
	if diff := cmp.Diff([]string{"-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT #replies", "-m conntrack --ctstate NEW -j new_conns #"}, fakeRules(t, tb.chain("input"))); diff != "" {
		t.Errorf("input (-want +got):\n%s", diff)
	}

	// assertNoop syncs d again with c, which remembers the state it made
	// at the current generation and reads no chain, and with a new Client
	// on the same kernel, which reads and compares every chain: neither
	// sends anything.
	assertNoop := func(when string) {
		t.Helper()
		for _, k := range []struct {
			name  string
			c     *Client
			reads bool
		}{{"the same Client", c, false}, {"a new Client", f.client(), true}} {
			commits, checks, dumps := f.commits(), f.checks(), f.dumps()
			res, err := k.c.Sync(ctx, d, SyncOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent || !res.Diff.Empty() || f.commits() != commits || f.checks() != checks {
				t.Errorf("%s, %s: sent %v, diff %q, %d commits and %d checks; want nothing sent", when, k.name, res.Sent, res.Diff, f.commits()-commits, f.checks()-checks)
			}
			if read := f.dumps() > dumps; read != k.reads {
				t.Errorf("%s, %s: read chains %v, want %v", when, k.name, read, k.reads)
			}
		}
	}
	assertNoop("the same state again")

	// A changed state: a rule of new_conns changed, spare gone, input's
	// policy accept, its comment changed; changed in place (the Client
	// keeps nothing of the caller's).
	d.Chains[0].Base.Policy = kernel.PolicyAccept
	d.Chains[0].Rules[0].Comment = "established"
	d.Chains[1].Rules[0].Rule = translate(t, expr.FamilyInet, "-m conntrack --ctstate SNAT,DNAT -j ACCEPT")
	d.Chains = d.Chains[:2]
	// c compares with the state it remembers, reading no chain; a new
	// Client reads the chains: both find the same diff.
	dumps := f.dumps()
	diffOnly, err := c.Diff(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.dumps() != dumps {
		t.Errorf("Diff read %d chains, want none (the generation did not move)", f.dumps()-dumps)
	}
	read, err := f.client().Diff(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(read, diffOnly); diff != "" {
		t.Errorf("the diff from the chains and from memory differ (-read +remembered):\n%s", diff)
	}
	if f.commits() != 1 || f.checks() != 0 {
		t.Fatalf("Diff sent something: %d commits, %d checks", f.commits(), f.checks())
	}
	res, err = c.Sync(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want = `delete chain inet fw input
add chain inet fw input { type filter hook input priority 10; policy accept; }
- -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT # replies
+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT # established
flush chain inet fw new_conns
- -m conntrack --ctstate DNAT -j ACCEPT
+ -m conntrack --ctstate SNAT,DNAT -j ACCEPT
delete chain inet fw spare
`
	if diff := cmp.Diff(want, res.Diff.String()); diff != "" {
		t.Errorf("changed sync's diff (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(diffOnly, res.Diff); diff != "" {
		t.Errorf("Diff and Sync disagree (-Diff +Sync):\n%s", diff)
	}
	if f.commits() != 2 {
		t.Errorf("changed sync: %d transactions, want 1", f.commits()-1)
	}
	tb = f.table(expr.FamilyInet, "fw")
	var chains []string
	for _, ch := range tb.chains() {
		chains = append(chains, ch.c.Name)
	}
	if diff := cmp.Diff([]string{"new_conns", "input"}, chains); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}
	if p := tb.chain("input").c.Base; p == nil || p.Policy != kernel.PolicyAccept {
		t.Errorf("input: %+v, want policy accept", p)
	}
	if diff := cmp.Diff([]string{"-m conntrack --ctstate SNAT,DNAT -j ACCEPT #"}, fakeRules(t, tb.chain("new_conns"))); diff != "" {
		t.Errorf("new_conns (-want +got):\n%s", diff)
	}
	assertNoop("the changed state again")

	// A rule added behind the Client's back (the generation moves): the
	// sync takes it out.
	f.addRule(f.table(expr.FamilyInet, "fw").chain("new_conns"), lowered(t, translate(t, expr.FamilyInet, "-j DROP"))[0], nil, nil)
	f.Touch()
	res, err = c.Sync(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want = "flush chain inet fw new_conns\n- meta nfproto ipv4 counter drop (handle 107)\n"
	if diff := cmp.Diff(want, res.Diff.String()); diff != "" {
		t.Errorf("sync after a change by another (-want +got):\n%s", diff)
	}
	assertNoop("after the change by another")

	// Only an order changed.
	d.Chains[0].Rules[0], d.Chains[0].Rules[1] = d.Chains[0].Rules[1], d.Chains[0].Rules[0]
	res, err = c.Sync(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want = "flush chain inet fw input\n  (2 rules in a new order)\n"
	if diff := cmp.Diff(want, res.Diff.String()); diff != "" {
		t.Errorf("reordered sync's diff (-want +got):\n%s", diff)
	}
	assertNoop("the reordered state again")

	// Only the chain's kind changed: it is made again, with the same rules.
	d.Chains[0].Base.Policy = kernel.PolicyDrop
	res, err = c.Sync(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Diff.String(); !strings.Contains(got, "delete chain inet fw input\nadd chain inet fw input {") || !strings.HasSuffix(got, "  (the same 2 rules, in the chain made again)\n") {
		t.Errorf("a chain of another policy, same rules: diff\n%s", got)
	}
}

// A chain holding a rule ctmatch did not write (no group record) is never
// as desired: Sync rewrites it, removing the rule.
func TestSyncForeignRule(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	ud, _ := expr.TableUserData("")
	tb := f.addTable(expr.FamilyInet, "fw", ud)
	ch := tb.addChain("spare", nil)
	r := translate(t, expr.FamilyInet, "-m conntrack --ctstate NEW -j ACCEPT")
	f.addRule(ch, lowered(t, r)[0], nftComment("by hand"), nil)
	d := DesiredTable{Family: expr.FamilyInet, Name: "fw", Chains: []DesiredChain{{Name: "spare", Rules: []DesiredRule{{Rule: r}}}}}
	res, err := c.Sync(ctx, d, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "flush chain inet fw spare\n- meta nfproto ipv4 ct state new counter accept (handle 101)\n+ -m conntrack --ctstate NEW -j ACCEPT\n"
	if diff := cmp.Diff(want, res.Diff.String()); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	if got := fakeRules(t, f.table(expr.FamilyInet, "fw").chain("spare")); len(got) != 1 || f.commits() != 1 {
		t.Errorf("spare: %q after %d commits", got, f.commits())
	}
}

// Sync refuses a table without ctmatch's ownership record unless forced,
// sending nothing; Check sends the transaction to be checked only.
func TestSyncOwnership(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	f.addTable(expr.FamilyInet, "fw", nil).addChain("theirs", nil)
	d := desiredFW(t)
	_, err := c.Sync(ctx, d, SyncOptions{})
	if !errors.Is(err, ErrNotOwned) || Hint(err) == "" {
		t.Fatalf("Sync of a table without the record: %v (hint %q), want ErrNotOwned with a hint", err, Hint(err))
	}
	if f.commits()+f.checks() != 0 {
		t.Fatalf("a refused sync sent %d transactions", f.commits()+f.checks())
	}
	res, err := c.Sync(ctx, d, SyncOptions{Force: true, Check: true})
	if err != nil || !res.Checked || f.checks() != 1 || f.commits() != 0 {
		t.Fatalf("forced check: %+v, %v; %d checks, %d commits", res, err, f.checks(), f.commits())
	}
	if _, err := c.Sync(ctx, d, SyncOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if f.table(expr.FamilyInet, "fw").chain("theirs") != nil {
		t.Error("a forced sync left a chain the desired table does not have")
	}
	// (The Client remembers the table it synced: still not its own.)
	if _, err := c.Sync(ctx, d, SyncOptions{}); !errors.Is(err, ErrNotOwned) {
		t.Errorf("Sync without Force after a forced one: %v, want ErrNotOwned", err)
	}
}

// Sync refuses, before reading anything, a rule that jumps to a chain the
// desired table lacks, and a chain named twice.
func TestSyncInvalid(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	d := desiredFW(t)
	d.Chains = d.Chains[:1]
	if _, err := c.Sync(ctx, d, SyncOptions{}); !errors.Is(err, ErrNoChain) {
		t.Errorf("a jump to a chain not desired: %v, want ErrNoChain", err)
	}
	d = desiredFW(t)
	d.Chains = append(d.Chains, DesiredChain{Name: "spare"})
	if _, err := c.Sync(ctx, d, SyncOptions{}); !errors.Is(err, ErrInvalidChange) {
		t.Errorf("a chain named twice: %v, want ErrInvalidChange", err)
	}
	if f.commits()+f.checks() != 0 {
		t.Errorf("refused syncs sent %d transactions", f.commits()+f.checks())
	}
}

// A desired state of thousands of rules is lowered on every CPU (in runs of
// rules): the same rules, in the same order, as one by one; and of two bad
// rules, the first in the desired order is the one reported.
func TestSyncMany(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	const n = 3000
	d := DesiredTable{Family: expr.FamilyIP, Name: "many", Chains: []DesiredChain{{Name: "a"}, {Name: "b"}}}
	for i := range n {
		r := translate(t, expr.FamilyIP, fmt.Sprintf("-m conntrack --ctstate NEW --ctproto tcp --ctorigdstport %d -j ACCEPT", i+1))
		d.Chains[i%2].Rules = append(d.Chains[i%2].Rules, DesiredRule{Rule: r})
	}
	if _, err := c.Sync(ctx, d, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	for k, name := range []string{"a", "b"} {
		rules := f.table(expr.FamilyIP, "many").chain(name).rules
		if len(rules) != n/2 {
			t.Fatalf("chain %s: %d rules, want %d", name, len(rules), n/2)
		}
		for j, r := range rules {
			_, g, err := expr.ParseUserData(r.UserData)
			if want := fmt.Sprintf("--ctorigdstport %d ", 2*j+k+1); err != nil || !strings.Contains(g.Words, want) {
				t.Fatalf("chain %s rule %d: %q, %v; want %q", name, j, g.Words, err, want)
			}
		}
	}
	if res, err := f.client().Sync(ctx, d, SyncOptions{}); err != nil || res.Sent {
		t.Fatalf("the same state from a new Client: sent %v, %v", res.Sent, err)
	}
	bad := translate(t, expr.FamilyIP6, "-m conntrack --ctstate NEW -j ACCEPT") // for another family
	d.Chains[1].Rules[1200].Rule = bad                                          // rule 2700 (from 0) in the desired order: a's, then b's
	d.Chains[0].Rules[1400].Rule = bad                                          // rule 1400
	_, err := c.Sync(ctx, d, SyncOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Index != 1400 || !errors.Is(err, ErrInvalidChange) {
		t.Errorf("two bad rules: %v (index %d), want ErrInvalidChange about rule 1400", err, e.Index)
	}
}
