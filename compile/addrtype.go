package compile

import (
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the addrtype match of iptables. The kernel facts
// (docs/semantics.md, "Address types", gives the source lines):
//
//   - xt_addrtype.c's addrtype_mt_v1 for IPv4 tests
//     mask & (1 << inet_dev_addr_type(net, dev, addr)) for the source, then
//     (only when that passed) the destination, each XORed with its "!"; dev
//     is the input interface with --limit-iface-in, the output interface
//     with --limit-iface-out, and NULL (any interface) without.
//   - nft_fib_ipv4.c's nft_fib4_eval_type stores
//     inet_dev_addr_type(nft_net(pkt), dev, addr) in the register, addr the
//     source with "saddr" and the destination with "daddr", dev nft_in with
//     ". iif", nft_out with ". oif", NULL without: the same call with the
//     same arguments, so "fib daddr type local" holds exactly when
//     "--dst-type LOCAL" does, and "fib daddr type != local" when
//     "! --dst-type LOCAL" does, for every IPv4 packet.
//   - A list of types is one mask: it needs nft's set of types, which
//     ctmatch does not write yet (parse refuses it as unsupported). The
//     IPv6 match tests the address otherwise than nft_fib6 (parse refuses it
//     too).
//
// In an inet table the rule starts with "meta nfproto ipv4" as every rule
// of iptables words does, so the IPv4 lookup is the one that runs.

// addrtype compiles an addrtype match: --src-type LOCAL is "fib saddr type
// local", ! --dst-type BROADCAST "fib daddr type != broadcast",
// --dst-type LOCAL --limit-iface-in "fib daddr . iif type local".
func addrtype(m *parse.Addrtype, fam parse.Family) ([]expr.Match, error) {
	if fam == parse.IPv6 {
		return nil, fmt.Errorf("col %d: ip6tables' addrtype match tests addresses otherwise than nft's fib", m.Pos()+1)
	}
	iface := expr.FibNoIface
	if l := m.Limit; l != nil {
		iface = expr.FibIif
		if l.Out {
			iface = expr.FibOif
		}
	}
	var out []expr.Match
	for _, o := range []*parse.AddrtypeOption{m.Src, m.Dst} {
		if o == nil {
			continue
		}
		n, ok := o.Types.Single()
		if !ok {
			return nil, fmt.Errorf("col %d: a list of address types needs nft's set of types, which ctmatch does not write yet", o.Value.At+1)
		}
		out = append(out, expr.FibType{Src: o == m.Src, Iface: iface, Op: eqOp(o.Negated), Type: uint32(n)})
	}
	return out, nil
}

// isAddrtype reports whether m is a match addrtype compiles to.
func isAddrtype(m expr.Match) bool {
	f, ok := m.(expr.FibType)
	return ok && (f.Op == expr.OpEq || f.Op == expr.OpNeq) && f.Type <= expr.RouteXResolve && f.Iface <= expr.FibOif
}

// appendAddrtypeWords appends the words of the matches addrtype compiles to
// at the start of ms, and returns the rest of ms: a source test and a
// destination test after it with the same interface limit are one
// "-m addrtype", any other one a match of its own.
func appendAddrtypeWords(words []string, ms []expr.Match) ([]string, []expr.Match) {
	for len(ms) > 0 && isAddrtype(ms[0]) {
		f := ms[0].(expr.FibType)
		words = append(words, "-m", "addrtype")
		words = appendFibWords(words, f)
		ms = ms[1:]
		if len(ms) > 0 && isAddrtype(ms[0]) {
			if g := ms[0].(expr.FibType); f.Src && !g.Src && g.Iface == f.Iface {
				words = appendFibWords(words, g)
				ms = ms[1:]
			}
		}
		switch f.Iface {
		case expr.FibIif:
			words = append(words, "--limit-iface-in")
		case expr.FibOif:
			words = append(words, "--limit-iface-out")
		}
	}
	return words, ms
}

// appendFibWords appends "[!] --src-type TYPE" or "[!] --dst-type TYPE".
func appendFibWords(words []string, f expr.FibType) []string {
	if f.Op == expr.OpNeq {
		words = append(words, "!")
	}
	opt := "--dst-type"
	if f.Src {
		opt = "--src-type"
	}
	return append(words, opt, parse.AddrTypeName(int(f.Type)))
}
