package expr

import "strconv"

// This file holds the TCP header's flags: nft's "tcp flags", byte 13 of the
// TCP header, a Payload of FieldTCPFlags.

// tcpFlagNames are nft's names of the bits of "tcp flags", lowest first.
var tcpFlagNames = [8]string{"fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"}

// appendTCPFlags writes a condition on the TCP flags: "tcp flags &
// (fin|syn|rst|ack) == syn", "tcp flags & (syn|ack) != syn", "tcp flags ==
// (syn|ack)". With no tcp protocol test before it (proto is not "tcp") it
// is the raw load of the same byte: "@th,104,8 & 0x17 == 0x2".
func (p Payload) appendTCPFlags(b []byte, proto string) []byte {
	if p.Op != OpEq && p.Op != OpNeq {
		return appendInvalid(b, "operator "+strconv.FormatUint(uint64(p.Op), 10)+" on tcp flags")
	}
	raw := proto != "tcp"
	if raw {
		b = append(b, "@th,104,8"...)
	} else {
		b = append(b, "tcp flags"...)
	}
	if p.Mask != 0 {
		b = append(b, " & "...)
		b = appendFlagValue(b, p.Mask, raw)
	}
	if p.Op == OpEq {
		b = append(b, " == "...)
	} else {
		b = append(b, " != "...)
	}
	return appendFlagValue(b, p.Lo, raw)
}

// appendFlagValue writes a set of TCP flags as nft reads it: "syn",
// "(fin|syn|rst|ack)", "0x0" for none, and hexadecimal when raw.
func appendFlagValue(b []byte, v uint32, raw bool) []byte {
	if raw || v == 0 || v > 0xff {
		return append(append(b, "0x"...), strconv.FormatUint(uint64(v), 16)...)
	}
	n := 0
	for i := range tcpFlagNames {
		if v&(1<<i) != 0 {
			n++
		}
	}
	if n > 1 {
		b = append(b, '(')
	}
	first := true
	for i, name := range tcpFlagNames {
		if v&(1<<i) == 0 {
			continue
		}
		if !first {
			b = append(b, '|')
		}
		b = append(b, name...)
		first = false
	}
	if n > 1 {
		b = append(b, ')')
	}
	return b
}

// appendTCPFlagsJSON writes the test as appendTCPFlags its text: {"payload":
// {"protocol": "tcp", "field": "flags"}} after "meta l4proto tcp", the raw
// {"payload": {"base": "th", "offset": 104, "len": 8}} otherwise, masked
// with {"&": […]} when there is a mask; the flags as a number.
func (p Payload) appendTCPFlagsJSON(b []byte, proto string) []byte {
	if p.Op != OpEq && p.Op != OpNeq {
		return appendJSONInvalid(b, "operator "+strconv.FormatUint(uint64(p.Op), 10)+" on tcp flags")
	}
	left := []byte(`{"payload":{"protocol":"tcp","field":"flags"}}`)
	if proto != "tcp" {
		left = []byte(`{"payload":{"base":"th","offset":104,"len":8}}`)
	}
	return p.appendJSONLeft(b, left)
}
