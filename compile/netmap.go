package compile

import (
	"fmt"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// NETMAP (xt_NETMAP.c) maps a whole network one to one: in PREROUTING and
// OUTPUT the destination, in POSTROUTING and INPUT the source, each address
// becoming (addr & ~mask) | (to & mask), then nf_nat_setup_info with that
// one address and HOOK2MANIP(hook). nft's "dnat prefix to P" and "snat
// prefix to P" (NF_NAT_RANGE_NETMAP: nft_nat_setup_netmap) compute the
// same address from the prefix's first and last address and call
// nf_nat_setup_info the same way; nft_nat_validate allows dnat only in
// prerouting and output and snat only in postrouting and input, as
// HOOK2MANIP gives. So the chain decides the statement: a NETMAP in a
// user chain takes its direction from the hook that reaches it, which one
// nft statement cannot, and is refused (exit 1).

func init() {
	targetPlaces["NETMAP"] = targetPlace{"nat", []string{"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}, "xt_NETMAP"}
}

// netmapStmts returns the statement of r's NETMAP target for the chain
// (o.Chain, or the words' -A or -I chain), nil when r's target is not
// NETMAP, and an Unsupported error when the chain is not a built-in one.
func netmapStmts(r *parse.Rule, o Options) ([]expr.Stmt, error) {
	t := r.Target
	if t == nil || t.Kind != parse.TargetExtension || t.Name != "NETMAP" {
		return nil, nil
	}
	chain := ruleChain(r, o.Chain)
	var typ expr.NATType
	switch strings.ToUpper(chain) {
	case "PREROUTING", "OUTPUT":
		typ = expr.DNAT
	case "POSTROUTING", "INPUT":
		typ = expr.SNAT
	default:
		e := &parse.Error{Pos: t.NamePos, Word: t.Name, Text: r.Text, Kind: parse.Unsupported,
			Hint: "put the rule in the nat table's PREROUTING or OUTPUT chain (destination) or POSTROUTING or INPUT chain (source), or write -j DNAT or -j SNAT"}
		if chain == "" {
			e.Msg = "NETMAP maps the destination in PREROUTING and OUTPUT and the source in POSTROUTING and INPUT: ctmatch needs the chain (-A CHAIN) to choose nft's dnat or snat prefix to"
		} else {
			e.Msg = fmt.Sprintf("NETMAP in the user chain %s is valid iptables, but ctmatch cannot translate it exactly: xt_NETMAP maps the destination or the source by the hook that reaches the chain, while nft's dnat and snat prefix to each map one", chain)
		}
		return nil, e
	}
	return []expr.Stmt{expr.Netmap{Type: typ, Prefix: t.NetmapPrefix()}}, nil
}

// StmtChain returns the built-in chain that iptables words without one
// need for the statements of pieces to compile back: PREROUTING for a
// netmap's dnat, POSTROUTING for its snat (decompiled words carry no -A,
// and NETMAP's direction is the chain's); "" when no statement depends on
// the chain.
func StmtChain(pieces []expr.Rule) string {
	for _, p := range pieces {
		for _, s := range p.Stmts {
			if n, ok := s.(expr.Netmap); ok {
				if n.Type == expr.DNAT {
					return "PREROUTING"
				}
				return "POSTROUTING"
			}
		}
	}
	return ""
}

// netmapWords returns the target words of a netmap statement.
func netmapWords(s expr.Netmap, fam parse.Family) ([]string, bool) {
	if !s.Prefix.IsValid() || s.Prefix.Addr().Is4() != (fam != parse.IPv6) || s.Prefix.Masked() != s.Prefix {
		return nil, false
	}
	return []string{"-j", "NETMAP", "--to", s.Prefix.String()}, true
}
