package ctmatch

import "github.com/ctmatch/ctmatch/parse"

// protoAH is IPPROTO_AH.
const protoAH = 51

// caveats returns what a rule's translation does otherwise than the
// kernel's xt code on some packets, each at its word, as warnings (Kind
// Unsupported, since the rule is translated all the same).
//
// The one such difference is ip6tables' -p: ip6_packet_match finds the
// protocol with ipv6_find_hdr, which walks past an AH header, while nft's
// meta l4proto comes from the same walk with IP6_FH_F_AUTH, which stops at
// it (docs/semantics.md, "Protocols and ports"). A packet with AH before its
// transport header matches -p tcp in ip6tables and not meta l4proto tcp
// (and ! -p tcp the other way round). -p all and -p ah have no such
// difference (ctmatch compiles ip6tables' -p ah, which never matches, to a
// rule that never matches).
func caveats(r *parse.Rule, fam parse.Family) []*parse.Error {
	pr := r.Protocol
	if fam != parse.IPv6 || pr == nil || pr.Num == 0 || pr.Num == protoAH {
		return nil
	}
	end := min(int(pr.End()), len(r.Text))
	return []*parse.Error{{Pos: pr.Pos(), Text: r.Text, Word: r.Text[min(int(pr.Pos()), end):end], Kind: parse.Unsupported,
		Msg:  "ip6tables' -p looks past an AH header, nft's meta l4proto stops at it: a packet with AH before its " + pr.Name() + " header is matched otherwise",
		Hint: "it concerns IPsec AH traffic only; said once a run, at the first such rule; see docs/semantics.md, \"Protocols and ports\""}}
}
