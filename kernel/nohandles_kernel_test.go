package kernel_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// A transaction that asks for no handles (Tx.NoHandles) lands whole,
// reports 0 for every handle, reads no echo and, the rules but the last
// sent without NLM_F_ACK, no acknowledgement but the last rule's (and the
// batch's own); it needs a much smaller receive buffer than the same
// transaction with the handles, sized for the worst case: the kernel
// refusing every change, with an error each, which all arrive.
func TestKernelNoHandles(t *testing.T) {
	ns := ktest.Namespace(t)
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const f = expr.FamilyIP
	const n = 10000
	kernelTableChain(t, c, f)
	exprs := kernelLower(t, f, expr.Rule{Matches: []expr.Match{
		expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)},
	}, Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictAccept}})

	commit := func(noHandles bool) kernel.Result {
		t.Helper()
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if noHandles {
			tx.NoHandles()
		}
		for i := 0; i < n; i++ {
			tx.AddRule(f, "fw", "c", kernel.RuleSpec{Exprs: exprs})
		}
		res, err := tx.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	with := commit(false)
	without := commit(true)
	st := without.Stats
	t.Logf("with handles: receive estimate %d, queued %d, %d datagrams; without: estimate %d, queued %d, %d datagrams",
		with.Stats.ReceiveEstimate, with.Stats.Queued, with.Stats.Datagrams, st.ReceiveEstimate, st.Queued, st.Datagrams)
	if !without.Committed || len(without.Handles) != n || st.Echoes != 0 {
		t.Fatalf("committed %v, %d handles, %d echoes; want committed, %d handles, no echo", without.Committed, len(without.Handles), st.Echoes, n)
	}
	for i, h := range without.Handles {
		if h != 0 {
			t.Fatalf("handle %d is %d, want 0", i, h)
		}
	}
	if st.Acks != 1 && st.Acks != 3 {
		t.Errorf("%d acknowledgements, want 1 (or 3, with BATCH_BEGIN's and BATCH_END's)", st.Acks)
	}
	if st.Queued <= 0 || st.ReceiveEstimate < st.Queued {
		t.Errorf("receive estimate %d for %d bytes queued: want at least that", st.ReceiveEstimate, st.Queued)
	}
	// Room for an error per change: here about 60% of the estimate with
	// the echoes.
	if st.ReceiveEstimate*3 > with.Stats.ReceiveEstimate*2 || st.Queued >= with.Stats.Queued {
		t.Errorf("receive estimate without handles %d (queued %d), with %d (queued %d): want at most two thirds, and less queued",
			st.ReceiveEstimate, st.Queued, with.Stats.ReceiveEstimate, with.Stats.Queued)
	}
	rules, err := c.Rules(ctx, f, "fw", "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2*n {
		t.Fatalf("%d rules listed, want %d", len(rules), 2*n)
	}
	for i, r := range rules[n:] {
		if r.Handle == 0 || r.Handle <= with.Handles[n-1] {
			t.Fatalf("rule %d of the second commit: handle %d", i, r.Handle)
		}
	}

	// Every rule refused (its chain does not exist): an error for each,
	// asked for or not, and all of them fit in the receive buffer.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.NoHandles()
	for i := 0; i < n; i++ {
		tx.AddRule(f, "fw", "nochain", kernel.RuleSpec{Exprs: exprs})
	}
	res, err := tx.Commit(ctx)
	var ke *kernel.Error
	if !errors.As(err, &ke) || ke.Index != 0 || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("every rule into a missing chain: %v, want ENOENT for the first", err)
	}
	t.Logf("every rule refused: estimate %d, queued %d, %d replies: %v", res.Stats.ReceiveEstimate, res.Stats.Queued, res.Stats.Acks, err)
	if res.Stats.Acks < n || res.Stats.Queued > res.Stats.ReceiveEstimate {
		t.Errorf("%d errors read (want %d), %d bytes queued for an estimate of %d", res.Stats.Acks, n, res.Stats.Queued, res.Stats.ReceiveEstimate)
	}
}
