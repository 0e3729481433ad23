package firewall

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// This file holds the Client: ctmatch's own connection to nf_tables, for
// programs that manage a firewall. It writes translated rules into chains
// (Apply), deletes them (Delete) and reads them back as iptables rules
// (List), keeping the pieces of one iptables rule together as a group (see
// docs/cli.md, "Rule groups").

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
// change makes it fail instead of landing in the wrong place. A Client may
// be shared by goroutines; its operations run one at a time.
type Client struct {
	c    nfConn
	rand io.Reader // DialOptions.Rand
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
		r = rand.Reader
	}
	return &Client{c: kernelConn{c}, rand: r}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }

// nfConn is what a Client needs of kernel.Conn; unit tests put a fake
// ruleset behind it.
type nfConn interface {
	Generation(ctx context.Context) (uint32, error)
	Tables(ctx context.Context) ([]kernel.Table, error)
	Chains(ctx context.Context, f expr.Family, table string) ([]kernel.Chain, error)
	Rules(ctx context.Context, f expr.Family, table, chain string) ([]kernel.Rule, error)
	BeginAt(gen uint32) nfTx
	Close() error
}

// nfTx is what a Client needs of kernel.Tx.
type nfTx interface {
	AddTable(f expr.Family, name string, userdata []byte)
	AddChain(f expr.Family, table, name string, base *kernel.BaseChain, userdata []byte)
	AddRule(f expr.Family, table, chain string, r kernel.RuleSpec)
	DeleteRule(f expr.Family, table, chain string, handle uint64)
	Commit(ctx context.Context) (kernel.Result, error)
	Check(ctx context.Context) error
	Rebase(gen uint32)
}

type kernelConn struct{ *kernel.Conn }

func (k kernelConn) BeginAt(gen uint32) nfTx { return k.Conn.BeginAt(gen) }

// Errors a Client's operations wrap (test with errors.Is). Errors of the
// kernel itself are *kernel.Error values, which wrap the errno.
var (
	// ErrNoTable: the table does not exist, and Create was not asked for.
	ErrNoTable = errors.New("no such table")
	// ErrNoChain: the chain does not exist, and Create was not asked for;
	// or a rule jumps to a chain that does not exist.
	ErrNoChain = errors.New("no such chain")
	// ErrChainDiffers: with Create, an existing chain is not the chain
	// Create would have made (another type, hook or priority, or a base
	// chain where a regular chain would have been made, or the reverse).
	ErrChainDiffers = errors.New("the chain differs from the one --create makes")
	// ErrIptablesTable: the table is iptables-nft's own, and Force was not
	// asked for.
	ErrIptablesTable = errors.New("iptables-nft's table")
	// ErrNoPosition: the index or handle a change is placed at is not in
	// the chain.
	ErrNoPosition = errors.New("no such position")
	// ErrNoRule: the handle to delete is not in the chain.
	ErrNoRule = errors.New("no such rule")
	// ErrInvalidChange: the change itself is wrong (no rule, a rule
	// compiled for another family, an empty name).
	ErrInvalidChange = errors.New("invalid change")
)

// Error is a Client operation refused before anything was sent to the
// kernel. Like *kernel.Error, its message names the operation, the object
// and the change's source, and says what to do.
type Error struct {
	Op     string // "add rule", "insert rule", "delete rule", "list"
	Object string // e.g. "inet fw input"
	Source string // the change's source, if any
	Index  int    // the index of the change in its Apply, or -1
	Reason string // what went wrong, in words a person can act on; empty when Err says it
	// Err is one of the Err… values above, or the *kernel.Error of a read
	// the operation needed (the generation, the tables, the chains, the
	// rules), which names what was read and wraps the errno.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Object != "" {
		b.WriteString(" " + e.Object)
	}
	if e.Source != "" {
		b.WriteString(" (" + e.Source + ")")
	}
	b.WriteString(": ")
	switch {
	case e.Reason != "":
		b.WriteString(e.Reason)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("failed")
	}
	return b.String()
}

// Unwrap returns the kind of error.
func (e *Error) Unwrap() error { return e.Err }

// object names a table or chain as nft does: "inet fw", "inet fw input".
func object(f expr.Family, table string, chain ...string) string {
	s := f.String() + " " + table
	for _, c := range chain {
		s += " " + c
	}
	return s
}

// readError wraps the failure of a read an operation needed with the
// operation's context: "add rule inet fw input (…): get generation:
// operation not permitted (needs CAP_NET_ADMIN)".
func readError(op, obj, source string, index int, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Op: op, Object: obj, Source: source, Index: index, Err: err}
}
