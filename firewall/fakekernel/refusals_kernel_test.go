package fakekernel_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/firewall/fakekernel"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// kernelConn is kernel.Conn as a firewall.Kernel.
type kernelConn struct{ *kernel.Conn }

func (k kernelConn) BeginAt(gen uint32) firewall.KernelTx { return k.Conn.BeginAt(gen) }

// The fake refuses what the kernel refuses, with the same errno at the same
// change, and applies what it applies: the same transactions, sent to a
// kernel in a namespace of the test's own and to the fake, leave the same
// tables, chains and rules.
func TestKernelRefusalsAsFake(t *testing.T) {
	ns := ktest.Namespace(t)
	ctx := context.Background()
	conn, err := kernel.Dial(ctx, kernel.Options{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	real, fake := kernelConn{conn}, fakekernel.New()
	rule := kernel.RuleSpec{Exprs: ruleBytes(t)}
	base := &kernel.BaseChain{Hook: kernel.HookInput, Priority: 0, Policy: kernel.PolicyAccept}
	fwd := &kernel.BaseChain{Hook: kernel.HookForward, Priority: 0, Policy: kernel.PolicyAccept}

	steps := []struct {
		name string
		tx   func(tx firewall.KernelTx)
		want string // "" for applied
	}{
		{"table, chains, rules", func(tx firewall.KernelTx) {
			tx.AddTable(fam, "fw", nil)
			tx.AddChain(fam, "fw", "in", base, nil)
			tx.AddChain(fam, "fw", "empty", nil, nil)
			tx.AddRule(fam, "fw", "in", rule)
			tx.AddRule(fam, "fw", "in", rule)
		}, ""},
		{"a table that exists", func(tx firewall.KernelTx) { tx.AddTable(fam, "fw", nil) }, "EEXIST at 0"},
		{"a chain that exists", func(tx firewall.KernelTx) {
			tx.AddTable(fam, "other", nil)
			tx.AddChain(fam, "fw", "empty", nil, nil)
		}, "EEXIST at 1"},
		{"a chain in no table", func(tx firewall.KernelTx) { tx.AddChain(fam, "nope", "c", nil, nil) }, "ENOENT at 0"},
		{"a rule in no chain", func(tx firewall.KernelTx) {
			tx.AddRule(fam, "fw", "in", rule)
			tx.AddRule(fam, "fw", "nope", rule)
		}, "ENOENT at 1"},
		{"a chain that holds rules, deleted with them", func(tx firewall.KernelTx) {
			tx.DeleteChain(fam, "fw", "in")
			tx.AddChain(fam, "fw", "in", base, nil)
			tx.AddRule(fam, "fw", "in", rule)
			tx.AddRule(fam, "fw", "in", rule)
		}, ""},
		{"a table that does not exist", func(tx firewall.KernelTx) { tx.DeleteTable(fam, "nope") }, "ENOENT at 0"},
		{"a chain that does not exist", func(tx firewall.KernelTx) { tx.FlushChain(fam, "fw", "nope") }, "ENOENT at 0"},
		{"after a rule that does not exist", func(tx firewall.KernelTx) {
			tx.AddRule(fam, "fw", "in", kernel.RuleSpec{Exprs: rule.Exprs, Position: 1 << 40})
		}, "ENOENT at 0"},
		{"a flushed chain, deleted", func(tx firewall.KernelTx) {
			tx.FlushChain(fam, "fw", "in")
			tx.DeleteChain(fam, "fw", "in")
			tx.AddChain(fam, "fw", "in2", nil, nil)
			tx.AddRule(fam, "fw", "in2", kernel.RuleSpec{Exprs: rule.Exprs, Insert: true})
		}, ""},
		{"a flushed table keeps its chains", func(tx firewall.KernelTx) {
			tx.FlushTable(fam, "fw")
			tx.DeleteChain(fam, "fw", "empty")
		}, ""},
		// Named objects: a ct helper's name is unique in its table; a
		// rule's objref (ct helper set "h") must name one, and keeps it
		// from being deleted until the rule is gone.
		{"ct helpers and a rule that uses one", func(tx firewall.KernelTx) {
			tx.AddObject(fam, "fw", helper("h"))
			tx.AddObject(fam, "fw", helper("g"))
			tx.AddChain(fam, "fw", "helped", fwd, nil)
			tx.AddRule(fam, "fw", "helped", kernel.RuleSpec{Exprs: objref("h")})
		}, ""},
		{"a ct helper that exists", func(tx firewall.KernelTx) { tx.AddObject(fam, "fw", helper("g")) }, "EEXIST at 0"},
		{"a ct helper in no table", func(tx firewall.KernelTx) { tx.AddObject(fam, "nope", helper("h")) }, "ENOENT at 0"},
		{"a rule that names no ct helper", func(tx firewall.KernelTx) {
			tx.AddRule(fam, "fw", "helped", kernel.RuleSpec{Exprs: objref("nope")})
		}, "ENOENT at 0"},
		{"a ct helper a rule uses", func(tx firewall.KernelTx) { tx.DeleteObject(fam, "fw", "h") }, "EBUSY at 0"},
		{"a ct helper that does not exist", func(tx firewall.KernelTx) {
			tx.DeleteObject(fam, "fw", "g")
			tx.DeleteObject(fam, "fw", "nope")
		}, "ENOENT at 1"},
		{"a ct helper in no table, deleted", func(tx firewall.KernelTx) { tx.DeleteObject(fam, "nope", "h") }, "ENOENT at 0"},
		{"a ct helper whose rules go first", func(tx firewall.KernelTx) {
			tx.FlushChain(fam, "fw", "helped")
			tx.DeleteObject(fam, "fw", "h")
			tx.DeleteObject(fam, "fw", "g")
			tx.AddObject(fam, "fw", helper("g"))
			tx.AddRule(fam, "fw", "helped", kernel.RuleSpec{Exprs: objref("g")})
		}, ""},
		{"a ct helper whose chain goes first", func(tx firewall.KernelTx) {
			tx.DeleteChain(fam, "fw", "helped")
			tx.DeleteObject(fam, "fw", "g")
		}, ""},
	}
	for _, step := range steps {
		var got [2]string
		for i, k := range []firewall.Kernel{real, fake} {
			gen, err := k.Generation(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tx := k.BeginAt(gen)
			step.tx(tx)
			if _, err := tx.Commit(ctx); err != nil {
				got[i] = refusal(err)
			}
		}
		if got[0] != step.want || got[1] != step.want {
			t.Errorf("%s: the kernel %q, the fake %q; want %q", step.name, got[0], got[1], step.want)
		}
		if diff := cmp.Diff(shape(t, real), shape(t, fake)); diff != "" {
			t.Fatalf("after %s, the ruleset (-kernel +fake):\n%s", step.name, diff)
		}
	}
}

// shape is what a ruleset holds, without its handles: tables, chains with
// their base, and the number of rules of each.
func shape(t *testing.T, k firewall.Kernel) []string {
	ctx := context.Background()
	ts, err := k.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tb := range ts {
		out = append(out, fmt.Sprintf("table %v %s", tb.Family, tb.Name))
		cs, err := k.Chains(ctx, tb.Family, tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			rs, err := k.Rules(ctx, tb.Family, tb.Name, c.Name)
			if err != nil {
				t.Fatal(err)
			}
			b := "regular"
			if c.Base != nil {
				b = fmt.Sprintf("%s %v %d %v", c.Base.TypeName(), c.Base.Hook, c.Base.Priority, c.Base.Policy)
			}
			out = append(out, fmt.Sprintf("chain %s (%s): %d rules", c.Name, b, len(rs)))
		}
		objs, err := k.Objects(ctx, tb.Family, tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			out = append(out, fmt.Sprintf("ct helper %s (%+v): used by %d rules", o.Name, *o.CtHelper, o.Use))
		}
	}
	return out
}

// helper is a ct helper object for ftp over tcp.
func helper(name string) kernel.Object {
	return kernel.Object{Name: name, CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP}}
}

// objref is the expression list nft 1.0.6 sends for the rule `ct helper
// set "NAME"` (nft --debug=netlink: [ objref type 3 name NAME ]).
func objref(name string) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.Nested(1, func(el *netlink.AttributeEncoder) error { // NFTA_LIST_ELEM
		el.String(1, "objref")                                 // NFTA_EXPR_NAME
		el.Nested(2, func(d *netlink.AttributeEncoder) error { // NFTA_EXPR_DATA
			d.Uint32(1, expr.ObjectCtHelper) // NFTA_OBJREF_IMM_TYPE
			d.String(2, name)                // NFTA_OBJREF_IMM_NAME
			return nil
		})
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		panic(err)
	}
	return b
}
