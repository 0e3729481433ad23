package parse

import (
	"fmt"
	"math"
)

// This file reads the ttl match ("-m ttl --ttl-eq|--ttl-lt|--ttl-gt N",
// iptables) and the hl match ("-m hl --hl-eq|--hl-lt|--hl-gt N",
// ip6tables), as iptables 1.8.9 reads them (extensions/libipt_ttl.c and
// libip6t_hl.c): one option per match, a number 0-255, "!" only before the
// equality, and "--ttl" ("--hl") a name of the equality too.

// HLKind is the comparison of a ttl or hl match's option.
type HLKind uint8

// The comparisons of the ttl and hl matches.
const (
	HLEq HLKind = iota + 1 // --ttl-eq, --hl-eq: the field equals N (or not, with !)
	HLLt                   // --ttl-lt, --hl-lt: the field is below N
	HLGt                   // --ttl-gt, --hl-gt: the field is above N
)

// HL is the ttl match (iptables, the IPv4 header's time to live) or the hl
// match (ip6tables, the IPv6 header's hop limit).
type HL struct {
	Module  string `json:"module"`   // "ttl" or "hl"
	Flag    Pos    `json:"pos"`      // the -m word
	NamePos Pos    `json:"name_pos"` // the match name
	// The option; nil until it is read.
	Option *HLOption `json:"option"`
	end    Pos
}

func (*HL) isMatch() {}

// Pos returns the position of -m.
func (m *HL) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *HL) End() Pos { return m.end }

// V6 reports whether the match is ip6tables' hl match.
func (m *HL) V6() bool { return m.Module == "hl" }

// MarshalText gives the comparison's name in the JSON syntax tree: "eq",
// "lt" or "gt".
func (k HLKind) MarshalText() ([]byte, error) {
	switch k {
	case HLEq:
		return []byte("eq"), nil
	case HLLt:
		return []byte("lt"), nil
	case HLGt:
		return []byte("gt"), nil
	}
	return nil, fmt.Errorf("parse: unknown ttl or hl comparison %d", uint8(k))
}

// HLOption is "[!] --ttl-eq N", "--ttl-lt N", "--ttl-gt N" or the same
// options of the hl match.
type HLOption struct {
	Flag    Pos    `json:"pos"`
	Kind    HLKind `json:"kind"`
	Negated bool   `json:"negated"` // only with HLEq
	NegPos  Pos    `json:"neg_pos"`
	Value   Word   `json:"value"`
	N       uint8  `json:"n"`
}

// Pos returns the start of the option: its "!" when negated.
func (o *HLOption) Pos() Pos {
	if o.Negated {
		return o.NegPos
	}
	return o.Flag
}

// End returns the end of the option's value.
func (o *HLOption) End() Pos { return o.Value.End() }

// HLOptionName returns the option's canonical name in the match module:
// "--ttl-eq", "--hl-lt".
func HLOptionName(module string, k HLKind) string {
	switch k {
	case HLLt:
		return "--" + module + "-lt"
	case HLGt:
		return "--" + module + "-gt"
	}
	return "--" + module + "-eq"
}

// The options of the two matches, each with the alias iptables keeps for
// the equality ("--ttl" is "--ttl-eq").
var (
	ttlSpecs = []optSpec{
		{long: "ttl-eq", what: "a TTL value 0-255", hl: HLEq},
		{long: "ttl-lt", what: "a TTL value 0-255", hl: HLLt},
		{long: "ttl-gt", what: "a TTL value 0-255", hl: HLGt},
		{long: "ttl", what: "a TTL value 0-255", hl: HLEq},
	}
	hlSpecs = []optSpec{
		{long: "hl-eq", what: "a hop limit 0-255", hl: HLEq},
		{long: "hl-lt", what: "a hop limit 0-255", hl: HLLt},
		{long: "hl-gt", what: "a hop limit 0-255", hl: HLGt},
		{long: "hl", what: "a hop limit 0-255", hl: HLEq},
	}
)

// hlMatch reads -m ttl (iptables) or -m hl (ip6tables). Neither tool loads
// the other family's match ("Couldn't load match").
func (p *parser) hlMatch(w, v word) error {
	v6 := p.opts.Family == IPv6
	switch {
	case v6 && v.val == "ttl":
		e := p.errorf(v, "unknown match %q: ip6tables has no ttl match", v.val)
		e.Hint = "the IPv6 header's hop limit is matched with -m hl --hl-eq|--hl-lt|--hl-gt"
		return e
	case !v6 && v.val == "hl":
		e := p.errorf(v, "unknown match %q: iptables has no hl match", v.val)
		e.Hint = "the IPv4 header's TTL is matched with -m ttl --ttl-eq|--ttl-lt|--ttl-gt; -m hl is for ip6tables words (-6)"
		return e
	}
	m := &HL{Module: v.val, Flag: w.pos, NamePos: v.pos, end: v.end}
	p.rule.Matches = append(p.rule.Matches, m)
	p.lastHL = m
	return nil
}

// hlSpecsLoaded returns the options of the ttl or hl match when one was
// loaded, or nil.
func (p *parser) hlSpecsLoaded() []optSpec {
	switch {
	case p.lastHL == nil:
		return nil
	case p.lastHL.V6():
		return hlSpecs
	}
	return ttlSpecs
}

// hlSpecExact returns the option of the loaded match whose name is name
// exactly: getopt takes "--ttl" as itself, not as an abbreviation.
func (p *parser) hlSpecExact(name string) *optSpec {
	specs := p.hlSpecsLoaded()
	for i := range specs {
		if specs[i].long == name {
			return &specs[i]
		}
	}
	return nil
}

// hlOption reads an option of the last ttl or hl match.
func (p *parser) hlOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastHL
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	name := HLOptionName(m.Module, spec.hl)
	if neg != nil && spec.hl != HLEq {
		return p.errorf(*neg, "%s: option \"%s\" cannot be inverted", m.Module, name)
	}
	if o := m.Option; o != nil {
		if o.Kind == spec.hl {
			return p.errorf(w, "%s: option \"%s\" can only be used once", m.Module, name)
		}
		return p.errorf(w, "%s: option \"%s\" cannot be used together with \"%s\"", m.Module, name, HLOptionName(m.Module, o.Kind))
	}
	n, ok := parseCNumber(v.val, math.MaxUint8)
	if !ok {
		e := p.errorf(v, "%s: bad value %q for option \"%s\"", m.Module, v.val, name)
		e.Hint = "expected a number 0-255 (decimal, 0x hex or leading-0 octal)"
		return e
	}
	o := &HLOption{Flag: w.pos, Kind: spec.hl, NegPos: NoPos, Value: Word{Text: v.val, At: v.pos}, N: uint8(n)}
	if neg != nil {
		o.Negated, o.NegPos = true, neg.pos
	}
	m.Option = o
	m.end = v.end
	return nil
}

// checkHL checks, once every word is read, that the match got its option
// (libipt_ttl's ttl_check: "You must specify one of ...").
func (p *parser) checkHL(m *HL) error {
	if m.Option != nil {
		return nil
	}
	return &Error{Pos: m.NamePos, Word: p.text[m.NamePos:min(int(m.NamePos)+len(m.Module), len(p.text))], Text: p.text,
		Msg: m.Module + ": one of the options \"" + HLOptionName(m.Module, HLEq) + "\", \"" + HLOptionName(m.Module, HLLt) + "\", \"" + HLOptionName(m.Module, HLGt) + "\" must be specified"}
}

// hl prints the match as iptables-save does: "-m ttl ! --ttl-eq 64".
func (p *printer) hl(m *HL) {
	p.word("-m")
	p.word(m.Module)
	if o := m.Option; o != nil {
		if o.Negated {
			p.word("!")
		}
		p.word(HLOptionName(m.Module, o.Kind))
		p.word(uitoa(uint64(o.N)))
	}
}

// String returns the match in canonical iptables-save form, e.g.
// "-m hl --hl-lt 5".
func (m *HL) String() string {
	var p printer
	p.hl(m)
	return p.b.String()
}
