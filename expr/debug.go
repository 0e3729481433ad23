package expr

import (
	"encoding/binary"
	"encoding/hex"
	"io"
	"strconv"
)

// This file renders wire expressions as libnftnl's debug lines, the form
// `nft --debug=netlink` prints (libnftnl 1.2.4, the one nft 1.0.6 uses), read
// from the bytes, not from the IR:
//
//	[ ct load state => reg 1 ]
//	[ ct load src_ip6 => reg 1 , dir reply ]
//	[ meta load nfproto => reg 1 ]
//	[ bitwise reg 1 = ( reg 1 & 0x0000000c ) ^ 0x00000000 ]
//	[ byteorder reg 1 = hton(reg 1, 4, 4) ]
//	[ cmp neq reg 1 0x00000000 ]
//	[ range neq reg 1 0x606d0000 0x47710000 ]
//	[ counter pkts 0 bytes 0 ]
//	[ immediate reg 0 jump -> target ]
//	[ payload load 2b @ transport header + 2 => reg 1 ]
//	[ lookup reg 1 set s dreg 0 ]
//
// Data values are printed as libnftnl prints them: in 32-bit words, each the
// native-endian integer of 4 bytes of the value, the last word padded with
// zero bytes; so "cmp eq reg 1 0x0000000a" compares the one byte 0x0a on a
// little-endian machine. The line of an expression that ctmatch cannot spell
// (an unknown name, an attribute outside what libnftnl prints for it, a
// malformed attribute) is ctmatch's own, never libnftnl's:
//
//	[ lookup attr1=73657400 attr2=00000001 ]          attributes in wire order, type=hex payload
//	[ cmp (malformed: attribute 3: …) attr1=… ]        an attribute that does not decode
//	[ (malformed: expression without a name) ]

// DebugLines returns the expressions of exprs, the payload of an
// NFTA_RULE_EXPRESSIONS attribute, as libnftnl debug lines without
// indentation: "[ ct load state => reg 1 ]", one per expression. It fails only
// when the list itself cannot be split into expressions.
func DebugLines(exprs []byte) ([]string, error) {
	es, err := splitExprs(exprs)
	if err != nil {
		return nil, err
	}
	lines := make([]string, len(es))
	for i := range es {
		lines[i] = es[i].debugLine()
	}
	return lines, nil
}

// WriteDebug writes the expressions of exprs as nft --debug=netlink prints
// the body of a rule: each debug line indented by two spaces and ended by a
// newline. It writes nothing when the list cannot be split, and returns that
// error or the writer's.
func WriteDebug(w io.Writer, exprs []byte) error {
	lines, err := DebugLines(exprs)
	if err != nil {
		return err
	}
	var b []byte
	for _, l := range lines {
		b = append(append(append(b, "  "...), l...), '\n')
	}
	_, err = w.Write(b)
	return err
}

var ctKeyNames = []string{
	"state", "direction", "status", "mark", "secmark", "expiration", "helper", "l3protocol",
	"src", "dst", "protocol", "proto_src", "proto_dst", "label", "packets", "bytes",
	"avgpkt", "zone", "event", "src_ip", "dst_ip", "src_ip6", "dst_ip6", "id",
}

// rtKeyNames are libnftnl's names of the rt keys (NFT_RT_*).
var rtKeyNames = []string{"classid", "nexthop4", "nexthop6", "tcpmss", "ipsec"}

var metaKeyNames = []string{
	"len", "protocol", "priority", "mark", "iif", "oif", "iifname", "oifname",
	"iiftype", "oiftype", "skuid", "skgid", "nftrace", "rtclassid", "secmark", "nfproto",
	"l4proto", "bri_iifname", "bri_oifname", "pkttype", "cpu", "iifgroup", "oifgroup", "cgroup",
	"prandom", "secpath", "iifkind", "oifkind", "bri_iifpvid", "bri_iifvproto", "time", "day",
	"hour", "sdif", "sdifname", "broute",
}

var cmpOpNames = []string{"eq", "neq", "lt", "lte", "gt", "gte"}

var payloadBases = []string{"link", "network", "transport", "inner"}

func nameOf(names []string, v uint64) string {
	if v < uint64(len(names)) {
		return names[v]
	}
	return "unknown"
}

// debugLine returns the debug line of one expression.
func (e *wireExpr) debugLine() string {
	b := []byte("[ ")
	if e.name == "" && e.bad != "" {
		return string(append(append(b, "(malformed: "+e.bad+") "...), ']'))
	}
	b = append(append(b, e.name...), ' ')
	if body, ok := e.debugBody(); ok {
		b = append(b, body...)
	} else {
		if e.bad != "" {
			b = append(b, "(malformed: "+e.bad+") "...)
		}
		for _, a := range e.attrs {
			b = append(b, "attr"...)
			b = strconv.AppendUint(b, uint64(a.Type), 10)
			b = append(b, '=')
			b = hex.AppendEncode(b, a.Data)
			b = append(b, ' ')
		}
	}
	return string(append(b, ']'))
}

// debugBody spells the attributes of an expression as libnftnl does, with a
// trailing space, when it can.
func (e *wireExpr) debugBody() ([]byte, bool) {
	if e.bad != "" || len(e.extra) > 0 || e.u == nil {
		return nil, false
	}
	var b []byte
	u := func(typ uint16) uint64 { return e.u[typ] }
	reg := func(typ uint16) []byte { return strconv.AppendUint(append(b, "reg "...), u(typ), 10) }
	switch e.name {
	case "ct", "meta":
		keys, sreg, dreg, key := ctKeyNames, uint16(attrCtSreg), uint16(attrCtDreg), uint16(attrCtKey)
		if e.name == "meta" {
			keys, sreg, dreg, key = metaKeyNames, attrMetaSreg, attrMetaDreg, attrMetaKey
		}
		if e.has(sreg) {
			b = append(b, "set "+nameOf(keys, u(key))+" with "...)
			b = append(reg(sreg), ' ')
		}
		if e.has(dreg) {
			b = append(b, "load "+nameOf(keys, u(key))+" => "...)
			b = append(reg(dreg), ' ')
		}
		if e.name == "ct" && e.has(attrCtDirection) {
			b = append(b, ", dir "+nameOf([]string{"original", "reply"}, u(attrCtDirection))+" "...)
		}
		return b, true
	case "fib":
		return e.fibDebug()
	case "cmp":
		b = append(b, nameOf(cmpOpNames, u(attrCmpOp))+" "...)
		b = append(reg(attrCmpSreg), ' ')
		return e.appendData(b, attrCmpData)
	case "range":
		b = append(b, nameOf([]string{"eq", "neq"}, u(attrRangeOp))+" "...)
		b = append(reg(attrRangeSreg), ' ')
		b, ok := e.appendData(b, attrRangeFromData)
		if !ok {
			return nil, false
		}
		return e.appendData(b, attrRangeToData)
	case "bitwise":
		b = append(reg(attrBitwiseDreg), " = ( "...)
		b = append(reg(attrBitwiseSreg), ' ')
		var ok bool
		switch u(attrBitwiseOp) {
		case bitwiseMaskXor:
			b = append(b, "& "...)
			if b, ok = e.appendData(b, attrBitwiseMask); !ok {
				return nil, false
			}
			b = append(b, ") ^ "...)
			return e.appendData(b, attrBitwiseXor)
		case bitwiseLshift, bitwiseRshift:
			b = append(b, []string{bitwiseLshift: "<< ", bitwiseRshift: ">> "}[u(attrBitwiseOp)]...)
		case bitwiseAnd, bitwiseOr, bitwiseXor:
			b = append(b, []string{bitwiseAnd: "& ", bitwiseOr: "| ", bitwiseXor: "^ "}[u(attrBitwiseOp)]...)
			if e.has(attrBitwiseSreg2) {
				b = append(append(reg(attrBitwiseSreg2), ' '), ") "...)
				return b, true
			}
		default:
			return nil, false
		}
		if b, ok = e.appendData(b, attrBitwiseData); !ok {
			return nil, false
		}
		return append(b, ") "...), true
	case "byteorder":
		b = append(reg(attrByteorderDreg), " = "+nameOf([]string{"ntoh", "hton"}, u(attrByteorderOp))+"("...)
		b = append(reg(attrByteorderSreg), ", "...)
		b = strconv.AppendUint(b, u(attrByteorderSize), 10)
		b = append(b, ", "...)
		b = strconv.AppendUint(b, u(attrByteorderLen), 10)
		return append(b, ") "...), true
	case "limit":
		return e.debugLimit()
	case "counter":
		b = strconv.AppendUint(append(b, "pkts "...), u(attrCounterPackets), 10)
		b = strconv.AppendUint(append(b, " bytes "...), u(attrCounterBytes), 10)
		return append(b, ' '), true
	case "immediate":
		b = append(reg(attrImmediateDreg), ' ')
		d, ok := e.data[attrImmediateData]
		if !ok {
			return b, true
		}
		if !d.verdict {
			return appendWords(b, d.value), true
		}
		b = append(b, verdictName(d.code)+" "...)
		if d.hasChain {
			b = append(b, "-> "+d.chain+" "...)
		}
		return b, true
	case "lookup":
		b = append(reg(attrLookupSreg), " set "+e.str[attrLookupSet]+" "...)
		if e.has(attrLookupDreg) {
			b = append(strconv.AppendUint(append(b, "dreg "...), u(attrLookupDreg), 10), ' ')
		}
		if e.has(attrLookupFlags) {
			b = append(strconv.AppendUint(append(b, "0x"...), u(attrLookupFlags), 16), ' ')
		}
		return b, true
	case "exthdr":
		if e.has(attrExthdrSreg) || !e.has(attrExthdrDreg) {
			return nil, false
		}
		b = append(b, "load "...)
		b = append(b, nameOf([]string{"ipv6", "tcpopt", "ipv4", "sctp", "dccp"}, u(attrExthdrOp))...)
		b = strconv.AppendUint(append(b, ' '), u(attrExthdrLen), 10)
		b = strconv.AppendUint(append(b, "b @ "...), u(attrExthdrType), 10)
		b = strconv.AppendUint(append(b, " + "...), u(attrExthdrOffset), 10)
		if u(attrExthdrFlags)&exthdrPresent != 0 {
			b = append(b, " present"...)
		}
		b = append(b, " => "...)
		return append(reg(attrExthdrDreg), ' '), true
	case "reject", "nat", "masq", "redir":
		return e.debugStmt()
	case "rt":
		b = append(b, "load "+nameOf(rtKeyNames, u(attrRtKey))+" => "...)
		return append(reg(attrRtDreg), ' '), true
	case "log":
		return e.debugLog()
	case "notrack":
		return nil, true
	case "payload":
		if e.has(attrPayloadSreg) {
			b = append(b, "write "...)
			b = append(reg(attrPayloadSreg), " => "...)
			b = strconv.AppendUint(b, u(attrPayloadLen), 10)
			b = append(b, "b @ "+nameOf(payloadBases, u(attrPayloadBase))+" header + "...)
			b = strconv.AppendUint(b, u(attrPayloadOffset), 10)
			b = strconv.AppendUint(append(b, " csum_type "...), u(attrPayloadCsumType), 10)
			b = strconv.AppendUint(append(b, " csum_off "...), u(attrPayloadCsumOffset), 10)
			b = strconv.AppendUint(append(b, " csum_flags 0x"...), u(attrPayloadCsumFlags), 16)
			return append(b, ' '), true
		}
		b = strconv.AppendUint(append(b, "load "...), u(attrPayloadLen), 10)
		b = append(b, "b @ "+nameOf(payloadBases, u(attrPayloadBase))+" header + "...)
		b = strconv.AppendUint(b, u(attrPayloadOffset), 10)
		b = append(b, " => "...)
		return append(reg(attrPayloadDreg), ' '), true
	}
	return nil, false
}

// appendData writes the value of data attribute typ; a missing attribute or
// a verdict where a value belongs cannot be spelled.
func (e *wireExpr) appendData(b []byte, typ uint16) ([]byte, bool) {
	d, ok := e.data[typ]
	if !ok || d.verdict {
		return nil, false
	}
	return appendWords(b, d.value), true
}

// appendWords writes value as libnftnl does: "0x%08x " for each 32-bit word
// in native byte order, the last one padded with zero bytes.
func appendWords(b []byte, value []byte) []byte {
	for i := 0; i < len(value); i += 4 {
		var w [4]byte
		copy(w[:], value[i:])
		b = append(b, "0x"...)
		s := strconv.AppendUint(nil, uint64(binary.NativeEndian.Uint32(w[:])), 16)
		for range 8 - len(s) {
			b = append(b, '0')
		}
		b = append(append(b, s...), ' ')
	}
	return b
}

func verdictName(code int32) string {
	switch code {
	case codeAccept:
		return "accept"
	case codeDrop:
		return "drop"
	case codeStolen:
		return "stolen"
	case codeQueue:
		return "queue"
	case codeRepeat:
		return "repeat"
	case codeStop:
		return "stop"
	case codeContinue:
		return "continue"
	case codeBreak:
		return "break"
	case codeJump:
		return "jump"
	case codeGoto:
		return "goto"
	case codeReturn:
		return "return"
	}
	return "unknown"
}
