package compile

import (
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles -i and -o. The kernel facts (docs/semantics.md,
// "Interfaces", gives the source lines):
//
//   - ip_packet_match and ip6_packet_match compare the device name with the
//     rule's name under the rule's mask (ifname_compare_aligned), and "!"
//     negates the result. iptables sets the mask over the name and its
//     terminating zero for an exact name, and over the bytes before the "+"
//     for a prefix (xtables_parse_interface); "-i +" has an empty mask and
//     matches every packet. A packet without the device (no input device in
//     OUTPUT) compares the empty name.
//   - nft's meta iifname and oifname load the device name padded with zeros
//     to IFNAMSIZ bytes, or 16 zeros without a device
//     (nft_meta_store_ifname); cmp compares the whole 16 bytes for an exact
//     name and only the prefix's bytes for "eth*" (nft_cmp_eval: memcmp of
//     priv->len bytes).
//
// So "-i eth0" is iifname "eth0", "-i eth+" iifname "eth*", "! -i eth0"
// iifname != "eth0", for every packet. They test the packet, not its
// conntrack: they hold or fail alike in every piece.

// interfaces compiles the rule's -i and -o, in that order.
func interfaces(r *parse.Rule) []expr.Match {
	var out []expr.Match
	for _, f := range []*parse.Interface{r.InIface, r.OutIface} {
		if f != nil && !f.All() {
			out = append(out, iface(f))
		}
	}
	return out
}

// iface compiles one of -i and -o: -i eth0 is iifname "eth0", ! -i eth0
// iifname != "eth0", -i eth+ iifname "eth*", ! -o eth+ oifname != "eth*".
// "-i +" matches every packet and is left out by interfaces; "! -i +"
// matches none and parse refuses it.
func iface(f *parse.Interface) expr.Match {
	op := expr.OpEq
	if f.Negated {
		op = expr.OpNeq
	}
	return expr.IfName{Out: f.Out, Op: op, Name: f.Name, Prefix: f.Prefix}
}

// ifaceWords returns the iptables words of an interface match: "! -i eth+".
func ifaceWords(m expr.IfName) []string {
	var w []string
	if m.Op == expr.OpNeq {
		w = append(w, "!")
	}
	f := parse.Interface{Out: m.Out, Name: m.Name, Prefix: m.Prefix}
	return append(w, f.Flagword(), f.Word())
}
