package firewall

import (
	"context"
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// This file holds what the client does with anonymous sets: a rule whose
// lookups (-m multiport's lists) name sets sends them and their elements in
// the same transaction, before the rule, each with an id of that
// transaction; the kernel binds each set to the rule, names it (__set0, …)
// and deletes it with the rule. Reading a rule back reads the sets its
// lookups name (kernel.Conn.Sets and SetElements).

// setMessages is the number of messages one anonymous set takes in a
// transaction that does not say how many it holds: NEWSET and one
// NEWSETELEM (a set of a multiport list fits in one; kernel.Tx splits the
// elements of a larger set over several, and says so with Len).
const setMessages = 2

// queueSets adds sets to tx, as expr.Rule.LowerSets gave them, and returns
// the number of messages they took.
func queueSets(tx KernelTx, f expr.Family, table string, sets []expr.Set) int {
	counted, ok := tx.(interface{ Len() int })
	before := 0
	if ok {
		before = counted.Len()
	}
	for _, s := range sets {
		tx.AddSet(f, table, kernel.SetSpec{Name: s.Name, ID: s.ID, Flags: s.Flags, KeyType: s.KeyType, KeyLen: s.KeyLen, Size: s.Size, UserData: s.UserData})
		tx.AddElements(f, table, s.Name, s.ID, s.Elems)
	}
	if ok {
		return counted.Len() - before
	}
	return setMessages * len(sets)
}

// setSource returns the sets of table, read from the kernel the first time
// a lookup names one (and its elements when it is named), for expr.RaiseSets.
func (c *Client) setSource(ctx context.Context, f expr.Family, table string) expr.SetSource {
	var sets map[string]kernel.Set
	var listErr error
	return func(name string, _ uint32) (expr.Set, error) {
		if sets == nil && listErr == nil {
			listed, err := c.c.Sets(ctx, f, table)
			if err != nil {
				listErr = err
			}
			sets = map[string]kernel.Set{}
			for _, s := range listed {
				sets[s.Name] = s
			}
		}
		if listErr != nil {
			return expr.Set{}, listErr
		}
		s, ok := sets[name]
		if !ok {
			return expr.Set{}, fmt.Errorf("no set %s in table %s", name, object(f, table))
		}
		elems, err := c.c.SetElements(ctx, f, table, name)
		if err != nil {
			return expr.Set{}, err
		}
		return expr.Set{Name: s.Name, Flags: s.Flags, KeyType: s.KeyType, KeyLen: s.KeyLen, Size: s.Size, UserData: s.UserData, Elems: elems}, nil
	}
}

// raise raises a rule's expressions, with the sets its lookups name.
func raise(f expr.Family, exprs []byte, sets expr.SetSource) (expr.Rule, error) {
	if sets == nil {
		return expr.Raise(f, exprs)
	}
	return expr.RaiseSets(f, exprs, sets)
}
