package compile

import (
	"fmt"
	"math"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the length match. The kernel facts (docs/semantics.md,
// "Packet length", gives the source lines): xt_length.c's length_mt
// compares ntohs(ip_hdr(skb)->tot_len), the IPv4 header's total length, and
// length_mt6 the u_int16_t ntohs(ipv6_hdr(skb)->payload_len) + 40, which
// wraps: a payload length of 65496-65535 gives 0-39. Each is tested as
// (min <= len <= max) ^ invert. nft's "ip length" and "ip6 length" load the
// same header bytes (nft_payload.c, network header), so the IPv4 range is
// the same range, and the IPv6 range is the set of payload lengths whose
// sum with 40, taken modulo 65536, falls in it: one interval or, when
// min < 40 <= max, the complement of one. It is not "meta length"
// (skb->len), which iptables-translate writes: that differs on GSO and GRO
// packets and on any packet with bytes after the IP datagram.

// ip6Hdr is the size of the IPv6 header, which xt_length adds to the
// payload length.
const ip6Hdr = 40

// length compiles a length match: --length 100:200 is "ip length 100-200",
// ! --length 100 "ip length != 100"; in ip6tables --length 1280:1500 is
// "ip6 length 1240-1460", and --length 0:1500 (min below 40) is "ip6 length
// != 1461-65495".
func length(m *parse.Length, fam parse.Family) expr.Match {
	o := m.Option
	if o.Min > o.Max {
		// A reversed range holds no length: no packet (every packet with
		// !), which is the field outside (inside) its whole range.
		f := expr.FieldIPLength
		if fam == parse.IPv6 {
			f = expr.FieldIP6Length
		}
		return fieldRange(f, 0, math.MaxUint16, !o.Negated)
	}
	if fam != parse.IPv6 {
		return fieldRange(expr.FieldIPLength, uint32(o.Min), uint32(o.Max), o.Negated)
	}
	lo, hi, neg := ip6Lengths(o.Min, o.Max, o.Negated)
	return fieldRange(expr.FieldIP6Length, lo, hi, neg)
}

// ip6Lengths returns the payload lengths P, lo..hi (all but those, when
// neg), for which (P + 40) mod 65536 is in min..max (or not, when negated).
func ip6Lengths(min, max uint16, negated bool) (lo, hi uint32, neg bool) {
	const wrap = math.MaxUint16 + 1 - ip6Hdr // P from which P + 40 wraps to 0: 65496
	switch {
	case min >= ip6Hdr:
		return uint32(min) - ip6Hdr, uint32(max) - ip6Hdr, negated
	case max < ip6Hdr:
		return uint32(min) + wrap, uint32(max) + wrap, negated
	case min == 0 && max == math.MaxUint16:
		// Every length: the range of every payload length.
		return 0, math.MaxUint16, negated
	}
	// min < 40 <= max: 0..max-40 and min+65496..65535, which is every
	// payload length but max-39..min+65495.
	return uint32(max) - ip6Hdr + 1, uint32(min) + wrap - 1, !negated
}

// fieldRange is the test of field f in lo..hi, or not in it when neg.
func fieldRange(f expr.Field, lo, hi uint32, neg bool) expr.Payload {
	p := expr.Payload{Field: f, Lo: lo}
	switch {
	case lo == hi && !neg:
		p.Op = expr.OpEq
	case lo == hi:
		p.Op = expr.OpNeq
	case !neg:
		p.Op, p.Hi = expr.OpRange, hi
	default:
		p.Op, p.Hi = expr.OpNotRange, hi
	}
	return p
}

// isLength reports whether m is a match length compiles to.
func isLength(m expr.Match) bool {
	p, ok := m.(expr.Payload)
	return ok && p.Mask == 0 && (p.Field == expr.FieldIPLength || p.Field == expr.FieldIP6Length) &&
		(p.Op == expr.OpEq || p.Op == expr.OpNeq || p.Op == expr.OpRange || p.Op == expr.OpNotRange)
}

// lengthWords returns the iptables words of a match length compiles to:
// "-m length ! --length 0:99". For ip6 length it finds the range whose
// compilation is m, and refuses a test no --length compiles to.
func lengthWords(m expr.Match) ([]string, error) {
	if !isLength(m) {
		return nil, fmt.Errorf("%w: %v is no length match", ErrNotUnderstood, m)
	}
	p := m.(expr.Payload)
	lo, hi := p.Lo, p.Lo
	if p.Op == expr.OpRange || p.Op == expr.OpNotRange {
		hi = p.Hi
	}
	neg := p.Op == expr.OpNeq || p.Op == expr.OpNotRange
	if lo > hi || hi > math.MaxUint16 {
		return nil, fmt.Errorf("%w: %v is no length range", ErrNotUnderstood, m)
	}
	min, max := lo, hi
	if p.Field == expr.FieldIP6Length {
		var ok bool
		if min, max, neg, ok = ip6Words(p, lo, hi, neg); !ok {
			return nil, fmt.Errorf("%w: %v is no ip6tables length match", ErrNotUnderstood, m)
		}
	}
	words := []string{"-m", "length"}
	if neg {
		words = append(words, "!")
	}
	return append(words, "--length", parse.LengthValue(uint16(min), uint16(max))), nil
}

// ip6Words undoes ip6Lengths: the --length range whose test of the payload
// length is p, lo..hi (all but those, when neg). Some tests are two ranges:
// "ip6 length != 1461-65495" is --length 0:1500 and ! --length 1501:65535;
// the one without "!" is chosen.
func ip6Words(p expr.Payload, lo, hi uint32, neg bool) (min, max uint32, negated, ok bool) {
	const wrap = math.MaxUint16 + 1 - ip6Hdr
	type cand struct {
		min, max uint32
		neg      bool
	}
	cands := []cand{
		{0, math.MaxUint16, neg},               // every length
		{lo + ip6Hdr, hi + ip6Hdr, neg},        // min >= 40
		{lo - wrap, hi - wrap, neg},            // max < 40
		{hi + 1 - wrap, lo + ip6Hdr - 1, !neg}, // min < 40 <= max: all but max-39..min+65495
	}
	found := false
	for _, c := range cands {
		if c.min > c.max || c.max > math.MaxUint16 || length(lengthOf(c.min, c.max, c.neg), parse.IPv6) != expr.Match(p) {
			continue
		}
		if !found || negated && !c.neg {
			min, max, negated, found = c.min, c.max, c.neg, true
		}
	}
	return min, max, negated, found
}

// lengthOf is the length match of min..max, for checking a decompiled
// range.
func lengthOf(min, max uint32, neg bool) *parse.Length {
	o := &parse.LengthOption{Min: uint16(min), Max: uint16(max)}
	o.Negated = neg
	return &parse.Length{Module: "length", Option: o}
}
