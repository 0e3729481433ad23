package compile

import (
	"errors"
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles -s and -d. The kernel facts (docs/semantics.md,
// "Addresses", gives the source lines):
//
//   - ip_packet_match tests (ip->saddr & smsk.s_addr) != src.s_addr and the
//     same for daddr, each inverted by its "!" (IPT_INV_SRCIP, IPT_INV_DSTIP);
//     ip6_packet_match does the same with ipv6_masked_addr_cmp. iptables
//     stores the address with its host bits cleared
//     (xtables_ipparse_multiple: addr &= mask), so the compare is exact under
//     any mask, contiguous or not.
//   - nft's payload expression loads the address from the network header of
//     every packet the family's hooks see (nft_payload_eval), and cmp
//     compares it, after a bitwise & MASK for a mask that is not a prefix of
//     whole bytes.
//
// So "-s 10.0.0.0/8" is ip saddr 10.0.0.0/8, "! -d 10.1.2.3" ip daddr !=
// 10.1.2.3, "-s 10.0.5.0/255.0.255.0" ip saddr & 255.0.255.0 == 10.0.5.0, for
// every packet. They test the packet, not its conntrack: they hold or fail
// alike in every piece.

// addresses compiles the rule's -s and -d, in that order. A zero mask
// matches every packet and is left out ("! -s 0.0.0.0/0" parse refuses).
func addresses(r *parse.Rule) []expr.Match {
	var out []expr.Match
	for _, a := range []*parse.Address{r.Src, r.Dst} {
		if a != nil && !a.All() {
			out = append(out, address(a))
		}
	}
	return out
}

// address compiles one of -s and -d: -s 10.0.0.0/8 is ip saddr 10.0.0.0/8,
// ! -d 2001:db8::/32 ip6 daddr != 2001:db8::/32.
func address(a *parse.Address) expr.Match {
	return expr.IPAddr{Dst: a.Dst, Op: eqOp(a.Negated), Addr: a.Addr.Masked(), Mask: a.Addr.Mask}
}

// addressWords returns the iptables words of an address match:
// "! -s 10.0.0.0/8". A match whose address has bits outside its mask never
// matches, and iptables has no words for it.
func addressWords(m expr.IPAddr) ([]string, error) {
	a := parse.Addr{Addr: m.Addr, Mask: m.Mask}
	if a.Masked() != m.Addr || m.Mask.IsUnspecified() {
		return nil, fmt.Errorf("%w: %v", ErrNotUnderstood, m)
	}
	var w []string
	if m.Op == expr.OpNeq {
		w = append(w, "!")
	}
	pa := parse.Address{Dst: m.Dst, Addr: a}
	return append(w, pa.Flagword(), pa.Word()), nil
}

// ErrAddressList is the error of Rule for a rule with a comma list in -s or
// -d: such a rule is one iptables rule per address (parse.Rule.Expand), each
// a group of nft rules of its own; compile each of them.
var ErrAddressList = errors.New("a comma list of addresses is several iptables rules")

// checkSingleAddresses refuses a rule whose -s or -d is a comma list.
func checkSingleAddresses(r *parse.Rule) error {
	for _, a := range []*parse.Address{r.Src, r.Dst} {
		if a != nil && len(a.List) > 1 {
			return fmt.Errorf("col %d: %w (%s %s is %d rules): compile each rule of parse.Rule.Expand, as ctmatch.CompileAll does",
				a.Value.At+1, ErrAddressList, a.Flagword(), a.Words(), r.Addresses())
		}
	}
	return nil
}
