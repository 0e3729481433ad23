package compile

import (
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the tcp match's --tcp-flags and --syn. The kernel
// facts (docs/semantics.md, "TCP flags", gives the source lines):
//
//   - xt_tcpudp's tcp_mt compares byte 13 of the TCP header, under the
//     mask, with the comparison, the whole comparison inverted by "!":
//     NF_INVF(tcpinfo, XT_TCP_INV_FLAGS, (th[13] & flg_mask) == flg_cmp).
//     It does so only for a packet that is not a fragment other than the
//     first (fragoff == 0), as for the ports: the fragment test of
//     packetMatches comes with it.
//   - nft's "tcp flags & MASK == COMP" loads the same byte of the transport
//     header (payload, bitwise, cmp eq), "!=" is cmp neq.
//
// So "--tcp-flags SYN,ACK SYN" is "tcp flags & (syn|ack) == syn", "!
// --syn" is "tcp flags & (fin|syn|rst|ack) != syn".

// tcpFlags compiles --tcp-flags MASK COMP or --syn: "tcp flags & MASK ==
// COMP", or "!=" when negated. With no flag in the mask the comparison
// does not read the flags: the option holds for every packet the match
// looks at (nothing), or for none, which is refused (a rule that never
// matches, which iptables-save does not even print).
func tcpFlags(f *parse.TCPFlags) ([]expr.Match, error) {
	switch {
	case f.Always():
		return nil, nil
	case f.Never():
		return nil, fmt.Errorf("col %d: %s--tcp-flags NONE %v matches no packet (no flag is compared, so the comparison never holds): iptables-save prints the rule without it, as one that matches every TCP packet; ctmatch does not load a rule whose meaning iptables itself loses",
			f.Pos()+1, negWord(f.Negated), f.Comp)
	}
	op := expr.OpEq
	if f.Negated {
		op = expr.OpNeq
	}
	return []expr.Match{expr.Payload{Field: expr.FieldTCPFlags, Mask: uint32(f.Mask), Op: op, Lo: uint32(f.Comp)}}, nil
}

func negWord(neg bool) string {
	if neg {
		return "! "
	}
	return ""
}

// tcpFlagsWords returns the words of a tcp flags test of the tcp match:
// "! --tcp-flags FIN,SYN,RST,ACK SYN". A test with no mask, or of a flag
// iptables does not name (ECE, CWR), has no such words.
func tcpFlagsWords(p expr.Payload, module string) ([]string, error) {
	all := uint32(parse.TCPAll)
	if module != "tcp" || p.Mask == 0 || p.Mask&^all != 0 || p.Lo&^all != 0 {
		return nil, fmt.Errorf("%w: %v has no --tcp-flags words", ErrNotUnderstood, p)
	}
	var w []string
	if p.Op == expr.OpNeq {
		w = append(w, "!")
	}
	return append(w, "--tcp-flags", parse.TCPFlag(p.Mask).String(), parse.TCPFlag(p.Lo).String()), nil
}
