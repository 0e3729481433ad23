package parse

import (
	"math"
	"strings"
)

// This file reads the ah match ("-m ah [!] --ahspi SPI[:SPI]", and in
// ip6tables also "[!] --ahlen LENGTH" and "--ahres"), as iptables 1.8.9
// reads it (extensions/libipt_ah.c, libip6t_ah.c: each option at most once;
// --ahspi a number or range 0-4294967295 as strtoul reads each, N alone
// N:N, ":M" 0:M, "N:" N:4294967295; --ahlen a number 0-4294967295; --ahres
// takes no value and no "!") and as iptables-save prints it (--ahspi only
// when it is not every SPI, N when both bounds are equal). iptables' ah
// match is the kernel's ipt_ah, which the kernel takes only after -p ah
// without "!" (x_tables.c, xt_check_match); ip6tables' is ip6t_ah, an
// extension header match that needs no -p. "-p ah --ahspi …" without
// "-m ah" is the same match, which iptables loads by itself at the first
// option no other extension knows (Implicit), and saves with its -m word.

// AH is "-m ah [!] --ahspi A[:B]" (iptables) or "-m ah [!] --ahspi A[:B]
// [!] --ahlen L --ahres" (ip6tables).
type AH struct {
	Module   string `json:"module"`   // "ah"
	Implicit bool   `json:"implicit"` // loaded by -p ah at its first option, with no -m word
	Flag     Pos    `json:"pos"`      // the -m word; the first option (or its !) when implicit
	NamePos  Pos    `json:"name_pos"` // the "ah" word; NoPos when implicit
	// SPI is --ahspi, nil when not given (every SPI).
	SPI *AHSPI `json:"spi,omitempty"`
	// Len is --ahlen, nil when not given (ip6tables only).
	Len *AHLen `json:"len,omitempty"`
	// Res is the position of --ahres, NoPos when not given (ip6tables
	// only): the header's reserved field must be zero.
	Res Pos `json:"res_pos"`
	end Pos
}

// AHSPI is "[!] --ahspi A[:B]".
type AHSPI struct {
	FlagValue
	Lo uint32 `json:"lo"`
	Hi uint32 `json:"hi"`
}

// AHLen is "[!] --ahlen L": the header's length in bytes, (hdrlen+2)*4.
type AHLen struct {
	FlagValue
	N uint32 `json:"n"`
}

func (*AH) isMatch() {}

// Pos returns the position of -m.
func (m *AH) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *AH) End() Pos { return m.end }

func (m *AH) module() string { return "ah" }

// AllSPIs reports whether the match's --ahspi is every SPI, which
// iptables-save does not print.
func (m *AH) AllSPIs() bool {
	return m.SPI == nil || !m.SPI.Negated && m.SPI.Lo == 0 && m.SPI.Hi == math.MaxUint32
}

// String returns the match in canonical iptables-save form, e.g.
// "-m ah ! --ahspi 256:511".
func (m *AH) String() string {
	var p printer
	m.print(&p)
	return p.b.String()
}

func init() {
	extModules["ah"] = &extModule{
		specs: []optSpec{
			{long: "ahspi", what: "an SPI or range of SPIs", ext: "ah", invertible: true},
			{long: "ahlen", what: "a header length", ext: "ah", invertible: true},
			{long: "ahres", ext: "ah"},
		},
		load: func(p *parser, w, v word) (extMatch, error) {
			return &AH{Module: "ah", Flag: w.pos, NamePos: v.pos, Res: NoPos, end: v.end}, nil
		},
	}
}

func (m *AH) option(p *parser, w word, neg *word, spec *optSpec, v word) error {
	if spec.long != "ahspi" && p.opts.Family != IPv6 {
		return p.errorf(w, "unknown option %q: iptables' ah match has only --ahspi (--ahlen and --ahres are ip6tables')", w.val)
	}
	end := v.end
	switch spec.long {
	case "ahspi":
		if m.SPI != nil {
			return p.errorf(w, "ah: option \"--ahspi\" can only be used once")
		}
		lo, hi, err := p.u32Range(v, "ah", "--ahspi")
		if err != nil {
			return err
		}
		m.SPI = &AHSPI{FlagValue: flagValue(w, neg, v), Lo: uint32(lo), Hi: uint32(hi)}
		if lo > hi && p.unsupported == nil {
			p.unsupported = p.unsupportedf(v, "a reversed SPI range %q is valid iptables, but it matches no packet (every AH packet with !), and nft refuses a reversed range", v.val)
			p.unsupported.Hint = "write the range low:high, or leave out the rule"
		}
	case "ahlen":
		if m.Len != nil {
			return p.errorf(w, "ah: option \"--ahlen\" can only be used once")
		}
		n, ok := parseCNumber(v.val, math.MaxUint32)
		if !ok {
			e := p.errorf(v, "ah: bad value %q for option \"--ahlen\"", v.val)
			e.Hint = "expected a number 0-4294967295"
			return e
		}
		m.Len = &AHLen{FlagValue: flagValue(w, neg, v), N: uint32(n)}
	case "ahres":
		if m.Res != NoPos {
			return p.errorf(w, "ah: option \"--ahres\" can only be used once")
		}
		m.Res, end = w.pos, w.end
	}
	if end > m.end {
		m.end = end
	}
	return nil
}

// u32Range reads a range of 32-bit numbers as libxtables' xtopt_parse_mint
// reads XTTYPE_UINT32RC: as u16Range, up to 4294967295.
func (p *parser) u32Range(v word, module, option string) (lo, hi uint64, err error) {
	return p.uintRange(v, module, option, math.MaxUint32)
}

// implicitAH loads the ah match that -p ah loads at option w (iptables'
// xtables_find_match for the rule's protocol), and reads the option into it.
func (p *parser) implicitAH(w word, neg *word, name, attached string, hasValue bool) error {
	m := &AH{Module: "ah", Implicit: true, Flag: w.pos, NamePos: NoPos, Res: NoPos, end: w.end}
	if neg != nil {
		m.Flag = neg.pos
	}
	p.rule.Matches = append(p.rule.Matches, m)
	p.lastExt = append(p.lastExt, m)
	specs := extModules["ah"].specs
	for i := range specs {
		if strings.HasPrefix(specs[i].long, name) {
			return p.extOption(w, neg, &specs[i], attached, hasValue)
		}
	}
	return p.errorf(w, "unknown option %q", w.val)
}

func (m *AH) check(p *parser) error {
	if p.opts.Family == IPv6 || m.Implicit {
		return nil
	}
	pr := p.rule.Protocol
	switch {
	case pr == nil || pr.Num != protoAH:
		return p.matchError(m.NamePos, m.Module, "the ah match needs -p ah: the kernel's ipt_ah is taken only after it")
	case pr.Negated:
		return p.matchError(m.NamePos, m.Module, "the ah match needs -p ah without !: the kernel refuses it after ! -p ah")
	}
	return nil
}

// protoAH is IPPROTO_AH.
const protoAH = 51

func (m *AH) print(p *printer) {
	p.word("-m")
	p.word("ah")
	if o := m.SPI; o != nil && !m.AllSPIs() {
		p.printNeg(o.FlagValue, "--ahspi")
		p.word(rangeValue(uint64(o.Lo), uint64(o.Hi)))
	}
	if o := m.Len; o != nil {
		p.printNeg(o.FlagValue, "--ahlen")
		p.word(uitoa(uint64(o.N)))
	}
	if m.Res != NoPos {
		p.word("--ahres")
	}
}

// rangeValue prints a range as iptables-save does: "N" when both bounds
// are equal, else "N:M".
func rangeValue(lo, hi uint64) string {
	if lo == hi {
		return uitoa(lo)
	}
	return uitoa(lo) + ":" + uitoa(hi)
}
