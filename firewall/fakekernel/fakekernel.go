package fakekernel

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// Transaction is what a Kernel's BeginAt returns: the methods of
// firewall.KernelTx. Both packages name the same interface type literal, so
// that this package need not import firewall (whose own tests use it).
type Transaction = interface {
	AddTable(f expr.Family, name string, userdata []byte)                                // as kernel.Tx.AddTable does
	AddChain(f expr.Family, table, name string, base *kernel.BaseChain, userdata []byte) // as kernel.Tx.AddChain does
	AddRule(f expr.Family, table, chain string, r kernel.RuleSpec)                       // as kernel.Tx.AddRule does
	DeleteRule(f expr.Family, table, chain string, handle uint64)                        // as kernel.Tx.DeleteRule does
	DeleteTable(f expr.Family, name string)                                              // as kernel.Tx.DeleteTable does
	FlushTable(f expr.Family, name string)                                               // as kernel.Tx.FlushTable does
	DeleteChain(f expr.Family, table, name string)                                       // as kernel.Tx.DeleteChain does
	FlushChain(f expr.Family, table, name string)                                        // as kernel.Tx.FlushChain does
	Commit(ctx context.Context) (kernel.Result, error)                                   // as kernel.Tx.Commit does
	Check(ctx context.Context) error                                                     // as kernel.Tx.Check does
	Rebase(gen uint32)                                                                   // as kernel.Tx.Rebase does
	AddSet(f expr.Family, table string, s kernel.SetSpec)                                // as kernel.Tx.AddSet does
	AddElements(f expr.Family, table, set string, setID uint32, elems []kernel.SetElem)  // as kernel.Tx.AddElements does
	AddObject(f expr.Family, table string, o kernel.Object)                              // as kernel.Tx.AddObject does
	DeleteObject(f expr.Family, table, name string)                                      // as kernel.Tx.DeleteObject does
}

// Kernel is an in-memory nf_tables ruleset, safe for concurrent use. Its
// zero value is not usable: call New.
type Kernel struct {
	mu       sync.Mutex
	state    ruleset
	stats    Stats
	fault    *fault
	onCommit func()
}

// Stats counts what a Kernel was asked to do.
type Stats struct {
	// Commits is the number of transactions committed or refused by
	// Commit; Checks the number checked by Check (a check changes nothing).
	Commits, Checks int
	// RuleListings is the number of calls of Rules: the chain listings
	// the client read.
	RuleListings int
}

type fault struct {
	index int
	errno unix.Errno
}

// ruleset is the state a transaction copies and replaces whole.
type ruleset struct {
	gen    uint32
	handle uint64 // the last handle given
	tables []*table
}

type table struct {
	t       kernel.Table
	chains  []*chain
	sets    []*set
	objects []kernel.Object // named objects (ct helpers), in the order added: objects.go
}

// set is a set of a table; an anonymous one is bound to the rule that
// looks it up, and goes with it, as in the kernel.
type set struct {
	s     kernel.Set
	elems []kernel.SetElem
	rule  uint64 // the handle of the rule an anonymous set is bound to
}

type chain struct {
	c     kernel.Chain
	rules []kernel.Rule
}

// New returns an empty ruleset at generation 10, whose first rule will
// have handle 101 (numbers apart from 0 and from each other, so that a test
// sees when one is taken for the other).
func New() *Kernel { return &Kernel{state: ruleset{gen: 10, handle: 100}} }

func (s *ruleset) table(f expr.Family, name string) *table {
	for _, t := range s.tables {
		if t.t.Family == f && t.t.Name == name {
			return t
		}
	}
	return nil
}

func (t *table) chain(name string) *chain {
	for _, c := range t.chains {
		if c.c.Name == name {
			return c
		}
	}
	return nil
}

func (s *ruleset) chain(f expr.Family, tname, name string) *chain {
	if t := s.table(f, tname); t != nil {
		return t.chain(name)
	}
	return nil
}

// clone copies the ruleset, deep enough that changing the copy's tables,
// chains and rule lists leaves s as it was.
func (s *ruleset) clone() ruleset {
	n := ruleset{gen: s.gen, handle: s.handle}
	for _, t := range s.tables {
		nt := &table{t: t.t}
		for _, c := range t.chains {
			nt.chains = append(nt.chains, &chain{c: c.c, rules: slices.Clone(c.rules)})
		}
		for _, st := range t.sets {
			nt.sets = append(nt.sets, &set{s: st.s, elems: slices.Clone(st.elems), rule: st.rule})
		}
		for _, o := range t.objects {
			nt.objects = append(nt.objects, cloneObject(o))
		}
		n.tables = append(n.tables, nt)
	}
	return n
}

func (s *ruleset) addTable(f expr.Family, name string, userdata []byte) {
	s.tables = append(s.tables, &table{t: kernel.Table{Family: f, Name: name, Handle: uint64(len(s.tables) + 1), UserData: slices.Clone(userdata)}})
}

func (t *table) addChain(name string, base *kernel.BaseChain, userdata []byte) {
	if base != nil {
		b := *base
		base = &b
	}
	t.chains = append(t.chains, &chain{c: kernel.Chain{Family: t.t.Family, Table: t.t.Name, Name: name, Handle: uint64(len(t.chains) + 1), Base: base, UserData: slices.Clone(userdata)}})
}

// AddTable adds a table to the ruleset a test starts from, or changes the
// userdata of the table of that name. Like AddChain and AddRule, it does not
// move the generation: Touch does.
func (k *Kernel) AddTable(f expr.Family, name string, userdata []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t := k.state.table(f, name); t != nil {
		t.t.UserData = slices.Clone(userdata)
		return
	}
	k.state.addTable(f, name, userdata)
}

// AddChain adds a chain to a table of the ruleset a test starts from: a
// base chain when base is not nil, a regular one when it is. It returns an
// error when there is no such table or the chain exists.
func (k *Kernel) AddChain(f expr.Family, tname, name string, base *kernel.BaseChain, userdata []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.state.table(f, tname)
	if t == nil {
		return fmt.Errorf("add chain %v %s %s: no such table", f, tname, name)
	}
	if t.chain(name) != nil {
		return fmt.Errorf("add chain %v %s %s: the chain exists", f, tname, name)
	}
	t.addChain(name, base, userdata)
	return nil
}

// AddRule appends a rule to a chain of the ruleset a test starts from (exprs
// as expr.Rule.Lower gives them, userdata as the client writes it, counter
// nil for none) and returns its handle, or an error when there is no such
// chain.
func (k *Kernel) AddRule(f expr.Family, tname, cname string, exprs, userdata []byte, counter *kernel.Counter) (uint64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.state.chain(f, tname, cname)
	if c == nil {
		return 0, fmt.Errorf("add rule %v %s %s: no such chain", f, tname, cname)
	}
	if counter != nil {
		v := *counter
		counter = &v
	}
	k.state.handle++
	c.rules = append(c.rules, kernel.Rule{Family: f, Table: tname, Chain: cname, Handle: k.state.handle, Exprs: slices.Clone(exprs), UserData: slices.Clone(userdata), Counter: counter})
	return k.state.handle, nil
}

// Touch moves the generation by one, as another process's commit does: a
// transaction begun before it is refused with kernel.ErrConcurrentChange.
func (k *Kernel) Touch() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.state.gen++
}

// OnCommit sets a function run as each Commit begins, before the
// transaction is checked against the generation, and without the Kernel
// held, so that it may change the ruleset (Touch, AddRule): a change of
// another process between what the client read and what it sends. nil
// removes it.
func (k *Kernel) OnCommit(fn func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.onCommit = fn
}

// FailChange has the next transaction that has a change at index (from 0,
// in the order of the calls that added them) refused there, by Commit or
// Check, with errno, as the kernel refuses a change: a *kernel.Error with
// that Index, wrapping errno. The fault is then gone.
func (k *Kernel) FailChange(index int, errno unix.Errno) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fault = &fault{index: index, errno: errno}
}

// Stats returns the counts of what the Kernel was asked to do so far.
func (k *Kernel) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stats
}

// Table returns the table of that name, and whether there is one.
func (k *Kernel) Table(f expr.Family, name string) (kernel.Table, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t := k.state.table(f, name); t != nil {
		return cloneTable(t.t), true
	}
	return kernel.Table{}, false
}

// Chain returns the chain of that name, and whether there is one.
func (k *Kernel) Chain(f expr.Family, tname, name string) (kernel.Chain, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c := k.state.chain(f, tname, name); c != nil {
		return cloneChain(c.c), true
	}
	return kernel.Chain{}, false
}

// ChainRules returns the rules of a chain in their order, nil when there is
// no such chain or it is empty. Unlike Rules, it is not counted as a
// listing (Stats).
func (k *Kernel) ChainRules(f expr.Family, tname, cname string) []kernel.Rule {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c := k.state.chain(f, tname, cname); c != nil {
		return cloneRules(c.rules)
	}
	return nil
}

func cloneTable(t kernel.Table) kernel.Table {
	t.UserData = slices.Clone(t.UserData)
	return t
}

func cloneChain(c kernel.Chain) kernel.Chain {
	if c.Base != nil {
		b := *c.Base
		c.Base = &b
	}
	c.UserData = slices.Clone(c.UserData)
	return c
}

func cloneRules(rs []kernel.Rule) []kernel.Rule {
	if len(rs) == 0 {
		return nil
	}
	out := make([]kernel.Rule, len(rs))
	for i, r := range rs {
		r.Exprs, r.UserData = slices.Clone(r.Exprs), slices.Clone(r.UserData)
		if r.Counter != nil {
			v := *r.Counter
			r.Counter = &v
		}
		if i > 0 {
			r.Position = rs[i-1].Handle
		}
		out[i] = r
	}
	return out
}

// Generation returns the ruleset's generation (firewall.Kernel).
func (k *Kernel) Generation(context.Context) (uint32, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.state.gen, nil
}

// Tables returns the tables in the order they were added
// (firewall.Kernel).
func (k *Kernel) Tables(context.Context) ([]kernel.Table, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []kernel.Table
	for _, t := range k.state.tables {
		out = append(out, cloneTable(t.t))
	}
	return out, nil
}

// Chains returns the chains of a table in the order they were added, or a
// *kernel.Error wrapping ENOENT when there is no such table
// (firewall.Kernel).
func (k *Kernel) Chains(_ context.Context, f expr.Family, tname string) ([]kernel.Chain, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.state.table(f, tname)
	if t == nil {
		return nil, &kernel.Error{Op: "list chains", Object: fmt.Sprintf("%v %s", f, tname), Index: -1, Err: unix.ENOENT}
	}
	var out []kernel.Chain
	for _, c := range t.chains {
		out = append(out, cloneChain(c.c))
	}
	return out, nil
}

// Rules returns the rules of a chain in their order, or a *kernel.Error
// wrapping ENOENT when there is no such table or chain; each call counts as
// a listing (Stats.RuleListings) (firewall.Kernel).
func (k *Kernel) Rules(_ context.Context, f expr.Family, tname, cname string) ([]kernel.Rule, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stats.RuleListings++
	c := k.state.chain(f, tname, cname)
	if c == nil {
		return nil, &kernel.Error{Op: "list rules", Object: fmt.Sprintf("%v %s %s", f, tname, cname), Index: -1, Err: unix.ENOENT}
	}
	return cloneRules(c.rules), nil
}

// Sets lists the sets of a table, anonymous ones included, as
// kernel.Conn.Sets does.
func (k *Kernel) Sets(_ context.Context, f expr.Family, tname string) ([]kernel.Set, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.state.table(f, tname)
	if t == nil {
		return nil, &kernel.Error{Op: "list sets", Object: fmt.Sprintf("%v %s", f, tname), Index: -1, Err: unix.ENOENT}
	}
	out := make([]kernel.Set, 0, len(t.sets))
	for _, st := range t.sets {
		s := st.s
		s.UserData = slices.Clone(s.UserData)
		out = append(out, s)
	}
	return out, nil
}

// SetElements lists the elements of a set, as kernel.Conn.SetElements
// does.
func (k *Kernel) SetElements(_ context.Context, f expr.Family, tname, name string) ([]kernel.SetElem, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t := k.state.table(f, tname); t != nil {
		if st := t.set(name); st != nil {
			out := make([]kernel.SetElem, len(st.elems))
			for i, e := range st.elems {
				out[i] = kernel.SetElem{Key: slices.Clone(e.Key), IntervalEnd: e.IntervalEnd, UserData: slices.Clone(e.UserData)}
			}
			return out, nil
		}
	}
	return nil, &kernel.Error{Op: "list elements", Object: fmt.Sprintf("%v %s set %s", f, tname, name), Index: -1, Err: unix.ENOENT}
}

func (t *table) set(name string) *set {
	for _, st := range t.sets {
		if st.s.Name == name {
			return st
		}
	}
	return nil
}

// unbind deletes the anonymous sets bound to the rules for which gone
// holds, as the kernel does when it deletes a rule.
func (t *table) unbind(gone func(handle uint64) bool) {
	t.sets = slices.DeleteFunc(t.sets, func(st *set) bool { return st.s.Flags&kernel.SetAnonymous != 0 && st.rule != 0 && gone(st.rule) })
}

// Close does nothing (firewall.Kernel).
func (k *Kernel) Close() error { return nil }

// BeginAt begins a transaction checked against generation gen when it is
// not 0 (firewall.Kernel).
func (k *Kernel) BeginAt(gen uint32) Transaction { return &tx{k: k, gen: gen} }

// RemoveTable removes a table, with its chains and their rules, and
// RemoveChain a chain with its rules, without moving the generation (as
// AddTable): a deletion a test places between two reads of the client.
// Neither does anything when there is no such table or chain.
func (k *Kernel) RemoveTable(f expr.Family, name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.state.tables = slices.DeleteFunc(k.state.tables, func(t *table) bool { return t.t.Family == f && t.t.Name == name })
}

// RemoveChain: see RemoveTable.
func (k *Kernel) RemoveChain(f expr.Family, tname, name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t := k.state.table(f, tname); t != nil {
		t.chains = slices.DeleteFunc(t.chains, func(c *chain) bool { return c.c.Name == name })
	}
}
