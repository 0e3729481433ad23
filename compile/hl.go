package compile

import (
	"fmt"
	"strconv"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the ttl match (iptables) and the hl match (ip6tables).
// The kernel facts (docs/semantics.md, "TTL and hop limit", gives the source
// lines): xt_hl.c's ttl_mt compares ip_hdr(skb)->ttl, and hl_mt
// ipv6_hdr(skb)->hop_limit, with the value by the mode iptables sets: eq,
// ne (! --ttl-eq), lt or gt, as unsigned bytes. The network header is there
// for every packet the hooks see, fragments included, so nothing else is
// tested: nft's payload load of the same byte (nft_payload.c, network
// header base) and nft_cmp.c's eq, neq, lt and gt (a memcmp of the one
// byte) decide the same for every packet.

// hl compiles a ttl or hl match: --ttl-eq 64 is "ip ttl 64", ! --ttl-eq 64
// "ip ttl != 64", --ttl-lt 5 "ip ttl < 5", --hl-gt 1 "ip6 hoplimit > 1".
// --ttl-lt 0 and --ttl-gt 255 match no packet, in xt as in nft ("ip ttl <
// 0"): they are kept as they are, as iptables-translate writes them.
func hl(m *parse.HL) expr.Match {
	f := expr.FieldIPTTL
	if m.V6() {
		f = expr.FieldIP6HopLimit
	}
	o := m.Option
	p := expr.Payload{Field: f, Lo: uint32(o.N)}
	switch {
	case o.Kind == parse.HLLt:
		p.Op = expr.OpLt
	case o.Kind == parse.HLGt:
		p.Op = expr.OpGt
	case o.Negated:
		p.Op = expr.OpNeq
	default:
		p.Op = expr.OpEq
	}
	return p
}

// isHL reports whether m is a match hl compiles to.
func isHL(m expr.Match) bool {
	p, ok := m.(expr.Payload)
	return ok && p.Mask == 0 && (p.Field == expr.FieldIPTTL || p.Field == expr.FieldIP6HopLimit) &&
		(p.Op == expr.OpEq || p.Op == expr.OpNeq || p.Op == expr.OpLt || p.Op == expr.OpGt)
}

// hlWords returns the iptables words of a match hl compiles to: "-m ttl !
// --ttl-eq 64", "-m hl --hl-lt 5".
func hlWords(m expr.Match) ([]string, error) {
	if !isHL(m) {
		return nil, fmt.Errorf("%w: %v is no ttl or hl match", ErrNotUnderstood, m)
	}
	p := m.(expr.Payload)
	module := "ttl"
	if p.Field == expr.FieldIP6HopLimit {
		module = "hl"
	}
	words := []string{"-m", module}
	kind := parse.HLEq
	switch p.Op {
	case expr.OpNeq:
		words = append(words, "!")
	case expr.OpLt:
		kind = parse.HLLt
	case expr.OpGt:
		kind = parse.HLGt
	}
	return append(words, parse.HLOptionName(module, kind), strconv.FormatUint(uint64(p.Lo), 10)), nil
}

// appendHLWords appends the words of the matches hl compiles to at the
// start of ms, and returns the rest of ms.
func appendHLWords(words []string, ms []expr.Match) ([]string, []expr.Match, error) {
	for len(ms) > 0 && isHL(ms[0]) {
		w, err := hlWords(ms[0])
		if err != nil {
			return nil, nil, err
		}
		words = append(words, w...)
		ms = ms[1:]
	}
	return words, ms, nil
}
