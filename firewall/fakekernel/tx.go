package fakekernel

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// op is one change of a transaction.
type op struct {
	kind     string // as kernel.Error's Op: "add rule", "delete chain", …
	family   expr.Family
	table    string
	chain    string
	base     *kernel.BaseChain
	userdata []byte
	spec     kernel.RuleSpec
	handle   uint64
	set      kernel.SetSpec   // of "add set"
	setID    uint32           // of "add elements"
	elems    []kernel.SetElem // of "add elements"
	obj      kernel.Object    // of "add ct helper"
}

func (o op) object() string {
	if o.chain == "" {
		return fmt.Sprintf("%v %s", o.family, o.table)
	}
	return fmt.Sprintf("%v %s %s", o.family, o.table, o.chain)
}

// tx records changes, as kernel.Tx does: every check happens at Commit or
// Check.
type tx struct {
	k   *Kernel
	gen uint32
	ops []op
}

func (t *tx) AddTable(f expr.Family, name string, userdata []byte) {
	t.ops = append(t.ops, op{kind: "add table", family: f, table: name, userdata: slices.Clone(userdata)})
}

func (t *tx) AddChain(f expr.Family, table, name string, base *kernel.BaseChain, userdata []byte) {
	if base != nil {
		b := *base // (kernel.Tx encodes it at once)
		base = &b
	}
	t.ops = append(t.ops, op{kind: "add chain", family: f, table: table, chain: name, base: base, userdata: slices.Clone(userdata)})
}

func (t *tx) AddRule(f expr.Family, table, chain string, r kernel.RuleSpec) {
	// (kernel.Tx copies the bytes it is given, and callers count on it.)
	r.Exprs, r.UserData = slices.Clone(r.Exprs), slices.Clone(r.UserData)
	t.ops = append(t.ops, op{kind: "add rule", family: f, table: table, chain: chain, spec: r})
}

func (t *tx) DeleteRule(f expr.Family, table, chain string, handle uint64) {
	t.ops = append(t.ops, op{kind: "delete rule", family: f, table: table, chain: chain, handle: handle})
}

func (t *tx) DeleteTable(f expr.Family, name string) {
	t.ops = append(t.ops, op{kind: "delete table", family: f, table: name})
}

func (t *tx) FlushTable(f expr.Family, name string) {
	t.ops = append(t.ops, op{kind: "flush table", family: f, table: name})
}

func (t *tx) DeleteChain(f expr.Family, table, name string) {
	t.ops = append(t.ops, op{kind: "delete chain", family: f, table: table, chain: name})
}

func (t *tx) FlushChain(f expr.Family, table, name string) {
	t.ops = append(t.ops, op{kind: "flush chain", family: f, table: table, chain: name})
}

func (t *tx) Rebase(gen uint32) { t.gen = gen }

func (t *tx) AddSet(f expr.Family, table string, s kernel.SetSpec) {
	s.UserData = slices.Clone(s.UserData)
	t.ops = append(t.ops, op{kind: "add set", family: f, table: table, chain: s.Name, set: s})
}

func (t *tx) AddElements(f expr.Family, table, set string, setID uint32, elems []kernel.SetElem) {
	es := make([]kernel.SetElem, len(elems))
	for i, e := range elems {
		es[i] = kernel.SetElem{Key: slices.Clone(e.Key), IntervalEnd: e.IntervalEnd, UserData: slices.Clone(e.UserData)}
	}
	t.ops = append(t.ops, op{kind: "add elements", family: f, table: table, chain: set, setID: setID, elems: es})
}

// Commit applies the transaction whole, or nothing of it.
func (t *tx) Commit(context.Context) (kernel.Result, error) {
	t.k.mu.Lock()
	hook := t.k.onCommit
	t.k.mu.Unlock()
	if hook != nil {
		hook()
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stats.Commits++
	next, handles, err := t.run()
	if err != nil {
		return kernel.Result{}, err
	}
	k.state = next
	return kernel.Result{Committed: true, Generation: next.gen, Handles: handles}, nil
}

// Check checks the transaction as Commit would, and changes nothing.
func (t *tx) Check(context.Context) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.k.stats.Checks++
	_, _, err := t.run()
	return err
}

// run applies the transaction to a copy of the ruleset, and returns the copy
// and the handles of the rules added. The Kernel is held.
func (t *tx) run() (ruleset, []uint64, error) {
	k := t.k
	if t.gen != 0 && t.gen != k.state.gen {
		return ruleset{}, nil, &kernel.Error{Op: "commit", Index: -1, Err: kernel.ErrConcurrentChange}
	}
	if f := k.fault; f != nil && f.index < len(t.ops) {
		k.fault = nil
		o := t.ops[f.index]
		return ruleset{}, nil, &kernel.Error{Op: o.kind, Object: o.object(), Source: o.spec.Source, Index: f.index, Err: f.errno}
	}
	s := k.state.clone()
	s.gen++
	var handles []uint64
	// The handles of the rules sent with an ID: the kernel looks an ID up
	// among the rules added to the same chain, and takes the first.
	type ruleID struct {
		family       expr.Family
		table, chain string
		id           uint32
	}
	byID := map[ruleID]uint64{}
	// The sets added in the transaction, by their id there.
	type setKey struct {
		family expr.Family
		table  string
		id     uint32
	}
	sets := map[setKey]*set{}
	for i, o := range t.ops {
		fail := func(errno unix.Errno, reason string) error {
			return &kernel.Error{Op: o.kind, Object: o.object(), Source: o.spec.Source, Index: i, Reason: reason, Err: errno}
		}
		tb := s.table(o.family, o.table)
		switch o.kind {
		case "add table":
			if tb != nil {
				return ruleset{}, nil, fail(unix.EEXIST, "")
			}
			s.addTable(o.family, o.table, o.userdata)
			continue
		case "add chain":
			switch {
			case tb == nil:
				return ruleset{}, nil, fail(unix.ENOENT, "no such table")
			case tb.chain(o.chain) != nil:
				return ruleset{}, nil, fail(unix.EEXIST, "")
			}
			tb.addChain(o.chain, o.base, o.userdata)
			continue
		case "delete table", "flush table":
			if tb == nil {
				return ruleset{}, nil, fail(unix.ENOENT, "")
			}
			if o.kind == "delete table" {
				s.tables = slices.DeleteFunc(s.tables, func(x *table) bool { return x == tb })
			} else {
				for _, c := range tb.chains {
					c.rules = nil
				}
				tb.unbind(func(uint64) bool { return true })
			}
			continue
		case "add set":
			if tb == nil {
				return ruleset{}, nil, fail(unix.ENOENT, "no such table")
			}
			st := &set{s: kernel.Set{Family: o.family, Table: o.table, Name: o.set.Name, Flags: o.set.Flags, KeyType: o.set.KeyType,
				KeyLen: o.set.KeyLen, Size: o.set.Size, UserData: o.set.UserData}}
			if o.set.Name == kernel.AnonymousSetName {
				// The kernel names it with the lowest number no set has.
				for n := 0; ; n++ {
					if name := fmt.Sprintf("__set%d", n); tb.set(name) == nil {
						st.s.Name = name
						break
					}
				}
			} else if tb.set(o.set.Name) != nil {
				return ruleset{}, nil, fail(unix.EEXIST, "")
			}
			s.handle++
			st.s.Handle = s.handle
			tb.sets = append(tb.sets, st)
			if o.set.ID != 0 {
				sets[setKey{o.family, o.table, o.set.ID}] = st
			}
			continue
		case "add elements":
			var st *set
			if tb != nil {
				if st = sets[setKey{o.family, o.table, o.setID}]; st == nil || o.setID == 0 {
					st = tb.set(o.chain)
				}
			}
			if st == nil {
				return ruleset{}, nil, fail(unix.ENOENT, "no such set "+o.chain)
			}
			st.elems = append(st.elems, o.elems...)
			continue
		case "add ct helper", "delete ct helper":
			if errno, why := s.runObject(tb, o); errno != 0 {
				return ruleset{}, nil, fail(errno, why)
			}
			continue
		case "delete chain":
			// (The kernel deletes the chain's rules with it, as
			// kernel.Tx asks: it refuses, EBUSY, only a chain that a
			// jump or a goto names, which the fake does not follow.)
			if tb == nil || tb.chain(o.chain) == nil {
				return ruleset{}, nil, fail(unix.ENOENT, "")
			}
			if c := tb.chain(o.chain); c != nil {
				tb.unbind(func(h uint64) bool {
					return slices.ContainsFunc(c.rules, func(r kernel.Rule) bool { return r.Handle == h })
				})
			}
			tb.chains = slices.DeleteFunc(tb.chains, func(x *chain) bool { return x.c.Name == o.chain })
			continue
		}
		if tb == nil || tb.chain(o.chain) == nil {
			return ruleset{}, nil, fail(unix.ENOENT, "no such table or chain")
		}
		c := tb.chain(o.chain)
		at := func(h uint64) int {
			return slices.IndexFunc(c.rules, func(r kernel.Rule) bool { return r.Handle == h })
		}
		switch o.kind {
		case "add rule":
			pos := o.spec.Position
			if o.spec.PositionID != 0 {
				if pos = byID[ruleID{o.family, o.table, o.chain, o.spec.PositionID}]; pos == 0 {
					return ruleset{}, nil, fail(unix.ENOENT, fmt.Sprintf("no rule with id %d", o.spec.PositionID))
				}
			}
			n := len(c.rules)
			switch {
			case o.spec.Insert && pos == 0:
				n = 0
			case pos != 0:
				if n = at(pos); n < 0 {
					return ruleset{}, nil, fail(unix.ENOENT, fmt.Sprintf("no rule with handle %d", pos))
				}
				if !o.spec.Insert {
					n++
				}
			}
			exprs := o.spec.Exprs
			var bound []*set
			if refs, err := expr.LookupRefs(exprs); err == nil && len(refs) > 0 {
				// The kernel binds each lookup to its set, and dumps the
				// set's real name.
				exprs, err = expr.BindLookups(exprs, func(name string, id uint32) (string, bool) {
					st := sets[setKey{o.family, o.table, id}]
					if st == nil || name != kernel.AnonymousSetName {
						st = tb.set(name)
					}
					if st == nil {
						return "", false
					}
					bound = append(bound, st)
					return st.s.Name, true
				})
				if err != nil {
					return ruleset{}, nil, fail(unix.ENOENT, err.Error())
				}
			}
			if name := tb.missingObject(exprs); name != "" {
				return ruleset{}, nil, fail(unix.ENOENT, "no such object "+name)
			}
			s.handle++
			for _, st := range bound {
				if st.s.Flags&kernel.SetAnonymous != 0 {
					st.rule = s.handle
				}
			}
			c.rules = slices.Insert(c.rules, n, kernel.Rule{Family: o.family, Table: o.table, Chain: o.chain, Handle: s.handle, Exprs: exprs, UserData: o.spec.UserData})
			handles = append(handles, s.handle)
			if key := (ruleID{o.family, o.table, o.chain, o.spec.ID}); o.spec.ID != 0 && byID[key] == 0 {
				byID[key] = s.handle
			}
		case "flush chain":
			old := c.rules
			tb.unbind(func(h uint64) bool {
				return slices.ContainsFunc(old, func(r kernel.Rule) bool { return r.Handle == h })
			})
			c.rules = nil
		case "delete rule":
			n := at(o.handle)
			if n < 0 {
				return ruleset{}, nil, fail(unix.ENOENT, fmt.Sprintf("no rule with handle %d", o.handle))
			}
			c.rules = slices.Delete(c.rules, n, n+1)
			tb.unbind(func(h uint64) bool { return h == o.handle })
		}
	}
	return s, handles, nil
}
