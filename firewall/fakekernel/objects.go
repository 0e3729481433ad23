package fakekernel

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// This file holds the named objects (ct helpers) of a table, as the kernel
// keeps them: a name is unique in its table, a rule's objref (`ct helper
// set "NAME"`) must name one that exists, and an object a rule refers to
// cannot be deleted (EBUSY) until that rule is gone, which the same
// transaction may do first.

func cloneObject(o kernel.Object) kernel.Object {
	if o.CtHelper != nil {
		h := *o.CtHelper
		o.CtHelper = &h
	}
	o.UserData = slices.Clone(o.UserData)
	return o
}

func (t *table) object(name string) int {
	return slices.IndexFunc(t.objects, func(o kernel.Object) bool { return o.Name == name })
}

// uses counts the rules of the table whose objrefs name object name.
func (t *table) uses(name string) uint32 {
	var n uint32
	for _, c := range t.chains {
		for _, r := range c.rules {
			refs, _ := expr.ObjRefs(r.Exprs)
			for _, ref := range refs {
				if ref.Name == name {
					n++
				}
			}
		}
	}
	return n
}

// addObject adds o to table tb, as the kernel does: the l3proto of a ct
// helper sent without one is the table's family.
func (s *ruleset) addObject(tb *table, o kernel.Object) {
	o = cloneObject(o)
	o.Family, o.Table, o.Use = tb.t.Family, tb.t.Name, 0
	if h := o.CtHelper; h != nil && h.L3Proto == 0 {
		switch tb.t.Family {
		case expr.FamilyIP:
			h.L3Proto = unix.NFPROTO_IPV4
		case expr.FamilyIP6:
			h.L3Proto = unix.NFPROTO_IPV6
		default:
			h.L3Proto = uint16(tb.t.Family)
		}
	}
	s.handle++
	o.Handle = s.handle
	tb.objects = append(tb.objects, o)
}

// runObject applies an "add ct helper" or "delete ct helper" change to tb
// (nil when there is no such table); it returns the errno the kernel
// refuses it with, and the reason, or 0.
func (s *ruleset) runObject(tb *table, o op) (unix.Errno, string) {
	if tb == nil {
		return unix.ENOENT, "no such table"
	}
	i := tb.object(o.chain)
	if o.kind == "add ct helper" {
		if o.obj.CtHelper == nil {
			return unix.EINVAL, "an object of no type"
		}
		if i >= 0 {
			return unix.EEXIST, ""
		}
		s.addObject(tb, o.obj)
		return 0, ""
	}
	switch {
	case i < 0:
		return unix.ENOENT, "no such ct helper " + o.chain
	case tb.uses(o.chain) > 0:
		return unix.EBUSY, "ct helper " + o.chain + " is in use by a rule"
	}
	tb.objects = slices.Delete(tb.objects, i, i+1)
	return 0, ""
}

// missingObject reports the first object an added rule's objrefs name that
// table tb lacks, or "".
func (tb *table) missingObject(exprs []byte) string {
	refs, _ := expr.ObjRefs(exprs)
	for _, ref := range refs {
		if tb.object(ref.Name) < 0 {
			return ref.Name
		}
	}
	return ""
}

func (t *tx) AddObject(f expr.Family, table string, o kernel.Object) {
	t.ops = append(t.ops, op{kind: "add ct helper", family: f, table: table, chain: o.Name, obj: cloneObject(o)})
}

func (t *tx) DeleteObject(f expr.Family, table, name string) {
	t.ops = append(t.ops, op{kind: "delete ct helper", family: f, table: table, chain: name})
}

// AddObject adds a named object (a ct helper) to a table of the ruleset a
// test starts from, without moving the generation (as AddTable). It
// returns an error when there is no such table or the name is taken.
func (k *Kernel) AddObject(f expr.Family, tname string, o kernel.Object) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.state.table(f, tname)
	switch {
	case t == nil:
		return fmt.Errorf("add ct helper %v %s %s: no such table", f, tname, o.Name)
	case t.object(o.Name) >= 0:
		return fmt.Errorf("add ct helper %v %s %s: the object exists", f, tname, o.Name)
	case o.CtHelper == nil:
		return fmt.Errorf("add ct helper %v %s %s: an object of no type", f, tname, o.Name)
	}
	k.state.addObject(t, o)
	return nil
}

// Objects lists the named objects (ct helpers) of a table in the order
// they were added, each with the number of rules that refer to it (Use), or
// a *kernel.Error wrapping ENOENT when there is no such table, as
// kernel.Conn.Objects does (firewall.Kernel).
func (k *Kernel) Objects(_ context.Context, f expr.Family, tname string) ([]kernel.Object, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.state.table(f, tname)
	if t == nil {
		return nil, &kernel.Error{Op: "list objects", Object: fmt.Sprintf("%v %s", f, tname), Index: -1, Err: unix.ENOENT}
	}
	var out []kernel.Object
	for _, o := range t.objects {
		o = cloneObject(o)
		o.Use = t.uses(o.Name)
		out = append(out, o)
	}
	return out, nil
}

// ObjectNames lists the table's objects (the fake holds ct helpers only),
// as kernel.Conn does.
func (k *Kernel) ObjectNames(ctx context.Context, f expr.Family, tname string) ([]kernel.ObjectName, error) {
	objs, err := k.Objects(ctx, f, tname)
	if err != nil {
		return nil, err
	}
	out := make([]kernel.ObjectName, len(objs))
	for i, o := range objs {
		out[i] = kernel.ObjectName{Name: o.Name, Type: "ct helper"}
	}
	return out, nil
}
