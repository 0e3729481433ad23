package firewall

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrTableExists is the kind of error CreateTables returns for a table
// that exists already.
var ErrTableExists = errors.New("the table exists")

// CreatedTables is what CreateTables did.
type CreatedTables struct {
	// Diffs are the tables created (or, with Check, checked), in the
	// order given: every chain, and the number of rules of each.
	Diffs []Diff
	// Checked is set when the kernel checked the transaction and changed
	// nothing (SyncOptions.Check).
	Checked bool
	// Generation is the ruleset's generation after the commit (with
	// Check, the one checked at).
	Generation uint32
}

// CreateTables creates the tables ds, each with ctmatch's ownership record
// and exactly its desired chains (base chains of any type, hook, priority
// and policy) and rules, in one transaction begun at the generation it read:
// all of them, or, when anything fails, none. It is how a whole ruleset (the
// tables of an iptables-save file) arrives at once. A table that exists is
// ErrTableExists, whoever made it, and nothing is sent; so is a table named
// twice in ds (ErrInvalidChange). o.Force is not used.
func (c *Client) CreateTables(ctx context.Context, ds []DesiredTable, o SyncOptions) (CreatedTables, error) {
	const op = "create tables"
	var res CreatedTables
	plans := make([]*syncPlan, 0, len(ds))
	seen := map[tableKey]bool{}
	for _, d := range ds {
		k := tableKey{d.Family, d.Name}
		if seen[k] {
			return res, &Error{Op: op, Object: fmt.Sprintf("%v %s", d.Family, d.Name), Index: -1, Err: ErrInvalidChange, Reason: "the table is named twice"}
		}
		seen[k] = true
		p := &syncPlan{d: d, diff: Diff{Family: d.Family, Table: d.Name, CreateTable: true}, owned: true}
		if err := p.prepare(); err != nil {
			return res, err
		}
		plans = append(plans, p)
	}
	if len(plans) == 0 {
		return res, nil
	}
	if err := c.lock(ctx); err != nil {
		return res, err
	}
	defer c.unlock()
	st, err := c.readState(ctx, op)
	if err != nil {
		return res, err
	}
	for _, p := range plans {
		if st.tables[tableKey{p.d.Family, p.d.Name}] != nil {
			obj := fmt.Sprintf("%v %s", p.d.Family, p.d.Name)
			return res, &Error{Op: op, Object: obj, Index: -1, Err: ErrTableExists,
				Reason: fmt.Sprintf("table %s exists", obj),
				Hint:   "ctmatch creates whole tables only where there are none of those names; delete the table first (replacing it is not supported yet)"}
		}
		p.gen = st.gen
		if err := p.compare(ctx, c, nil, nil); err != nil {
			return res, err
		}
		res.Diffs = append(res.Diffs, p.diff)
	}
	tx := c.c.BeginAt(st.gen)
	if nh, ok := tx.(interface{ NoHandles() }); ok {
		nh.NoHandles()
	}
	for _, p := range plans {
		// Each table's groups are numbered from a random base of its own.
		var seed [8]byte
		if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
			return res, fmt.Errorf("read the random base of the group ids: %w", err)
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
