package parse

import (
	"fmt"
	"strings"
)

// Pos is a 0-based byte offset into the rule text: a line of a file, a quoted
// argument as written, or argv joined by single spaces with each word quoted
// as Quote quotes it. A column is Pos+1.
type Pos int

// NoPos is the zero-information position, for things that were not written.
const NoPos Pos = -1

// IsValid reports whether p is a position in the text.
func (p Pos) IsValid() bool { return p >= 0 }

// ErrorKind says why a rule was refused, which decides the CLI's exit code.
type ErrorKind uint8

const (
	// Invalid words are words that iptables itself rejects (exit code 2).
	Invalid ErrorKind = iota
	// Unsupported words are valid iptables that ctmatch does not handle (yet),
	// or hostnames it will not resolve without being asked (exit code 1).
	Unsupported
)

// Error is a refused rule: what is wrong, and the word where it is.
type Error struct {
	Pos  Pos       // start of the offending word or item; len(Text) for "found end of rule"
	Word string    // the offending word or item as written ("" at the end of the rule)
	Msg  string    // what is wrong and what was expected
	Kind ErrorKind // Invalid or Unsupported
	Text string    // the rule text Pos refers to
	Hint string    // what would be accepted there, when the message does not say it
}

// Error returns "col N: message".
func (e *Error) Error() string { return fmt.Sprintf("col %d: %s", e.Pos+1, e.Msg) }

// Format implements fmt.Formatter: %v and %s print Error(); %+v adds the rule
// text and a caret line under the offending word.
func (e *Error) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "%s\n%s", e.Error(), e.Caret())
		if e.Hint != "" {
			fmt.Fprintf(f, "\n%s", e.Hint)
		}
	case verb == 'v' || verb == 's':
		fmt.Fprint(f, e.Error())
	case verb == 'q':
		fmt.Fprintf(f, "%q", e.Error())
	default:
		fmt.Fprintf(f, "%%!%c(*parse.Error=%s)", verb, e.Error())
	}
}

// Caret returns two lines: the rule text, indented by two spaces, and a line
// with carets under the offending word (one caret at the end of the text when
// the rule ended too early).
func (e *Error) Caret() string {
	width := len(e.Word)
	if width == 0 {
		width = 1
	}
	pos := int(e.Pos)
	if pos < 0 {
		pos = 0
	}
	if pos > len(e.Text) {
		pos = len(e.Text)
	}
	var b strings.Builder
	b.WriteString("  ")
	b.WriteString(e.Text)
	b.WriteString("\n  ")
	for _, c := range e.Text[:pos] {
		if c == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString(strings.Repeat("^", width))
	return b.String()
}
