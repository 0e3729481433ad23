package parse

import (
	"fmt"
	"math"
	"strings"
)

// This file reads the multiport match ("-m multiport --sports|--dports|
// --ports P[,P|,LO:HI…]"), as iptables 1.8.9 reads it (extensions/
// libxt_multiport.c, revision 1): one option per match, "!" before it, a
// comma list of ports and ranges counting at most 15 ports (a range counts
// two), a range LO:HI with LO below HI, and -p naming tcp, udp, udplite,
// sctp or dccp without "!". --source-ports and --destination-ports are
// names of --sports and --dports too.

// MultiportKind says which port a multiport option tests.
type MultiportKind uint8

// The multiport options, in the kernel's XT_MULTIPORT_* order.
const (
	MultiSrc    MultiportKind = iota + 1 // --sports, --source-ports: the source port
	MultiDst                             // --dports, --destination-ports: the destination port
	MultiEither                          // --ports: the source or the destination port
)

// MaxMultiports is the most ports a multiport option lists
// (XT_MULTI_PORTS); a range counts two.
const MaxMultiports = 15

// MarshalText returns the option's name as iptables-save prints it:
// "--sports", "--dports" or "--ports".
func (k MultiportKind) MarshalText() ([]byte, error) {
	switch k {
	case MultiSrc, MultiDst, MultiEither:
		return []byte(k.String()), nil
	}
	return nil, fmt.Errorf("parse: unknown multiport option %d", uint8(k))
}

// String returns the option's name as iptables-save prints it.
func (k MultiportKind) String() string {
	switch k {
	case MultiSrc:
		return "--sports"
	case MultiDst:
		return "--dports"
	}
	return "--ports"
}

// longName is the option's name in iptables' messages.
func (k MultiportKind) longName() string {
	switch k {
	case MultiSrc:
		return "--source-ports"
	case MultiDst:
		return "--destination-ports"
	}
	return "--ports"
}

// Multiport is the multiport match.
type Multiport struct {
	Module  string `json:"module"`   // "multiport"
	Flag    Pos    `json:"pos"`      // the -m word
	NamePos Pos    `json:"name_pos"` // the match name
	// The option; nil until it is read.
	Option *MultiportOption `json:"option"`
	end    Pos
}

func (*Multiport) isMatch() {}

// Pos returns the position of -m.
func (m *Multiport) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Multiport) End() Pos { return m.end }

// PortRange is one item of a multiport list: the port Lo (Lo == Hi) or the
// range Lo:Hi, with Lo below Hi.
type PortRange struct {
	At Pos    `json:"pos"` // where the item starts
	Lo uint16 `json:"lo"`
	Hi uint16 `json:"hi"`
}

// MultiportOption is "[!] --sports|--dports|--ports LIST".
type MultiportOption struct {
	Kind MultiportKind `json:"option"`
	FlagValue
	Ports []PortRange `json:"ports"` // in the order written, duplicates kept
}

// multiportSpecs are the options of the multiport match.
var multiportSpecs = []optSpec{
	{long: "source-ports", what: "a list of ports and port ranges", multiport: MultiSrc},
	{long: "sports", what: "a list of ports and port ranges", multiport: MultiSrc},
	{long: "destination-ports", what: "a list of ports and port ranges", multiport: MultiDst},
	{long: "dports", what: "a list of ports and port ranges", multiport: MultiDst},
	{long: "ports", what: "a list of ports and port ranges", multiport: MultiEither},
}

// multiportProtos are the protocols the multiport match reads ports of
// (libxt_multiport's check_proto).
var multiportProtos = map[uint8]bool{6: true, 17: true, 33: true, 132: true, 136: true}

// multiportMatch reads -m multiport.
func (p *parser) multiportMatch(w, v word) error {
	m := &Multiport{Module: "multiport", Flag: w.pos, NamePos: v.pos, end: v.end}
	p.rule.Matches = append(p.rule.Matches, m)
	p.lastMultiport = m
	return nil
}

// multiportSpec returns the multiport option name names, when the last
// multiport match may take it ahead of the others: by its exact name, or,
// before a tcp or udp match is loaded (-p loads its match only at an option
// no loaded extension knows), by an abbreviation of one of its options that
// no option of iptables' own shares.
func (p *parser) multiportSpec(name string) *optSpec {
	if p.lastMultiport == nil || name == "" {
		return nil
	}
	for i := range multiportSpecs {
		if multiportSpecs[i].long == name {
			return &multiportSpecs[i]
		}
	}
	if p.lastPorts != nil {
		return nil
	}
	for i := range frameOptions {
		if strings.HasPrefix(frameOptions[i].long, name) {
			return nil
		}
	}
	var found *optSpec
	for i := range multiportSpecs {
		s := &multiportSpecs[i]
		if !strings.HasPrefix(s.long, name) {
			continue
		}
		if found != nil && found.multiport != s.multiport {
			return nil
		}
		if found == nil {
			found = s
		}
	}
	return found
}

// multiportOption reads an option of the last multiport match.
func (p *parser) multiportOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastMultiport
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	if o := m.Option; o != nil {
		if o.Kind == spec.multiport {
			return p.errorf(w, "multiport: option \"%s\" can only be used once", spec.multiport.longName())
		}
		return p.errorf(w, "multiport: option \"%s\" cannot be used together with \"%s\"", spec.multiport.longName(), o.Kind.longName())
	}
	// iptables checks -p as its option's parser runs (libxt_multiport's
	// check_proto, from __multiport_parse_v1), so a -p after the option
	// comes too late.
	if e := p.multiportProto(m); e != nil {
		if p.rule.Protocol == nil {
			e.Hint = "iptables checks the protocol as it reads the ports: give -p before the multiport option"
		}
		return e
	}
	o := &MultiportOption{Kind: spec.multiport, FlagValue: FlagValue{Flag: w.pos, NegPos: NoPos, Value: Word{Text: v.val, At: v.pos}}}
	if neg != nil {
		o.Negated, o.NegPos = true, neg.pos
	}
	count, off := 0, 0
	for _, item := range strings.Split(v.val, ",") {
		r, err := p.multiportItem(v, item, off)
		if err != nil {
			return err
		}
		count++
		if r.Lo != r.Hi {
			count++
		}
		if count > MaxMultiports {
			e := p.itemError(v, off, item, "too many ports specified: at most %d, a range counting two", MaxMultiports)
			e.Hint = "split the ports over several rules"
			return e
		}
		o.Ports = append(o.Ports, r)
		off += len(item) + 1
	}
	m.Option = o
	m.end = v.end
	return nil
}

// multiportItem reads one item of a multiport list at offset off of v: a
// port, or LO:HI with LO below HI (parse_multi_ports_v1).
func (p *parser) multiportItem(v word, item string, off int) (PortRange, error) {
	r := PortRange{At: v.at(off)}
	first, second, isRange := strings.Cut(item, ":")
	if first == "" && isRange {
		return r, p.itemError(v, off, ":", "invalid port/service \"\" specified: expected a port before \":\"")
	}
	if first == "" {
		return r, p.itemError(v, off, item, "invalid port/service \"\" specified: expected a port or LO:HI")
	}
	lo, err := p.port(v, first, off)
	if err != nil {
		return r, err
	}
	r.Lo, r.Hi = uint16(lo), uint16(lo)
	if !isRange {
		return r, nil
	}
	soff := off + len(first) + 1
	if second == "" {
		return r, p.itemError(v, soff-1, ":", "invalid port/service \"\" specified: expected a port after \":\"")
	}
	hi, err := p.port(v, second, soff)
	if err != nil {
		return r, err
	}
	if lo >= hi {
		e := p.itemError(v, off, item, "invalid portrange %q specified: the first port must be below the second", item)
		if lo == hi {
			e.Hint = "write one port as " + uitoa(lo)
		}
		return r, e
	}
	r.Hi = uint16(min(hi, math.MaxUint16))
	return r, nil
}

// checkMultiport checks, once every word is read, what iptables checks of a
// multiport match (libxt_multiport's check and check_proto): it got an
// option, and -p names one of the protocols it reads ports of, without "!".
func (p *parser) checkMultiport(m *Multiport) error {
	if m.Option == nil {
		e := p.multiportError(m)
		e.Msg = "multiport needs one of the options --sports, --dports or --ports"
		return e
	}
	if e := p.multiportProto(m); e != nil {
		return e
	}
	return nil
}

// multiportProto checks the rule's protocol as read so far for the
// multiport match m (libxt_multiport's check_proto): -p names one of the
// protocols it reads ports of, without "!".
func (p *parser) multiportProto(m *Multiport) *Error {
	pr := p.rule.Protocol
	var msg string
	switch {
	case pr == nil || pr.Num == 0:
		msg = "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"
	case pr.Negated || !multiportProtos[pr.Num]:
		msg = "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP"
		if pr.Negated {
			msg += ", not after ! -p"
		}
	default:
		return nil
	}
	e := p.multiportError(m)
	e.Msg = msg
	return e
}

// multiportError is an error at the name of the multiport match m.
func (p *parser) multiportError(m *Multiport) *Error {
	word := p.text[m.NamePos:min(int(m.NamePos)+len("multiport"), len(p.text))]
	return &Error{Pos: m.NamePos, Word: word, Text: p.text}
}

// String returns the match in canonical iptables-save form, e.g.
// "-m multiport ! --dports 80,443,8000:8100".
func (m *Multiport) String() string {
	var p printer
	p.multiport(m)
	return p.b.String()
}

// multiport prints the match as iptables-save does: the list in the order
// written, duplicates kept, each port as a number.
func (p *printer) multiport(m *Multiport) {
	p.word("-m")
	p.word("multiport")
	o := m.Option
	if o == nil {
		return
	}
	if o.Negated {
		p.word("!")
	}
	p.word(o.Kind.String())
	p.word(o.ValueString())
}

// ValueString returns the list as iptables-save prints it: "80,443,8000:8100".
func (o *MultiportOption) ValueString() string {
	var b strings.Builder
	for i, r := range o.Ports {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(uitoa(uint64(r.Lo)))
		if r.Hi != r.Lo {
			b.WriteByte(':')
			b.WriteString(uitoa(uint64(r.Hi)))
		}
	}
	return b.String()
}
