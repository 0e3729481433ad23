package compile

import (
	"fmt"
	"math"
	"strconv"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the ah match. The kernel facts (docs/semantics.md,
// "AH", gives the source lines):
//
//   - iptables' ah match is ipt_ah.c's ah_mt: false on a fragment other
//     than the first (par->fragoff != 0), then the AH header at the
//     transport offset, spi_match(min, max, ntohl(ah->spi), invert); the
//     kernel takes it only after -p ah. nft's "ah spi" loads bytes 4-7 of
//     the transport header after "meta l4proto ah" and reads a non-first
//     fragment's data as well, so the rule gets the fragment test of the
//     tcp and udp matches, "ip frag-off & 0x1fff == 0".
//   - ip6tables' ah match is ip6t_ah.c's ah_mt6: the first AH header
//     ipv6_find_hdr finds (NEXTHDR_AUTH), wherever it is in the chain of
//     extension headers, not behind a fragment header of offset other than
//     0; then the SPI range, (--ahlen) (ah->hdrlen + 2) * 4 == length, and
//     (--ahres) a zero reserved field. nft's "meta l4proto ah" is the first
//     AH header too (nft_set_pktinfo_ipv6: ipv6_find_hdr with
//     IP6_FH_F_AUTH, which stops at it, and fails behind a non-first
//     fragment), and its fields load from there. ip6tables' -p names the
//     header after every extension header, AH included, which nft's meta
//     l4proto cannot say next to "meta l4proto ah": -m ah with -p is
//     refused.
//
// An AH header shorter than xt's 12 bytes makes xt drop the packet
// (hotdrop) where nft's rule does not match, or matches on the 8 bytes it
// reads: truncated packets only, as for the tcp match.

// ah compiles an ah match: "ah spi 500" after -p ah (iptables) or "meta
// l4proto ah ah spi 500" (ip6tables), every SPI as "ah spi 0-4294967295"
// (the header must be there), --ahlen 24 as "ah hdrlength 4", --ahres as
// "ah reserved 0". It reports whether the rule needs the fragment test.
func ah(m *parse.AH, r *parse.Rule, fam parse.Family) ([]expr.Match, bool, error) {
	var out []expr.Match
	if fam == parse.IPv6 {
		if pr := r.Protocol; pr != nil && pr.Num != 0 {
			return nil, false, fmt.Errorf("col %d: -m ah with -p in ip6tables: -p names the header after AH, and nft's meta l4proto stops at AH, so no nft rule tests both", m.Pos()+1)
		}
		out = append(out, expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoAH})
	}
	spi := expr.Payload{Field: expr.FieldAHSPI, Op: expr.OpRange, Hi: math.MaxUint32}
	if o := m.SPI; o != nil {
		spi = fieldRange(expr.FieldAHSPI, uint32(o.Lo), uint32(o.Hi), o.Negated)
	}
	out = append(out, spi)
	if o := m.Len; o != nil && o.N != 0 {
		// ip6t_ah tests the length only when it is not 0.
		if o.N%4 != 0 || o.N < 8 || o.N > 1028 {
			return nil, false, fmt.Errorf("col %d: --ahlen %d is no AH header length ((hdrlen+2)*4: a multiple of 4 from 8 to 1028): the test never holds (with !, always), which ctmatch does not write as an nft rule", o.Pos()+1, o.N)
		}
		op := expr.OpEq
		if o.Negated {
			op = expr.OpNeq
		}
		out = append(out, expr.Payload{Field: expr.FieldICMPCode, Op: op, Lo: o.N/4 - 2})
	}
	if m.Res != parse.NoPos {
		out = append(out, expr.Payload{Field: expr.FieldTHDport, Op: expr.OpEq, Lo: 0})
	}
	return out, fam != parse.IPv6, nil
}

// isAHStart reports whether ms starts with ip6tables' ah match: "meta
// l4proto ah" and the SPI test.
func isAHStart(ms []expr.Match) bool {
	if len(ms) < 2 || ms[0] != (expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoAH}) {
		return false
	}
	p, ok := ms[1].(expr.Payload)
	return ok && p.Field == expr.FieldAHSPI
}

// ahWords returns the words of the ah match whose SPI test starts ms, and
// how many of ms they say: "-m ah ! --ahspi 5:9 --ahlen 24 --ahres".
func ahWords(ms []expr.Match) ([]string, int, error) {
	spi := ms[0].(expr.Payload)
	words := []string{"-m", "ah"}
	lo, hi := spi.Lo, spi.Lo
	switch spi.Op {
	case expr.OpRange, expr.OpNotRange:
		hi = spi.Hi
	case expr.OpEq, expr.OpNeq:
	default:
		return nil, 0, fmt.Errorf("%w: %v is no --ahspi", ErrNotUnderstood, spi)
	}
	if spi.Mask != 0 || lo > hi {
		return nil, 0, fmt.Errorf("%w: %v is no --ahspi", ErrNotUnderstood, spi)
	}
	neg := spi.Op == expr.OpNeq || spi.Op == expr.OpNotRange
	if neg || lo != 0 || hi != math.MaxUint32 {
		if neg {
			words = append(words, "!")
		}
		v := strconv.FormatUint(uint64(lo), 10)
		if lo != hi {
			v += ":" + strconv.FormatUint(uint64(hi), 10)
		}
		words = append(words, "--ahspi", v)
	}
	n := 1
	if n < len(ms) {
		if p, ok := ms[n].(expr.Payload); ok && p.Field == expr.FieldICMPCode && p.Mask == 0 && (p.Op == expr.OpEq || p.Op == expr.OpNeq) {
			if p.Op == expr.OpNeq {
				words = append(words, "!")
			}
			words = append(words, "--ahlen", strconv.FormatUint(uint64(p.Lo+2)*4, 10))
			n++
		}
	}
	if n < len(ms) {
		if p, ok := ms[n].(expr.Payload); ok && p.Field == expr.FieldTHDport && p.Mask == 0 && p.Op == expr.OpEq && p.Lo == 0 {
			words = append(words, "--ahres")
			n++
		}
	}
	return words, n, nil
}
