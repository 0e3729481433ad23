package firewall

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// This file is the cut-over of a whole ruleset: the tables of an
// iptables-save file written in one transaction, replacing ctmatch's own
// tables of those names (Replace) and deleting iptables-nft's (Takeover).

// ErrForeignChains is the kind of error WriteTables returns, without
// Force, for a table to take over (iptables-nft's) that holds chains the
// desired table does not define, or named sets, maps or stateful objects
// (which iptables-nft does not make): another program (Docker,
// kube-proxy, nft) put them there and would lose them.
var ErrForeignChains = errors.New("the table has chains the ruleset does not define")

// WriteOptions say what WriteTables may do with the tables that exist.
type WriteOptions struct {
	// Replace replaces, whole, a table that exists and carries ctmatch's
	// ownership record: in the same transaction, every chain of it is
	// flushed and refilled, a chain not desired is deleted, one of another
	// kind (type, hook, priority, policy) deleted and made again, a
	// missing one made. Without it such a table is ErrTableExists.
	Replace bool
	// Takeover deletes, in the same transaction, a table that exists
	// without ctmatch's record and that iptables-nft reads as its own (see
	// the guard of owner.go: family ip or ip6, an iptables table's name,
	// iptables' built-in chains, user chains or xt expressions), and
	// creates the desired table in its place. Only when the desired table
	// defines every chain of it and it holds no named set, map or object
	// (ErrForeignChains otherwise) unless Force. A table without
	// ctmatch's record that iptables-nft does not read as its own (nft's,
	// firewalld's) is never touched: ErrTableExists, whatever the options.
	Takeover bool
	// Force takes over a table of iptables-nft's even when it holds chains
	// the desired table does not define, or named sets, maps or objects
	// (they are deleted with it).
	Force bool
	// Check has the kernel validate the transaction without applying it.
	Check bool
}

// WriteTables writes the tables ds, each created whole with ctmatch's
// ownership record and exactly its desired chains and rules, in one
// transaction begun at the generation it read: all of them, or, when
// anything fails, none. A table of that name that exists is ErrTableExists
// unless o.Replace (ctmatch's own table) or o.Takeover (iptables-nft's)
// says what to do with it; see WriteOptions. A table of a DesiredTable's
// Merges, of another family, is deleted on the same terms (with Replace
// when it carries ctmatch's record, with Takeover when it is
// iptables-nft's; without them ErrTableExists); one of another program is
// left as it is. Everything is decided from
// what was read before anything is sent, and nothing is sent when a table
// is refused.
//
// The kernel applies the transaction at once: until the commit, the old
// tables filter every packet; after it, the new ones, and nothing of the
// old. (A base chain the transaction creates is hooked while the batch is
// read, empty and with policy accept, so the old chains still decide; the
// kernel sets its policy drop, if any, at the commit.) A replaced table
// keeps its base chains of the same kind, which stay hooked throughout:
// flushing and refilling them costs the kernel what deleting and creating
// the table would, without unhooking and hooking them again.
func (c *Client) WriteTables(ctx context.Context, ds []DesiredTable, o WriteOptions) (CreatedTables, error) {
	return c.writeTables(ctx, "write tables", ds, o)
}

func (c *Client) writeTables(ctx context.Context, op string, ds []DesiredTable, o WriteOptions) (CreatedTables, error) {
	var res CreatedTables
	plans, err := prepareTables(op, ds)
	if err != nil || len(plans) == 0 {
		return res, err
	}
	if err := c.lock(ctx); err != nil {
		return res, err
	}
	defer c.unlock()
	st, err := c.readState(ctx, op)
	if err != nil {
		return res, err
	}
	var takeover []tableKey // tables deleted before the desired ones are made
	for _, p := range plans {
		p.gen = st.gen
		k := tableKey{p.d.Family, p.d.Name}
		for _, m := range p.d.Merges {
			mk := tableKey{m.Family, p.d.Name}
			mt := st.tables[mk]
			if mt == nil || m.Family == p.d.Family {
				continue
			}
			gone, err := c.merged(ctx, op, mk, p.d.Family, mt, m.Chains, o, &res)
			if err != nil {
				return res, err
			}
			if gone {
				takeover = append(takeover, mk)
			}
		}
		t := st.tables[k]
		switch {
		case t == nil:
			p.diff.CreateTable = true
			err = p.compare(ctx, c, nil, nil)
		case t.owned && o.Replace:
			err = c.planReplace(ctx, p, t)
			res.Replaced = append(res.Replaced, tableObject(k))
		case t.owned:
			err = tableExists(op, k, "ctmatch made it: use --replace to replace it whole in the same transaction")
		default:
			var foreign, objects []string
			foreign, objects, err = c.planTakeover(ctx, op, p, t, o)
			if err == nil {
				takeover = append(takeover, k)
				res.TakenOver = append(res.TakenOver, tableObject(k))
				res.Foreign = append(res.Foreign, foreign...)
				res.ForeignObjects = append(res.ForeignObjects, objects...)
			}
		}
		if err != nil {
			return res, err
		}
		res.Diffs = append(res.Diffs, p.diff)
	}
	tx := c.c.BeginAt(st.gen)
	if nh, ok := tx.(interface{ NoHandles() }); ok {
		nh.NoHandles()
	}
	// iptables-nft's tables go first: each is created again by the same
	// name after it.
	for _, k := range takeover {
		tx.DeleteTable(k.family, k.name)
	}
	for _, p := range plans {
		// Each table's groups are numbered from a random base of its own.
		var seed [8]byte
		if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
			return res, randError(op, err)
		}
		if err := p.queue(tx, binary.BigEndian.Uint64(seed[:])); err != nil {
			return res, err
		}
	}
	res.Generation = st.gen
	if o.Check {
		res.Checked = true
		return res, tx.Check(ctx)
	}
	kr, err := tx.Commit(ctx)
	if err != nil {
		return res, err
	}
	res.Generation = kr.Generation
	return res, nil
}

// tableObject names a table as errors do: "ip filter".
func tableObject(k tableKey) string { return object(k.family, k.name) }

// tableExists is the refusal of a table that exists, with what could be
// done about it.
func tableExists(op string, k tableKey, hint string) error {
	obj := tableObject(k)
	return &Error{Op: op, Object: obj, Index: -1, Err: ErrTableExists, Reason: fmt.Sprintf("table %s exists", obj), Hint: hint}
}

// planReplace plans the replacement of t, a table with ctmatch's record,
// by p's desired table: the chains are read (not their rules), every
// chain that stays is flushed and refilled, and the others deleted,
// created, or deleted and created again, as Sync does with a chain that
// differs.
func (c *Client) planReplace(ctx context.Context, p *syncPlan, t *stateTable) error {
	obj := tableObject(tableKey{p.d.Family, p.d.Name})
	chains, err := t.readChains(ctx, c, "write tables", obj)
	if err != nil {
		return err
	}
	have := map[string]*kernel.BaseChain{}
	for _, ch := range chains {
		have[ch.Name] = ch.Base
	}
	for _, dc := range p.d.Chains {
		cd := ChainDiff{Name: dc.Name, Base: dc.Base, Rules: len(dc.Rules)}
		base, exists := have[dc.Name]
		delete(have, dc.Name)
		switch {
		case !exists:
			cd.Create, cd.Rewrite = true, len(dc.Rules) > 0
		case !sameKind(base, dc.Base):
			cd.Recreate, cd.Rewrite = true, true
		default:
			cd.Rewrite = true // flushed, and its rules added again
		}
		p.diff.Chains = append(p.diff.Chains, cd)
	}
	for _, ch := range chains {
		if _, gone := have[ch.Name]; gone {
			p.diff.Chains = append(p.diff.Chains, ChainDiff{Name: ch.Name, Delete: true})
		}
	}
	// The table's named objects as Sync keeps them: the desired ones made,
	// changed ones made again, the others deleted (every chain is flushed
	// first, so that no rule uses an object when it goes).
	objs, err := c.c.Objects(ctx, p.d.Family, p.d.Name)
	if err != nil {
		return err
	}
	p.compareObjects(objs)
	return nil
}

// planTakeover checks that t, a table without ctmatch's record, is
// iptables-nft's and may be taken over (o.Takeover, and every chain of it
// desired unless o.Force), and plans p as a table created in its place. It
// returns the chains of t that p does not define ("ip filter DOCKER"),
// and its named sets and objects, which only Force lets go.
func (c *Client) planTakeover(ctx context.Context, op string, p *syncPlan, t *stateTable, o WriteOptions) (foreign, objects []string, err error) {
	k := tableKey{p.d.Family, p.d.Name}
	chains := make([]string, len(p.d.Chains))
	for i, dc := range p.d.Chains {
		chains[i] = dc.Name
	}
	foreign, objects, err = c.checkTakeover(ctx, op, k, t, chains, o)
	if errors.Is(err, errNotIptables) {
		e := tableExists(op, k, "ctmatch never changes a table another program made (nft, firewalld); write the ruleset into tables of other names, or delete this one first").(*Error)
		e.Reason = fmt.Sprintf("table %s exists; it does not carry ctmatch's ownership record, and iptables-nft does not read it as its own", tableObject(k))
		return nil, nil, e
	}
	if err != nil {
		return nil, nil, err
	}
	p.diff.CreateTable = true
	return foreign, objects, p.compare(ctx, c, nil, nil)
}

// errNotIptables: the table checkTakeover was given is not iptables-nft's.
var errNotIptables = errors.New("not a table of iptables-nft's")

// checkTakeover checks that t, the table k without ctmatch's record, is
// iptables-nft's (errNotIptables otherwise) and may be taken over: with
// o.Takeover, and, unless o.Force, when desired names all its chains and
// it holds no named set, map or stateful object (iptables-nft makes none:
// another program added them). It returns the chains of t that desired
// does not name ("ip filter DOCKER"), and its sets and objects ("set ip
// filter blocklist").
func (c *Client) checkTakeover(ctx context.Context, op string, k tableKey, t *stateTable, desired []string, o WriteOptions) (chains []string, objects []string, err error) {
	obj := tableObject(k)
	all, err := t.readChains(ctx, c, op, obj)
	if err != nil {
		return nil, nil, err
	}
	why, err := iptablesOwned(ctx, c.c, t.t, all)
	if err != nil {
		return nil, nil, readError(op, obj, -1, err)
	}
	if why == "" {
		return nil, nil, errNotIptables
	}
	if !o.Takeover {
		e := tableExists(op, k, "use --takeover to delete it in the same transaction (the cut-over from iptables-nft)").(*Error)
		e.Reason = fmt.Sprintf("table %s exists and is iptables-nft's (%s)", obj, why)
		return nil, nil, e
	}
	var foreign []string
	for _, ch := range all {
		if !slices.Contains(desired, ch.Name) {
			foreign = append(foreign, ch.Name)
		}
	}
	slices.Sort(foreign)
	objects, err = c.leftOf(ctx, op, t.t)
	if err != nil {
		return nil, nil, err
	}
	if (len(foreign) > 0 || len(objects) > 0) && !o.Force {
		var what []string
		if len(foreign) > 0 {
			what = append(what, "chains the ruleset does not define: "+strings.Join(foreign, ", "))
		}
		if len(objects) > 0 {
			what = append(what, "what iptables-nft does not make: "+strings.Join(objects, ", "))
		}
		return nil, nil, &Error{Op: op, Object: obj, Index: -1, Err: ErrForeignChains,
			Reason: fmt.Sprintf("table %s has %s; another program (Docker, kube-proxy, nft, …) may have put them there, and they would be deleted with the table",
				obj, strings.Join(what, "; and ")),
			Hint: "save the rules again with those chains (iptables-save), leave this table to iptables, or use --force to delete them with it"}
	}
	for i, n := range foreign {
		foreign[i] = obj + " " + n
	}
	return foreign, objects, nil
}

// merged decides what becomes of mt, an existing table that a desired
// table of another family takes the place of (DesiredTable.Merges): it is
// deleted (true) when it carries ctmatch's record and o.Replace, or when it
// is iptables-nft's, o.Takeover, and chains are all its chains (unless
// o.Force); without those options it is ErrTableExists, as a table of the
// desired table's own family and name would be. A table of another program
// is left as it is (false): it does not stand in the desired table's way.
func (c *Client) merged(ctx context.Context, op string, k tableKey, merger expr.Family, mt *stateTable, chains []string, o WriteOptions, res *CreatedTables) (bool, error) {
	obj := tableObject(k)
	if mt.owned {
		if !o.Replace {
			return false, tableExists(op, k, fmt.Sprintf("ctmatch made it, and the %s table of that name takes its place: use --replace to delete it in the same transaction", merger))
		}
		res.Replaced = append(res.Replaced, obj)
		return true, nil
	}
	foreign, objects, err := c.checkTakeover(ctx, op, k, mt, chains, o)
	if errors.Is(err, errNotIptables) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res.TakenOver = append(res.TakenOver, obj)
	res.Foreign = append(res.Foreign, foreign...)
	res.ForeignObjects = append(res.ForeignObjects, objects...)
	return true, nil
}

// prepareTables checks and lowers the desired tables, each named once.
func prepareTables(op string, ds []DesiredTable) ([]*syncPlan, error) {
	plans := make([]*syncPlan, 0, len(ds))
	seen := map[tableKey]bool{}
	for _, d := range ds {
		k := tableKey{d.Family, d.Name}
		if seen[k] {
			return nil, &Error{Op: op, Object: tableObject(k), Index: -1, Err: ErrInvalidChange, Reason: "the table is named twice"}
		}
		seen[k] = true
	}
	merged := map[tableKey]bool{}
	for _, d := range ds {
		for _, m := range d.Merges {
			mk := tableKey{m.Family, d.Name}
			switch {
			case m.Family == d.Family:
				continue
			case seen[mk]:
				return nil, &Error{Op: op, Object: tableObject(mk), Index: -1, Err: ErrInvalidChange,
					Reason: fmt.Sprintf("the table is desired, and table %s takes its place (Merges)", tableObject(tableKey{d.Family, d.Name}))}
			case merged[mk]:
				return nil, &Error{Op: op, Object: tableObject(mk), Index: -1, Err: ErrInvalidChange, Reason: "two desired tables take its place (Merges)"}
			}
			merged[mk] = true
		}
	}
	for _, d := range ds {
		p := &syncPlan{d: d, diff: Diff{Family: d.Family, Table: d.Name, CreateTable: true}, owned: true, noKeys: true}
		if err := p.prepare(); err != nil {
			return nil, err
		}
		p.diff.CreateTable = false // (decided once the table is read)
		plans = append(plans, p)
	}
	return plans, nil
}
