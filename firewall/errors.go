package firewall

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// Errors a Client's operations wrap (test with errors.Is). Errors of the
// kernel itself are *kernel.Error values, which wrap the errno.
var (
	// ErrNoTable: the table does not exist: for Apply and Batch, without
	// Create; for Delete and List, at all.
	ErrNoTable = errors.New("no such table")
	// ErrNoChain: the chain does not exist (for Apply and Batch, without
	// Create; for Delete and List, at all); or a rule jumps to a chain that
	// does not exist.
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

	// ErrConcurrentChange is kernel.ErrConcurrentChange (the same value):
	// the ruleset changed after the operation read it, and nothing was
	// changed (see ApplyOptions.Retry). Here so that a program can test
	// for it with the public API alone.
	ErrConcurrentChange = kernel.ErrConcurrentChange
	// ErrJumpLoop is kernel.ErrJumpLoop (the same value): the kernel
	// refused a rule whose jump or goto makes a loop of jumps from a base
	// chain, or nests them deeper than it follows.
	ErrJumpLoop = kernel.ErrJumpLoop
)

// Error is a Client operation refused, about a change when Index is not
// -1: refused before anything was sent to the kernel, or refused by the
// kernel (Err is then the kernel's *kernel.Error, whose message it is).
// Like *kernel.Error, its message states the facts: the operation, the
// object, the change (where it was written and its words) and what is
// wrong. What a person could do about it is apart, in Hint (the ctmatch
// command prints it on a line of its own).
type Error struct {
	Op     string         // "add rule", "insert rule", "delete rule", "list"
	Object string         // e.g. "inet fw input"
	Pos    parse.Position // where the change was written (Change.Pos); the zero Position when unknown
	Words  string         // the change's rule, as its canonical words; empty when not about a rule
	Index  int            // the index of the change in its Apply, or -1
	Reason string         // what went wrong; empty when Err says it
	// Hint is what to do about it, such as "create it with --create, or
	// with nft add table inet fw"; empty when there is nothing to say. It
	// is not part of Error().
	Hint string
	// Err is one of the Err… values above, or the *kernel.Error of a read
	// the operation needed (the generation, the tables, the chains, the
	// rules), which names what was read and wraps the errno; or the
	// *kernel.Error of the kernel's refusal of the change.
	Err error

	refused bool // the kernel refused the change: Err's message is the message
}

// Error states the facts: "OP OBJECT (SOURCE): REASON", or the kernel's
// own message when the kernel refused the change.
func (e *Error) Error() string {
	if e.refused {
		return e.Err.Error()
	}
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Object != "" {
		b.WriteString(" " + e.Object)
	}
	if s := source(e.Pos, e.Words); s != "" {
		b.WriteString(" (" + s + ")")
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

// Hint returns the advice that err carries: the Hint of the first *Error
// or *kernel.Error in its chain that has one, or "". The errors of a
// Client state facts; this is what a person could do about them (the
// ctmatch command prints it on a line of its own).
func Hint(err error) string {
	for err != nil {
		switch e := err.(type) {
		case *Error:
			if e.Hint != "" {
				return e.Hint
			}
		case *kernel.Error:
			if e.Hint != "" {
				return e.Hint
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if h := Hint(e); h != "" {
					return h
				}
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

// Unwrap returns the kind of error.
func (e *Error) Unwrap() error { return e.Err }

// source names a change in messages: "FILE:LINE: WORDS", or the words
// alone when its position is not known.
func source(pos parse.Position, words string) string {
	switch {
	case !pos.IsValid():
		return words
	case words == "":
		return pos.String()
	}
	return pos.String() + ": " + words
}

// object names a table or chain as nft does: "inet fw", "inet fw input".
func object(f expr.Family, table string, chain ...string) string {
	s := f.String() + " " + QuoteName(table)
	for _, c := range chain {
		s += " " + QuoteName(c)
	}
	return s
}

// readError wraps the failure of a read an operation needed with the
// operation's context: "add rule inet fw input (…): get generation:
// operation not permitted (needs CAP_NET_ADMIN)".
func readError(op, obj string, index int, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Op: op, Object: obj, Index: index, Err: err}
}

// changeReadError is readError for a read that change i needed.
func changeReadError(ch *Change, i int, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Op: opOf(ch), Object: object(ch.Family, ch.Table, ch.Chain), Pos: ch.Pos, Words: ch.words(), Index: i, Err: err}
}

func changeError(ch *Change, i int, kind error, reason string) error {
	return &Error{Op: opOf(ch), Object: object(ch.Family, ch.Table, ch.Chain), Pos: ch.Pos, Words: ch.words(), Index: i, Err: kind, Reason: reason}
}

// changeHintError is changeError with a hint.
func changeHintError(ch *Change, i int, kind error, reason, hint string) error {
	e := changeError(ch, i, kind, reason).(*Error)
	e.Hint = hint
	return e
}

// noTableError is the error for a change into a table that does not exist.
func noTableError(ch *Change, i int) error {
	return changeHintError(ch, i, ErrNoTable, "no such table "+object(ch.Family, ch.Table),
		"create it with --create, or with nft add table "+object(ch.Family, ch.Table))
}

// noChainError is the error for a change into a chain that does not exist.
func noChainError(ch *Change, i int) error {
	return changeHintError(ch, i, ErrNoChain, fmt.Sprintf("no such chain %s in table %s", QuoteName(ch.Chain), object(ch.Family, ch.Table)),
		"create it with --create, or with nft add chain "+object(ch.Family, ch.Table, ch.Chain))
}

// chainDiffersError is the error for a change, with Create, into a chain
// that is not (or, created for an earlier change, was not) the chain
// Create makes for it (want).
func chainDiffersError(pc *plannedChain, want *kernel.BaseChain, ch *Change, i int) error {
	if pc.exists {
		return changeHintError(ch, i, ErrChainDiffers, fmt.Sprintf(
			"chain %s exists as %s, and --create would have made it %s for -t %s",
			object(ch.Family, ch.Table, ch.Chain), kindOf(pc.base), kindOf(want), ch.tableName()),
			"leave out --create to write into it as it is, or write into another chain")
	}
	why := "for the rule of change"
	if pc.jumpOnly {
		why = "for the jump of the rule of change"
	}
	return changeHintError(ch, i, ErrChainDiffers, fmt.Sprintf(
		"chain %s is created as %s %s %d (-t %s), but this rule's -t %s makes it %s",
		object(ch.Family, ch.Table, ch.Chain), kindOf(pc.base), why, pc.baseFrom+1, pc.baseTable,
		ch.tableName(), kindOf(want)),
		"use the same -t for every rule of the chain")
}

// jumpError is the error for change i, whose rule jumps to chain, which
// the change's table does not have.
func jumpError(ch *Change, i int, chain string) error {
	return jumpRefusal(changeError(ch, i, ErrNoChain, "").(*Error), ch.Family, ch.Table, chain)
}

// jumpRefusal fills e, about a change whose rule jumps to chain, which
// table f table does not have.
func jumpRefusal(e *Error, f expr.Family, table, chain string) error {
	e.Reason = fmt.Sprintf("the rule jumps to chain %s, which table %s does not have", QuoteName(chain), object(f, table))
	e.Hint = "create it first (nft add chain " + object(f, table, chain) + ")"
	return e
}

func opOf(ch *Change) string {
	if ch.Insert {
		return "insert rule"
	}
	return "add rule"
}

func kindOf(b *kernel.BaseChain) string {
	if b == nil {
		return "a regular chain"
	}
	return "a base chain (" + describeBase(b) + ")"
}

// handlesHint says how to see the handles of a chain's rules.
func handlesHint(chain string) string {
	return "ctmatch list chain " + chain + " -a shows the handles"
}

func groupsText(n int) string {
	switch n {
	case 0:
		return "no rule"
	case 1:
		return "1 rule (group of nft rules)"
	}
	return fmt.Sprintf("%d rules (groups of nft rules)", n)
}

// randError is the error of an operation that could not read the random
// base of its group ids (DialOptions.Rand).
func randError(op string, err error) error {
	return &Error{Op: op, Index: -1, Err: err, Reason: "cannot read the random base of the group ids (DialOptions.Rand): " + err.Error()}
}
