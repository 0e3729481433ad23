package compile

import (
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the mac match. The kernel facts (docs/semantics.md,
// "MAC source address", gives the source lines): xt_mac.c's mac_mt returns
// false when skb->dev is NULL or not of type ARPHRD_ETHER, or when the mac
// header does not lie whole (ETH_HLEN bytes) between skb->head and
// skb->data; otherwise it compares eth_hdr(skb)->h_source with the address,
// flipped by "!". So "!" means another address through an Ethernet device,
// never a packet from another kind of device. nft's "ether saddr" in an ip,
// ip6 or inet table is "meta iiftype ether" (nft_meta.c: the input device's
// type, the rule breaks without one; at the hooks xt_mac takes, the input
// device is skb->dev) and a load of 6 bytes at offset 6 of the link-layer
// header (nft_payload.c: the rule breaks when the skb has no mac header);
// the "!=" applies to the address only. xt_mac is registered for
// PREROUTING, INPUT and FORWARD only; parse refuses it in OUTPUT and
// POSTROUTING, as the kernel refuses iptables' rule.

// mac compiles -m mac --mac-source ADDR to "ether saddr ADDR", and its
// negation to "ether saddr != ADDR".
func mac(m *parse.MAC) expr.Match {
	e := expr.EtherSaddr{Op: expr.OpEq, Addr: m.Option.Addr}
	if m.Option.Negated {
		e.Op = expr.OpNeq
	}
	return e
}

// macWords returns the words of an ether saddr match: "-m mac !
// --mac-source 00:11:22:33:44:55".
func macWords(e expr.EtherSaddr) []string {
	words := []string{"-m", "mac"}
	if e.Op == expr.OpNeq {
		words = append(words, "!")
	}
	return append(words, "--mac-source", parse.MACAddr(e.Addr).String())
}
