package compile

import (
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the policy match without policy elements. The kernel
// facts (docs/semantics.md, "IPsec policy", gives the source lines):
// iptables 1.8.9 gives --pol ipsec one policy element that matches every
// state (libxt_policy.c's final check: "increase len by 1"), --pol none
// none. xt_policy.c's policy_mt then, for --dir in (match_policy_in),
// returns for ipsec whether skb_sec_path(skb) exists and holds a state, and
// for none whether it does not exist; for --dir out (match_policy_out), for
// ipsec whether skb_dst(skb)->xfrm is set, for none whether it is not. nft's
// "meta secpath" reads whether the skb has a sec_path (nft_meta.c,
// secpath_exists) and "rt ipsec" whether skb_dst(skb)->xfrm is set
// (nft_rt.c). The xfrm input path adds its state to a sec_path as soon as
// it makes one (xfrm_input; a packet whose state it cannot find is dropped,
// and GRO's esp offload resets the sec_path it made), so no packet reaches a
// hook with an empty sec_path, and secpath exists is "holds a state".

// policy compiles -m policy --dir in --pol ipsec to "meta secpath exists",
// --pol none to "meta secpath missing", --dir out --pol ipsec to "rt ipsec
// exists", --pol none to "rt ipsec missing".
func policy(m *parse.Policy) expr.Match {
	return expr.IPsec{Out: m.Out, Exists: !m.None}
}

// policyWords returns the words of an IPsec test: "-m policy --dir in --pol
// ipsec".
func policyWords(m expr.IPsec) []string {
	words := []string{"-m", "policy", "--dir", "in", "--pol", "none"}
	if m.Out {
		words[3] = "out"
	}
	if m.Exists {
		words[5] = "ipsec"
	}
	return words
}
