package compile

import (
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the pkttype match. The kernel facts (docs/semantics.md,
// "Packet types", gives the source lines): xt_pkttype.c's pkttype_mt
// compares skb->pkt_type, or for a looped-back packet (PACKET_LOOPBACK)
// PACKET_MULTICAST when an IPv4 destination is multicast or the family is
// IPv6 and PACKET_BROADCAST otherwise, with the type given, XORed with "!".
// nft_meta.c's NFT_META_PKTTYPE stores the same value (skb->pkt_type, or
// nft_meta_get_eval_pkttype_lo's multicast or broadcast by the same tests
// on nft_pf(pkt), the family of the packet in ip, ip6 and inet chains), and
// nft_cmp compares its byte: "meta pkttype host" is "--pkt-type unicast",
// "meta pkttype != broadcast" "! --pkt-type broadcast", for every packet.

// pkttype compiles --pkt-type TYPE to "meta pkttype TYPE", ! --pkt-type
// TYPE to "meta pkttype != TYPE".
func pkttype(m *parse.Pkttype) expr.Match {
	return expr.PktType{Op: eqOp(m.Negated), Type: uint8(m.Type)}
}

// isPkttype reports whether m is a match pkttype compiles to.
func isPkttype(m expr.Match) bool {
	p, ok := m.(expr.PktType)
	return ok && (p.Op == expr.OpEq || p.Op == expr.OpNeq) && p.Type <= uint8(parse.PktOtherHost)
}

// appendPkttypeWords appends the words of the matches pkttype compiles to
// at the start of ms ("-m pkttype ! --pkt-type broadcast"), and returns the
// rest of ms.
func appendPkttypeWords(words []string, ms []expr.Match) ([]string, []expr.Match) {
	for len(ms) > 0 && isPkttype(ms[0]) {
		p := ms[0].(expr.PktType)
		words = append(words, "-m", "pkttype")
		if p.Op == expr.OpNeq {
			words = append(words, "!")
		}
		words = append(words, "--pkt-type", parse.PktType(p.Type).String())
		ms = ms[1:]
	}
	return words, ms
}

// isPacketMatch reports whether m is a match of the ttl, hl, addrtype,
// pkttype or owner match, which may stand anywhere among a rule's packet
// matches.
func isPacketMatch(m expr.Match) bool {
	return isHL(m) || isAddrtype(m) || isPkttype(m) || isOwner(m)
}

// appendMatchWords appends the words of the addrtype, pkttype and owner
// matches at the start of ms, in their order, and returns the rest of ms.
func appendMatchWords(words []string, ms []expr.Match) ([]string, []expr.Match) {
	for len(ms) > 0 {
		n := len(ms)
		words, ms = appendAddrtypeWords(words, ms)
		words, ms = appendPkttypeWords(words, ms)
		words, ms = appendOwnerWords(words, ms)
		if len(ms) == n {
			return words, ms
		}
	}
	return words, ms
}
