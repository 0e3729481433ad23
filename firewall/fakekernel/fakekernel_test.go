package fakekernel_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/firewall/fakekernel"
	"github.com/ctmatch/ctmatch/kernel"
)

// A Kernel is what a firewall.Client takes.
var _ firewall.Kernel = (*fakekernel.Kernel)(nil)

const fam = expr.FamilyInet

// ruleBytes is the expression list of one nft rule.
func ruleBytes(t testing.TB) []byte {
	t.Helper()
	r, err := ctmatch.Translate("-m conntrack --ctstate INVALID -j DROP", ctmatch.Options{Table: fam})
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.Wire()
	if err != nil || len(w) != 1 {
		t.Fatalf("wire: %v, %d rules", err, len(w))
	}
	return w[0]
}

// refusal is what a refused transaction says: the errno and the change.
func refusal(err error) string {
	var ke *kernel.Error
	if !errors.As(err, &ke) {
		return fmt.Sprintf("not a *kernel.Error: %v", err)
	}
	var errno unix.Errno
	errors.As(err, &errno)
	return fmt.Sprintf("%s at %d", unix.ErrnoName(errno), ke.Index)
}

// A transaction applies whole or not at all, moves the generation by one
// when it applies, and is refused at the change the fake cannot apply.
func TestTransactionWholeOrNothing(t *testing.T) {
	ctx := context.Background()
	k := fakekernel.New()
	gen, _ := k.Generation(ctx)
	tx := k.BeginAt(gen)
	tx.AddTable(fam, "fw", []byte("ud"))
	tx.AddChain(fam, "fw", "in", &kernel.BaseChain{Hook: kernel.HookInput, Policy: kernel.PolicyDrop}, nil)
	tx.AddRule(fam, "fw", "in", kernel.RuleSpec{Exprs: ruleBytes(t)})
	tx.AddRule(fam, "fw", "missing", kernel.RuleSpec{Exprs: ruleBytes(t)})
	_, err := tx.Commit(ctx)
	if got := refusal(err); got != "ENOENT at 3" {
		t.Errorf("refusal %s (%v), want ENOENT at 3", got, err)
	}
	if ts, _ := k.Tables(ctx); len(ts) != 0 {
		t.Errorf("a refused transaction left %v", ts)
	}
	if g, _ := k.Generation(ctx); g != gen {
		t.Errorf("a refused transaction moved the generation to %d", g)
	}

	tx = k.BeginAt(gen)
	tx.AddTable(fam, "fw", []byte("ud"))
	tx.AddChain(fam, "fw", "in", &kernel.BaseChain{Hook: kernel.HookInput, Policy: kernel.PolicyDrop}, nil)
	tx.AddRule(fam, "fw", "in", kernel.RuleSpec{Exprs: ruleBytes(t), UserData: []byte("x")})
	tx.AddRule(fam, "fw", "in", kernel.RuleSpec{Exprs: ruleBytes(t), Insert: true})
	res, err := tx.Commit(ctx)
	if err != nil || !res.Committed || res.Generation != gen+1 || len(res.Handles) != 2 {
		t.Fatalf("commit: %+v, %v", res, err)
	}
	rules := k.ChainRules(fam, "fw", "in")
	if len(rules) != 2 || rules[0].Handle != res.Handles[1] || rules[1].Handle != res.Handles[0] || string(rules[1].UserData) != "x" || rules[1].Position != rules[0].Handle {
		t.Errorf("rules %+v, handles %v: want the inserted rule first", rules, res.Handles)
	}
	if tb, ok := k.Table(fam, "fw"); !ok || string(tb.UserData) != "ud" {
		t.Errorf("table %+v, %v", tb, ok)
	}
	if ch, ok := k.Chain(fam, "fw", "in"); !ok || ch.Base == nil || ch.Base.Policy != kernel.PolicyDrop {
		t.Errorf("chain %+v, %v", ch, ok)
	}
	if diff := cmp.Diff(fakekernel.Stats{Commits: 2}, k.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// What the fake hands out is a copy: changing it changes nothing inside.
func TestValuesAreCopies(t *testing.T) {
	ctx := context.Background()
	k := fakekernel.New()
	k.AddTable(fam, "fw", []byte("ud"))
	if err := k.AddChain(fam, "fw", "in", &kernel.BaseChain{Hook: kernel.HookInput}, nil); err != nil {
		t.Fatal(err)
	}
	b := ruleBytes(t)
	if _, err := k.AddRule(fam, "fw", "in", b, nil, &kernel.Counter{Packets: 1}); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff // the caller's bytes, after the call
	rs, _ := k.Rules(ctx, fam, "fw", "in")
	rs[0].Exprs[1] ^= 0xff
	rs[0].Counter.Packets = 9
	cr := k.ChainRules(fam, "fw", "in")
	cr[0].Exprs[2] ^= 0xff
	cr[0].Handle = 0
	ch, _ := k.Chain(fam, "fw", "in")
	ch.Base.Hook = kernel.HookOutput
	tb, _ := k.Table(fam, "fw")
	tb.UserData[0] = 'X'

	want := ruleBytes(t)
	got := k.ChainRules(fam, "fw", "in")[0]
	if !cmp.Equal(want, got.Exprs) || got.Counter.Packets != 1 || got.Handle == 0 {
		t.Errorf("rule changed from outside: %+v", got)
	}
	if ch, _ := k.Chain(fam, "fw", "in"); ch.Base.Hook != kernel.HookInput {
		t.Errorf("chain changed from outside: %+v", ch.Base)
	}
	if tb, _ := k.Table(fam, "fw"); string(tb.UserData) != "ud" {
		t.Errorf("table changed from outside: %q", tb.UserData)
	}
	if n := k.Stats().RuleListings; n != 1 {
		t.Errorf("%d rule listings, want 1 (Rules counts, ChainRules does not)", n)
	}
}

// FailChange refuses the change at its index in the next transaction that
// has one, once; a transaction too short to have it is not refused.
func TestFailChange(t *testing.T) {
	ctx := context.Background()
	k := fakekernel.New()
	k.FailChange(1, unix.EPERM)
	tx := k.BeginAt(0)
	tx.AddTable(fam, "a", nil)
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatalf("a one-change transaction: %v", err)
	}
	try := func() error {
		tx := k.BeginAt(0)
		tx.AddTable(fam, "b", nil)
		tx.AddChain(fam, "b", "c", nil, nil)
		if err := tx.Check(ctx); err != nil {
			return err
		}
		_, err := tx.Commit(ctx)
		return err
	}
	if err := try(); refusal(err) != "EPERM at 1" || !errors.Is(err, unix.EPERM) {
		t.Errorf("the injected fault: %v (%s), want EPERM at 1", err, refusal(err))
	}
	if _, ok := k.Table(fam, "b"); ok {
		t.Error("a refused transaction left its table")
	}
	if err := try(); err != nil {
		t.Errorf("after the fault: %v, want none", err)
	}
	if diff := cmp.Diff(fakekernel.Stats{Commits: 2, Checks: 2}, k.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// A commit of another process between the read and the commit (OnCommit,
// Touch) has the transaction refused as stale; rebased, it goes through. A
// transaction begun at 0 is not checked.
func TestOnCommitConflict(t *testing.T) {
	ctx := context.Background()
	k := fakekernel.New()
	gen, _ := k.Generation(ctx)
	k.OnCommit(func() { k.Touch(); k.OnCommit(nil) })
	tx := k.BeginAt(gen)
	tx.AddTable(fam, "fw", nil)
	if _, err := tx.Commit(ctx); !errors.Is(err, kernel.ErrConcurrentChange) || !errors.Is(err, firewall.ErrConcurrentChange) {
		t.Fatalf("commit after another's: %v, want ErrConcurrentChange", err)
	}
	tx.Rebase(gen + 1)
	if res, err := tx.Commit(ctx); err != nil || res.Generation != gen+2 {
		t.Fatalf("rebased: %+v, %v", res, err)
	}
	k.Touch()
	tx = k.BeginAt(0)
	tx.DeleteTable(fam, "fw")
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatalf("begun at 0: %v", err)
	}
}

// A Client on the fake runs its operations whole from many goroutines: the
// fake is safe for concurrent use (run with -race).
func TestConcurrentClient(t *testing.T) {
	ctx := context.Background()
	k := fakekernel.New()
	c := firewall.NewClient(k, nil)
	r, err := ctmatch.Translate("-m conntrack --ctstate NEW -j ACCEPT", ctmatch.Options{Table: fam})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.Apply(ctx, []firewall.Change{{Family: fam, Table: "fw", Chain: "input", Rule: r}}, firewall.ApplyOptions{Create: true})
			if err == nil {
				_, err = c.List(ctx, firewall.Scope{})
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(k.ChainRules(fam, "fw", "input")); got != n {
		t.Errorf("%d rules, want %d", got, n)
	}
}
