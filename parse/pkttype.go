package parse

import "strings"

// This file reads the pkttype match ("-m pkttype [!] --pkt-type TYPE"), as
// iptables 1.8.9 reads it (extensions/libxt_pkttype.c): one option, which
// must be given, at most once, "!" allowed; TYPE a name of its table,
// compared without regard to case (strcasecmp), and iptables-save prints
// the first name of the table with that value.

// PktType is a link-layer packet type, the kernel's skb->pkt_type
// (PACKET_* of linux/if_packet.h).
type PktType uint8

// The packet types the pkttype match names.
const (
	PktHost      PktType = 0 // PACKET_HOST: "unicast" (also "host")
	PktBroadcast PktType = 1 // PACKET_BROADCAST: "broadcast" (also "bcast")
	PktMulticast PktType = 2 // PACKET_MULTICAST: "multicast" (also "mcast")
	PktOtherHost PktType = 3 // PACKET_OTHERHOST: "otherhost"
)

// pktTypeNames are libxt_pkttype's supported_types, in its order: the
// first name of a value is the one iptables-save prints.
var pktTypeNames = []struct {
	name string
	t    PktType
}{
	{"unicast", PktHost}, {"broadcast", PktBroadcast}, {"multicast", PktMulticast}, {"otherhost", PktOtherHost},
	{"bcast", PktBroadcast}, {"mcast", PktMulticast}, {"host", PktHost},
}

// String returns the type's name as iptables-save prints it.
func (t PktType) String() string {
	for _, n := range pktTypeNames {
		if n.t == t {
			return n.name
		}
	}
	return uitoa(uint64(t))
}

// MarshalText gives the type's name in the JSON syntax tree.
func (t PktType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Pkttype is "-m pkttype [!] --pkt-type TYPE": the packet's link-layer type.
type Pkttype struct {
	Module  string  `json:"module"`     // "pkttype"
	Flag    Pos     `json:"pos"`        // the -m word
	NamePos Pos     `json:"name_pos"`   // the match name
	Option  Pos     `json:"option_pos"` // the --pkt-type word; NoPos before it is read
	Negated bool    `json:"negated"`
	NegPos  Pos     `json:"neg_pos"`
	Value   Word    `json:"value"`
	Type    PktType `json:"type"`
	set     bool
	end     Pos
}

func (*Pkttype) isMatch() {}

// Pos returns the position of -m.
func (m *Pkttype) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Pkttype) End() Pos { return m.end }

var pkttypeSpecs = []optSpec{{long: "pkt-type", what: "a packet type", pkttype: true}}

// pkttypeMatch reads -m pkttype.
func (p *parser) pkttypeMatch(w, v word) error {
	m := &Pkttype{Module: "pkttype", Flag: w.pos, NamePos: v.pos, Option: NoPos, NegPos: NoPos, end: v.end}
	p.rule.Matches = append(p.rule.Matches, m)
	p.lastPkttype = m
	return nil
}

// pkttypeOption reads --pkt-type TYPE for the last pkttype match.
func (p *parser) pkttypeOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastPkttype
	if m.set {
		return p.errorf(w, "pkttype: option \"--pkt-type\" can only be used once")
	}
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	t, ok := PktType(0), false
	for _, n := range pktTypeNames {
		if strings.EqualFold(v.val, n.name) {
			t, ok = n.t, true
			break
		}
	}
	if !ok {
		e := p.errorf(v, "bad packet type %q", v.val)
		e.Hint = "expected unicast, broadcast, multicast or otherhost (or host, bcast, mcast)"
		return e
	}
	m.Option, m.Value, m.Type, m.set = w.pos, Word{Text: p.text[v.pos:v.end], At: v.pos}, t, true
	if neg != nil {
		m.Negated, m.NegPos = true, neg.pos
	}
	m.end = max(m.end, v.end)
	return nil
}

// checkPkttype checks that the match got its option ("must be specified").
func (p *parser) checkPkttype(m *Pkttype) error {
	if m.set {
		return nil
	}
	return &Error{Pos: m.NamePos, Word: p.text[m.NamePos:min(int(m.NamePos)+len(m.Module), len(p.text))], Text: p.text,
		Msg: "pkttype: option \"--pkt-type\" must be specified"}
}

// pkttype prints the match as iptables-save does: "-m pkttype ! --pkt-type
// broadcast".
func (p *printer) pkttype(m *Pkttype) {
	p.word("-m")
	p.word(m.Module)
	if m.set {
		if m.Negated {
			p.word("!")
		}
		p.word("--pkt-type")
		p.word(m.Type.String())
	}
}

// String returns the match in canonical iptables-save form.
func (m *Pkttype) String() string {
	var p printer
	p.pkttype(m)
	return p.b.String()
}
