package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// kernelSnapshot is what a check must leave as it was: the generation, the
// tables, and the rules of every chain.
func kernelSnapshot(t *testing.T, c *kernel.Conn) (uint32, string) {
	t.Helper()
	ctx := context.Background()
	gen, err := c.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := ""
	for _, tb := range tables {
		s += fmt.Sprintf("table %v %s %x\n", tb.Family, tb.Name, tb.UserData)
		chains, err := c.Chains(ctx, tb.Family, tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range chains {
			s += fmt.Sprintf("  chain %s %+v\n", ch.Name, ch.Base)
			rules, err := c.Rules(ctx, tb.Family, tb.Name, ch.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rules {
				s += fmt.Sprintf("    rule %d %x %x\n", r.Handle, r.Exprs, r.UserData)
			}
		}
	}
	return gen, s
}

// Tx.Check has the kernel validate a transaction without applying it (the
// batch without BATCH_END, as nft --check sends it): a good transaction
// passes, a bad one fails with the error Commit gives, and neither moves
// the generation or changes anything listed.
func TestKernelCheck(t *testing.T) {
	ns := ktest.Namespace(t)
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const f = expr.FamilyInet
	kernelTableChain(t, c, f)
	good := kernelLower(t, f, expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)}}, Counter: true})
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddRule(f, "fw", "c", kernel.RuleSpec{Exprs: good})
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	gen0, snap0 := kernelSnapshot(t, c)
	unchanged := func(what string) {
		t.Helper()
		gen, snap := kernelSnapshot(t, c)
		if gen != gen0 {
			t.Errorf("%s: generation moved from %d to %d", what, gen0, gen)
		}
		if diff := cmp.Diff(snap0, snap); diff != "" {
			t.Errorf("%s changed the ruleset (-before +after):\n%s", what, diff)
		}
	}

	// A good transaction: a new table, a base chain in it, rules.
	build := func(tx *kernel.Tx, bad int) {
		tx.AddTable(f, "other", nil)
		tx.AddChain(f, "other", "in", &kernel.BaseChain{Hook: kernel.HookInput}, nil)
		for i := 1; i <= 20; i++ {
			spec := kernel.RuleSpec{Exprs: good, Source: fmt.Sprintf("rules.txt:%d", i)}
			if i == bad {
				spec.Exprs = kernelCtExprs(255)
			}
			tx.AddRule(f, "fw", "c", spec)
			tx.AddRule(f, "other", "in", spec)
		}
	}
	tx = c.BeginAt(gen0)
	build(tx, 0)
	if err := tx.Check(ctx); err != nil {
		t.Fatalf("check of a good transaction: %v", err)
	}
	unchanged("a check that passed")

	// A bad one: the error of Commit, in the same words.
	tx = c.BeginAt(gen0)
	build(tx, 13)
	checkErr := tx.Check(ctx)
	unchanged("a check that failed")
	tx = c.BeginAt(gen0)
	build(tx, 13)
	_, commitErr := tx.Commit(ctx)
	unchanged("a commit that failed")
	if checkErr == nil || commitErr == nil || checkErr.Error() != commitErr.Error() || !errors.Is(checkErr, unix.EOPNOTSUPP) {
		t.Errorf("check error:\n %v\ncommit error:\n %v\nwant the same, wrapping EOPNOTSUPP", checkErr, commitErr)
	}
	t.Logf("check error: %v", checkErr)

	// What only the kernel knows: a chain that does not exist, a handle
	// that does not exist.
	tx = c.BeginAt(gen0)
	tx.AddRule(f, "fw", "nope", kernel.RuleSpec{Exprs: good})
	if err := tx.Check(ctx); !errors.Is(err, unix.ENOENT) {
		t.Errorf("check of a rule for a missing chain: %v, want ENOENT", err)
	}
	tx = c.BeginAt(gen0)
	tx.DeleteRule(f, "fw", "c", 4242)
	if err := tx.Check(ctx); !errors.Is(err, unix.ENOENT) {
		t.Errorf("check of deleting a missing handle: %v, want ENOENT", err)
	}
	// A stale generation.
	tx = c.BeginAt(gen0 - 1)
	tx.AddRule(f, "fw", "c", kernel.RuleSpec{Exprs: good})
	if err := tx.Check(ctx); !errors.Is(err, kernel.ErrConcurrentChange) {
		t.Errorf("check at a stale generation: %v, want ErrConcurrentChange", err)
	}
	unchanged("the failed checks")

	// A check, then the commit of the same transaction.
	tx = c.BeginAt(gen0)
	build(tx, 0)
	if err := tx.Check(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := tx.Commit(ctx)
	if err != nil {
		t.Fatalf("commit after a check: %v", err)
	}
	if len(res.Handles) != 40 || res.Generation != gen0+1 {
		t.Errorf("commit after a check: %d handles, generation %d; want 40 and %d", len(res.Handles), res.Generation, gen0+1)
	}
}
