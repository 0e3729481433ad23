package firewall

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall/fakekernel"
	"github.com/ctmatch/ctmatch/kernel"
)

// fakeConn is the client's unit tests' view of a fakekernel.Kernel: the
// words they set a ruleset up and read it back with, and the client's
// randomness.
type fakeConn struct {
	*fakekernel.Kernel
	batches uint64 // the random bases read, see Read
}

func newFakeConn() *fakeConn { return &fakeConn{Kernel: fakekernel.New()} }

func (f *fakeConn) client() *Client { return NewClient(f, f) }

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

func (f *fakeConn) commits() int { return f.Stats().Commits }
func (f *fakeConn) checks() int  { return f.Stats().Checks }
func (f *fakeConn) dumps() int   { return f.Stats().RuleListings }

func (f *fakeConn) gen() uint32 {
	g, _ := f.Generation(context.Background())
	return g
}

// fakeTable names a table of the fake.
type fakeTable struct {
	f *fakeConn
	t kernel.Table
}

// fakeChain is a chain of the fake and its rules, as they were when read.
type fakeChain struct {
	c     kernel.Chain
	rules []kernel.Rule
}

// table returns the table, or nil when there is none.
func (f *fakeConn) table(fam expr.Family, name string) *fakeTable {
	t, ok := f.Table(fam, name)
	if !ok {
		return nil
	}
	return &fakeTable{f: f, t: t}
}

// chain reads the chain now, or returns nil when there is none.
func (t *fakeTable) chain(name string) *fakeChain {
	c, ok := t.f.Chain(t.t.Family, t.t.Name, name)
	if !ok {
		return nil
	}
	return &fakeChain{c: c, rules: t.f.ChainRules(c.Family, c.Table, c.Name)}
}

// chains reads the table's chains now, in their order.
func (t *fakeTable) chains() []*fakeChain {
	cs, err := t.f.Chains(context.Background(), t.t.Family, t.t.Name)
	if err != nil {
		panic(err)
	}
	var out []*fakeChain
	for _, c := range cs {
		out = append(out, t.chain(c.Name))
	}
	return out
}

// addTable, addChain and addRule build the ruleset a test starts from.
func (f *fakeConn) addTable(fam expr.Family, name string, userdata []byte) *fakeTable {
	f.AddTable(fam, name, userdata)
	return f.table(fam, name)
}

func (t *fakeTable) addChain(name string, base *kernel.BaseChain) *fakeChain {
	if err := t.f.AddChain(t.t.Family, t.t.Name, name, base, nil); err != nil {
		panic(err)
	}
	return t.chain(name)
}

func (f *fakeConn) addRule(c *fakeChain, exprs, userdata []byte, counter *kernel.Counter) uint64 {
	h, err := f.AddRule(c.c.Family, c.c.Table, c.c.Name, exprs, userdata, counter)
	if err != nil {
		panic(err)
	}
	c.rules = f.ChainRules(c.c.Family, c.c.Table, c.c.Name) // (as read again)
	return h
}

// tables lists the fake's tables now.
func (f *fakeConn) tables() []*fakeTable {
	ts, _ := f.Tables(context.Background())
	var out []*fakeTable
	for _, t := range ts {
		out = append(out, &fakeTable{f: f, t: t})
	}
	return out
}

// snapshot prints the whole ruleset, to tell whether something changed.
func (f *fakeConn) snapshot() string {
	var s string
	for _, t := range f.tables() {
		s += fmt.Sprintf("%+v\n", t.t)
		for _, c := range t.chains() {
			b := c.c.Base
			c.c.Base = nil
			s += fmt.Sprintf("  %+v base %+v rules %+v\n", c.c, b, c.rules)
		}
	}
	return s
}
