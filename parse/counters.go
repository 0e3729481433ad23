package parse

import (
	"fmt"
	"strconv"
	"strings"
)

// splitCounters reads "[PACKETS:BYTES]" at the very start of a line of rule
// text, as iptables-restore does: the counters end at the first "]", the
// words start right after it (with or without a blank), and a line that
// starts with a blank has no counters. It returns the counters (nil when
// there are none) and where the words start.
//
// iptables-restore -c reads each count with sscanf("%llu"), which takes a
// sign, blanks and trailing junk; without -c it does not read them at all.
// ctmatch keeps the counts, so it takes what iptables-save -c writes: two
// decimal numbers 0-18446744073709551615.
func splitCounters(text string) (*Counters, int, *Error) {
	if !strings.HasPrefix(text, "[") {
		return nil, 0, nil
	}
	end := strings.IndexByte(text, ']')
	if end < 0 {
		w, _, _ := strings.Cut(text, " ")
		return nil, 0, &Error{Pos: 0, Word: w, Text: text,
			Msg: fmt.Sprintf("unterminated counters %q: expected [PACKETS:BYTES] first on the line", w)}
	}
	inner := text[1:end]
	packets, bytes, ok := strings.Cut(inner, ":")
	if !ok {
		return nil, 0, &Error{Pos: 0, Word: text[:end+1], Text: text,
			Msg: fmt.Sprintf("bad counters %q: expected [PACKETS:BYTES]", text[:end+1])}
	}
	c := &Counters{Flag: 0, Prefix: true, PacketsPos: 1, BytesPos: Pos(1 + len(packets) + 1), end: Pos(end + 1)}
	var err *Error
	if c.Packets, err = readCount(text, c.PacketsPos, packets, "packet"); err != nil {
		return nil, 0, err
	}
	if c.Bytes, err = readCount(text, c.BytesPos, bytes, "byte"); err != nil {
		return nil, 0, err
	}
	return c, end + 1, nil
}

// readCount reads a packet or byte count written at pos of text.
func readCount(text string, pos Pos, s, what string) (uint64, *Error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || s == "" || s[0] < '0' || s[0] > '9' {
		e := &Error{Pos: pos, Word: s, Text: text,
			Msg: fmt.Sprintf("bad %s count %q: expected a decimal number 0-18446744073709551615", what, s)}
		if s == "" {
			// An empty count has no byte of its own: point at the
			// separator after it.
			e.Word = text[pos : pos+1]
			e.Msg = fmt.Sprintf("missing %s count: expected a decimal number 0-18446744073709551615", what)
		}
		return 0, e
	}
	return n, nil
}

// setCounters reads -c PACKETS BYTES, -c PACKETS,BYTES and their
// --set-counters spellings; v is the word after -c (or its attached value).
// As in iptables, the byte count is the word after the packet count unless
// the packet count holds a comma.
func (p *parser) setCounters(w, v word) error {
	if c := p.rule.Counters; c != nil {
		if c.Prefix {
			return p.errorf(w, "counters given twice: [%d:%d] first on the line and %s", c.Packets, c.Bytes, w.val)
		}
		return p.errorf(w, "multiple -c flags not allowed")
	}
	c := &Counters{Flag: w.pos, PacketsPos: v.at(0)}
	packets, bytes := v.val, ""
	var bw word
	if i := strings.IndexByte(v.val, ','); i > 0 {
		packets, bytes = v.val[:i], v.val[i+1:]
		c.BytesPos = v.at(i + 1)
		bw = word{val: bytes, pos: c.BytesPos, end: v.end}
		if bytes == "" {
			bw.pos = v.at(i)
		}
	} else {
		if p.i == len(p.words) {
			return p.endError("expected the byte count after %s %s", w.val, v.val)
		}
		bw = p.words[p.i]
		if strings.HasPrefix(bw.val, "-") || strings.HasPrefix(bw.val, "!") {
			return p.errorf(bw, "expected the byte count after %s %s, found %q", w.val, v.val, bw.val)
		}
		p.i++
		bytes, c.BytesPos = bw.val, bw.at(0)
	}
	var err error
	if c.Packets, err = p.count(v, 0, packets, "packet"); err != nil {
		return err
	}
	if c.Bytes, err = p.count(bw, 0, bytes, "byte"); err != nil {
		return err
	}
	c.end = bw.end
	p.rule.Counters = c
	return nil
}

// count reads the packet or byte count item at off of w.
func (p *parser) count(w word, off int, s, what string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || s == "" || s[0] < '0' || s[0] > '9' {
		e := p.itemError(w, off, s, "bad %s count %q: expected a decimal number 0-18446744073709551615", what, s)
		if s == "" {
			e.Msg = fmt.Sprintf("missing %s count: expected a decimal number 0-18446744073709551615", what)
		}
		return 0, e
	}
	return n, nil
}
