package expr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds the statements a rule runs on the packets it matches,
// after its counter and before (or instead of) its verdict: one type per
// statement kind, each with its nft text, its wire expressions (what nft
// 1.0.6 sends for that text) and its raise from what nft sends and what the
// kernel dumps.
//
//   - Reject: "reject with icmp type port-unreachable", "reject with icmpv6
//     type admin-prohibited", "reject with tcp reset" (nft_reject: type,
//     code). A terminal statement: the packet is dropped after it.
//   - NAT: "snat to 10.0.0.1-10.0.0.9:1024-2000 persistent", "dnat to
//     [2001:db8::1]:80", in inet tables "snat ip to …" (nft_nat: immediates
//     into registers 1, 2, … for the addresses and ports, then nat).
//   - Masquerade: "masquerade to :1024-2000 random,fully-random" (nft_masq).
//   - Redirect: "redirect to :8080" (nft_redir).
//
// A statement kind to come (log, meta mark set, ct set, notrack, …) is one
// more type here with the same five faces: appendText, checkStmt, lower,
// raise (a case of raiser.stmt) and, when libnftnl spells it, a debug body.

// Stmt is a statement of a rule. It is sealed: the implementations are the
// types of this package.
type Stmt interface {
	isStmt()
}

// RejectType is nft_reject's type, with the kernel's NFT_REJECT_* value.
type RejectType uint8

// Reject types.
const (
	RejectICMP     RejectType = 0 // NFT_REJECT_ICMP_UNREACH: an ICMP (ip) or ICMPv6 (ip6) destination unreachable of Code
	RejectTCPReset RejectType = 1 // NFT_REJECT_TCP_RST: a TCP reset
)

// Reject is nft's reject statement: it answers the packet with an ICMP
// (Family FamilyIP) or ICMPv6 (FamilyIP6) destination unreachable of code
// Code, or with a TCP reset, and drops it. The wire does not say which ICMP:
// it is the packet's family, the table's or in an inet table the one the
// rule's meta nfproto names, and Lower refuses a Family that is not that one
// (nft's icmpx, for both families at once, is not a Reject).
type Reject struct {
	Type   RejectType
	Family Family // FamilyIP or FamilyIP6 for RejectICMP; 0 for RejectTCPReset
	Code   uint8  // the ICMP or ICMPv6 code, for RejectICMP; 0 for RejectTCPReset
}

func (Reject) isStmt() {}

// ICMP destination unreachable codes (RFC 792, 1812) and their nft names.
var icmpCodeNames = map[uint8]string{
	0: "net-unreachable", 1: "host-unreachable", 2: "prot-unreachable", 3: "port-unreachable",
	9: "net-prohibited", 10: "host-prohibited", 13: "admin-prohibited",
}

// ICMPv6 destination unreachable codes (RFC 4443) and their nft names.
var icmp6CodeNames = map[uint8]string{
	0: "no-route", 1: "admin-prohibited", 3: "addr-unreachable", 4: "port-unreachable",
	5: "policy-fail", 6: "reject-route",
}

// NATFlags are the options of a NAT statement, as nft spells them.
type NATFlags uint8

// NAT flags.
const (
	NATRandom      NATFlags = 1 << iota // "random": NF_NAT_RANGE_PROTO_RANDOM
	NATFullyRandom                      // "fully-random": NF_NAT_RANGE_PROTO_RANDOM_FULLY
	NATPersistent                       // "persistent": NF_NAT_RANGE_PERSISTENT
)

// The kernel's NF_NAT_RANGE_* bits (include/uapi/linux/netfilter/nf_nat.h).
const (
	rangeMapIPs         = 0x01 // NF_NAT_RANGE_MAP_IPS
	rangeProtoSpecified = 0x02 // NF_NAT_RANGE_PROTO_SPECIFIED
	rangeProtoRandom    = 0x04 // NF_NAT_RANGE_PROTO_RANDOM
	rangePersistent     = 0x08 // NF_NAT_RANGE_PERSISTENT
	rangeRandomFully    = 0x10 // NF_NAT_RANGE_PROTO_RANDOM_FULLY
)

// wire returns the NF_NAT_RANGE_* bits nft sends for f, with
// PROTO_SPECIFIED when the statement has ports.
func (f NATFlags) wire(ports bool) uint32 {
	var w uint32
	if ports {
		w |= rangeProtoSpecified
	}
	if f&NATRandom != 0 {
		w |= rangeProtoRandom
	}
	if f&NATFullyRandom != 0 {
		w |= rangeRandomFully
	}
	if f&NATPersistent != 0 {
		w |= rangePersistent
	}
	return w
}

// Ports is a range of transport ports a NAT statement maps to: Min..Max,
// inclusive. The zero Ports is none; a single port has Max == Min.
type Ports struct {
	Min, Max uint16
}

// IsZero reports whether p is no ports.
func (p Ports) IsZero() bool { return p == Ports{} }

// NATType says which address a NAT statement rewrites.
type NATType uint8

// NAT types, with the kernel's NFT_NAT_* values.
const (
	SNAT NATType = 0 // NFT_NAT_SNAT: "snat"
	DNAT NATType = 1 // NFT_NAT_DNAT: "dnat"
)

// NAT is nft's snat or dnat statement: the connection's source (SNAT) or
// destination (DNAT) becomes an address of Addr..AddrMax (AddrMax invalid
// for one address) and, with Ports, a port of that range.
type NAT struct {
	Type    NATType
	Addr    netip.Addr
	AddrMax netip.Addr // invalid for a single address
	Ports   Ports
	Flags   NATFlags
}

func (NAT) isStmt() {}

// Masquerade is nft's masquerade statement: the source becomes the address
// of the interface the packet leaves by and, with Ports, a port of that
// range.
type Masquerade struct {
	Ports Ports
	Flags NATFlags // NATRandom, NATFullyRandom (nft takes persistent too)
}

func (Masquerade) isStmt() {}

// Redirect is nft's redirect statement: the destination becomes the
// address of the interface the packet came in by (the host itself) and,
// with Ports, a port of that range.
type Redirect struct {
	Ports Ports
	Flags NATFlags
}

func (Redirect) isStmt() {}

// netFamily returns the network family the rule's packets have in a table of
// family f: the table's, or in an inet table the one its meta nfproto
// names; 0 when that is not known.
func netFamily(ms []Match, f Family) Family {
	if f == FamilyIP || f == FamilyIP6 {
		return f
	}
	for _, m := range ms {
		if n, ok := m.(Nfproto); ok {
			return n.Family
		}
	}
	return 0
}

// appendStmt writes the nft text of s. inet says the rule has a meta
// nfproto, as only rules of inet tables do.
func appendStmt(b []byte, s Stmt, inet bool) []byte {
	switch s := s.(type) {
	case Reject:
		return s.appendText(b)
	case NAT:
		return s.appendText(b, inet)
	case Masquerade:
		return appendNATTail(append(b, "masquerade"...), s.Ports, s.Flags)
	case Redirect:
		return appendNATTail(append(b, "redirect"...), s.Ports, s.Flags)
	case Log:
		return s.appendText(b)
	case LogGroup:
		return s.appendText(b)
	case SetMark:
		return s.appendText(b)
	case CombineMarks:
		return s.appendText(b)
	case Notrack:
		return append(b, "notrack"...)
	case SetDSCP:
		return s.appendText(b)
	case SetCtZone:
		return s.appendText(b)
	case Netmap:
		return s.appendText(b, inet)
	}
	return appendInvalid(b, fmt.Sprintf("statement %T", s))
}

// appendText writes "reject with icmp type NAME", "reject with icmpv6 type
// NAME" or "reject with tcp reset".
func (r Reject) appendText(b []byte) []byte {
	switch r.Type {
	case RejectTCPReset:
		return append(b, "reject with tcp reset"...)
	case RejectICMP:
		names, word := icmpCodeNames, "icmp"
		switch r.Family {
		case FamilyIP:
		case FamilyIP6:
			names, word = icmp6CodeNames, "icmpv6"
		default:
			return appendInvalid(b, "reject of family "+strconv.FormatUint(uint64(r.Family), 10))
		}
		name, ok := names[r.Code]
		if !ok {
			return appendInvalid(b, "reject with "+word+" code "+strconv.FormatUint(uint64(r.Code), 10))
		}
		return append(b, "reject with "+word+" type "+name...)
	}
	return appendInvalid(b, "reject type "+strconv.FormatUint(uint64(r.Type), 10))
}

// appendText writes "snat to ADDR[-ADDR][:PORT[-PORT]] [FLAGS]"; in an inet
// rule (inet true) "snat ip to …" or "snat ip6 to …".
func (n NAT) appendText(b []byte, inet bool) []byte {
	b, ok := appendNATTextHead(b, n.Type, n.Addr, inet, " without an address")
	if !ok {
		return b
	}
	b = append(b, " to "...)
	bracket := n.Addr.Is6() && !n.Ports.IsZero()
	if bracket {
		b = append(b, '[')
	}
	b = n.Addr.AppendTo(b)
	if bracket {
		b = append(b, ']')
	}
	if n.AddrMax.IsValid() {
		b = append(b, '-')
		if bracket {
			b = append(b, '[')
		}
		b = n.AddrMax.AppendTo(b)
		if bracket {
			b = append(b, ']')
		}
	}
	if !n.Ports.IsZero() {
		b = appendPorts(b, n.Ports)
	}
	return appendNATFlags(b, n.Flags)
}

// appendNATTail writes " to :PORT[-PORT]" and the flags of masquerade and
// redirect.
func appendNATTail(b []byte, p Ports, f NATFlags) []byte {
	if !p.IsZero() {
		b = appendPorts(append(b, " to "...), p)
	}
	return appendNATFlags(b, f)
}

func appendPorts(b []byte, p Ports) []byte {
	b = strconv.AppendUint(append(b, ':'), uint64(p.Min), 10)
	if p.Max != p.Min {
		b = strconv.AppendUint(append(b, '-'), uint64(p.Max), 10)
	}
	return b
}

// appendNATFlags writes " random,fully-random,persistent", in nft's order.
func appendNATFlags(b []byte, f NATFlags) []byte {
	sep := byte(' ')
	for _, x := range []struct {
		f    NATFlags
		name string
	}{{NATRandom, "random"}, {NATFullyRandom, "fully-random"}, {NATPersistent, "persistent"}} {
		if f&x.f != 0 {
			b = append(append(b, sep), x.name...)
			sep = ','
		}
	}
	if f&^(NATRandom|NATFullyRandom|NATPersistent) != 0 {
		b = appendInvalid(append(b, ' '), "nat flags "+strconv.FormatUint(uint64(f), 10))
	}
	return b
}

// checkStmt says why s cannot be encoded for a rule whose packets are of
// family nf (0: not known, in an inet table without meta nfproto).
func checkStmt(s Stmt, nf Family) error {
	switch s := s.(type) {
	case Reject:
		switch s.Type {
		case RejectTCPReset:
			if s.Code != 0 || s.Family != 0 {
				return errors.New("a tcp reset with an ICMP code or family")
			}
			return nil
		case RejectICMP:
			names := icmpCodeNames
			switch {
			case nf == 0:
				return errors.New("an ICMP reject in a rule of no one family (nft's icmpx is not a Reject)")
			case s.Family != nf:
				return fmt.Errorf("an ICMP reject of family %v for packets of family %v", s.Family, nf)
			case nf == FamilyIP6:
				names = icmp6CodeNames
			}
			if _, ok := names[s.Code]; !ok {
				return fmt.Errorf("ICMP code %d has no nft name", s.Code)
			}
			return nil
		}
		return fmt.Errorf("reject type %d", s.Type)
	case NAT:
		if s.Type != SNAT && s.Type != DNAT {
			return fmt.Errorf("nat type %d", s.Type)
		}
		if !s.Addr.IsValid() || s.Addr.Zone() != "" {
			return errors.New("nat without an address (or with a zone)")
		}
		if s.AddrMax.IsValid() && (s.AddrMax.Is4() != s.Addr.Is4() || s.AddrMax.Less(s.Addr) || s.AddrMax.Zone() != "") {
			return errors.New("nat address range of two families, reversed, or with a zone")
		}
		if nf != 0 && (nf == FamilyIP) != s.Addr.Is4() {
			return errors.New("nat to an address of the other family")
		}
		return checkNATTail(s.Ports, s.Flags)
	case Masquerade:
		return checkNATTail(s.Ports, s.Flags)
	case Redirect:
		return checkNATTail(s.Ports, s.Flags)
	case Log:
		return s.check()
	case LogGroup:
		return s.check()
	case SetMark:
		return s.check()
	case CombineMarks:
		return s.check()
	case Notrack:
		return nil
	case SetDSCP:
		return s.check(nf)
	case SetCtZone:
		return s.check()
	case Netmap:
		return s.check(nf)
	}
	return fmt.Errorf("statement %T", s)
}

func checkNATTail(p Ports, f NATFlags) error {
	if !p.IsZero() && (p.Min == 0 || p.Max < p.Min) {
		return fmt.Errorf("port range %d-%d", p.Min, p.Max)
	}
	if f&^(NATRandom|NATFullyRandom|NATPersistent) != 0 {
		return fmt.Errorf("nat flags %#x", uint8(f))
	}
	return nil
}

// Attributes of the statements' expressions.
const (
	attrRejectType     = 1 // NFTA_REJECT_TYPE
	attrRejectICMPCode = 2 // NFTA_REJECT_ICMP_CODE

	attrNATType        = 1 // NFTA_NAT_TYPE
	attrNATFamily      = 2 // NFTA_NAT_FAMILY
	attrNATRegAddrMin  = 3 // NFTA_NAT_REG_ADDR_MIN
	attrNATRegAddrMax  = 4 // NFTA_NAT_REG_ADDR_MAX
	attrNATRegProtoMin = 5 // NFTA_NAT_REG_PROTO_MIN
	attrNATRegProtoMax = 6 // NFTA_NAT_REG_PROTO_MAX
	attrNATFlags       = 7 // NFTA_NAT_FLAGS

	attrMasqFlags       = 1 // NFTA_MASQ_FLAGS
	attrMasqRegProtoMin = 2 // NFTA_MASQ_REG_PROTO_MIN
	attrMasqRegProtoMax = 3 // NFTA_MASQ_REG_PROTO_MAX

	attrRedirRegProtoMin = 1 // NFTA_REDIR_REG_PROTO_MIN
	attrRedirRegProtoMax = 2 // NFTA_REDIR_REG_PROTO_MAX
	attrRedirFlags       = 3 // NFTA_REDIR_FLAGS
)

func init() {
	schemas["reject"] = map[uint16]attrKind{attrRejectType: kindU32, attrRejectICMPCode: kindU8}
	schemas["nat"] = map[uint16]attrKind{
		attrNATType: kindU32, attrNATFamily: kindU32, attrNATRegAddrMin: kindU32, attrNATRegAddrMax: kindU32,
		attrNATRegProtoMin: kindU32, attrNATRegProtoMax: kindU32, attrNATFlags: kindU32,
	}
	schemas["masq"] = map[uint16]attrKind{attrMasqFlags: kindU32, attrMasqRegProtoMin: kindU32, attrMasqRegProtoMax: kindU32}
	schemas["redir"] = map[uint16]attrKind{attrRedirRegProtoMin: kindU32, attrRedirRegProtoMax: kindU32, attrRedirFlags: kindU32}
}

// lowerStmt encodes s as nft 1.0.6 does, in a table of family f: the
// values of nat, masquerade and redirect go by immediates into registers
// 1, 2, … in the order address, last address, port, last port.
func lowerStmt(ae *nfnl.Encoder, s Stmt, f Family) {
	switch s := s.(type) {
	case Reject:
		at := ae.BeginExpr("reject")
		ae.U32(attrRejectType, uint32(s.Type))
		ae.U8(attrRejectICMPCode, s.Code)
		ae.EndExpr(at)
	case NAT:
		reg := uint32(reg1)
		var addrMin, addrMax, protoMin, protoMax uint32
		addrMin = putImmediate(ae, &reg, s.Addr.AsSlice())
		if s.AddrMax.IsValid() {
			addrMax = putImmediate(ae, &reg, s.AddrMax.AsSlice())
		}
		protoMin, protoMax = putPorts(ae, &reg, s.Ports)
		at := ae.BeginExpr("nat")
		ae.U32(attrNATType, uint32(s.Type))
		fam := FamilyIP
		if !s.Addr.Is4() {
			fam = FamilyIP6
		}
		ae.U32(attrNATFamily, uint32(fam))
		ae.U32(attrNATRegAddrMin, addrMin)
		if addrMax != 0 {
			ae.U32(attrNATRegAddrMax, addrMax)
		}
		if protoMin != 0 {
			ae.U32(attrNATRegProtoMin, protoMin)
		}
		if protoMax != 0 {
			ae.U32(attrNATRegProtoMax, protoMax)
		}
		if w := s.Flags.wire(!s.Ports.IsZero()); w != 0 {
			ae.U32(attrNATFlags, w)
		}
		ae.EndExpr(at)
	case Masquerade:
		reg := uint32(reg1)
		protoMin, protoMax := putPorts(ae, &reg, s.Ports)
		at := ae.BeginExpr("masq")
		if w := s.Flags.wire(!s.Ports.IsZero()); w != 0 {
			ae.U32(attrMasqFlags, w)
		}
		if protoMin != 0 {
			ae.U32(attrMasqRegProtoMin, protoMin)
		}
		if protoMax != 0 {
			ae.U32(attrMasqRegProtoMax, protoMax)
		}
		ae.EndExpr(at)
	case Redirect:
		reg := uint32(reg1)
		protoMin, protoMax := putPorts(ae, &reg, s.Ports)
		at := ae.BeginExpr("redir")
		if protoMin != 0 {
			ae.U32(attrRedirRegProtoMin, protoMin)
		}
		if protoMax != 0 {
			ae.U32(attrRedirRegProtoMax, protoMax)
		}
		if w := s.Flags.wire(!s.Ports.IsZero()); w != 0 {
			ae.U32(attrRedirFlags, w)
		}
		ae.EndExpr(at)
	case Log:
		s.lower(ae)
	case LogGroup:
		s.lower(ae)
	case SetMark:
		s.lower(ae)
	case CombineMarks:
		s.lower(ae)
	case Notrack:
		s.lower(ae)
	case SetDSCP:
		s.lower(ae)
	case SetCtZone:
		s.lower(ae)
	case Netmap:
		s.lower(ae)
	}
}

// putImmediate loads value into register *reg, returns that register and
// moves *reg to the next one.
func putImmediate(ae *nfnl.Encoder, reg *uint32, value []byte) uint32 {
	r := *reg
	at := ae.BeginExpr("immediate")
	ae.U32(attrImmediateDreg, r)
	ae.Value(attrImmediateData, value)
	ae.EndExpr(at)
	*reg = r + 1
	return r
}

// putPorts loads the first and, when it differs, the last port (2 bytes,
// big endian) of p; it returns their registers, 0 for none.
func putPorts(ae *nfnl.Encoder, reg *uint32, p Ports) (min, max uint32) {
	if p.IsZero() {
		return 0, 0
	}
	min = putImmediate(ae, reg, binary.BigEndian.AppendUint16(nil, p.Min))
	if p.Max != p.Min {
		max = putImmediate(ae, reg, binary.BigEndian.AppendUint16(nil, p.Max))
	}
	return min, max
}

// stmt reads the statement at expression i, whose values the immediates
// before it loaded (vals, by register slot).
func (p *raiser) stmt(i int, vals map[int][]byte) (Stmt, error) {
	e := &p.es[i]
	// value returns the bytes the register attribute typ names, of the
	// sizes allowed.
	value := func(typ uint16, sizes ...int) ([]byte, error) {
		slot := regSlot(e.u[typ])
		v, ok := vals[slot]
		if slot < 0 || !ok {
			return nil, p.fail(i, "reads register %d, which no immediate before it loaded", e.u[typ])
		}
		for _, n := range sizes {
			if len(v) == n {
				return v, nil
			}
		}
		return nil, p.fail(i, "reads %d bytes from register %d", len(v), e.u[typ])
	}
	ports := func(minAttr, maxAttr uint16) (Ports, error) {
		if !e.has(minAttr) {
			if e.has(maxAttr) {
				return Ports{}, p.fail(i, "a last port without a first")
			}
			return Ports{}, nil
		}
		lo, err := value(minAttr, 2)
		if err != nil {
			return Ports{}, err
		}
		pr := Ports{Min: binary.BigEndian.Uint16(lo)}
		pr.Max = pr.Min
		if e.has(maxAttr) {
			hi, err := value(maxAttr, 2)
			if err != nil {
				return Ports{}, err
			}
			pr.Max = binary.BigEndian.Uint16(hi)
		}
		if pr.Min == 0 || pr.Max < pr.Min {
			return Ports{}, p.fail(i, "port range %d-%d", pr.Min, pr.Max)
		}
		return pr, nil
	}
	// flags reads NF_NAT_RANGE_* bits: the kernel adds MAP_IPS where
	// there is an address and nft sends PROTO_SPECIFIED where there are
	// ports; nothing else outside the three flags. Where the kernel does
	// not add PROTO_SPECIFIED itself (needSpecified: nft_redir_init
	// replaces its flags with NFTA_REDIR_FLAGS; nft_masq is read the same
	// way), ports without it would be ignored, and are refused.
	flags := func(typ uint16, addr, hasPorts, needSpecified bool) (NATFlags, error) {
		w := uint32(e.u[typ])
		if addr {
			w &^= rangeMapIPs
		}
		if hasPorts && needSpecified && w&rangeProtoSpecified == 0 {
			return 0, p.fail(i, "ports without NF_NAT_RANGE_PROTO_SPECIFIED, which the kernel then does not map")
		}
		if hasPorts {
			w &^= rangeProtoSpecified
		}
		var f NATFlags
		for bit, fl := range map[uint32]NATFlags{rangeProtoRandom: NATRandom, rangeRandomFully: NATFullyRandom, rangePersistent: NATPersistent} {
			if w&bit != 0 {
				f |= fl
				w &^= bit
			}
		}
		if w != 0 {
			return 0, p.fail(i, "nat flags %#x that ctmatch does not read", w)
		}
		return f, nil
	}
	switch e.name {
	case "notrack":
		if vals != nil || len(e.u)+len(e.data)+len(e.str) != 0 {
			return nil, p.fail(i, "a notrack after immediate values or with attributes")
		}
		return Notrack{}, nil
	case "log":
		if vals != nil {
			return nil, p.fail(i, "a log after immediate values")
		}
		return p.raiseLog(i)
	case "reject":
		if !e.has(attrRejectType) {
			return nil, p.fail(i, "reject without a type")
		}
		r := Reject{Type: RejectType(e.u[attrRejectType]), Code: uint8(e.u[attrRejectICMPCode])}
		switch {
		case e.u[attrRejectType] == uint64(RejectTCPReset):
			if r.Code != 0 {
				return nil, p.fail(i, "a tcp reset with a code")
			}
		case e.u[attrRejectType] == uint64(RejectICMP):
			if !e.has(attrRejectICMPCode) {
				return nil, p.fail(i, "an icmp reject without a code")
			}
			r.Family = p.nhOrTable()
			if err := checkStmt(r, r.Family); err != nil {
				return nil, p.fail(i, "%v", err)
			}
		default:
			return nil, p.fail(i, "reject type %d is not one ctmatch reads", e.u[attrRejectType])
		}
		return r, nil
	case "nat":
		if !e.has(attrNATType) || !e.has(attrNATFamily) || !e.has(attrNATRegAddrMin) {
			return nil, p.fail(i, "nat without a type, a family or an address")
		}
		n := NAT{Type: NATType(e.u[attrNATType])}
		if e.u[attrNATType] > uint64(DNAT) {
			return nil, p.fail(i, "nat type %d", e.u[attrNATType])
		}
		size := 4
		switch Family(e.u[attrNATFamily]) {
		case FamilyIP:
		case FamilyIP6:
			size = 16
		default:
			return nil, p.fail(i, "nat family %d", e.u[attrNATFamily])
		}
		if nf := p.nhOrTable(); nf != 0 && nf != Family(e.u[attrNATFamily]) {
			return nil, p.fail(i, "nat of the other family")
		}
		a, err := value(attrNATRegAddrMin, size)
		if err != nil {
			return nil, err
		}
		n.Addr = addrFrom(a)
		if e.has(attrNATRegAddrMax) {
			b, err := value(attrNATRegAddrMax, size)
			if err != nil {
				return nil, err
			}
			if max := addrFrom(b); max != n.Addr {
				n.AddrMax = max
			}
		}
		if e.u[attrNATFlags]&rangeNetmap != 0 {
			return p.netmapOf(i, n) // netmap.go
		}
		if n.Ports, err = ports(attrNATRegProtoMin, attrNATRegProtoMax); err != nil {
			return nil, err
		}
		if n.Flags, err = flags(attrNATFlags, true, !n.Ports.IsZero(), false); err != nil {
			return nil, err
		}
		if err := checkStmt(n, 0); err != nil {
			return nil, p.fail(i, "%v", err)
		}
		return n, nil
	case "masq", "redir":
		minA, maxA, flA := uint16(attrMasqRegProtoMin), uint16(attrMasqRegProtoMax), uint16(attrMasqFlags)
		if e.name == "redir" {
			minA, maxA, flA = attrRedirRegProtoMin, attrRedirRegProtoMax, attrRedirFlags
		}
		pr, err := ports(minA, maxA)
		if err != nil {
			return nil, err
		}
		f, err := flags(flA, false, !pr.IsZero(), e.name == "masq" || e.has(flA))
		if err != nil {
			return nil, err
		}
		if e.name == "redir" {
			return Redirect{Ports: pr, Flags: f}, nil
		}
		return Masquerade{Ports: pr, Flags: f}, nil
	}
	return nil, p.fail(i, "expression %q is not one ctmatch reads", e.name)
}

// nhOrTable returns the family of the rule's packets as far as the raiser
// knows it: the table's, or the one an inet rule's meta nfproto named.
func (p *raiser) nhOrTable() Family {
	if p.nh != 0 {
		return p.nh
	}
	if p.f == FamilyIP || p.f == FamilyIP6 {
		return p.f
	}
	return 0
}

// immediateValue reads an immediate that loads a value into a data register:
// its register slot and value.
func (p *raiser) immediateValue(i int) (int, []byte, error) {
	e := &p.es[i]
	if err := p.only(i, attrImmediateDreg, attrImmediateData); err != nil {
		return 0, nil, err
	}
	d := e.data[attrImmediateData]
	slot := regSlot(e.u[attrImmediateDreg])
	if d.verdict || slot < 0 || slot+(len(d.value)+3)/4 > 16 {
		return 0, nil, p.fail(i, "an immediate of a verdict into a data register, or of a value into the verdict register")
	}
	return slot, d.value, nil
}

// debugStmt spells the statements' expressions as libnftnl does.
func (e *wireExpr) debugStmt() ([]byte, bool) {
	var b []byte
	u := func(typ uint16) uint64 { return e.u[typ] }
	reg := func(name string, typ uint16) {
		if e.has(typ) {
			b = strconv.AppendUint(append(b, name+" reg "...), u(typ), 10)
			b = append(b, ' ')
		}
	}
	flags := func(typ uint16) {
		if e.has(typ) {
			b = strconv.AppendUint(append(b, "flags 0x"...), u(typ), 16)
			b = append(b, ' ')
		}
	}
	switch e.name {
	case "reject":
		b = strconv.AppendUint(append(b, "type "...), u(attrRejectType), 10)
		b = strconv.AppendUint(append(b, " code "...), u(attrRejectICMPCode), 10)
		return append(b, ' '), true
	case "nat":
		b = append(b, nameOf([]string{"snat", "dnat"}, u(attrNATType))+" "...)
		switch Family(u(attrNATFamily)) {
		case FamilyIP:
			b = append(b, "ip "...)
		case FamilyIP6:
			b = append(b, "ip6 "...)
		default:
			b = append(b, "unknown "...)
		}
		reg("addr_min", attrNATRegAddrMin)
		reg("addr_max", attrNATRegAddrMax)
		reg("proto_min", attrNATRegProtoMin)
		reg("proto_max", attrNATRegProtoMax)
		flags(attrNATFlags)
		return b, true
	case "masq":
		reg("proto_min", attrMasqRegProtoMin)
		reg("proto_max", attrMasqRegProtoMax)
		flags(attrMasqFlags)
		return b, true
	case "redir":
		reg("proto_min", attrRedirRegProtoMin)
		reg("proto_max", attrRedirRegProtoMax)
		flags(attrRedirFlags)
		return b, true
	}
	return nil, false
}

// StmtsText returns the nft text of r's statements alone, as String writes
// them after the counter ("" for none): a listing that writes the counter
// with its values puts them after it.
func (r Rule) StmtsText() string {
	var b []byte
	inet := netFamily(r.Matches, FamilyInet) != 0
	for i, s := range r.Stmts {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendStmt(b, s, inet)
	}
	return string(b)
}

// appendJSONStmt writes the libnftables JSON of s, as appendStmt its text.
func appendJSONStmt(b []byte, s Stmt, inet bool) []byte {
	switch s := s.(type) {
	case Reject:
		return s.appendJSON(b)
	case NAT:
		return s.appendJSON(b, inet)
	case Masquerade:
		return s.appendJSON(b)
	case Redirect:
		return s.appendJSON(b)
	case Log:
		return s.appendJSON(b)
	case LogGroup:
		return s.appendJSON(b)
	case SetMark:
		return s.appendJSON(b)
	case CombineMarks:
		return s.appendJSON(b)
	case Notrack:
		return s.appendJSON(b)
	case SetDSCP:
		return s.appendJSON(b)
	case SetCtZone:
		return s.appendJSON(b)
	case Netmap:
		return s.appendJSON(b, inet)
	}
	return appendJSONInvalid(b, fmt.Sprintf("statement %T", s))
}

// appendJSON writes {"reject": {"type": "icmp"|"icmpv6", "expr": NAME}} or
// {"reject": {"type": "tcp reset"}}.
func (r Reject) appendJSON(b []byte) []byte {
	switch r.Type {
	case RejectTCPReset:
		return append(b, `{"reject":{"type":"tcp reset"}}`...)
	case RejectICMP:
		names, word := icmpCodeNames, "icmp"
		switch r.Family {
		case FamilyIP:
		case FamilyIP6:
			names, word = icmp6CodeNames, "icmpv6"
		default:
			return appendJSONInvalid(b, "reject of family "+strconv.FormatUint(uint64(r.Family), 10))
		}
		name, ok := names[r.Code]
		if !ok {
			return appendJSONInvalid(b, "reject with "+word+" code "+strconv.FormatUint(uint64(r.Code), 10))
		}
		b = appendJSONString(append(b, `{"reject":{"type":`...), word)
		return append(appendJSONString(append(b, `,"expr":`...), name), "}}"...)
	}
	return appendJSONInvalid(b, "reject type "+strconv.FormatUint(uint64(r.Type), 10))
}

// appendNATTextHead writes "snat" or "dnat" and, in an inet rule (inet
// true), the family of addr, for a statement of type t whose address is
// addr; for another type or no address it writes the invalid marker (what
// names the missing address) and ok is false.
func appendNATTextHead(b []byte, t NATType, addr netip.Addr, inet bool, what string) (_ []byte, ok bool) {
	switch t {
	case SNAT:
		b = append(b, "snat"...)
	case DNAT:
		b = append(b, "dnat"...)
	default:
		return appendInvalid(b, "nat type "+strconv.FormatUint(uint64(t), 10)), false
	}
	if !addr.IsValid() {
		return appendInvalid(b, what), false
	}
	if inet {
		if addr.Is4() {
			b = append(b, " ip"...)
		} else {
			b = append(b, " ip6"...)
		}
	}
	return b, true
}

// appendNATJSONHead writes `{"snat":{` or `{"dnat":{` and, in an inet rule
// (inet true), the family of addr, for a statement of type t whose address
// is addr; for another type or no address it writes the invalid marker
// (what names the missing address) and ok is false.
func appendNATJSONHead(b []byte, t NATType, addr netip.Addr, inet bool, what string) (_ []byte, ok bool) {
	var word string
	switch t {
	case SNAT:
		word = "snat"
	case DNAT:
		word = "dnat"
	default:
		return appendJSONInvalid(b, "nat type "+strconv.FormatUint(uint64(t), 10)), false
	}
	if !addr.IsValid() {
		return appendJSONInvalid(b, word+what), false
	}
	b = append(append(append(b, `{"`...), word...), `":{`...)
	if inet {
		fam := "ip"
		if !addr.Is4() {
			fam = "ip6"
		}
		b = append(appendJSONString(append(b, `"family":`...), fam), ',')
	}
	return b, true
}

// appendJSON writes {"snat": {…}} or {"dnat": {…}}: "family" in an inet
// rule (inet true), "addr" (an address or {"range": [A, B]}), "port" and
// "flags" when it has them.
func (n NAT) appendJSON(b []byte, inet bool) []byte {
	b, ok := appendNATJSONHead(b, n.Type, n.Addr, inet, " without an address")
	if !ok {
		return b
	}
	b = append(b, `"addr":`...)
	if n.AddrMax.IsValid() {
		b = appendJSONString(append(b, `{"range":[`...), n.Addr.String())
		b = append(appendJSONString(append(b, ','), n.AddrMax.String()), "]}"...)
	} else {
		b = appendJSONString(b, n.Addr.String())
	}
	b = appendJSONNATTail(b, n.Ports, n.Flags)
	return append(b, "}}"...)
}

// appendJSON writes {"masquerade": null}, or with ports or flags
// {"masquerade": {"port": …, "flags": …}}.
func (m Masquerade) appendJSON(b []byte) []byte {
	return appendJSONNATOnly(b, "masquerade", m.Ports, m.Flags)
}

// appendJSON writes {"redirect": null}, or with ports or flags
// {"redirect": {"port": …, "flags": …}}.
func (r Redirect) appendJSON(b []byte) []byte {
	return appendJSONNATOnly(b, "redirect", r.Ports, r.Flags)
}

func appendJSONNATOnly(b []byte, word string, p Ports, f NATFlags) []byte {
	b = append(append(append(b, `{"`...), word...), `":`...)
	tail := appendJSONNATTail(nil, p, f)
	if len(tail) == 0 {
		return append(b, "null}"...)
	}
	return append(append(append(b, '{'), tail[1:]...), "}}"...)
}

// appendJSONNATTail writes `,"port": P` (or {"range": [MIN, MAX]}) and
// `,"flags": …` (a string for one flag, an array for more), each when there.
func appendJSONNATTail(b []byte, p Ports, f NATFlags) []byte {
	if !p.IsZero() {
		b = append(b, `,"port":`...)
		if p.Max != p.Min {
			b = appendJSONValue(b, OpRange, uint32(p.Min), uint32(p.Max), appendJSONUint)
		} else {
			b = appendJSONUint(b, uint32(p.Min))
		}
	}
	var names []string
	for _, x := range []struct {
		f    NATFlags
		name string
	}{{NATRandom, "random"}, {NATFullyRandom, "fully-random"}, {NATPersistent, "persistent"}} {
		if f&x.f != 0 {
			names = append(names, x.name)
		}
	}
	return appendJSONNames(b, `,"flags":`, names)
}

// appendJSONNames writes key and one name as a string, or more as an array;
// nothing for none.
func appendJSONNames(b []byte, key string, names []string) []byte {
	switch len(names) {
	case 0:
		return b
	case 1:
		return appendJSONString(append(b, key...), names[0])
	}
	b = append(append(b, key...), '[')
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, n)
	}
	return append(b, ']')
}
