package firewall

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// DeleteOptions say how Delete deletes.
type DeleteOptions struct {
	// Check has the kernel validate the deletion without applying it.
	Check bool
	// Force deletes from a table that looks like iptables-nft's own
	// (ErrIptablesTable without it).
	Force bool
}

// Deleted is what Delete did.
type Deleted struct {
	// Handles are the handles of the nft rules deleted (or, with Check,
	// that would be), in the chain's order.
	Handles []uint64
	// Rule is the iptables rule they were, nil when ctmatch does not
	// understand them; IPv6 says it holds ip6tables words.
	Rule *parse.Rule
	IPv6 bool
	// Generation is the generation of the ruleset after the commit; with
	// Check, the generation the check was made at.
	Generation uint32
	Checked    bool
}

// Delete deletes the group that holds the rule with handle from chain in
// table of family f: every nft rule of the iptables rule it is a piece of,
// in one transaction. A rule that is not in a group (it is the whole
// iptables rule, or ctmatch does not understand it) is deleted alone.
//
// A group is what List shows as one ListedGroup: the pieces ctmatch's
// group record ties together. A rule without a record (ctmatch translate's
// output loaded by nft, a rule written by hand) is a group of its own.
//
// In a table that looks like iptables-nft's own (see Apply), a group that
// does not carry ctmatch's record is refused with ErrIptablesTable unless
// o.Force: it is iptables' to delete. A group ctmatch wrote there (with
// Force) is deleted without it, which is what makes iptables read the
// table again.
//
// Like Apply, Delete reads the chain at a generation the transaction is
// checked against: a concurrent change makes the kernel refuse it. It holds
// the Client from its first read to the kernel's answer (see Client).
func (c *Client) Delete(ctx context.Context, f expr.Family, table, chain string, handle uint64, o DeleteOptions) (Deleted, error) {
	if err := c.lock(ctx); err != nil {
		return Deleted{}, err
	}
	defer c.unlock()
	return c.delete(ctx, f, table, chain, handle, o)
}

func (c *Client) delete(ctx context.Context, f expr.Family, table, chain string, handle uint64, o DeleteOptions) (Deleted, error) {
	var res Deleted
	obj := object(f, table, chain)
	if handle == 0 {
		return res, &Error{Op: "delete rule", Object: obj, Index: -1, Err: ErrInvalidChange, Reason: "handle 0: rule handles start at 1"}
	}
	gen, err := c.c.Generation(ctx)
	if err != nil {
		return res, readError("delete rule", obj, -1, err)
	}
	rules, err := c.c.Rules(ctx, f, table, chain)
	if err != nil {
		return res, c.missing(ctx, "delete rule", f, table, chain, err)
	}
	sets := c.setSource(ctx, f, table)
	groups := groupRules(f, rules, sets)
	gi := groupOf(groups, handle)
	if gi < 0 {
		return res, &Error{Op: "delete rule", Object: obj + fmt.Sprintf(" handle %d", handle), Index: -1, Err: ErrNoRule,
			Reason: fmt.Sprintf("no rule with handle %d in chain %s", handle, obj), Hint: handlesHint(obj)}
	}
	g := scatteredGroup(f, groups, gi, handle, rules, sets)
	// A group ctmatch wrote (every piece carries its record) is ctmatch's to
	// delete, wherever it is: deleting it is what makes an iptables-nft table
	// readable by iptables again.
	if !o.Force && !ownGroup(g) {
		if err := c.iptablesGuard(ctx, "delete rule", f, table, obj); err != nil {
			return res, err
		}
	}
	tx := c.c.BeginAt(gen)
	for _, h := range g.Handles() {
		tx.DeleteRule(f, table, chain, h)
	}
	res.Handles, res.Rule, res.IPv6 = g.Handles(), g.Rule, g.IPv6
	if o.Check {
		res.Checked, res.Generation = true, gen
		return res, tx.Check(ctx)
	}
	kr, err := tx.Commit(ctx)
	res.Generation = kr.Generation
	return res, err
}

// iptablesGuard refuses an operation on table f table when it looks like
// iptables-nft's own; a missing table is left to the operation.
func (c *Client) iptablesGuard(ctx context.Context, op string, f expr.Family, table, obj string) error {
	tables, err := c.c.Tables(ctx)
	if err != nil {
		return readError(op, obj, -1, err)
	}
	for _, t := range tables {
		if t.Family != f || t.Name != table {
			continue
		}
		chains, err := c.c.Chains(ctx, f, table)
		if err != nil {
			return readError(op, obj, -1, err)
		}
		why, err := iptablesOwned(ctx, c.c, t, chains)
		if err != nil {
			return readError(op, obj, -1, err)
		}
		if why != "" {
			e := iptablesRefusal(op, t, why).(*Error)
			e.Object = obj
			return e
		}
	}
	return nil
}

// scatteredGroup returns groups[gi], the group of the rule with handle, or,
// when that rule carries ctmatch's record and its group is not whole there
// (another program put a rule between its pieces, which List then shows
// apart), every piece of the chain with that record, decompiled together
// when they are the whole group: a group's id is unique in its table, so
// they are the pieces of one iptables rule, and deleting one deletes them
// all.
func scatteredGroup(f expr.Family, groups []ListedGroup, gi int, handle uint64, rules []kernel.Rule, sets expr.SetSource) ListedGroup {
	g := groups[gi]
	var rec *expr.Group
	for _, p := range g.Pieces {
		if p.Handle == handle {
			rec = p.Group
		}
	}
	if rec == nil || len(g.Pieces) >= rec.Count {
		return g
	}
	byHandle := map[uint64]kernel.Rule{}
	for _, r := range rules {
		byHandle[r.Handle] = r
	}
	var pieces []Piece
	var sub []kernel.Rule
	for _, og := range groups {
		for _, p := range og.Pieces {
			if p.Group != nil && p.Group.ID == rec.ID && p.Group.Count == rec.Count {
				pieces = append(pieces, p)
				sub = append(sub, byHandle[p.Handle])
			}
		}
	}
	if whole := groupRules(f, sub, sets); len(whole) == 1 {
		return whole[0]
	}
	return ListedGroup{Pieces: pieces, Err: errors.New("the pieces of a group that another rule splits")}
}

// ownGroup reports whether every piece of g carries ctmatch's group record.
func ownGroup(g ListedGroup) bool {
	for _, p := range g.Pieces {
		if p.Group == nil {
			return false
		}
	}
	return len(g.Pieces) > 0
}

// missing returns the error of operation op, whose read of chain in table
// f table failed with err: when the kernel said there is no such object
// (ENOENT), an *Error of kind ErrNoTable or ErrNoChain, whichever is
// missing (the tables are read again to tell); otherwise err as readError
// wraps it.
func (c *Client) missing(ctx context.Context, op string, f expr.Family, table, chain string, err error) error {
	obj := object(f, table, chain)
	if !errors.Is(err, fs.ErrNotExist) {
		return readError(op, obj, -1, err)
	}
	tables, terr := c.c.Tables(ctx)
	if terr != nil {
		return readError(op, obj, -1, err)
	}
	for _, t := range tables {
		if t.Family == f && t.Name == table {
			return &Error{Op: op, Object: obj, Index: -1, Err: ErrNoChain,
				Reason: fmt.Sprintf("no such chain %s in table %s", QuoteName(chain), object(f, table))}
		}
	}
	return &Error{Op: op, Object: obj, Index: -1, Err: ErrNoTable, Reason: "no such table " + object(f, table)}
}
