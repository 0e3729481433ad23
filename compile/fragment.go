package compile

import (
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles iptables' -f. The kernel fact (docs/semantics.md,
// "Fragments", gives the source lines): ip_packet_match fails a rule with
// -f on a packet whose fragment offset (ntohs(ip->frag_off) & IP_OFFSET) is
// 0, and with ! -f on one whose offset is not 0:
// NF_INVF(ipinfo, IPT_INV_FRAG, (ipinfo->flags & IPT_F_FRAG) && !isfrag).
// nft's "ip frag-off & 0x1fff" loads the same 13 bits of the IPv4 header
// of every packet.

// fragment compiles -f to "ip frag-off & 0x1fff != 0" (a fragment other
// than the first) and ! -f to "ip frag-off & 0x1fff == 0", which is also
// the fragment test of the tcp and udp matches (firstFragment): compile
// puts -f's after -p, where ip_packet_match tests it, and the port
// matches' first, so that listing tells them apart.
func fragment(f *parse.Fragment) expr.Match {
	if f.Negated {
		return firstFragment()
	}
	return notFirstFragment()
}

// notFirstFragment is "ip frag-off & 0x1fff != 0".
func notFirstFragment() expr.Match {
	return expr.Payload{Field: expr.FieldIPFragOff, Mask: 0x1fff, Op: expr.OpNeq, Lo: 0}
}

// appendFragmentWords appends "-f" or "! -f" when pre starts with the test
// fragment compiles to, and returns the rest of pre.
func appendFragmentWords(words []string, pre []expr.Match) ([]string, []expr.Match) {
	if len(pre) == 0 {
		return words, pre
	}
	switch pre[0] {
	case notFirstFragment():
		return append(words, "-f"), pre[1:]
	case firstFragment():
		return append(words, "!", "-f"), pre[1:]
	}
	return words, pre
}

func isL4Proto(m expr.Match) bool {
	_, ok := m.(expr.L4Proto)
	return ok
}
