package e2e

import (
	"context"
	"errors"
	"testing"

	"github.com/google/nftables"
	nftexpr "github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/nftexport"
	"github.com/ctmatch/ctmatch/parse"
)

// googleBatch is how many rules the test gives one google/nftables Flush:
// v0.3.0 sends a batch in one sendmsg and reads an ACK and an echo per rule,
// which overflows the default receive buffer from about 136 rules.
const googleBatch = 40

// TestExportKernel loads every golden case that ctmatch exports to
// google/nftables expressions twice into one namespace: through a
// google/nftables v0.3.0 Conn (nftexport.AddTo, then the test's Flush) and
// through ctmatch's own loader (kernel.Tx.AddRule with expr.Rule.Lower's
// bytes). It reads both chains back through kernel/ (never google's
// GetRules) and checks that the kernel holds byte-identical expressions for
// each rule. Then it shows, in the same namespace, the two encodings of
// v0.3.0 that make the export refuse ports and addresses.
func TestExportKernel(t *testing.T) {
	ns := ktest.Namespace(t)
	ctx := context.Background()
	kc := kerneltest.Dial(t, ns)
	gc, err := nftables.New(nftables.WithNetNSFd(int(ns.File().Fd())))
	if err != nil {
		t.Fatal(err)
	}
	cases := goldenCases(t)
	checked, refused := 0, 0
	for _, table := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
		tx, err := kc.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.AddTable(table, "t", nil)
		for _, ch := range []string{"ours", "google", "new_conns", "other"} {
			tx.AddChain(table, "t", ch, nil, nil)
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		gchain := &nftables.Chain{Table: &nftables.Table{Family: nftables.TableFamily(table), Name: "t"}, Name: "google"}

		// No generation check: the google/nftables flushes below change the
		// ruleset while this transaction is being recorded.
		tx = kc.BeginAt(0)
		type loaded struct {
			name string
			rule expr.Rule
		}
		var all []loaded
		queued := 0
		for _, c := range cases {
			if (table == expr.FamilyIP && c.family == parse.IPv6) || (table == expr.FamilyIP6 && c.family == parse.IPv4) {
				continue
			}
			r, err := ctmatch.Translate(c.words, ctmatch.Options{Table: table, IPv6: c.family == parse.IPv6})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := nftexport.AddTo(r, gc, gchain); err != nil {
				var ee *nftexport.Error
				if !errors.As(err, &ee) {
					t.Fatalf("%v %s: AddTo: %v", table, c.name, err)
				}
				refused++
				continue
			}
			wire, err := r.Wire()
			if err != nil {
				t.Fatal(err)
			}
			for i, b := range wire {
				tx.AddRule(table, "t", "ours", kernel.RuleSpec{Exprs: b, Source: c.name})
				all = append(all, loaded{c.name, r.Rules[i]})
			}
			if queued += len(wire); queued >= googleBatch {
				if err := gc.Flush(); err != nil {
					t.Fatalf("%v: google/nftables Flush: %v", table, err)
				}
				queued = 0
			}
		}
		if err := gc.Flush(); err != nil {
			t.Fatalf("%v: google/nftables Flush: %v", table, err)
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatalf("%v: load ctmatch's rules: %v", table, err)
		}
		ours, err := kc.Rules(ctx, table, "t", "ours")
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := kc.Rules(ctx, table, "t", "google")
		if err != nil {
			t.Fatal(err)
		}
		if len(ours) != len(all) || len(theirs) != len(all) {
			t.Fatalf("%v: %d and %d rules dumped, want %d", table, len(ours), len(theirs), len(all))
		}
		for i, l := range all {
			a, b := listElems(t, ours[i].Exprs), listElems(t, theirs[i].Exprs)
			if len(a) != len(b) {
				t.Errorf("%v %s: %q: %d expressions in the kernel, %d through google/nftables", table, l.name, l.rule.String(), len(a), len(b))
				continue
			}
			for k := range a {
				if string(a[k]) != string(b[k]) {
					t.Errorf("%v %s: %q: expression %d differs in the kernel:\nctmatch         % x\ngoogle/nftables % x", table, l.name, l.rule.String(), k+1, a[k], b[k])
				}
			}
			checked++
		}
	}
	t.Logf("%d nft rules byte-identical in the kernel's dumps; %d case×family refused by the export", checked, refused)
	if checked < 250 || refused < 50 {
		t.Errorf("only %d rules compared and %d cases refused: have the cases changed?", checked, refused)
	}

	// Why ports and addresses are refused, shown by the kernel.
	tx, err := kc.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddTable(expr.FamilyIP, "why", nil)
	tx.AddChain(expr.FamilyIP, "why", "c", nil, nil)
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	why := &nftables.Chain{Table: &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "why"}, Name: "c"}

	// A reply port: v0.3.0 sends the direction as 4 bytes, and the kernel
	// keeps the rule reading the original direction.
	gc.AddRule(&nftables.Rule{Table: why.Table, Chain: why, Exprs: []nftexpr.Any{
		&nftexpr.Ct{Register: 1, Key: nftexpr.CtKeyPROTOSRC, Direction: 1},
		&nftexpr.Cmp{Op: nftexpr.CmpOpEq, Register: 1, Data: []byte{0, 80}},
	}})
	if err := gc.Flush(); err != nil {
		t.Fatalf("flush a reply port through google/nftables: %v", err)
	}
	rules, err := kc.Rules(ctx, expr.FamilyIP, "why", "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 {
		t.Fatalf("%d rules in why/c, want 1", len(rules))
	}
	got, err := expr.Raise(expr.FamilyIP, rules[0].Exprs)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.String(); s != "ct original proto-src 80" {
		t.Errorf("google/nftables' ct reply proto-src 80 is %q in the kernel, want the wrong %q: has v0.3.0's encoding changed? Then revisit the export's refusals", s, "ct original proto-src 80")
	}

	// An address: v0.3.0 sends no direction for keys 19-22, and the kernel
	// refuses the rule.
	gc.AddRule(&nftables.Rule{Table: why.Table, Chain: why, Exprs: []nftexpr.Any{
		&nftexpr.Ct{Register: 1, Key: unix.NFT_CT_SRC_IP},
		&nftexpr.Cmp{Op: nftexpr.CmpOpEq, Register: 1, Data: []byte{10, 0, 0, 1}},
	}})
	if err := gc.Flush(); !errors.Is(err, unix.EINVAL) {
		t.Errorf("flush ct original ip saddr through google/nftables: %v, want EINVAL: has v0.3.0's encoding changed? Then revisit the export's refusals", err)
	}
}
