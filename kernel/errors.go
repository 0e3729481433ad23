package kernel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Sentinel errors a commit can wrap; test for them with errors.Is.
var (
	// ErrConcurrentChange: the ruleset changed after the generation the
	// transaction was begun at, and the kernel refused the whole
	// transaction (ERESTART). Nothing was changed; read the ruleset again
	// and retry.
	ErrConcurrentChange = errors.New("concurrent change")
	// ErrAcksLost: the transaction was committed, but some of the kernel's
	// replies were lost, so some rule handles are unknown (0 in
	// Result.Handles).
	ErrAcksLost = errors.New("committed (acknowledgements lost)")
	// ErrOutcomeUnknown: the kernel's replies were lost and the generation
	// does not say whether the transaction was committed.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrJumpLoop: the kernel refused a rule because, with it, the jumps
	// and gotos from a base chain come back to a chain they left (a
	// loop), or nest deeper than the kernel follows (16 chains): EMLINK,
	// "too many links" (ELOOP from older kernels). The error names the
	// rule's chain and the chain it jumps to.
	ErrJumpLoop = errors.New("jump loop")
)

// Error is a failed kernel operation. Its message states the facts: the
// operation and the object (`add rule inet ctmatch input: …`), the change's
// source when it has one, what the kernel pointed at, and what went wrong;
// advice is apart, in Hint. It
// wraps the errno (errors.Is(err, unix.EOPNOTSUPP)) and, for a commit, one
// of ErrConcurrentChange, ErrAcksLost and ErrOutcomeUnknown.
type Error struct {
	Op     string // "add rule", "delete rule", "add table", "add chain", "delete table", "flush chain", "add set", "add elements", "add ct helper", "list rules", "commit", "dial", …
	Object string // e.g. "inet ctmatch input"; may be empty
	Source string // the change's RuleSpec.Source, if any
	// Index is the index of the change in its transaction (from 0), or -1
	// when the error is not about one change.
	Index int
	// More is the number of other changes in the transaction, named in the
	// message when the kernel refused the transaction as a whole.
	More int
	// Failed holds the indexes of every change the kernel refused, in
	// order, when it refused more than one change of a transaction; Others
	// is how many of them the message names besides the one it is about
	// ("2 more changes failed too").
	Failed []int
	Others int
	// Unit is what More and Others count, in the singular: "change" (one
	// message of the transaction: a table, a chain or one nft rule) when
	// empty. A caller that knows what its user wrote counts in that
	// instead (firewall.Batch counts iptables rules).
	Unit string
	// Where is the part of the request the kernel's extended ACK pointed at,
	// such as "table", "chain" or "expression 3 (ct)"; empty when unknown.
	Where string
	// Reason says what went wrong; empty means Err says it all.
	Reason string
	// Hint is what a person could do about it, such as "create it, or use
	// --create"; empty when there is nothing to say. It is not part of
	// Error().
	Hint string
	// KernelMessage and Offset are the kernel's extended ACK: its message
	// and the offset, in the request message, of the attribute it refused
	// (0 when absent: the kernel never points at the message header).
	KernelMessage string
	Offset        int
	// Err is the cause: a unix.Errno for an error the kernel returned.
	Err error

	kind error // ErrConcurrentChange, ErrAcksLost, ErrOutcomeUnknown or nil
}

// Error states the facts: "OP OBJECT (SOURCE): WHERE: REASON", with the
// kernel's extended ACK message when it gave one.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Object != "" {
		b.WriteString(" " + e.Object)
	}
	if e.Source != "" {
		b.WriteString(" (" + e.Source + ")")
	}
	if e.More > 0 {
		fmt.Fprintf(&b, " (and %s in the transaction)", e.count(e.More))
	}
	b.WriteString(": ")
	if e.Where != "" {
		b.WriteString(e.Where + ": ")
	}
	switch {
	case e.Reason != "":
		b.WriteString(e.Reason)
	case e.kind != nil && e.Err != nil:
		b.WriteString(e.kind.Error() + ": " + e.Err.Error())
	case e.kind != nil:
		b.WriteString(e.kind.Error())
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("failed")
	}
	if e.Others > 0 {
		fmt.Fprintf(&b, " (%s failed too)", e.count(e.Others))
	}
	if e.KernelMessage != "" {
		b.WriteString(" (kernel: " + strconv.Quote(e.KernelMessage) + ")")
	}
	return b.String()
}

// count writes "N more UNITs".
func (e *Error) count(n int) string {
	unit := e.Unit
	if unit == "" {
		unit = "change"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d more %s", n, unit)
}

// Unwrap returns the cause and the kind of commit failure.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Err != nil {
		out = append(out, e.Err)
	}
	if e.kind != nil {
		out = append(out, e.kind)
	}
	return out
}

const (
	enoent     = unix.ENOENT
	eperm      = unix.EPERM
	eopnotsupp = unix.EOPNOTSUPP
	eexist     = unix.EEXIST
	erestart   = unix.ERESTART
)

func isErrno(err error, e unix.Errno) bool { return errors.Is(err, e) }

// offset returns the extended ACK offset of r for Error.Offset.
func offset(r errorReply) int {
	if r.errno == 0 || r.offset < 0 {
		return 0
	}
	return r.offset
}

// readError describes a failed read or generation request.
func readError(op, obj string, r errorReply, err error) *Error {
	e := &Error{Op: op, Object: obj, Index: -1, Offset: offset(r), KernelMessage: r.msg, Err: err}
	if errors.Is(err, errDumpInterrupted) {
		e.Reason, e.Hint = "the ruleset kept changing while it was being read", "try again"
	}
	if isErrno(err, eperm) {
		e.Reason = eperm.Error() + " (needs CAP_NET_ADMIN)"
	}
	return e
}
