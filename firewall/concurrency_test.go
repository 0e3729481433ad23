package firewall

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// The Applies of one Client, from many goroutines at once, never conflict
// with each other: each holds the Client whole, from its first read to its
// commit. (The fake ruleset is not safe for concurrent use: the race
// detector also sees an operation that is not held whole.)
func TestApplyConcurrentOneClient(t *testing.T) {
	f := newFakeConn()
	c := f.client()
	const fam = expr.FamilyInet
	const goroutines, each = 8, 25
	var rules [goroutines][each]Change
	for g := range goroutines {
		for i := range each {
			r := translate(t, fam, fmt.Sprintf("-m conntrack --ctstate NEW --ctorigdstport %d -j ACCEPT", 1+g*each+i))
			rules[g][i] = Change{Family: fam, Table: "fw", Chain: "input", Rule: r}
		}
	}
	ctx := context.Background()
	if _, err := c.Apply(ctx, []Change{rules[0][0]}, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if g == 0 && i == 0 {
					continue
				}
				ch := rules[g][i]
				if i%2 == 1 {
					// Every other change is placed by its index, which
					// reads the chain's rules.
					ch.Index = 1
				}
				_, err := c.Apply(ctx, []Change{ch}, ApplyOptions{})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			if failed < 5 {
				t.Errorf("apply: %v", err)
			}
		}
	}
	l, err := c.List(ctx, Scope{Family: fam, Table: "fw", Chain: "input"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, g := range l.Tables[0].Chains[0].Groups {
		seen[g.Rule.String()]++
	}
	if failed != 0 || len(seen) != goroutines*each {
		t.Errorf("%d applies failed; the chain holds %d distinct groups, want %d", failed, len(seen), goroutines*each)
	}
	for w, n := range seen {
		if n != 1 {
			t.Errorf("%q is in the chain %d times", w, n)
		}
	}
}

// With Retry, Apply plans and sends again when another process changed the
// ruleset between its check and its send (the kernel's generation check
// refuses the transaction), up to Retry more times; Prepared changes are
// kept for the next attempt and spent after the last.
func TestApplyRetry(t *testing.T) {
	const fam = expr.FamilyInet
	for _, tc := range []struct {
		retry, conflicts int
		wantErr          bool
	}{
		{retry: 0, conflicts: 1, wantErr: true},
		{retry: 2, conflicts: 2},
		{retry: 2, conflicts: 3, wantErr: true},
		{retry: 3, conflicts: 0},
	} {
		t.Run(fmt.Sprintf("retry %d, %d conflicts", tc.retry, tc.conflicts), func(t *testing.T) {
			f := newFakeConn()
			c := f.client()
			ctx := context.Background()
			if _, err := c.Apply(ctx, []Change{{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW")}}, ApplyOptions{Create: true}); err != nil {
				t.Fatal(err)
			}
			conflicts := tc.conflicts
			f.OnCommit(func() {
				if conflicts > 0 {
					conflicts--
					f.Touch() // a commit of another process, elsewhere
				}
			})
			p, err := Prepare(translate(t, fam, "-m conntrack --ctstate ESTABLISHED -j ACCEPT"))
			if err != nil {
				t.Fatal(err)
			}
			changes := []Change{
				{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate INVALID -j DROP"), Index: 1, Insert: true},
				{Family: fam, Table: "fw", Chain: "input", Prepared: p},
			}
			commits := f.commits()
			res, err := c.Apply(ctx, changes, ApplyOptions{Retry: tc.retry})
			wantTries := min(tc.conflicts, tc.retry)
			if got := errors.Is(err, kernel.ErrConcurrentChange); got != tc.wantErr || (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want ErrConcurrentChange: %v", err, tc.wantErr)
			}
			if res.Retries != wantTries || f.commits()-commits != wantTries+1 {
				t.Errorf("%d retries, %d commits; want %d retries, %d commits", res.Retries, f.commits()-commits, wantTries, wantTries+1)
			}
			n := len(f.table(fam, "fw").chain("input").rules)
			if want := map[bool]int{false: 3, true: 1}[tc.wantErr]; n != want {
				t.Errorf("the chain holds %d nft rules, want %d", n, want)
			}
			if !p.spent() {
				t.Error("the Prepared rule is not spent after Apply")
			}
		})
	}
}

// Retry counts retries: a negative count is refused.
func TestApplyRetryNegative(t *testing.T) {
	const fam = expr.FamilyInet
	c := newFakeConn().client()
	_, err := c.Apply(context.Background(), []Change{{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW")}}, ApplyOptions{Retry: -1})
	if !errors.Is(err, ErrInvalidChange) {
		t.Errorf("error %v, want ErrInvalidChange", err)
	}
}

// An operation waiting for the Client gives up when its context is done.
func TestClientLockContext(t *testing.T) {
	c := newFakeConn().client()
	if err := c.lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.List(ctx, Scope{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List while the Client is held, with a done context: %v, want context.Canceled", err)
	}
	c.unlock()
	if _, err := c.List(context.Background(), Scope{}); err != nil {
		t.Errorf("List: %v", err)
	}
}
