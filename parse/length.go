package parse

import (
	"math"
	"strings"
)

// This file reads the length match ("-m length [!] --length N[:M]"), as
// iptables 1.8.9 reads it (extensions/libxt_length.c: one XTTYPE_UINT16RC
// option, mandatory, invertible, at most once per match; N alone is N:N,
// ":M" is 0:M and "N:" is N:65535) and as iptables-save prints it (N when
// both bounds are equal, else N:M).

// Length is "-m length [!] --length N[:M]": the packet's IP length (IPv4
// total length, IPv6 payload length plus 40) is in Min..Max, or not, when
// negated.
type Length struct {
	Module  string `json:"module"`   // "length"
	Flag    Pos    `json:"pos"`      // the -m word
	NamePos Pos    `json:"name_pos"` // the "length" word
	// The --length option; nil until it is read.
	Option *LengthOption `json:"option"`
	end    Pos
}

// LengthOption is "[!] --length N[:M]".
type LengthOption struct {
	FlagValue
	Min uint16 `json:"min"`
	Max uint16 `json:"max"`
}

func (*Length) isMatch() {}

// Pos returns the position of -m.
func (m *Length) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Length) End() Pos { return m.end }

func (m *Length) module() string { return "length" }

// String returns the match in canonical iptables-save form, e.g.
// "-m length ! --length 0:99".
func (m *Length) String() string {
	var p printer
	m.print(&p)
	return p.b.String()
}

// LengthValue returns the value of --length as iptables-save prints it:
// "N" when min and max are equal, else "N:M".
func LengthValue(min, max uint16) string {
	if min == max {
		return uitoa(uint64(min))
	}
	return uitoa(uint64(min)) + ":" + uitoa(uint64(max))
}

func init() {
	extModules["length"] = &extModule{
		specs: []optSpec{{long: "length", what: "a length or range of lengths", ext: "length", invertible: true}},
		load: func(p *parser, w, v word) (extMatch, error) {
			return &Length{Module: "length", Flag: w.pos, NamePos: v.pos, end: v.end}, nil
		},
	}
}

func (m *Length) option(p *parser, w word, neg *word, spec *optSpec, v word) error {
	if m.Option != nil {
		return p.errorf(w, "length: option \"--length\" can only be used once")
	}
	lo, hi, err := p.u16Range(v, "length", "--length")
	if err != nil {
		return err
	}
	m.Option = &LengthOption{FlagValue: flagValue(w, neg, v), Min: uint16(lo), Max: uint16(hi)}
	m.end = v.end
	// A reversed range (lo above hi) is taken as iptables takes it:
	// xt_length's test (pktlen >= min && pktlen <= max) never holds, so the
	// match holds for no packet (with !, for every packet).
	return nil
}

// u16Range reads a value of libxtables' XTTYPE_UINT16RC, as its
// xtopt_parse_mint reads it: one or two numbers separated by ":", each as
// C's strtoul with base 0 reads it, 0-65535; an empty low bound is 0 and an
// empty high bound 65535. A reversed range is returned as it is.
func (p *parser) u16Range(v word, module, option string) (lo, hi uint64, err error) {
	return p.uintRange(v, module, option, math.MaxUint16)
}

// uintRange reads a range as u16Range does, its numbers up to max.
func (p *parser) uintRange(v word, module, option string, max uint64) (lo, hi uint64, err error) {
	first, second, isRange := strings.Cut(v.val, ":")
	if i := strings.IndexByte(second, ':'); i >= 0 {
		return 0, 0, p.itemError(v, len(first)+1+i, second[i:], "%s: too many components for option \"%s\" (max: 2)", module, option)
	}
	num := func(s string, off int, dflt uint64) (uint64, error) {
		if s == "" && isRange {
			return dflt, nil
		}
		n, ok := parseCNumber(s, max)
		if !ok {
			e := p.itemError(v, off, s, "%s: bad value %q for option \"%s\"", module, s, option)
			e.Hint = "expected a number 0-" + uitoa(max) + " (decimal, 0x hex or leading-0 octal), or a range N:M"
			return 0, e
		}
		return n, nil
	}
	if lo, err = num(first, 0, 0); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = num(second, len(first)+1, max); err != nil {
			return 0, 0, err
		}
	}
	return lo, hi, nil
}

func (m *Length) check(p *parser) error {
	if m.Option != nil {
		return nil
	}
	return p.matchError(m.NamePos, m.Module, "length: option \"--length\" must be specified")
}

func (m *Length) print(p *printer) {
	p.word("-m")
	p.word("length")
	if o := m.Option; o != nil {
		p.printNeg(o.FlagValue, "--length")
		p.word(LengthValue(o.Min, o.Max))
	}
}
