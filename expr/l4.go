package expr

import (
	"slices"
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds the matches on the packet's transport layer: nft's
// "meta l4proto" and the payload fields of the transport header.

// Transport protocol numbers that nft spells by name.
const (
	ProtoTCP uint8 = 6  // IPPROTO_TCP: nft "tcp"
	ProtoUDP uint8 = 17 // IPPROTO_UDP: nft "udp"
)

// L4Proto is nft's "meta l4proto": the packet's transport protocol, as the
// kernel found it when it set up the packet for nf_tables (the IPv4 protocol
// field, on every fragment; for IPv6 the header after the extension headers,
// stopping at AH). It stops the rule when the kernel found none.
type L4Proto struct {
	Op    Op // OpEq or OpNeq
	Proto uint8
}

func (L4Proto) isMatch() {}

// Field is a header field that nft's payload expression loads.
type Field uint8

// The header fields ctmatch uses.
const (
	FieldTHSport     Field = iota + 1 // transport header bytes 0-1: nft "th sport", "tcp sport", "udp sport"
	FieldTHDport                      // transport header bytes 2-3: nft "th dport", "tcp dport", "udp dport"
	FieldIPFragOff                    // IPv4 header bytes 6-7, flags and fragment offset: nft "ip frag-off"
	FieldICMPType                     // transport header byte 0: nft "icmp type", "icmpv6 type"
	FieldICMPCode                     // transport header byte 1: nft "icmp code", "icmpv6 code"
	FieldIPTTL                        // IPv4 header byte 8: nft "ip ttl"
	FieldIP6HopLimit                  // IPv6 header byte 7: nft "ip6 hoplimit"
	FieldTCPFlags                     // TCP header byte 13: nft "tcp flags"
	FieldIPLength                     // IPv4 header bytes 2-3, the total length: nft "ip length"
	FieldIP6Length                    // IPv6 header bytes 4-5, the payload length: nft "ip6 length"
	FieldAHSPI                        // transport header bytes 4-7, after meta l4proto ah: nft "ah spi"
)

// payloadBase is a base of the payload expression (NFT_PAYLOAD_*_HEADER).
type payloadBase uint8

const (
	payloadNetwork   payloadBase = 1 // NFT_PAYLOAD_NETWORK_HEADER
	payloadTransport payloadBase = 2 // NFT_PAYLOAD_TRANSPORT_HEADER
)

// fieldInfo is what the wire encoding and the text need to know of a field.
type fieldInfo struct {
	base   payloadBase
	offset uint32 // bytes from the start of the header
	size   uint32 // bytes loaded
	name   string // nft's name after the protocol ("dport")
	proto  string // nft's protocol word ("ip"); "" for the transport header, whose word comes from the rule
	v4     bool   // a field of the IPv4 header: not in ip6 tables
	v6     bool   // a field of the IPv6 header: not in ip tables
}

var fieldInfos = [...]fieldInfo{
	FieldTHSport:     {base: payloadTransport, offset: 0, size: 2, name: "sport"},
	FieldTHDport:     {base: payloadTransport, offset: 2, size: 2, name: "dport"},
	FieldIPFragOff:   {base: payloadNetwork, offset: 6, size: 2, name: "frag-off", proto: "ip", v4: true},
	FieldICMPType:    {base: payloadTransport, offset: 0, size: 1, name: "type"},
	FieldICMPCode:    {base: payloadTransport, offset: 1, size: 1, name: "code"},
	FieldIPTTL:       {base: payloadNetwork, offset: 8, size: 1, name: "ttl", proto: "ip", v4: true},
	FieldIP6HopLimit: {base: payloadNetwork, offset: 7, size: 1, name: "hoplimit", proto: "ip6", v6: true},
	FieldTCPFlags:    {base: payloadTransport, offset: 13, size: 1, name: "flags"},
	FieldIPLength:    {base: payloadNetwork, offset: 2, size: 2, name: "length", proto: "ip", v4: true},
	FieldIP6Length:   {base: payloadNetwork, offset: 4, size: 2, name: "length", proto: "ip6", v6: true},
	FieldAHSPI:       {base: payloadTransport, offset: 4, size: 4, name: "spi"},
}

// Layout returns where the field is: the payload base (1, the network
// header; 2, the transport header: nf_tables' NFT_PAYLOAD_*_HEADER), the
// offset from the start of that header and the size in bytes; ok is false
// for a value that is no Field.
func (f Field) Layout() (base, offset, size uint32, ok bool) {
	fi, ok := fieldInfoOf(f)
	return uint32(fi.base), fi.offset, fi.size, ok
}

func fieldInfoOf(f Field) (fieldInfo, bool) {
	if int(f) >= len(fieldInfos) || fieldInfos[f].size == 0 {
		return fieldInfo{}, false
	}
	return fieldInfos[f], true
}

// Payload is a condition on a header field: "tcp dport 22",
// "udp sport != 1-1023", "th dport 53". The kernel's payload expression stops
// the rule when the field cannot be read: for the transport header, when the
// kernel found no transport header or the packet is a fragment other than
// the first.
type Payload struct {
	Field  Field
	Mask   uint32 // when not 0, the field is masked with it first: "ip frag-off & 0x1fff == 0" (OpEq and OpNeq only)
	Op     Op     // OpEq, OpNeq, OpRange, OpNotRange, OpLt, OpGt
	Lo, Hi uint32 // the value (Lo), or the inclusive range Lo..Hi
}

func (Payload) isMatch() {}

// String returns the nft text of the match p alone: "th dport 22" (the
// protocol name comes from an L4Proto before it in a rule).
func (p Payload) String() string { return string(p.appendText(nil, "th")) }

// String returns the nft text of the match l, e.g. "meta l4proto tcp".
func (l L4Proto) String() string { return string(l.appendText(nil)) }

func (l L4Proto) appendText(b []byte) []byte {
	b = append(b, "meta l4proto "...)
	switch l.Op {
	case OpEq:
	case OpNeq:
		b = append(b, "!= "...)
	default:
		return appendInvalid(b, "operator "+strconv.FormatUint(uint64(l.Op), 10))
	}
	return append(b, protoName(l.Proto)...)
}

// protoName is nft's name of a transport protocol in "meta l4proto", or its
// number.
func protoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	}
	return strconv.FormatUint(uint64(p), 10)
}

// appendText writes the payload match after the protocol word proto ("tcp",
// "udp" or "th").
func (p Payload) appendText(b []byte, proto string) []byte {
	fi, ok := fieldInfoOf(p.Field)
	if !ok {
		return appendInvalid(b, "field "+strconv.FormatUint(uint64(p.Field), 10))
	}
	if p.Field == FieldTCPFlags {
		return p.appendTCPFlags(b, proto)
	}
	switch {
	case fi.proto != "":
		proto = fi.proto
	case proto == ahWord || p.Field == FieldAHSPI:
		return p.appendAHText(b, proto)
	case isICMPField(p.Field) && proto != "icmp" && proto != "icmpv6":
		proto = ""
	case !isICMPField(p.Field) && (proto == "icmp" || proto == "icmpv6"):
		proto = "th"
	}
	if proto == "" {
		b = append(b, icmpRawText(p.Field)...)
	} else {
		b = append(append(append(b, proto...), ' '), fi.name...)
	}
	return p.appendValueText(append(b, ' '))
}

// appendValueText writes the test of the field after its name: "22",
// "!= 1-1023", "& 0x1fff == 0".
func (p Payload) appendValueText(b []byte) []byte {
	if p.Mask != 0 {
		b = append(append(b, "& 0x"...), strconv.FormatUint(uint64(p.Mask), 16)...)
		switch p.Op {
		case OpEq:
			return appendUint(append(b, " == "...), p.Lo)
		case OpNeq:
			return appendUint(append(b, " != "...), p.Lo)
		}
		return appendInvalid(b, "ordered comparison of a masked field")
	}
	switch p.Op {
	case OpEq:
		return appendUint(b, p.Lo)
	case OpNeq:
		return appendUint(append(b, "!= "...), p.Lo)
	case OpRange:
		return appendUint(append(appendUint(b, p.Lo), '-'), p.Hi)
	case OpNotRange:
		return appendUint(append(appendUint(append(b, "!= "...), p.Lo), '-'), p.Hi)
	case OpLt, OpGt:
		return appendOrdered(b, p)
	}
	return appendInvalid(b, "operator "+strconv.FormatUint(uint64(p.Op), 10))
}

// transportProto returns the protocol word of a transport header field at
// index i of ms: "tcp" or "udp" when the last L4Proto before it is an
// equality with that protocol, "th" otherwise. nft gives "tcp dport" a
// dependency on "meta l4proto tcp" and adds none when the rule already has
// it; "th dport" has none.
func transportProto(ms []Match, i int) string {
	for j := i - 1; j >= 0; j-- {
		if l, ok := ms[j].(L4Proto); ok {
			if l.Op == OpEq && (l.Proto == ProtoTCP || l.Proto == ProtoUDP) {
				return protoName(l.Proto)
			}
			if w := icmpWord(l.Proto); l.Op == OpEq && w != "" {
				return w
			}
			if l.Op == OpEq && l.Proto == ProtoAH {
				return ahWord
			}
			return "th"
		}
	}
	return "th"
}

// impliedBy reports whether the match at index i is an L4Proto that nft
// writes itself for the transport header field right after it ("tcp dport
// 22" is "meta l4proto tcp" and the port), so that the text leaves it out.
func impliedBy(ms []Match, i int) bool {
	l, ok := ms[i].(L4Proto)
	if !ok || l.Op != OpEq || i+1 >= len(ms) {
		return false
	}
	var field Field
	switch p := ms[i+1].(type) {
	case Payload:
		field = p.Field
	case Lookup:
		field = p.Field
	default:
		return false
	}
	if icmpWord(l.Proto) != "" {
		// "icmp type 8" is "meta l4proto icmp" and the type in ip and
		// ip6 tables, but in an inet table nft also puts "meta nfproto
		// ipv4" before it: the text keeps "meta l4proto 1".
		return false
	}
	if l.Proto == ProtoAH {
		return ahField(field) != ""
	}
	if l.Proto != ProtoTCP && l.Proto != ProtoUDP {
		return false
	}
	fi, ok := fieldInfoOf(field)
	return ok && fi.base == payloadTransport
}

func checkL4Proto(l L4Proto) error {
	if l.Op != OpEq && l.Op != OpNeq {
		return errOperator(l.Op, "meta l4proto")
	}
	return nil
}

func checkPayload(f Family, p Payload) error {
	fi, ok := fieldInfoOf(p.Field)
	if !ok {
		return &fieldError{"unknown header field " + strconv.FormatUint(uint64(p.Field), 10)}
	}
	if fi.v4 && f == FamilyIP6 {
		return &fieldError{"a field of the IPv4 header in an ip6 table (nft refuses it)"}
	}
	if fi.v6 && f == FamilyIP {
		return &fieldError{"a field of the IPv6 header in an ip table (nft refuses it)"}
	}
	max := uint64(1)<<(8*fi.size) - 1
	if uint64(p.Mask) > max {
		return &fieldError{"mask 0x" + strconv.FormatUint(uint64(p.Mask), 16) + " wider than the field"}
	}
	if p.Mask != 0 && p.Op != OpEq && p.Op != OpNeq {
		return &fieldError{"an ordered comparison of a masked field"}
	}
	switch p.Op {
	case OpLt, OpGt:
		return checkOrdered(p, fi, max)
	case OpEq, OpNeq:
		if uint64(p.Lo) > max {
			return &fieldError{"value " + strconv.FormatUint(uint64(p.Lo), 10) + " above " + strconv.FormatUint(max, 10)}
		}
	case OpRange, OpNotRange:
		if uint64(p.Lo) > max || uint64(p.Hi) > max {
			return &fieldError{"range " + strconv.FormatUint(uint64(p.Lo), 10) + "-" + strconv.FormatUint(uint64(p.Hi), 10) + " above " + strconv.FormatUint(max, 10)}
		}
		if p.Lo > p.Hi {
			return &fieldError{"reversed range " + strconv.FormatUint(uint64(p.Lo), 10) + "-" + strconv.FormatUint(uint64(p.Hi), 10)}
		}
	default:
		return errOperator(p.Op, "a header field")
	}
	return nil
}

type fieldError struct{ s string }

func (e *fieldError) Error() string { return e.s }

func errOperator(op Op, on string) error {
	return &fieldError{"operator " + strconv.FormatUint(uint64(op), 10) + " on " + on}
}

func lowerL4Proto(ae *nfnl.Encoder, l L4Proto) {
	at := ae.BeginExpr("meta")
	ae.U32(attrMetaKey, metaL4proto)
	ae.U32(attrMetaDreg, reg1)
	ae.EndExpr(at)
	op := uint32(cmpEq)
	if l.Op == OpNeq {
		op = cmpNeq
	}
	putCmp(ae, op, []byte{l.Proto})
}

func putPayload(ae *nfnl.Encoder, base payloadBase, offset, size uint32) {
	at := ae.BeginExpr("payload")
	ae.U32(attrPayloadDreg, reg1)
	ae.U32(attrPayloadBase, uint32(base))
	ae.U32(attrPayloadOffset, offset)
	ae.U32(attrPayloadLen, size)
	ae.EndExpr(at)
}

// lowerPayloads appends the payload matches that start at ms[0] and returns
// how many it lowered. nft 1.0.6 merges equalities of adjacent fields of one
// header into one load and one cmp ("tcp sport 1 tcp dport 4" loads 4 bytes
// at transport header + 0 and compares them with 0x00010004), and so does
// Lower.
//
// nft sorts such a run of equalities by offset before it merges them
// ("tcp dport 4 tcp sport 1" sends the same bytes); so does Lower.
func lowerPayloads(ae *nfnl.Encoder, ms []Match) int {
	p := ms[0].(Payload)
	fi, _ := fieldInfoOf(p.Field)
	n, size := 1, fi.size
	if p.Op == OpEq && p.Mask == 0 {
		ms = sortedEqRun(ms)
		p = ms[0].(Payload)
		fi, _ = fieldInfoOf(p.Field)
		size = fi.size
		for n < len(ms) {
			q, ok := ms[n].(Payload)
			if !ok || q.Op != OpEq || q.Mask != 0 {
				break
			}
			qi, ok := fieldInfoOf(q.Field)
			if !ok || qi.base != fi.base || qi.offset != fi.offset+size || size+qi.size > maxMergedLoad {
				break
			}
			size += qi.size
			n++
		}
	}
	if neqMerges(ms, 0) {
		p = p.neqAsRange()
	}
	putPayload(ae, fi.base, fi.offset, size)
	if p.Mask != 0 {
		// "& MASK" is written in the text: nft sends NFTA_BITWISE_OP.
		putBitwise(ae, value(p.Mask, int(fi.size), false), true)
	}
	if n > 1 {
		var v []byte
		for _, m := range ms[:n] {
			q := m.(Payload)
			qi, _ := fieldInfoOf(q.Field)
			v = append(v, value(q.Lo, int(qi.size), false)...)
		}
		putCmp(ae, cmpEq, v)
		return n
	}
	switch p.Op {
	case OpEq, OpNeq:
		op := uint32(cmpEq)
		if p.Op == OpNeq {
			op = cmpNeq
		}
		putCmp(ae, op, value(p.Lo, int(fi.size), false))
	case OpRange:
		putCmp(ae, cmpGte, value(p.Lo, int(fi.size), false))
		putCmp(ae, cmpLte, value(p.Hi, int(fi.size), false))
	case OpNotRange:
		putRange(ae, rangeNeq, value(p.Lo, int(fi.size), false), value(p.Hi, int(fi.size), false))
	case OpLt, OpGt:
		putCmp(ae, orderedCmp(p.Op), value(p.Lo, int(fi.size), false))
	}
	return 1
}

// maxMergedLoad is the most bytes nft 1.0.6 loads at once for adjacent
// equalities of header fields: it merges "ah hdrlength 4 ah reserved 0"
// (3 bytes) and "tcp sport 1 tcp dport 4" (4), but not "ah reserved 0 ah
// spi 7" (6) nor "ip saddr 1.1.1.1 ip daddr 2.2.2.2" (8), measured with
// nft --debug=netlink.
const maxMergedLoad = 4

// sortedEqRun returns the equalities of payload fields of one base at the
// start of ms, in the order of their offsets, followed by the rest of ms.
func sortedEqRun(ms []Match) []Match {
	first, _ := fieldInfoOf(ms[0].(Payload).Field)
	n := 1
	for n < len(ms) {
		q, ok := ms[n].(Payload)
		if !ok || q.Op != OpEq || q.Mask != 0 {
			break
		}
		if qi, _ := fieldInfoOf(q.Field); qi.base != first.base {
			break
		}
		n++
	}
	if n == 1 {
		return ms
	}
	run := slices.Clone(ms[:n])
	slices.SortStableFunc(run, func(a, b Match) int {
		ai, _ := fieldInfoOf(a.(Payload).Field)
		bi, _ := fieldInfoOf(b.(Payload).Field)
		return int(ai.offset) - int(bi.offset)
	})
	// Only a run that merges whole is reordered.
	end := run0(run)
	for i, m := range run {
		fi, _ := fieldInfoOf(m.(Payload).Field)
		if i > 0 && fi.offset != end || fi.offset+fi.size-run0(run) > maxMergedLoad {
			return ms
		}
		end = fi.offset + fi.size
	}
	return append(run, ms[n:]...)
}

// run0 is the offset of the first field of a sorted run.
func run0(run []Match) uint32 {
	fi, _ := fieldInfoOf(run[0].(Payload).Field)
	return fi.offset
}

// neqMerges reports whether ms[i] is an inequality of a header field that
// nft 1.0.6 would merge with the inequality after it: an adjacent field of
// the same header ("tcp sport != 1 tcp dport != 4" is sent as one 4-byte
// load and "cmp neq 0x04000100", which holds when either field differs,
// not what the two tests say). The text and Lower then write ms[i] as a
// range of one value ("tcp sport != 1-1", "range neq"), which nft keeps
// apart and which means the same.
func neqMerges(ms []Match, i int) bool {
	if i+1 >= len(ms) {
		return false
	}
	a, ok1 := ms[i].(Payload)
	b, ok2 := ms[i+1].(Payload)
	if !ok1 || !ok2 || a.Op != OpNeq || b.Op != OpNeq || a.Mask != 0 || b.Mask != 0 {
		return false
	}
	fa, oka := fieldInfoOf(a.Field)
	fb, okb := fieldInfoOf(b.Field)
	return oka && okb && fa.base == fb.base && (fa.offset+fa.size == fb.offset || fb.offset+fb.size == fa.offset)
}

// neqAsRange returns the inequality p as the range of its one value.
func (p Payload) neqAsRange() Payload {
	p.Op, p.Hi = OpNotRange, p.Lo
	return p
}

func (l L4Proto) appendJSON(b []byte) []byte {
	if l.Op != OpEq && l.Op != OpNeq {
		return appendJSONInvalid(b, "operator "+strconv.FormatUint(uint64(l.Op), 10))
	}
	op, _ := jsonOp(l.Op)
	right := appendJSONUint(nil, uint32(l.Proto))
	if name := protoName(l.Proto); name == "tcp" || name == "udp" {
		right = appendJSONString(nil, name)
	}
	return appendJSONMatch(b, op, appendJSONKeyed(nil, "meta", "l4proto", ""), right)
}

// appendJSON writes the match alone, as String does ("th dport 22").
func (p Payload) appendJSON(b []byte) []byte { return p.appendJSONIn(b, "th") }

// appendJSONIn writes the payload match after the protocol word proto, as
// appendText does: {"payload": {"protocol": "tcp", "field": "dport"}}, or
// the raw {"payload": {"base": "th", "offset": 8, "len": 8}} of "@th,8,8".
func (p Payload) appendJSONIn(b []byte, proto string) []byte {
	fi, ok := fieldInfoOf(p.Field)
	if !ok {
		return appendJSONInvalid(b, "field "+strconv.FormatUint(uint64(p.Field), 10))
	}
	if p.Field == FieldTCPFlags {
		return p.appendTCPFlagsJSON(b, proto)
	}
	switch {
	case fi.proto != "":
		proto = fi.proto
	case proto == ahWord || p.Field == FieldAHSPI:
		return p.appendAHJSON(b, proto)
	case isICMPField(p.Field) && proto != "icmp" && proto != "icmpv6":
		proto = ""
	case !isICMPField(p.Field) && (proto == "icmp" || proto == "icmpv6"):
		proto = "th"
	}
	return p.appendJSONLeft(b, p.jsonLeft(fi, proto))
}

// jsonLeft returns the field's JSON: {"payload": {"protocol": proto,
// "field": NAME}}, or with proto "" the raw ICMP type or code.
func (p Payload) jsonLeft(fi fieldInfo, proto string) []byte {
	var left []byte
	if proto == "" {
		off := 0
		if p.Field == FieldICMPCode {
			off = 8
		}
		left = append(strconv.AppendInt(append(left, `{"payload":{"base":"th","offset":`...), int64(off), 10), `,"len":8}}`...)
	} else {
		left = appendJSONString(append(left, `{"payload":{"protocol":`...), proto)
		left = append(appendJSONString(append(left, `,"field":`...), fi.name), "}}"...)
	}
	return left
}

// appendJSONLeft writes the test of the field whose JSON is left.
func (p Payload) appendJSONLeft(b, left []byte) []byte {
	op, ok := jsonOp(p.Op)
	if !ok {
		return appendJSONInvalid(b, "operator "+strconv.FormatUint(uint64(p.Op), 10))
	}
	if p.Mask != 0 {
		if p.Op != OpEq && p.Op != OpNeq {
			return appendJSONInvalid(b, "ordered comparison of a masked field")
		}
		left = appendJSONAnd(nil, left, appendJSONUint(nil, p.Mask))
	}
	return appendJSONMatch(b, op, left, appendJSONValue(nil, p.Op, p.Lo, p.Hi, appendJSONUint))
}
