package expr

// This file holds the fields of the ICMP and ICMPv6 headers: nft's
// "icmp type", "icmp code", "icmpv6 type" and "icmpv6 code".

// Transport protocol numbers of ICMP.
const (
	ProtoICMP   uint8 = 1  // IPPROTO_ICMP: nft "icmp"
	ProtoICMPv6 uint8 = 58 // IPPROTO_ICMPV6: nft "icmpv6"
)

// isICMPField reports whether f is a field of the ICMP or ICMPv6 header.
func isICMPField(f Field) bool { return f == FieldICMPType || f == FieldICMPCode }

// icmpWord returns nft's protocol word for the ICMP fields after an
// "meta l4proto PROTO" equality: "icmp" or "icmpv6", or "".
func icmpWord(proto uint8) string {
	switch proto {
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	}
	return ""
}

// icmpRawText is the raw payload spelling of an ICMP field with no ICMP
// protocol test before it: "@th,0,8" (type) or "@th,8,8" (code), which
// nft loads as the same byte.
func icmpRawText(f Field) string {
	if f == FieldICMPCode {
		return "@th,8,8"
	}
	return "@th,0,8"
}

// splitICMPTypeCode undoes, after an ICMP protocol test, the merge of
// "icmp type T icmp code C" into one 2-byte load that nft and Lower send:
// Raise reads a 2-byte load at transport header + 0 as "th sport", which
// it is for every other protocol.
func splitICMPTypeCode(ms []Match) []Match {
	var out []Match
	for i, m := range ms {
		p, ok := m.(Payload)
		if ok && p.Field == FieldTHSport && p.Op == OpEq && p.Mask == 0 && icmpWord(icmpProtoBefore(ms, i)) != "" {
			if out == nil {
				out = append(make([]Match, 0, len(ms)+1), ms[:i]...)
			}
			out = append(out, Payload{Field: FieldICMPType, Op: OpEq, Lo: p.Lo >> 8}, Payload{Field: FieldICMPCode, Op: OpEq, Lo: p.Lo & 0xff})
			continue
		}
		if out != nil {
			out = append(out, m)
		}
	}
	if out == nil {
		return ms
	}
	return out
}

// icmpProtoBefore returns the protocol of the last "meta l4proto" equality
// before index i of ms, or 0 when the last L4Proto is not an equality.
func icmpProtoBefore(ms []Match, i int) uint8 {
	for j := i - 1; j >= 0; j-- {
		if l, ok := ms[j].(L4Proto); ok {
			if l.Op == OpEq {
				return l.Proto
			}
			return 0
		}
	}
	return 0
}
