package firewall

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"io"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// This file holds the Client: ctmatch's own connection to nf_tables, for
// programs that manage a firewall. It writes translated rules into chains
// (Apply, Batch), deletes them (Delete) and reads them back as iptables
// rules (List), keeping the pieces of one iptables rule together as a group
// (see docs/cli.md, "Rule groups"). The jobs of a write are in files of
// their own: change.go (what a caller asks for), plan.go (where each change
// goes, given what was read: pure), batch.go (reading what the plan needs,
// and encoding into the transaction), rebase.go (the commit-time generation
// check), owner.go (the iptables-nft guard), list.go and format.go
// (reading and showing), errors.go.

// DialOptions say where a Client talks to the kernel.
type DialOptions struct {
	// NetNS is the path of a network namespace, such as /run/netns/NAME or
	// /proc/PID/ns/net; empty means the caller's own namespace. The calling
	// thread never changes namespace. A path that is not a network
	// namespace is refused at once (kernel.ErrNotNetNS).
	NetNS string
	// Rand is where the Client's writes take the group ids of the rules
	// they add (see Apply): 8 bytes per Apply or Batch. nil means
	// crypto/rand.Reader.
	Rand io.Reader
}

// Client is a connection to nf_tables that writes, deletes and lists
// ctmatch's rules. Every write is one kernel transaction, checked against
// the generation of the ruleset that was read to plan it, so a concurrent
// change makes it fail instead of landing in the wrong place.
//
// A Client is safe for concurrent use, and runs its operations one at a
// time, each whole: Apply (its reads, its plan, its commit and its retries),
// Delete and List each hold the Client from start to end, so that two
// operations of one Client never conflict with each other. A Batch spans
// calls its owner makes over time, so it holds the Client during each of
// its calls, not between them: each Add (the reads and the plan of one
// change), and Commit or Check from the check of what the batch read (see
// Batch.Commit) to the kernel's answer. An operation of the same Client
// between two calls of a Batch moves the ruleset's generation, which Commit
// then checks as it checks a change made by another process. A change made
// by another process or another Client is never serialized: the kernel
// refuses the transaction it invalidates (ErrConcurrentChange), and
// ApplyOptions.Retry has Apply plan and send again.
type Client struct {
	c    Kernel
	rand io.Reader     // DialOptions.Rand
	sem  chan struct{} // held by the operation running (see lock)
	sync syncMemo      // the last state Sync found or made (sync.go)
}

// lock waits until no other operation of the Client runs, or until ctx is
// done; unlock lets the next one run.
func (c *Client) lock(ctx context.Context) error {
	if c == nil || c.c == nil || c.sem == nil {
		return ErrNoClient
	}
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) unlock() { <-c.sem }

// newClient returns a Client on conn.
func newClient(conn Kernel, r io.Reader) *Client {
	return &Client{c: conn, rand: r, sem: make(chan struct{}, 1)}
}

// NewClient returns a Client on k, such as the in-memory ruleset of package
// fakekernel for a unit test. rand is as DialOptions.Rand: nil means
// crypto/rand.Reader. Dial is how a program reaches the kernel.
func NewClient(k Kernel, rand io.Reader) *Client {
	if rand == nil {
		rand = cryptorand.Reader
	}
	return newClient(k, rand)
}

// Dial opens a Client in the network namespace o names.
func Dial(ctx context.Context, o DialOptions) (*Client, error) {
	c, err := kernel.Dial(ctx, kernel.Options{NetNS: o.NetNS})
	if err != nil {
		return nil, err
	}
	r := o.Rand
	if r == nil {
		// (Dial is where a Client reaches the system: its randomness is
		// taken here, with its socket, and handed down.)
		r = cryptorand.Reader
	}
	return newClient(kernelConn{c}, r), nil
}

// Close closes the connection.
func (c *Client) Close() error {
	if c == nil || c.c == nil {
		return ErrNoClient
	}
	return c.c.Close()
}

// ErrNoClient: the Client (or the Batch's) was not made by Dial or
// NewClient (a nil or zero Client, a zero Batch), and has no connection.
var ErrNoClient = errors.New("firewall: no Client: make one with Dial or NewClient (and a Batch with Client.Batch)")

// Kernel is what a Client needs of the kernel: what kernel.Conn does, for
// Dial's Client, and what package fakekernel's in-memory ruleset does, for
// unit tests (NewClient).
type Kernel interface {
	// Generation returns the ruleset's generation.
	Generation(ctx context.Context) (uint32, error)
	// Tables, Chains and Rules list the tables, the chains of a table and
	// the rules of a chain, as kernel.Conn does.
	Tables(ctx context.Context) ([]kernel.Table, error)
	Chains(ctx context.Context, f expr.Family, table string) ([]kernel.Chain, error)
	Rules(ctx context.Context, f expr.Family, table, chain string) ([]kernel.Rule, error)
	// Sets and SetElements list the sets of a table and a set's elements,
	// as kernel.Conn does: the anonymous sets the rules look up.
	Sets(ctx context.Context, f expr.Family, table string) ([]kernel.Set, error)
	SetElements(ctx context.Context, f expr.Family, table, set string) ([]kernel.SetElem, error)
	// Objects lists the named objects (ct helpers) of a table, as
	// kernel.Conn.Objects does.
	Objects(ctx context.Context, f expr.Family, table string) ([]kernel.Object, error)
	// ObjectNames lists the named objects of a table of every type, as
	// kernel.Conn does.
	ObjectNames(ctx context.Context, f expr.Family, table string) ([]kernel.ObjectName, error)
	// BeginAt begins a transaction checked against generation gen, as
	// kernel.Conn.BeginAt does.
	BeginAt(gen uint32) KernelTx
	// Close closes the connection.
	Close() error
}

// KernelTx is what a Client needs of a transaction: the methods of
// kernel.Tx it calls. It is an interface type literal, not a defined type,
// so that a Kernel outside this package (fakekernel.Transaction) can return
// the same type without importing firewall.
type KernelTx = interface {
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

type kernelConn struct{ *kernel.Conn }

func (k kernelConn) BeginAt(gen uint32) KernelTx { return k.Conn.BeginAt(gen) }
