package firewall

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// This file holds the lifecycle of tables and chains: creating, flushing
// and deleting them, several in one transaction (ChangeTables). Sync
// (sync.go) builds on the same reads and the same ownership rule.

// ErrNotOwned: the table does not carry ctmatch's ownership record (see
// expr.TableUserData), and Force was not asked for: ctmatch flushes,
// deletes, syncs or adds chains only to tables it created.
var ErrNotOwned = errors.New("not a table ctmatch created")

// TableOp is what a TableChange does.
type TableOp uint8

// The table and chain operations.
const (
	// CreateTable creates a table, with ctmatch's ownership record (and
	// Comment as nft's table comment). The table must not exist.
	CreateTable TableOp = iota + 1
	// FlushTable deletes every rule of every chain of the table, keeping
	// its chains.
	FlushTable
	// DeleteTable deletes the table with everything in it.
	DeleteTable
	// CreateChain creates a chain: a base chain when Base is set (any type,
	// hook, priority and policy, and the device of an ingress hook), an
	// empty regular chain otherwise. The chain must not exist.
	CreateChain
	// FlushChain deletes every rule of the chain.
	FlushChain
	// DeleteChain deletes the chain, with its rules (Linux 6.18 deletes a
	// chain that holds rules, as the fake kernel does; older kernels
	// refused it with EBUSY, so a FlushChain of it first works on both).
	// The kernel refuses a chain that a rule jumps to (EBUSY), unless the
	// same transaction deletes that rule first.
	DeleteChain
	// CreateObject creates the named object Object of the table: the ct
	// helper CtHelper. The name must not be taken (ValidObjectName says
	// what nft reads as one).
	CreateObject
	// DeleteObject deletes the named object Object (ErrNoObject when it is
	// not there). The kernel refuses (EBUSY) an object a rule refers to
	// (`ct helper set`), unless the same transaction removes that rule
	// first (a FlushChain before, say).
	DeleteObject
)

var tableOpNames = [...]string{CreateTable: "add table", FlushTable: "flush table", DeleteTable: "delete table",
	CreateChain: "add chain", FlushChain: "flush chain", DeleteChain: "delete chain",
	CreateObject: "add ct helper", DeleteObject: "delete ct helper"}

// String returns the operation as nft's command names it: "add table",
// "flush chain", ….
func (op TableOp) String() string {
	if int(op) < len(tableOpNames) && tableOpNames[op] != "" {
		return tableOpNames[op]
	}
	return fmt.Sprintf("TableOp(%d)", uint8(op))
}

func (op TableOp) onChain() bool { return op >= CreateChain && op <= DeleteChain }

func (op TableOp) onObject() bool { return op == CreateObject || op == DeleteObject }

// TableChange is one change to a table or a chain.
type TableChange struct {
	Op     TableOp           // what to do: CreateTable, CreateChain, FlushTable, …
	Family expr.Family       // expr.FamilyIP, FamilyIP6 or FamilyInet
	Table  string            // the table's name
	Chain  string            // for the chain operations
	Base   *kernel.BaseChain // CreateChain: nil for a regular chain
	// Comment is nft's comment of a table CreateTable creates.
	Comment string
	// Object is the name of the object of CreateObject and DeleteObject.
	Object string
	// CtHelper is the ct helper CreateObject creates (L3Proto 0: the
	// table's family, as the kernel takes it).
	CtHelper *kernel.CtHelper
}

// String returns the change as an nft command:
// "add chain inet fw input { type filter hook input priority 0; policy accept; }".
func (tc TableChange) String() string {
	s := fmt.Sprintf("%v %v %s", tc.Op, tc.Family, QuoteName(tc.Table))
	if tc.Op.onChain() {
		s += " " + QuoteName(tc.Chain)
	}
	if tc.Op == CreateChain && tc.Base != nil {
		s += " { " + describeBase(tc.Base) + "; }"
	}
	if tc.Op.onObject() {
		s += " " + tc.Object
	}
	if tc.Op == CreateObject && tc.CtHelper != nil {
		s += " { " + describeCtHelper(tc.CtHelper) + "; }"
	}
	return s
}

func (tc TableChange) object() string {
	if tc.Op.onChain() {
		return object(tc.Family, tc.Table, tc.Chain)
	}
	if tc.Op.onObject() {
		return object(tc.Family, tc.Table, tc.Object)
	}
	return fmt.Sprintf("%v %s", tc.Family, tc.Table)
}

// TableOptions say how ChangeTables writes.
type TableOptions struct {
	// Force changes tables without ctmatch's ownership record
	// (ErrNotOwned without it).
	Force bool
	// Check has the kernel validate the transaction without applying it.
	Check bool
}

// ChangeTables makes changes to tables, chains and named objects (ct
// helpers), in order, as one transaction begun at the generation it read:
// all of them happen or none does. Every change but CreateTable needs a table with ctmatch's ownership
// record (one ctmatch created), unless o.Force: so a program that manages
// its own tables cannot flush or delete someone else's (iptables-nft's,
// nft's) by a wrong name. A table or chain to flush or delete that is not
// there (and is not created before by the same call) is ErrNoTable or
// ErrNoChain, and an object to delete that is not there ErrNoObject,
// before anything is sent.
//
// It returns the generation after the commit (with Check, the one checked
// at).
func (c *Client) ChangeTables(ctx context.Context, changes []TableChange, o TableOptions) (uint32, error) {
	if len(changes) == 0 {
		return 0, nil
	}
	for i, tc := range changes {
		if err := validTableChange(tc, i); err != nil {
			return 0, err
		}
	}
	if err := c.lock(ctx); err != nil {
		return 0, err
	}
	defer c.unlock()
	st, err := c.readState(ctx, "change tables")
	if err != nil {
		return 0, err
	}
	tx := c.c.BeginAt(st.gen)
	for i, tc := range changes {
		if err := st.apply(ctx, c, tc, i, o.Force); err != nil {
			return 0, err
		}
		queueTableChange(tx, tc)
	}
	if o.Check {
		return st.gen, tx.Check(ctx)
	}
	res, err := tx.Commit(ctx)
	return res.Generation, err
}

// validTableChange checks what ChangeTables needs of a change.
func validTableChange(tc TableChange, i int) error {
	fail := func(why string) error {
		return &Error{Op: tc.Op.String(), Object: tc.object(), Index: i, Err: ErrInvalidChange, Reason: why}
	}
	switch {
	case tc.Op < CreateTable || tc.Op > DeleteObject:
		return fail(fmt.Sprintf("no operation %d", uint8(tc.Op)))
	case !writable(tc.Family):
		return fail(fmt.Sprintf("table family %v: ctmatch writes into ip, ip6 and inet tables", tc.Family))
	case tc.Table == "":
		return fail("no table name")
	case tc.Op.onChain() && tc.Chain == "":
		return fail("no chain name")
	case tc.Base != nil && tc.Op != CreateChain:
		return fail("a base chain spec is for add chain")
	case tc.CtHelper != nil && tc.Op != CreateObject:
		return fail("a ct helper is for add ct helper")
	}
	if tc.Op.onObject() {
		if why := ValidObjectName(tc.Object); why != "" {
			return fail(why)
		}
	}
	if tc.Op == CreateObject {
		if why := validCtHelper(tc.CtHelper); why != "" {
			return fail(why)
		}
	}
	return nil
}

func writable(f expr.Family) bool {
	return f == expr.FamilyIP || f == expr.FamilyIP6 || f == expr.FamilyInet
}

// queueTableChange adds tc to the transaction.
func queueTableChange(tx KernelTx, tc TableChange) {
	switch tc.Op {
	case CreateTable:
		ud, _ := expr.TableUserData(tc.Comment) // (checked by state.apply)
		tx.AddTable(tc.Family, tc.Table, ud)
	case FlushTable:
		tx.FlushTable(tc.Family, tc.Table)
	case DeleteTable:
		tx.DeleteTable(tc.Family, tc.Table)
	case CreateChain:
		tx.AddChain(tc.Family, tc.Table, tc.Chain, tc.Base, nil)
	case FlushChain:
		tx.FlushChain(tc.Family, tc.Table, tc.Chain)
	case DeleteChain:
		tx.DeleteChain(tc.Family, tc.Table, tc.Chain)
	case CreateObject:
		h := *tc.CtHelper
		tx.AddObject(tc.Family, tc.Table, kernel.Object{Name: tc.Object, CtHelper: &h})
	case DeleteObject:
		tx.DeleteObject(tc.Family, tc.Table, tc.Object)
	}
}

// state is what a lifecycle change or a sync read of the ruleset: the
// generation, the tables, and the chains of the tables it touched, as the
// changes queued so far leave them.
type state struct {
	gen    uint32
	tables map[tableKey]*stateTable
}

type stateTable struct {
	t       kernel.Table
	owned   bool // carries ctmatch's record, or created by this transaction
	created bool
	chains  map[string]bool // nil until read
	objects map[string]bool // the named objects; nil until read (objects.go)
}

// readState reads the generation and the tables.
func (c *Client) readState(ctx context.Context, op string) (*state, error) {
	gen, err := c.c.Generation(ctx)
	if err != nil {
		return nil, readError(op, "", -1, err)
	}
	tables, err := c.c.Tables(ctx)
	if err != nil {
		return nil, readError(op, "", -1, err)
	}
	st := &state{gen: gen, tables: map[tableKey]*stateTable{}}
	for _, t := range tables {
		st.tables[tableKey{t.Family, t.Name}] = &stateTable{t: t, owned: expr.OwnedTable(t.UserData)}
	}
	return st, nil
}

// readChains lists the chains of an existing table, and the first time
// fills st.chains with their names.
func (st *stateTable) readChains(ctx context.Context, c *Client, op, obj string) ([]kernel.Chain, error) {
	if st.created {
		return nil, nil
	}
	chains, err := c.c.Chains(ctx, st.t.Family, st.t.Name)
	if err != nil {
		return nil, readError(op, obj, -1, err)
	}
	if st.chains == nil {
		st.chains = map[string]bool{}
		for _, ch := range chains {
			st.chains[ch.Name] = true
		}
	}
	return chains, nil
}

// owner refuses a change to an existing table without ctmatch's record,
// unless force.
func (st *stateTable) owner(op, obj string, i int, force bool) error {
	if st.owned || force {
		return nil
	}
	return notOwned(op, obj, i, st.t.Family, st.t.Name)
}

// notOwned is the refusal to change table f name, which does not carry
// ctmatch's record.
func notOwned(op, obj string, i int, f expr.Family, name string) error {
	return &Error{Op: op, Object: obj, Index: i, Err: ErrNotOwned,
		Reason: fmt.Sprintf("table %v %s does not carry ctmatch's ownership record: ctmatch did not create it", f, name),
		Hint:   "ctmatch changes only the tables it created; force it if this table is yours to change"}
}

// apply checks change i against the state and makes it there.
func (st *state) apply(ctx context.Context, c *Client, tc TableChange, i int, force bool) error {
	op, obj := tc.Op.String(), tc.object()
	k := tableKey{tc.Family, tc.Table}
	t := st.tables[k]
	if tc.Op == CreateTable {
		if _, err := expr.TableUserData(tc.Comment); err != nil {
			return &Error{Op: op, Object: obj, Index: i, Err: ErrInvalidChange, Reason: err.Error()}
		}
		if t != nil {
			return &Error{Op: op, Object: obj, Index: i, Err: ErrTableExists, Reason: "the table exists"}
		}
		st.tables[k] = &stateTable{t: kernel.Table{Family: tc.Family, Name: tc.Table}, owned: true, created: true, chains: map[string]bool{}, objects: map[string]bool{}}
		return nil
	}
	if t == nil {
		return &Error{Op: op, Object: obj, Index: i, Err: ErrNoTable}
	}
	if err := t.owner(op, obj, i, force); err != nil {
		return err
	}
	if tc.Op == DeleteTable {
		delete(st.tables, k)
		return nil
	}
	if tc.Op.onObject() {
		return t.applyObject(ctx, c, tc, i)
	}
	if !tc.Op.onChain() {
		return nil
	}
	if t.chains == nil {
		// Once per table: later changes keep t.chains up to date.
		if _, err := t.readChains(ctx, c, op, obj); err != nil {
			return err
		}
	}
	exists := t.chains[tc.Chain]
	switch {
	case tc.Op == CreateChain && exists:
		return &Error{Op: op, Object: obj, Index: i, Err: ErrInvalidChange, Reason: "the chain exists"}
	case tc.Op != CreateChain && !exists:
		return &Error{Op: op, Object: obj, Index: i, Err: ErrNoChain}
	}
	switch tc.Op {
	case CreateChain:
		t.chains[tc.Chain] = true
	case DeleteChain:
		delete(t.chains, tc.Chain)
	}
	return nil
}
