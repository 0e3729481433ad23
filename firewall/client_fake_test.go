package firewall

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// fakeConn is a small nf_tables ruleset behind the nfConn interface, for
// unit tests of the Client: tables, chains and rules with handles; a
// transaction applies its changes in order, all or none, as the kernel
// does, and refuses a stale generation.
type fakeConn struct {
	gen    uint32
	tables []*fakeTable
	handle uint64 // the last handle given

	commits, checks int
	dumps           int    // the calls of Rules: chain listings
	batches         uint64 // the random bases read, see Read
	// beforeCommit, when set, runs as a transaction's commit begins: a
	// test's change by another process, between the check of a batch and
	// its send.
	beforeCommit func()
}

type fakeTable struct {
	t      kernel.Table
	chains []*fakeChain
}

type fakeChain struct {
	c     kernel.Chain
	rules []kernel.Rule
}

func newFakeConn() *fakeConn { return &fakeConn{gen: 10, handle: 100} }

func (f *fakeConn) client() *Client { return newClient(f, f) }

// Read is the client's source of randomness: the nth read (from 0) of 8
// bytes gives 100·n, so that the group ids of the nth batch are
// 1<<63 | 100·n+1, +2, … (groupOrder prints them *100n+1 …).
func (f *fakeConn) Read(p []byte) (int, error) {
	if len(p) != 8 {
		return 0, fmt.Errorf("fake randomness: a read of %d bytes, want 8", len(p))
	}
	binary.BigEndian.PutUint64(p, 100*f.batches)
	f.batches++
	return 8, nil
}

func (f *fakeConn) Generation(context.Context) (uint32, error) { return f.gen, nil }

func (f *fakeConn) Tables(context.Context) ([]kernel.Table, error) {
	var out []kernel.Table
	for _, t := range f.tables {
		out = append(out, t.t)
	}
	return out, nil
}

func (f *fakeConn) table(fam expr.Family, name string) *fakeTable {
	for _, t := range f.tables {
		if t.t.Family == fam && t.t.Name == name {
			return t
		}
	}
	return nil
}

func (t *fakeTable) chain(name string) *fakeChain {
	for _, c := range t.chains {
		if c.c.Name == name {
			return c
		}
	}
	return nil
}

func (f *fakeConn) Chains(_ context.Context, fam expr.Family, table string) ([]kernel.Chain, error) {
	t := f.table(fam, table)
	if t == nil {
		return nil, fmt.Errorf("list chains %v %s: no such table: %w", fam, table, unix.ENOENT)
	}
	var out []kernel.Chain
	for _, c := range t.chains {
		out = append(out, c.c)
	}
	return out, nil
}

func (f *fakeConn) Rules(_ context.Context, fam expr.Family, table, chain string) ([]kernel.Rule, error) {
	f.dumps++
	t := f.table(fam, table)
	if t == nil || t.chain(chain) == nil {
		return nil, fmt.Errorf("list rules %v %s %s: no such table or chain: %w", fam, table, chain, unix.ENOENT)
	}
	return slices.Clone(t.chain(chain).rules), nil
}

func (f *fakeConn) Close() error { return nil }

func (f *fakeConn) BeginAt(gen uint32) nfTx { return &fakeTx{f: f, gen: gen} }

// addTable, addChain and addRule build the ruleset a test starts from.
func (f *fakeConn) addTable(fam expr.Family, name string, userdata []byte) *fakeTable {
	t := &fakeTable{t: kernel.Table{Family: fam, Name: name, Handle: uint64(len(f.tables) + 1), UserData: userdata}}
	f.tables = append(f.tables, t)
	return t
}

func (t *fakeTable) addChain(name string, base *kernel.BaseChain) *fakeChain {
	c := &fakeChain{c: kernel.Chain{Family: t.t.Family, Table: t.t.Name, Name: name, Handle: uint64(len(t.chains) + 1), Base: base}}
	t.chains = append(t.chains, c)
	return c
}

func (f *fakeConn) addRule(c *fakeChain, exprs, userdata []byte, counter *kernel.Counter) uint64 {
	f.handle++
	c.rules = append(c.rules, kernel.Rule{Family: c.c.Family, Table: c.c.Table, Chain: c.c.Name, Handle: f.handle, Exprs: exprs, UserData: userdata, Counter: counter})
	return f.handle
}

type fakeOp struct {
	kind     string
	family   expr.Family
	table    string
	chain    string
	base     *kernel.BaseChain
	userdata []byte
	spec     kernel.RuleSpec
	handle   uint64
}

type fakeTx struct {
	f   *fakeConn
	gen uint32
	ops []fakeOp
}

func (tx *fakeTx) AddTable(fam expr.Family, name string, userdata []byte) {
	tx.ops = append(tx.ops, fakeOp{kind: "add table", family: fam, table: name, userdata: userdata})
}

func (tx *fakeTx) AddChain(fam expr.Family, table, name string, base *kernel.BaseChain, userdata []byte) {
	if base != nil {
		b := *base // (as kernel.Tx, which encodes it at once)
		base = &b
	}
	tx.ops = append(tx.ops, fakeOp{kind: "add chain", family: fam, table: table, chain: name, base: base, userdata: userdata})
}

func (tx *fakeTx) AddRule(fam expr.Family, table, chain string, r kernel.RuleSpec) {
	// (kernel.Tx copies the bytes it is given, and callers count on it.)
	r.Exprs, r.UserData = slices.Clone(r.Exprs), slices.Clone(r.UserData)
	tx.ops = append(tx.ops, fakeOp{kind: "add rule", family: fam, table: table, chain: chain, spec: r})
}

func (tx *fakeTx) DeleteRule(fam expr.Family, table, chain string, handle uint64) {
	tx.ops = append(tx.ops, fakeOp{kind: "delete rule", family: fam, table: table, chain: chain, handle: handle})
}

func (tx *fakeTx) DeleteTable(fam expr.Family, name string) {
	tx.ops = append(tx.ops, fakeOp{kind: "delete table", family: fam, table: name})
}

func (tx *fakeTx) FlushTable(fam expr.Family, name string) {
	tx.ops = append(tx.ops, fakeOp{kind: "flush table", family: fam, table: name})
}

func (tx *fakeTx) DeleteChain(fam expr.Family, table, name string) {
	tx.ops = append(tx.ops, fakeOp{kind: "delete chain", family: fam, table: table, chain: name})
}

func (tx *fakeTx) FlushChain(fam expr.Family, table, name string) {
	tx.ops = append(tx.ops, fakeOp{kind: "flush chain", family: fam, table: table, chain: name})
}

// errFakeRefused is what the fake kernel refuses a change with.
var errFakeRefused = errors.New("fake kernel: refused")

// run applies the transaction to a copy of the ruleset and returns the
// copy and the handles of the rules added.
func (tx *fakeTx) run() (*fakeConn, []uint64, error) {
	if tx.gen != 0 && tx.gen != tx.f.gen {
		return nil, nil, kernel.ErrConcurrentChange
	}
	f := &fakeConn{gen: tx.f.gen + 1, handle: tx.f.handle, dumps: tx.f.dumps, batches: tx.f.batches, beforeCommit: tx.f.beforeCommit}
	for _, t := range tx.f.tables {
		nt := &fakeTable{t: t.t}
		for _, c := range t.chains {
			nt.chains = append(nt.chains, &fakeChain{c: c.c, rules: slices.Clone(c.rules)})
		}
		f.tables = append(f.tables, nt)
	}
	var handles []uint64
	// The handles of the rules sent with an ID: the kernel looks an ID up
	// among the rules added to the same chain, and takes the first.
	type ruleID struct {
		family       expr.Family
		table, chain string
		id           uint32
	}
	byID := map[ruleID]uint64{}
	for i, op := range tx.ops {
		fail := func(what string) error {
			return fmt.Errorf("change %d (%s %v %s %s): %s: %w", i, op.kind, op.family, op.table, op.chain, what, errFakeRefused)
		}
		t := f.table(op.family, op.table)
		switch op.kind {
		case "add table":
			if t != nil {
				return nil, nil, fail("table exists")
			}
			f.addTable(op.family, op.table, op.userdata)
			continue
		case "add chain":
			if t == nil {
				return nil, nil, fail("no table")
			}
			if t.chain(op.chain) != nil {
				return nil, nil, fail("chain exists")
			}
			t.addChain(op.chain, op.base).c.UserData = op.userdata
			continue
		case "delete table", "flush table":
			if t == nil {
				return nil, nil, fail("no table")
			}
			if op.kind == "delete table" {
				f.tables = slices.DeleteFunc(f.tables, func(x *fakeTable) bool { return x == t })
			} else {
				for _, c := range t.chains {
					c.rules = nil
				}
			}
			continue
		case "delete chain":
			// (The kernel refuses, EBUSY, a chain that still holds rules.)
			if t == nil || t.chain(op.chain) == nil || len(t.chain(op.chain).rules) > 0 {
				return nil, nil, fail("no such chain, or a chain with rules")
			}
			t.chains = slices.DeleteFunc(t.chains, func(x *fakeChain) bool { return x.c.Name == op.chain })
			continue
		}
		if t == nil || t.chain(op.chain) == nil {
			return nil, nil, fail("no table or chain")
		}
		c := t.chain(op.chain)
		at := func(h uint64) int {
			return slices.IndexFunc(c.rules, func(r kernel.Rule) bool { return r.Handle == h })
		}
		switch op.kind {
		case "add rule":
			f.handle++
			r := kernel.Rule{Family: op.family, Table: op.table, Chain: op.chain, Handle: f.handle, Exprs: op.spec.Exprs, UserData: op.spec.UserData}
			k := len(c.rules)
			pos := op.spec.Position
			if op.spec.PositionID != 0 {
				if pos = byID[ruleID{op.family, op.table, op.chain, op.spec.PositionID}]; pos == 0 {
					return nil, nil, fail(fmt.Sprintf("no rule with id %d", op.spec.PositionID))
				}
			}
			switch {
			case op.spec.Insert && pos == 0:
				k = 0
			case pos != 0:
				k = at(pos)
				if k < 0 {
					return nil, nil, fail(fmt.Sprintf("no rule with handle %d", pos))
				}
				if !op.spec.Insert {
					k++
				}
			}
			c.rules = slices.Insert(c.rules, k, r)
			handles = append(handles, f.handle)
			if key := (ruleID{op.family, op.table, op.chain, op.spec.ID}); op.spec.ID != 0 && byID[key] == 0 {
				byID[key] = f.handle
			}
		case "flush chain":
			c.rules = nil
		case "delete rule":
			k := at(op.handle)
			if k < 0 {
				return nil, nil, fail(fmt.Sprintf("no rule with handle %d", op.handle))
			}
			c.rules = slices.Delete(c.rules, k, k+1)
		}
	}
	return f, handles, nil
}

func (tx *fakeTx) Commit(context.Context) (kernel.Result, error) {
	if tx.f.beforeCommit != nil {
		tx.f.beforeCommit()
	}
	tx.f.commits++
	f, handles, err := tx.run()
	if err != nil {
		return kernel.Result{}, err
	}
	tx.f.gen, tx.f.tables, tx.f.handle = f.gen, f.tables, f.handle
	return kernel.Result{Committed: true, Generation: f.gen, Handles: handles}, nil
}

func (tx *fakeTx) Rebase(gen uint32) { tx.gen = gen }

func (tx *fakeTx) Check(context.Context) error {
	tx.f.checks++
	_, _, err := tx.run()
	return err
}
