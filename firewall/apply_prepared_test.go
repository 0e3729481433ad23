package firewall

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
)

// A change whose rule was Prepared writes what the same change with the
// Rule writes: the same tables, chains, expressions and group records.
func TestApplyPrepared(t *testing.T) {
	const fam = expr.FamilyInet
	texts := []struct{ chain, words string }{
		{"input", "-m conntrack --ctstate NEW,DNAT -j ACCEPT"},
		{"PREROUTING", "-t nat -m conntrack --ctstate NEW"},
		{"web", "-m conntrack --ctstate NEW"},
		{"input", "-m conntrack --ctstate ESTABLISHED,RELATED -j web"},
	}
	run := func(prepared bool) *fakeConn {
		f := newFakeConn()
		var changes []Change
		for _, tc := range texts {
			ch := Change{Family: fam, Table: "fw", Chain: tc.chain, Rule: translate(t, fam, tc.words)}
			if prepared {
				p, err := Prepare(ch.Rule)
				if err != nil {
					t.Fatal(err)
				}
				ch.Rule, ch.Prepared = nil, p
			}
			changes = append(changes, ch)
		}
		res, err := f.client().Apply(context.Background(), changes, ApplyOptions{Create: true, NoHandles: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Changes) != len(texts) || len(res.Changes[0].Handles) != 2 || (res.Changes[0].Rules == nil) != prepared {
			t.Fatalf("prepared %v: changes %+v", prepared, res.Changes)
		}
		return f
	}
	a, b := run(false), run(true)
	ta, tb := a.table(fam, "fw"), b.table(fam, "fw")
	if ta == nil || tb == nil || len(ta.chains()) != len(tb.chains()) {
		t.Fatalf("tables %+v, %+v", ta, tb)
	}
	for i, ca := range ta.chains() {
		cb := tb.chains()[i]
		if ca.c.Name != cb.c.Name || len(ca.rules) != len(cb.rules) {
			t.Fatalf("chain %d: %s with %d rules, %s with %d", i, ca.c.Name, len(ca.rules), cb.c.Name, len(cb.rules))
		}
		for k := range ca.rules {
			if !bytes.Equal(ca.rules[k].Exprs, cb.rules[k].Exprs) || !bytes.Equal(ca.rules[k].UserData, cb.rules[k].UserData) {
				t.Errorf("chain %s rule %d differs", ca.c.Name, k)
			}
		}
	}
}

// A Prepared rule gives its bytes up to the transaction: given to Apply a
// second time, or twice in one call, it is refused before anything is sent.
func TestApplyPreparedOnce(t *testing.T) {
	const fam = expr.FamilyInet
	p, err := Prepare(translate(t, fam, "-m conntrack --ctstate NEW -j ACCEPT"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeConn()
	ch := Change{Family: fam, Table: "fw", Chain: "input", Prepared: p}
	if _, err := f.client().Apply(context.Background(), []Change{ch, ch}, ApplyOptions{Create: true}); !errors.Is(err, ErrInvalidChange) {
		t.Fatalf("the same Prepared twice in one Apply: err = %v, want ErrInvalidChange", err)
	}
	if tb := f.table(fam, "fw"); tb != nil {
		t.Fatalf("a refused Apply created table fw: %+v", tb)
	}
	q, err := Prepare(translate(t, fam, "-m conntrack --ctstate NEW -j ACCEPT"))
	if err != nil {
		t.Fatal(err)
	}
	ch.Prepared = q
	if _, err := f.client().Apply(context.Background(), []Change{ch}, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client().Apply(context.Background(), []Change{ch}, ApplyOptions{}); !errors.Is(err, ErrInvalidChange) {
		t.Fatalf("a Prepared applied again: err = %v, want ErrInvalidChange", err)
	}
}

// Apply with Check keeps a Prepared's expressions: the same Prepared is
// checked, then applied.
func TestApplyPreparedCheckThenApply(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	p, err := Prepare(translate(t, expr.FamilyInet, "-m conntrack --ctstate NEW -j ACCEPT"))
	if err != nil {
		t.Fatal(err)
	}
	ch := []Change{{Family: expr.FamilyInet, Table: "fw", Chain: "input", Prepared: p}}
	if _, err := c.Apply(ctx, ch, ApplyOptions{Create: true, Check: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, ch, ApplyOptions{Create: true}); err != nil {
		t.Fatalf("Apply after a check of the same Prepared: %v", err)
	}
	if _, err := c.Apply(ctx, ch, ApplyOptions{Create: true}); !errors.Is(err, ErrInvalidChange) {
		t.Errorf("Apply of a Prepared applied before: %v, want ErrInvalidChange", err)
	}
}
