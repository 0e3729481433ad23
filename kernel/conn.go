// Package kernel is the only package of ctmatch that talks to the kernel: it
// reads and writes nf_tables tables, chains and rules over a netlink socket
// of its own, in the caller's network namespace or in another one.
//
// It encodes and decodes nf_tables messages itself (on top of
// github.com/mdlayher/netlink) and never goes through the nft tool or
// google/nftables. Rule expressions are opaque bytes here: the payload of
// NFTA_RULE_EXPRESSIONS, as expr.Rule.Lower produces them and expr.Raise
// reads them.
//
// Every change goes through a transaction (Tx): one nfnetlink batch, sent
// with one sendmsg, that the kernel applies whole or not at all, and refuses
// when the ruleset changed since the generation the transaction was begun
// at. The socket buffers are sized from the batch and from the replies it
// will bring back, every reply is read, and an error names the change the
// kernel refused (its object and its source), the errno and the kernel's
// extended ACK.
//
// A Conn serializes its operations; it may be shared by goroutines.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"slices"
	"sync"
	"time"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// Options says where a Conn talks to the kernel.
type Options struct {
	// NetNS is the path of a network namespace, such as /run/netns/NAME or
	// /proc/PID/ns/net. Empty means the caller's own namespace. Dial refuses
	// at once, without waiting on it, a path that is not a network
	// namespace (a file, a FIFO, another type of namespace): ErrNotNetNS.
	NetNS string
	// NetNSFd is an open descriptor of a network namespace, used when NetNS
	// is empty; 0 means none. It stays the caller's: Dial does not close it.
	// A descriptor of anything else is refused (ErrNotNetNS).
	NetNSFd int
}

// Conn is a netlink connection to nf_tables. The socket lives in the
// namespace the Options named; the calling thread never changes namespace.
type Conn struct {
	mu  sync.Mutex
	t   transport
	seq uint32
}

// Dial opens a connection to nf_tables in the network namespace opts names.
func Dial(ctx context.Context, opts Options) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "dial", Index: -1, Err: err}
	}
	fd := opts.NetNSFd
	if opts.NetNS != "" {
		f, err := openNetNS(opts.NetNS)
		if err != nil {
			return nil, &Error{Op: "dial", Object: "network namespace " + opts.NetNS, Index: -1, Err: err}
		}
		defer f.Close()
		fd = int(f.Fd())
	} else if fd > 0 {
		if err := checkNetNS(fd); err != nil {
			return nil, &Error{Op: "dial", Object: fmt.Sprintf("network namespace descriptor %d", fd), Index: -1, Err: err}
		}
	}
	if fd < 0 {
		return nil, &Error{Op: "dial", Index: -1, Err: fmt.Errorf("invalid namespace descriptor %d", fd)}
	}
	s, err := dialSocket(fd)
	if err != nil {
		e := &Error{Op: "dial", Object: "nf_tables netlink socket", Index: -1, Err: err}
		if opts.NetNS != "" {
			e.Object += " in " + opts.NetNS
		}
		if fd != 0 && errors.Is(err, unix.EPERM) {
			e.Reason = err.Error() + " (entering another network namespace needs CAP_SYS_ADMIN)"
		}
		return nil, e
	}
	return newConn(s), nil
}

func newConn(t transport) *Conn {
	return &Conn{t: t, seq: 1}
}

// Close closes the connection.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t.close()
}

// nextSeq reserves n sequence numbers and returns the first. Sequence
// numbers never repeat on a Conn (modulo 2³²), so a late reply to an
// earlier request is recognised and skipped. 0 is never used.
func (c *Conn) nextSeq(n int) uint32 {
	if c.seq+uint32(n) < c.seq {
		c.seq = 1
	}
	s := c.seq
	c.seq += uint32(n)
	return s
}

// request sends one request (not a batch) and calls fn with every message
// that answers it, until the answer is complete: the first reply of a plain
// request, NLMSG_DONE of a dump. An NLMSG_ERROR with an errno ends it with
// that error; one with 0 (an acknowledgement) ends it successfully.
func (c *Conn) request(ctx context.Context, typ uint16, flags uint16, family expr.Family, attrs []byte, fn func(m nfnl.Message) error) (errorReply, error) {
	seq := c.nextSeq(1)
	b := nfnl.AppendMessage(nil, typ, flagRequest|flags, seq, uint8(family), 0, attrs)
	if err := c.t.send(b); err != nil {
		return errorReply{}, err
	}
	dump := flags&flagDump == flagDump
	for {
		ds, err := c.t.receive(ctx, time.Time{})
		if err != nil {
			return errorReply{}, err
		}
		var msgs []nfnl.Message
		for _, d := range ds {
			// (What fn keeps of a message outlives the socket's buffer.)
			ms, err := nfnl.SplitMessages(slices.Clone(d))
			if err != nil {
				return errorReply{}, err
			}
			msgs = append(msgs, ms...)
		}
		for _, m := range msgs {
			if m.Seq != seq {
				continue // a late reply to an earlier request
			}
			switch m.Type {
			case nfnl.TypeError:
				r, err := parseError(m.Flags, m.Data)
				if err != nil {
					return errorReply{}, err
				}
				if r.errno != 0 {
					return r, r.errno
				}
				return r, nil
			case nfnl.TypeDone:
				if dump {
					// A dump that fails part way ends with the error in
					// NLMSG_DONE.
					r := reply(nfnl.ParseDone(m.Flags, m.Data))
					if r.errno != 0 {
						return r, r.errno
					}
					return errorReply{}, nil
				}
			default:
				if err := fn(m); err != nil {
					return errorReply{}, err
				}
				if !dump {
					return errorReply{}, nil
				}
			}
		}
	}
}

// errDumpInterrupted says the kernel flagged a dump as inconsistent
// (NLM_F_DUMP_INTR): the ruleset changed while it was being read.
var errDumpInterrupted = errors.New("the ruleset changed while it was being read")

// dumpRetries is how often a dump interrupted by a concurrent change is
// started again before giving up.
const dumpRetries = 8

// dump runs a dump request, starting again when the kernel says the ruleset
// changed during it, and calls fn with every object message of the last,
// consistent run (fn's results of earlier runs are reset by reset).
func (c *Conn) dump(ctx context.Context, typ uint16, family expr.Family, attrs []byte, reset func(), fn func(m nfnl.Message) error) (errorReply, error) {
	for try := 0; ; try++ {
		reset()
		intr := false
		r, err := c.request(ctx, typ, flagDump, family, attrs, func(m nfnl.Message) error {
			if m.Flags&flagDumpIntr != 0 {
				intr = true
			}
			return fn(m)
		})
		if err != nil || !intr {
			return r, err
		}
		if try == dumpRetries {
			return r, errDumpInterrupted
		}
	}
}

// Generation returns the generation of the ruleset (NFT_MSG_GETGEN): a
// number the kernel increases with every committed transaction.
func (c *Conn) Generation(ctx context.Context) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generation(ctx)
}

func (c *Conn) generation(ctx context.Context) (uint32, error) {
	var gen uint32
	found := false
	r, err := c.request(ctx, nftType(msgGetGen), 0, 0, nil, func(m nfnl.Message) error {
		if m.Type != nftType(msgNewGen) {
			return fmt.Errorf("reply of type %#x, want NFT_MSG_NEWGEN", m.Type)
		}
		gen, found = genID(m)
		return nil
	})
	if err != nil {
		return 0, readError("get generation", "", r, err)
	}
	if !found {
		return 0, &Error{Op: "get generation", Index: -1, Err: errors.New("the kernel's reply holds no generation id")}
	}
	return gen, nil
}

// genID reads the generation out of an NFT_MSG_NEWGEN message.
func genID(m nfnl.Message) (uint32, bool) {
	attrs, err := nfnl.SplitAttrs(m.Body(), 0)
	if err != nil {
		return 0, false
	}
	for _, a := range attrs {
		if a.Type == attrGenID {
			g, err := nfnl.U32(a.Data)
			return g, err == nil
		}
	}
	return 0, false
}

// release returns the running kernel's release, as uname -r prints it (a
// variable, for tests).
var release = func() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Release returns the running kernel's release, as uname -r prints it, or
// "" when it cannot be read.
func Release() string { return release() }

// PositionIDs reports whether the kernel places a rule next to a rule of
// the same transaction (RuleSpec.PositionID, NFTA_RULE_POSITION_ID): Linux
// 5.1 or later. Older kernels ignore the attribute, and would put the rule
// at the top of its chain, so a transaction refuses it there. A release
// that cannot be read is taken as recent.
func PositionIDs() bool {
	var major, minor int
	if n, _ := fmt.Sscanf(release(), "%d.%d", &major, &minor); n < 2 {
		return true
	}
	return major > 5 || major == 5 && minor >= 1
}

// errNoPositionID says the kernel cannot place a rule by rule id.
var errNoPositionID = errors.New("no NFTA_RULE_POSITION_ID")
