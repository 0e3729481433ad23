package parse

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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
// the rule ended too early). Control characters and bytes that are not UTF-8
// are shown escaped (\x1b, \u009b), never raw, so that the text cannot
// move the cursor or change a terminal's state; the carets stay under the
// word as shown. A text of more than caretMax characters is shown around
// the word only, with "…" where text is left out before or after it, and a
// word of more than caretWord characters by its first caretWord: an error
// in a line of a megabyte prints a line a terminal holds.
func (e *Error) Caret() string {
	pos := int(e.Pos)
	if pos < 0 {
		pos = 0
	}
	if pos > len(e.Text) {
		pos = len(e.Text)
	}
	before := visible(e.Text[:pos])
	after := visible(e.Text[pos:])
	wv := visible(e.Word)
	word := len(wv) // the word's characters, from pos
	if word > len(after) {
		word = len(after)
	}
	cut := len(before)+len(after) > caretMax
	if cut {
		if len(before) > caretContext {
			before = append([]string{"…"}, before[len(before)-caretContext:]...)
		}
		if word > caretWord {
			word = caretWord
		}
		if len(wv) > caretWord {
			wv = wv[:caretWord]
		}
		if rest := word + caretContext; len(after) > rest {
			after = append(after[:rest:rest], "…")
		}
	}
	width := 0
	for _, s := range wv {
		width += utf8.RuneCountInString(s)
	}
	if width == 0 {
		width = 1
	}
	var b strings.Builder
	b.WriteString("  ")
	for _, s := range before {
		b.WriteString(s)
	}
	for _, s := range after {
		b.WriteString(s)
	}
	b.WriteString("\n  ")
	for _, s := range before {
		if s == "\t" {
			b.WriteByte('\t')
		} else {
			b.WriteString(strings.Repeat(" ", utf8.RuneCountInString(s)))
		}
	}
	b.WriteString(strings.Repeat("^", width))
	return b.String()
}

// What Caret shows of a long text: the whole text up to caretMax
// characters; past that, caretContext characters on each side of the word,
// and at most caretWord of the word.
const (
	caretMax     = 400
	caretContext = 80
	caretWord    = 120
)

// visible splits s into its characters as an error shows them: each as
// ShowChar shows it, but tabs, which stay tabs.
func visible(s string) []string {
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] == '\t' {
			out = append(out, "\t")
			i++
			continue
		}
		shown, n := ShowChar(s[i:])
		out = append(out, shown)
		i += n
	}
	return out
}

// ShowChar returns the first character of s as ctmatch shows it to a
// person, and its length in bytes: the character itself, or an escape for
// what a terminal would act on or hide: \x1b for a control character or a
// byte that is not UTF-8, \u202e for a C1 control, a bidirectional control
// or a line or paragraph separator.
func ShowChar(s string) (shown string, n int) {
	r, n := utf8.DecodeRuneInString(s)
	switch {
	case r == utf8.RuneError && n == 1:
		return fmt.Sprintf("\\x%02x", s[0]), 1
	case r < 0x80 && unicode.IsControl(r):
		return fmt.Sprintf("\\x%02x", r), n
	case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || unicode.In(r, unicode.Zl, unicode.Zp):
		return fmt.Sprintf("\\u%04x", r), n
	}
	return s[:n], n
}

// Show returns s with every character as ShowChar shows it.
func Show(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		shown, n := ShowChar(s[i:])
		b.WriteString(shown)
		i += n
	}
	return b.String()
}
