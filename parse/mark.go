package parse

import (
	"math"
	"strconv"
	"strings"
)

// This file reads the mark match ("-m mark [!] --mark VALUE[/MASK]") and
// the connmark match ("-m connmark [!] --mark VALUE[/MASK]"), as iptables
// 1.8.9 reads them (extensions/libxt_mark.c, libxt_connmark.c): one
// XTTYPE_MARKMASK32 option, mandatory, invertible, at most once, each part a
// 32-bit number in C notation (decimal, 0x hex, leading-0 octal), the mask
// all ones when not given. iptables-save prints both parts in hex, the mask
// only when it is not all ones: "--mark 0x1/0xff".

// Mark is "-m mark --mark V[/M]" (the packet's mark) or "-m connmark --mark
// V[/M]" (its conntrack's mark).
type Mark struct {
	Module  string      `json:"module"`   // "mark" or "connmark"
	Flag    Pos         `json:"pos"`      // the -m word
	NamePos Pos         `json:"name_pos"` // the match name
	Option  *MarkOption `json:"option"`   // nil until it is read
	end     Pos
}

func (*Mark) isMatch() {}

// Pos returns the position of -m.
func (m *Mark) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Mark) End() Pos { return m.end }

// Conn reports whether the match is the connmark match.
func (m *Mark) Conn() bool { return m.Module == "connmark" }

// MarkOption is "[!] --mark VALUE[/MASK]": the match holds when (mark &
// Mask) == Value, or, negated, when it does not.
type MarkOption struct {
	Flag    Pos    `json:"pos"`
	Negated bool   `json:"negated"`
	NegPos  Pos    `json:"neg_pos"`
	Word    Word   `json:"value"` // VALUE[/MASK] as written
	Value   uint32 `json:"mark"`
	Mask    uint32 `json:"mask"` // 0xffffffff when not written
}

// Pos returns the start of the option: its "!" when negated.
func (o *MarkOption) Pos() Pos {
	if o.Negated {
		return o.NegPos
	}
	return o.Flag
}

// End returns the end of the option's value.
func (o *MarkOption) End() Pos { return o.Word.End() }

// markSpecs is the one option of the mark and connmark matches.
var markSpecs = []optSpec{{long: "mark", what: "a mark VALUE[/MASK]", mark: true}}

// markMatch reads -m mark or -m connmark.
func (p *parser) markMatch(w, v word) error {
	m := &Mark{Module: v.val, Flag: w.pos, NamePos: v.pos, end: v.end}
	p.rule.Matches = append(p.rule.Matches, m)
	p.lastMark = m
	return nil
}

// markOption reads --mark of the last mark or connmark match.
func (p *parser) markOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastMark
	if m.Option != nil {
		return p.errorf(w, "%s: option \"--mark\" can only be used once", m.Module)
	}
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	val, mask, err := p.markValue(m.Module, v)
	if err != nil {
		return err
	}
	o := &MarkOption{Flag: w.pos, NegPos: NoPos, Word: Word{Text: v.val, At: v.pos}, Value: val, Mask: mask}
	if neg != nil {
		o.Negated, o.NegPos = true, neg.pos
	}
	m.Option = o
	m.end = v.end
	return nil
}

// markValue reads VALUE[/MASK] as xtopt_parse_markmask does, each part
// with xtables_strtoui (base 0, at most 2³²−1). iptables' strtoul also
// skips leading blanks and takes a sign; ctmatch does not.
func (p *parser) markValue(module string, v word) (uint32, uint32, error) {
	num, maskText, hasMask := strings.Cut(v.val, "/")
	bad := func(off int, item string) error {
		e := p.itemError(v, off, item, "%s: bad integer value %q for option \"--mark\", or out of range", module, item)
		e.Hint = "expected VALUE or VALUE/MASK, each a number 0-4294967295 (decimal, 0x hex or leading-0 octal)"
		return e
	}
	if i := strings.IndexAny(num, ":,"); i > 0 {
		if _, ok := parseCNumber(num[:i], math.MaxUint32); ok {
			return 0, 0, p.itemError(v, i, num[i:], "%s: trailing garbage after value for option \"--mark\"", module)
		}
	}
	val, ok := parseCNumber(num, math.MaxUint32)
	if !ok {
		return 0, 0, bad(0, num)
	}
	mask := uint64(math.MaxUint32)
	if hasMask {
		if mask, ok = parseCNumber(maskText, math.MaxUint32); !ok {
			return 0, 0, bad(len(num)+1, maskText)
		}
	}
	return uint32(val), uint32(mask), nil
}

// checkMark checks, once every word is read, that the match got its
// option.
func (p *parser) checkMark(m *Mark) error {
	if m.Option != nil {
		return nil
	}
	return &Error{Pos: m.NamePos, Word: p.text[m.NamePos:min(int(m.NamePos)+len(m.Module), len(p.text))], Text: p.text,
		Msg: m.Module + ": option \"--mark\" must be specified"}
}

// MarkText returns VALUE[/MASK] as iptables-save prints it: "0x1/0xff",
// or "0x1" when the mask is all ones.
func MarkText(value, mask uint32) string {
	s := "0x" + strconv.FormatUint(uint64(value), 16)
	if mask != math.MaxUint32 {
		s += "/0x" + strconv.FormatUint(uint64(mask), 16)
	}
	return s
}

// mark prints the match as iptables-save does: "-m mark ! --mark 0x1/0xff".
func (p *printer) mark(m *Mark) {
	p.word("-m")
	p.word(m.Module)
	if o := m.Option; o != nil {
		if o.Negated {
			p.word("!")
		}
		p.word("--mark")
		p.word(MarkText(o.Value, o.Mask))
	}
}

// String returns the match in canonical iptables-save form.
func (m *Mark) String() string {
	var p printer
	p.mark(m)
	return p.b.String()
}
