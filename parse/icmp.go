package parse

import (
	"math"
	"strings"
)

// This file reads the icmp match ("-m icmp --icmp-type", iptables) and the
// icmp6 match ("-m icmp6 --icmpv6-type", ip6tables), as iptables 1.8.9 reads
// them (extensions/libxt_icmp.c, libip6t_icmp6.c and the name tables of
// libxt_icmp.h).

// Protocol numbers of the icmp and icmp6 matches.
const (
	ProtoICMP   uint8 = 1
	ProtoICMPv6 uint8 = 58
)

// ICMP is the icmp or icmp6 match: "-m icmp [!] --icmp-type T[/C]", or the
// same match that iptables loads by itself for -p icmp (-p ipv6-icmp in
// ip6tables) at its option (Implicit; iptables-save prints it with its -m
// word). The packet's ICMP type is Type and its code in CodeMin..CodeMax,
// or not, when Negated; for the icmp match, Type 255 ("any") is every type.
type ICMP struct {
	Module   string `json:"module"` // "icmp" or "icmp6"
	Implicit bool   `json:"implicit"`
	Flag     Pos    `json:"pos"`      // the -m word; the option when implicit
	NamePos  Pos    `json:"name_pos"` // NoPos when implicit
	// The --icmp-type or --icmpv6-type option; nil until it is read.
	Option *ICMPType `json:"option"`
	end    Pos
}

func (*ICMP) isMatch() {}

// Pos returns the position of -m, or of the option when implicit.
func (m *ICMP) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *ICMP) End() Pos { return m.end }

// V6 reports whether the match is ip6tables' icmp6 match.
func (m *ICMP) V6() bool { return m.Module == "icmp6" }

// Proto returns the protocol number the match reads the header of.
func (m *ICMP) Proto() uint8 {
	if m.V6() {
		return ProtoICMPv6
	}
	return ProtoICMP
}

// OptionName returns "--icmp-type" or "--icmpv6-type".
func (m *ICMP) OptionName() string {
	if m.V6() {
		return "--icmpv6-type"
	}
	return "--icmp-type"
}

// ICMPType is "[!] --icmp-type VALUE" or "[!] --icmpv6-type VALUE".
type ICMPType struct {
	FlagValue
	Type    uint8 `json:"type"`
	CodeMin uint8 `json:"code_min"`
	CodeMax uint8 `json:"code_max"`
}

// AnyCode reports whether every code of the type matches.
func (o *ICMPType) AnyCode() bool { return o.CodeMin == 0 && o.CodeMax == math.MaxUint8 }

// icmpAny is the type of the icmp match that matches every ICMP packet
// (ip_tables.c, icmp_type_code_match: test_type == 0xFF).
const icmpAny = 0xFF

// ValueString returns the value as iptables-save prints it: "any" (the icmp
// match's type 255, whatever its codes), "8" (every code), "3/3".
func (o *ICMPType) ValueString(v6 bool) string {
	if !v6 && o.Type == icmpAny {
		return "any"
	}
	s := uitoa(uint64(o.Type))
	if !o.AnyCode() {
		s += "/" + uitoa(uint64(o.CodeMin))
	}
	return s
}

// icmpName is a name of iptables' ICMP type tables: the type and the codes
// it stands for.
type icmpName struct {
	name     string
	typ      uint8
	min, max uint8
}

// icmpNames is libxt_icmp.h's icmp_codes, in its order.
var icmpNames = []icmpName{
	{"any", 0xFF, 0, 0xFF},
	{"echo-reply", 0, 0, 0xFF}, {"pong", 0, 0, 0xFF},
	{"destination-unreachable", 3, 0, 0xFF},
	{"network-unreachable", 3, 0, 0}, {"host-unreachable", 3, 1, 1}, {"protocol-unreachable", 3, 2, 2},
	{"port-unreachable", 3, 3, 3}, {"fragmentation-needed", 3, 4, 4}, {"source-route-failed", 3, 5, 5},
	{"network-unknown", 3, 6, 6}, {"host-unknown", 3, 7, 7}, {"network-prohibited", 3, 9, 9},
	{"host-prohibited", 3, 10, 10}, {"TOS-network-unreachable", 3, 11, 11}, {"TOS-host-unreachable", 3, 12, 12},
	{"communication-prohibited", 3, 13, 13}, {"host-precedence-violation", 3, 14, 14}, {"precedence-cutoff", 3, 15, 15},
	{"source-quench", 4, 0, 0xFF},
	{"redirect", 5, 0, 0xFF},
	{"network-redirect", 5, 0, 0}, {"host-redirect", 5, 1, 1}, {"TOS-network-redirect", 5, 2, 2}, {"TOS-host-redirect", 5, 3, 3},
	{"echo-request", 8, 0, 0xFF}, {"ping", 8, 0, 0xFF},
	{"router-advertisement", 9, 0, 0xFF},
	{"router-solicitation", 10, 0, 0xFF},
	{"time-exceeded", 11, 0, 0xFF}, {"ttl-exceeded", 11, 0, 0xFF},
	{"ttl-zero-during-transit", 11, 0, 0}, {"ttl-zero-during-reassembly", 11, 1, 1},
	{"parameter-problem", 12, 0, 0xFF},
	{"ip-header-bad", 12, 0, 0}, {"required-option-missing", 12, 1, 1},
	{"timestamp-request", 13, 0, 0xFF},
	{"timestamp-reply", 14, 0, 0xFF},
	{"address-mask-request", 17, 0, 0xFF},
	{"address-mask-reply", 18, 0, 0xFF},
}

// icmpv6Names is libxt_icmp.h's icmpv6_codes, in its order.
var icmpv6Names = []icmpName{
	{"destination-unreachable", 1, 0, 0xFF},
	{"no-route", 1, 0, 0}, {"communication-prohibited", 1, 1, 1}, {"beyond-scope", 1, 2, 2},
	{"address-unreachable", 1, 3, 3}, {"port-unreachable", 1, 4, 4}, {"failed-policy", 1, 5, 5}, {"reject-route", 1, 6, 6},
	{"packet-too-big", 2, 0, 0xFF},
	{"time-exceeded", 3, 0, 0xFF}, {"ttl-exceeded", 3, 0, 0xFF},
	{"ttl-zero-during-transit", 3, 0, 0}, {"ttl-zero-during-reassembly", 3, 1, 1},
	{"parameter-problem", 4, 0, 0xFF},
	{"bad-header", 4, 0, 0}, {"unknown-header-type", 4, 1, 1}, {"unknown-option", 4, 2, 2},
	{"echo-request", 128, 0, 0xFF}, {"ping", 128, 0, 0xFF},
	{"echo-reply", 129, 0, 0xFF}, {"pong", 129, 0, 0xFF},
	{"router-solicitation", 133, 0, 0xFF},
	{"router-advertisement", 134, 0, 0xFF},
	{"neighbour-solicitation", 135, 0, 0xFF}, {"neighbor-solicitation", 135, 0, 0xFF},
	{"neighbour-advertisement", 136, 0, 0xFF}, {"neighbor-advertisement", 136, 0, 0xFF},
	{"redirect", 137, 0, 0xFF},
}

var icmpSpecs = []optSpec{{long: "icmp-type", what: "an ICMP type", icmp: true}}
var icmpv6Specs = []optSpec{{long: "icmpv6-type", what: "an ICMPv6 type", icmp: true}}

// icmpModule returns the icmp match's name for -m NAME, or "".
func (p *parser) icmpModule(name string) string {
	switch {
	case p.opts.Family == IPv6 && (name == "icmp6" || name == "icmpv6" || name == "ipv6-icmp"):
		return "icmp6"
	case p.opts.Family != IPv6 && name == "icmp":
		return "icmp"
	}
	return ""
}

// icmpSpecsLoaded returns the options of the icmp match that may come now:
// one was loaded with -m, or -p names its protocol (iptables loads the match
// at its option).
func (p *parser) icmpSpecsLoaded() []optSpec {
	v6 := p.opts.Family == IPv6
	loaded := p.lastICMP != nil
	if pr := p.rule.Protocol; !loaded && pr != nil {
		loaded = !v6 && pr.Num == ProtoICMP || v6 && pr.Num == ProtoICMPv6
	}
	switch {
	case !loaded:
		return nil
	case v6:
		return icmpv6Specs
	}
	return icmpSpecs
}

// icmpOption reads --icmp-type or --icmpv6-type into the last icmp match,
// or into the match -p loads at it.
func (p *parser) icmpOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastICMP
	if m == nil {
		module := "icmp"
		if p.opts.Family == IPv6 {
			module = "icmp6"
		}
		m = &ICMP{Module: module, Implicit: true, Flag: w.pos, NamePos: NoPos}
		if neg != nil {
			m.Flag = neg.pos
		}
		p.rule.Matches = append(p.rule.Matches, m)
		p.lastICMP = m
	}
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	if m.Option != nil {
		return p.errorf(w, "%s: option \"%s\" can only be used once", m.Module, m.OptionName())
	}
	o := &ICMPType{FlagValue: FlagValue{Flag: w.pos, NegPos: NoPos, Value: Word{Text: v.val, At: v.pos}}}
	if neg != nil {
		o.Negated, o.NegPos = true, neg.pos
	}
	if err := p.icmpType(v, m.V6(), o); err != nil {
		return err
	}
	m.Option = o
	m.end = v.end
	return nil
}

// icmpType reads an ICMP type as libxt_icmp's parse_icmp does: a name of the
// table, or a unique prefix of one, in any case; else a number 0-255 (as C's
// strtoul with base 0 reads it), with "/CODE" or without (every code).
func (p *parser) icmpType(v word, v6 bool, o *ICMPType) error {
	names, what := icmpNames, "ICMP"
	if v6 {
		names, what = icmpv6Names, "ICMPv6"
	}
	found := -1
	for i, n := range names {
		if len(v.val) <= len(n.name) && strings.EqualFold(n.name[:len(v.val)], v.val) {
			if found >= 0 {
				e := p.errorf(v, "ambiguous %s type %q: %q or %q?", what, v.val, names[found].name, n.name)
				e.Hint = "write more of the name, or the type's number"
				return e
			}
			found = i
		}
	}
	if found >= 0 {
		n := names[found]
		o.Type, o.CodeMin, o.CodeMax = n.typ, n.min, n.max
		return nil
	}
	typ, code, hasCode := strings.Cut(v.val, "/")
	t, ok := parseCNumber(typ, math.MaxUint8)
	if !ok {
		e := p.errorf(v, "unknown %s type %q", what, v.val)
		e.Hint = "expected a type number 0-255, TYPE/CODE or a name such as echo-request"
		return e
	}
	o.Type, o.CodeMin, o.CodeMax = uint8(t), 0, math.MaxUint8
	if hasCode {
		c, ok := parseCNumber(code, math.MaxUint8)
		if !ok {
			e := p.errorf(v, "unknown %s code %q", what, v.val)
			e.Hint = "expected a code number 0-255 after the /"
			return e
		}
		o.CodeMin, o.CodeMax = uint8(c), uint8(c)
	}
	return nil
}

// checkICMP checks, once every word is read, what iptables and the kernel
// check of an icmp match: it has its option, and -p names its protocol,
// without "!" (ipt_icmp's checkentry-time protocol, IPPROTO_ICMP, needs
// the rule to fix it).
func (p *parser) checkICMP(m *ICMP) error {
	at := m.NamePos
	if m.Implicit {
		at = m.Flag
	}
	e := &Error{Pos: at, Text: p.text}
	e.Word = p.text[at:min(int(at)+len(m.Module), len(p.text))]
	proto := "icmp"
	if m.V6() {
		proto = "ipv6-icmp"
	}
	pr := p.rule.Protocol
	switch {
	case m.Option == nil:
		e.Msg = m.Module + ": option \"" + m.OptionName() + "\" must be specified"
		return e
	case pr == nil || pr.Num != m.Proto():
		e.Msg = "the " + m.Module + " match needs -p " + proto
		return e
	case pr.Negated:
		e.Msg = "the " + m.Module + " match needs -p " + proto + " without !: the kernel refuses it after ! -p"
		return e
	}
	return nil
}

// icmp prints the match as iptables-save does: "-m icmp ! --icmp-type 3/3".
func (p *printer) icmp(m *ICMP) {
	p.word("-m")
	p.word(m.Module)
	if o := m.Option; o != nil {
		if o.Negated {
			p.word("!")
		}
		p.word(m.OptionName())
		p.word(o.ValueString(m.V6()))
	}
}

// String returns the match in canonical iptables-save form, e.g.
// "-m icmp --icmp-type 8".
func (m *ICMP) String() string {
	var p printer
	p.icmp(m)
	return p.b.String()
}
