package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// kernelTableChain makes table fw with chain c in family f.
func kernelTableChain(t *testing.T, c *kernel.Conn, f expr.Family) {
	t.Helper()
	tx, err := c.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tx.AddTable(f, "fw", nil)
	tx.AddChain(f, "fw", "c", &kernel.BaseChain{Hook: kernel.HookInput}, nil)
	if _, err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A transaction is atomic: with rule 700 of 1,000 broken (a ct key the
// kernel does not have), the error names rule 700 and its source and wraps
// EOPNOTSUPP, and none of the 1,000 rules is there.
func TestKernelAtomicity(t *testing.T) {
	ns := ktest.Namespace(t)
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const f = expr.FamilyInet
	kernelTableChain(t, c, f)
	good := kernelLower(t, f, expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)}}, Counter: true})
	bad := kernelCtExprs(255)

	gen, err := c.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx := c.BeginAt(gen)
	for i := 1; i <= 1000; i++ {
		spec := kernel.RuleSpec{Exprs: good, Source: fmt.Sprintf("rules.txt:%d: -m conntrack --ctstate NEW", i)}
		if i == 700 {
			spec.Exprs = bad
		}
		tx.AddRule(f, "fw", "c", spec)
	}
	res, err := tx.Commit(ctx)
	if err == nil {
		t.Fatal("the transaction with a broken rule was committed")
	}
	t.Logf("error: %v", err)
	want := "add rule inet fw c (rules.txt:700: -m conntrack --ctstate NEW): expression 1 (ct): the kernel lacks a feature this rule needs: operation not supported; the kernel refused the whole transaction, nothing was changed"
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
	if !errors.Is(err, unix.EOPNOTSUPP) {
		t.Error("errors.Is(err, EOPNOTSUPP) is false")
	}
	var ke *kernel.Error
	if !errors.As(err, &ke) || ke.Index != 699 || ke.Source != "rules.txt:700: -m conntrack --ctstate NEW" {
		t.Errorf("error = %+v, want index 699 with its source", ke)
	}
	if res.Committed {
		t.Error("Result.Committed is true")
	}
	if rules, err := c.Rules(ctx, f, "fw", "c"); err != nil || len(rules) != 0 {
		t.Errorf("after the failed transaction the chain holds %d rules (%v), want none", len(rules), err)
	}
	if g, err := c.Generation(ctx); err != nil || g != gen {
		t.Errorf("generation %d (%v) after the failed transaction, want %d unchanged", g, err, gen)
	}
}

// 100,000 rules in one transaction: one batch, one sendmsg, every reply
// read, every rule there, every handle echoed; the receive buffer estimate
// covers what the kernel queued and is not wildly more.
func TestKernelManyRules(t *testing.T) {
	ns := ktest.Namespace(t)
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const f = expr.FamilyIP
	const n = 100000
	kernelTableChain(t, c, f)
	exprs := kernelLower(t, f, expr.Rule{Matches: []expr.Match{
		expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)},
		expr.Ct{Key: expr.CtProtoDst, Op: expr.OpEq, Lo: 22},
	}, Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictAccept}})

	start := time.Now()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		tx.AddRule(f, "fw", "c", kernel.RuleSpec{Exprs: exprs})
	}
	res, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	commit := time.Since(start)
	st := res.Stats
	t.Logf("commit of %d rules: %v; batch %d bytes in %d messages; send buffer %d; receive buffer %d (estimate %d, queued %d, ratio %.2f); %d datagrams, %d bytes, %d acks, %d echoes",
		n, commit, st.BatchBytes, st.Messages, st.SendBuffer, st.ReceiveBuffer, st.ReceiveEstimate, st.Queued,
		float64(st.ReceiveEstimate)/float64(st.Queued), st.Datagrams, st.ReplyBytes, st.Acks, st.Echoes)
	// An acknowledgement per rule, and BATCH_BEGIN's and BATCH_END's on
	// kernels that send them (since about 6.10).
	if (st.Acks != n && st.Acks != n+2) || st.Echoes != n || len(res.Handles) != n {
		t.Errorf("%d acks, %d echoes, %d handles; want %d each (%d acks with BATCH_BEGIN's and BATCH_END's)", st.Acks, st.Echoes, len(res.Handles), n, n+2)
	}
	if st.Queued <= 0 || st.ReceiveEstimate < st.Queued || st.ReceiveEstimate > 2*st.Queued {
		t.Errorf("receive estimate %d for %d bytes queued: want at least that, and at most twice", st.ReceiveEstimate, st.Queued)
	}

	start = time.Now()
	rules, err := c.Rules(ctx, f, "fw", "c")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("listing %d rules: %v", len(rules), time.Since(start))
	if len(rules) != n {
		t.Fatalf("%d rules listed, want %d", len(rules), n)
	}
	for i, r := range rules {
		if r.Handle != res.Handles[i] {
			t.Fatalf("rule %d: listed handle %d, echoed %d", i, r.Handle, res.Handles[i])
		}
	}
}

// The generation guards a transaction: when the ruleset changes between
// Generation and Commit (here nft adds a table), the kernel refuses the
// transaction as a concurrent change, and nothing is lost or added; begun
// again, it goes through.
func TestKernelConcurrentChange(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	gen, err := c.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx := c.BeginAt(gen)
	tx.AddTable(expr.FamilyInet, "mine", nil)
	tx.AddChain(expr.FamilyInet, "mine", "c", nil, nil)

	ktest.Run(t, ns, "add table inet theirs\n", "nft", "-f", "-")

	_, err = tx.Commit(ctx)
	if !errors.Is(err, kernel.ErrConcurrentChange) || !errors.Is(err, unix.ERESTART) {
		t.Fatalf("err = %v, want ErrConcurrentChange wrapping ERESTART", err)
	}
	if !strings.Contains(err.Error(), "concurrent change") {
		t.Errorf("error %q does not say concurrent change", err)
	}
	if out := ktest.Run(t, ns, "", "nft", "list", "tables"); out != "table inet theirs\n" {
		t.Errorf("tables after the refused transaction: %q, want only theirs", out)
	}

	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddTable(expr.FamilyInet, "mine", nil)
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if out := ktest.Run(t, ns, "", "nft", "list", "tables"); out != "table inet theirs\ntable inet mine\n" {
		t.Errorf("tables after the retry: %q", out)
	}
}
