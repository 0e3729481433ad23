package parse

import (
	"fmt"
	"strings"
)

// word is one word of the rule text: its value (quotes removed) and where it
// was written.
type word struct {
	val    string // the word with quoting removed
	pos    Pos    // first byte as written (the opening quote of a quoted word)
	end    Pos    // first byte after the word as written
	quoted bool
}

// splitText splits one line of iptables-save text into words from byte
// start on, as iptables-restore does: words are separated by blanks; a
// double-quoted word may hold blanks, and inside it a backslash escapes the
// next byte. A line of more than max words is an error at the first word
// past them (iptables-restore refuses it before reading any option). The
// words are appended to words.
func splitText(words []word, text string, start, max int) ([]word, *Error) {
	words = words[:0]
	i := start
	for {
		for i < len(text) && isBlank(text[i]) {
			i++
		}
		if i == len(text) {
			return words, nil
		}
		start := i
		if len(words) == max {
			end := i
			for end < len(text) && !isBlank(text[end]) {
				end++
			}
			return nil, &Error{Pos: Pos(start), Word: text[start:end], Text: text,
				Msg: fmt.Sprintf("the rule has more than %d words: iptables-restore reads no more in a rule line", max)}
		}
		// The common case, a word without quotes, is a slice of the text.
		end := i
		for end < len(text) && !isBlank(text[end]) && text[end] != '"' {
			end++
		}
		if end == len(text) || isBlank(text[end]) {
			w := word{val: text[start:end], pos: Pos(start), end: Pos(end)}
			if err := checkWordLen(text, w); err != nil {
				return nil, err
			}
			words = append(words, w)
			i = end
			continue
		}
		var b strings.Builder
		quoted := false
		for i < len(text) && !isBlank(text[i]) {
			if text[i] != '"' {
				b.WriteByte(text[i])
				i++
				continue
			}
			quoted = true
			open := i
			i++
			for {
				if i == len(text) {
					return nil, &Error{Pos: Pos(open), Word: text[open:], Text: text,
						Msg: "unterminated quoted word: expected a closing \""}
				}
				if text[i] == '\\' && i+1 < len(text) {
					b.WriteByte(text[i+1])
					i += 2
					continue
				}
				if text[i] == '"' {
					i++
					break
				}
				b.WriteByte(text[i])
				i++
			}
		}
		w := word{val: b.String(), pos: Pos(start), end: Pos(i), quoted: quoted}
		if err := checkWordLen(text, w); err != nil {
			return nil, err
		}
		words = append(words, w)
	}
}

// MaxWordBytes is the longest word of a line of rule text: iptables-restore
// gathers each word in a buffer of 1024 bytes (struct xt_param_buf in
// iptables/xshared.c) and refuses a longer one ("Parameter too long!").
const MaxWordBytes = 1023

// checkWordLen refuses a word longer than MaxWordBytes (quotes and escapes
// not counted).
func checkWordLen(text string, w word) *Error {
	if len(w.val) <= MaxWordBytes {
		return nil
	}
	return &Error{Pos: w.pos, Word: text[w.pos:w.end], Text: text,
		Msg: fmt.Sprintf("a word of %d bytes: iptables-restore reads words of at most %d bytes", len(w.val), MaxWordBytes)}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Quote returns w as it is written in rule text: unchanged when it needs no
// quoting, otherwise in double quotes with '"' and '\' escaped by a backslash.
// Words joined by single spaces after Quote form the text that positions of
// argv input refer to.
func Quote(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\n\r\"\\'") {
		return w
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(w); i++ {
		if w[i] == '"' || w[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(w[i])
	}
	b.WriteByte('"')
	return b.String()
}

// joinArgs renders argv as rule text and returns the text and its words.
func joinArgs(args []string) (string, []word) {
	var b strings.Builder
	words := make([]word, 0, len(args))
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		q := Quote(a)
		start := Pos(b.Len())
		b.WriteString(q)
		words = append(words, word{val: a, pos: start, end: Pos(b.Len()), quoted: q != a})
	}
	return b.String(), words
}

// at returns the position of byte off of the word's value in the text.
// For a quoted word with escapes it is approximate (it ignores them).
func (w word) at(off int) Pos {
	if w.quoted {
		return w.pos + 1 + Pos(off)
	}
	return w.pos + Pos(off)
}
