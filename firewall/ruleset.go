package firewall

import (
	"context"
	"errors"
)

// ErrTableExists is the kind of error CreateTables returns for a table
// that exists already.
var ErrTableExists = errors.New("the table exists")

// CreatedTables is what CreateTables did.
type CreatedTables struct {
	// Diffs are the tables created (or, with Check, checked), in the
	// order given: every chain, and the number of rules of each.
	Diffs []Diff
	// Replaced names the tables ("ip filter") that carried ctmatch's
	// record and were replaced (WriteOptions.Replace); TakenOver those
	// that were iptables-nft's and were deleted (WriteOptions.Takeover),
	// each created again unless a desired table of another family took
	// its place (DesiredTable.Merges), in the order given.
	Replaced, TakenOver []string
	// Foreign are the chains of the tables taken over that the ruleset
	// did not define, deleted with them (WriteOptions.Force): "ip filter
	// DOCKER".
	Foreign []string
	// ForeignObjects are the named sets, maps and stateful objects of the
	// tables taken over, which iptables-nft does not make, deleted with
	// them (WriteOptions.Force): "set ip filter blocklist".
	ForeignObjects []string
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
// twice in ds (ErrInvalidChange). o.Force is not used. WriteTables
// writes over tables that exist.
func (c *Client) CreateTables(ctx context.Context, ds []DesiredTable, o SyncOptions) (CreatedTables, error) {
	return c.writeTables(ctx, "create tables", ds, WriteOptions{Check: o.Check})
}
