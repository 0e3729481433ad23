package parse

import (
	"fmt"
	"strings"
)

// This file reads the addrtype match ("-m addrtype [!] --src-type TYPES
// [!] --dst-type TYPES [--limit-iface-in|--limit-iface-out]"), as iptables
// 1.8.9 reads it (extensions/libxt_addrtype.c, revision 1): a type list is
// names separated by commas, each name any prefix of a type's name in any
// case, the first type in the kernel's order that it starts (parse_type's
// strncasecmp: "U" is UNSPEC, "loc" LOCAL); each option at most once, "!"
// before the type options only, the two interface limits exclusive, and at
// least one type option.

// AddrTypes is a set of address types, as the kernel's bit mask
// (XT_ADDRTYPE_*: bit n is route type n of linux/rtnetlink.h, RTN_UNSPEC
// to RTN_XRESOLVE).
type AddrTypes uint16

// The address types, in the kernel's order.
const (
	AddrUnspec      AddrTypes = 1 << iota // UNSPEC (RTN_UNSPEC)
	AddrUnicast                           // UNICAST
	AddrLocal                             // LOCAL
	AddrBroadcast                         // BROADCAST
	AddrAnycast                           // ANYCAST
	AddrMulticast                         // MULTICAST
	AddrBlackhole                         // BLACKHOLE
	AddrUnreachable                       // UNREACHABLE
	AddrProhibit                          // PROHIBIT
	AddrThrow                             // THROW
	AddrNAT                               // NAT
	AddrXResolve                          // XRESOLVE
)

// addrTypeNames are the types' names in the kernel's order (rtn_names).
var addrTypeNames = [...]string{"UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
	"BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"}

// AddrTypeName returns the name of route type n (0-11): "LOCAL" for 2.
func AddrTypeName(n int) string {
	if n < 0 || n >= len(addrTypeNames) {
		return ""
	}
	return addrTypeNames[n]
}

// String returns the types as iptables-save lists them: their names in the
// kernel's order, separated by commas ("UNICAST,LOCAL").
func (t AddrTypes) String() string {
	var b strings.Builder
	for i, n := range addrTypeNames {
		if t&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// MarshalText gives the types in the JSON syntax tree as iptables-save
// lists them.
func (t AddrTypes) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Single returns the route type number when t holds exactly one type.
func (t AddrTypes) Single() (int, bool) {
	if t == 0 || t&(t-1) != 0 {
		return 0, false
	}
	for i := range addrTypeNames {
		if t == 1<<i {
			return i, true
		}
	}
	return 0, false
}

// Addrtype is "-m addrtype …": the type of the source or destination
// address, as the kernel's routing tables say (xt_addrtype).
type Addrtype struct {
	Module  string          `json:"module"`   // "addrtype"
	Flag    Pos             `json:"pos"`      // the -m word
	NamePos Pos             `json:"name_pos"` // the match name
	Src     *AddrtypeOption `json:"src_type,omitempty"`
	Dst     *AddrtypeOption `json:"dst_type,omitempty"`
	// Limit is --limit-iface-in or --limit-iface-out; nil when neither.
	Limit *AddrtypeLimit `json:"limit_iface,omitempty"`
	end   Pos
}

func (*Addrtype) isMatch() {}

// Pos returns the position of -m.
func (m *Addrtype) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Addrtype) End() Pos { return m.end }

// AddrtypeOption is "[!] --src-type TYPES" or "[!] --dst-type TYPES".
type AddrtypeOption struct {
	Flag    Pos       `json:"pos"`
	Negated bool      `json:"negated"`
	NegPos  Pos       `json:"neg_pos"`
	Value   Word      `json:"value"`
	Types   AddrTypes `json:"types"`
}

// Pos returns the start of the option: its "!" when negated.
func (o *AddrtypeOption) Pos() Pos {
	if o.Negated {
		return o.NegPos
	}
	return o.Flag
}

// End returns the end of the option's value.
func (o *AddrtypeOption) End() Pos { return o.Value.End() }

// AddrtypeLimit is "--limit-iface-in" (the types are looked up for the
// packet's input interface) or "--limit-iface-out" (its output interface).
type AddrtypeLimit struct {
	Flag Pos  `json:"pos"`
	Out  bool `json:"out"`
	end  Pos
}

// Pos returns the position of the option.
func (l *AddrtypeLimit) Pos() Pos { return l.Flag }

// End returns the end of the option.
func (l *AddrtypeLimit) End() Pos { return l.end }

// Name returns the option's name: "--limit-iface-in" or "--limit-iface-out".
func (l *AddrtypeLimit) Name() string {
	if l.Out {
		return "--limit-iface-out"
	}
	return "--limit-iface-in"
}

// addrtypeOpt says which option of the addrtype match a spec is.
type addrtypeOpt uint8

const (
	addrtypeSrc addrtypeOpt = iota + 1
	addrtypeDst
	addrtypeLimitIn
	addrtypeLimitOut
)

var addrtypeSpecs = []optSpec{
	{long: "src-type", what: "an address type list", addrtype: addrtypeSrc},
	{long: "dst-type", what: "an address type list", addrtype: addrtypeDst},
	{long: "limit-iface-in", addrtype: addrtypeLimitIn},
	{long: "limit-iface-out", addrtype: addrtypeLimitOut},
}

// addrtypeSpecsLoaded returns the addrtype match's options when one was
// loaded, or nil.
func (p *parser) addrtypeSpecsLoaded() []optSpec {
	if p.lastAddrtype == nil {
		return nil
	}
	return addrtypeSpecs
}

// addrtypeMatch reads -m addrtype.
func (p *parser) addrtypeMatch(w, v word) error {
	m := &Addrtype{Module: "addrtype", Flag: w.pos, NamePos: v.pos, end: v.end}
	p.rule.Matches = append(p.rule.Matches, m)
	p.lastAddrtype = m
	return nil
}

// addrtypeOption reads an option of the last addrtype match.
func (p *parser) addrtypeOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastAddrtype
	name := "--" + spec.long
	switch spec.addrtype {
	case addrtypeLimitIn, addrtypeLimitOut:
		if neg != nil {
			return p.errorf(*neg, "addrtype: option \"%s\" cannot be inverted", name)
		}
		if hasValue {
			return p.errorf(w, "option %s takes no value", name)
		}
		out := spec.addrtype == addrtypeLimitOut
		if l := m.Limit; l != nil {
			if l.Out == out {
				return p.errorf(w, "addrtype: option \"%s\" can only be used once", name)
			}
			return p.errorf(w, "addrtype: option \"%s\" cannot be used together with \"%s\"", name, l.Name())
		}
		m.Limit = &AddrtypeLimit{Flag: w.pos, Out: out, end: w.end}
		m.end = max(m.end, w.end)
		return nil
	}
	slot := &m.Src
	if spec.addrtype == addrtypeDst {
		slot = &m.Dst
	}
	if *slot != nil {
		return p.errorf(w, "addrtype: option \"%s\" can only be used once", name)
	}
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	types, err := p.addrTypes(v)
	if err != nil {
		return err
	}
	o := &AddrtypeOption{Flag: w.pos, NegPos: NoPos, Value: Word{Text: p.text[v.pos:v.end], At: v.pos}, Types: types}
	if neg != nil {
		o.Negated, o.NegPos = true, neg.pos
	}
	*slot = o
	m.end = max(m.end, v.end)
	return nil
}

// addrTypes reads a type list as parse_types does: each item a prefix, in
// any case, of a type's name, the first such type in the kernel's order.
func (p *parser) addrTypes(v word) (AddrTypes, error) {
	var t AddrTypes
	off := 0
	for {
		item, rest, more := strings.Cut(v.val[off:], ",")
		n := addrTypeByPrefix(item)
		if n < 0 {
			var e *Error
			if v.val == "" {
				e = p.errorf(v, "addrtype: bad type %q", item)
			} else {
				e = p.itemError(v, off, item, "addrtype: bad type %q", item)
			}
			if more {
				e.Msg = fmt.Sprintf("addrtype: bad type %q in %q", item, v.val[off:])
			}
			e.Hint = "expected UNSPEC, UNICAST, LOCAL, BROADCAST, ANYCAST, MULTICAST, BLACKHOLE, UNREACHABLE, PROHIBIT, THROW, NAT or XRESOLVE, separated by commas"
			return 0, e
		}
		t |= 1 << n
		if !more {
			return t, nil
		}
		off = len(v.val) - len(rest)
	}
}

// addrTypeByPrefix returns the first type whose name starts with s, in any
// case, or -1 (s empty, or no such type).
func addrTypeByPrefix(s string) int {
	if s == "" {
		return -1
	}
	for i, n := range addrTypeNames {
		if len(s) <= len(n) && strings.EqualFold(s, n[:len(s)]) {
			return i
		}
	}
	return -1
}

// addrtypeV6Invalid are the types the kernel refuses in an ip6tables rule
// (addrtype_mt_checkentry_v1: BLACKHOLE, BROADCAST and PROHIBIT and every
// type after it).
const addrtypeV6Invalid = AddrBroadcast | AddrBlackhole | AddrProhibit | AddrThrow | AddrNAT | AddrXResolve

// checkAddrtype checks, once every word is read, what iptables and the
// kernel check of the match (a type option given; in ip6tables, types IPv6
// has), and says what ctmatch cannot translate exactly.
func (p *parser) checkAddrtype(m *Addrtype) error {
	if m.Src == nil && m.Dst == nil {
		return &Error{Pos: m.NamePos, Word: p.text[m.NamePos:min(int(m.NamePos)+len(m.Module), len(p.text))], Text: p.text,
			Msg: "addrtype: you must specify --src-type or --dst-type"}
	}
	for _, o := range []*AddrtypeOption{m.Src, m.Dst} {
		if o == nil {
			continue
		}
		if p.opts.Family == IPv6 && o.Types&addrtypeV6Invalid != 0 {
			e := &Error{Pos: o.Value.At, Word: o.Value.Text, Text: p.text,
				Msg: "addrtype: the kernel matches no " + (o.Types & addrtypeV6Invalid).String() + " type of IPv6 address (xt_addrtype refuses the rule)"}
			e.Hint = "IPv6 addresses can be UNSPEC, UNICAST, LOCAL, ANYCAST, MULTICAST or UNREACHABLE"
			return e
		}
	}
	if p.unsupported != nil {
		return nil
	}
	if p.opts.Family == IPv6 {
		e := &Error{Pos: m.NamePos, Word: p.text[m.NamePos:min(int(m.NamePos)+len(m.Module), len(p.text))], Text: p.text, Kind: Unsupported,
			Msg: "ip6tables' addrtype match is valid, but nft's fib does not test IPv6 addresses as it does: xt_addrtype checks UNICAST, MULTICAST and UNSPEC on the address alone and looks up the route of the destination only, nft's fib looks the route up with the source and flow label and gives one type per address"}
		e.Hint = "match the address classes with -d or -s prefixes (MULTICAST is ff00::/8), or write nft's fib rule yourself if its meaning is what you want"
		p.unsupported = e
		return nil
	}
	return nil
}

// addrtype prints the match as iptables-save does:
// "-m addrtype ! --src-type LOCAL --dst-type UNICAST --limit-iface-in".
func (p *printer) addrtype(m *Addrtype) {
	p.word("-m")
	p.word(m.Module)
	for _, o := range []struct {
		name string
		o    *AddrtypeOption
	}{{"--src-type", m.Src}, {"--dst-type", m.Dst}} {
		if o.o == nil {
			continue
		}
		if o.o.Negated {
			p.word("!")
		}
		p.word(o.name)
		p.word(o.o.Types.String())
	}
	if m.Limit != nil {
		p.word(m.Limit.Name())
	}
}

// String returns the match in canonical iptables-save form.
func (m *Addrtype) String() string {
	var p printer
	p.addrtype(m)
	return p.b.String()
}
