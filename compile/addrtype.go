package compile

import (
	"fmt"
	"slices"

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
//   - A list of types is one mask, and the match holds when the address's
//     one type is any of them. nft's fib gives that one type, so
//     "! --dst-type A,B" is "fib daddr type != a fib daddr type != b" in one
//     rule, and "--dst-type A,B" is two rules, "fib daddr type a" and
//     "fib daddr type b", of which no packet passes both. The IPv6 match
//     tests the address otherwise than nft_fib6 (parse refuses it).
//
// In an inet table the rule starts with "meta nfproto ipv4" as every rule
// of iptables words does, so the IPv4 lookup is the one that runs.

// addrtype compiles an addrtype match to the alternatives of matches, one at
// most of which a packet passes: --src-type LOCAL is "fib saddr type
// local", ! --dst-type BROADCAST "fib daddr type != broadcast",
// --dst-type LOCAL --limit-iface-in "fib daddr . iif type local".
//
// A list of types: ! --dst-type LOCAL,BROADCAST is one alternative, a test
// != per type; --dst-type LOCAL,BROADCAST one alternative per type, in the
// kernel's order. With both options, the product: each source alternative,
// then each destination one.
func addrtype(m *parse.Addrtype, fam parse.Family) ([][]expr.Match, error) {
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
	alts := [][]expr.Match{nil}
	for _, o := range []*parse.AddrtypeOption{m.Src, m.Dst} {
		if o == nil {
			continue
		}
		var these [][]expr.Match
		var neg []expr.Match
		for n := 0; n <= int(expr.RouteXResolve); n++ {
			if o.Types&(1<<n) == 0 {
				continue
			}
			f := expr.FibType{Src: o == m.Src, Iface: iface, Op: eqOp(o.Negated), Type: uint32(n)}
			if o.Negated {
				neg = append(neg, f)
			} else {
				these = append(these, []expr.Match{f})
			}
		}
		if o.Negated {
			these = [][]expr.Match{neg}
		}
		alts = forkAlternatives(alts, these)
	}
	return alts, nil
}

// isAddrtype reports whether m is a match addrtype compiles to, or a list
// joinAddrtypeVariants put in its place.
func isAddrtype(m expr.Match) bool {
	f, ok := m.(expr.FibType)
	if !ok || f.Iface > expr.FibOif {
		return false
	}
	if f.Type&addrtypeJoined != 0 {
		return f.Op == expr.OpEq && f.Type&^addrtypeJoined != 0 && f.Type&^addrtypeJoined < 1<<(expr.RouteXResolve+1)
	}
	return (f.Op == expr.OpEq || f.Op == expr.OpNeq) && f.Type <= expr.RouteXResolve
}

// addrtypeJoined marks, in the Type of a FibType that joinAddrtypeVariants
// puts in place of the pieces' tests, that the rest of Type is the mask of
// the types the pieces test (parse.AddrTypes). Only decompile's words read
// it; compilesTo checks them against the pieces.
const addrtypeJoined = 1 << 31

// addrtypeOpt reads one option of an addrtype match at the start of ms: a
// test, a joined list, or for a test != the tests != after it of the same
// address and interface in the kernel's order (a negated list). It returns
// the test, the types and the number of matches read.
func addrtypeOpt(ms []expr.Match) (expr.FibType, parse.AddrTypes, int) {
	f := ms[0].(expr.FibType)
	if f.Type&addrtypeJoined != 0 {
		return f, parse.AddrTypes(f.Type &^ addrtypeJoined), 1
	}
	types, n := parse.AddrTypes(1)<<f.Type, 1
	for f.Op == expr.OpNeq && n < len(ms) && isAddrtype(ms[n]) {
		g := ms[n].(expr.FibType)
		if g.Op != expr.OpNeq || g.Src != f.Src || g.Iface != f.Iface || g.Type&addrtypeJoined != 0 || parse.AddrTypes(1)<<g.Type <= types {
			break
		}
		types |= 1 << g.Type
		n++
	}
	return f, types, n
}

// appendAddrtypeWords appends the words of the matches addrtype compiles to
// at the start of ms, and returns the rest of ms: a source test and a
// destination test after it with the same interface limit are one
// "-m addrtype", any other one a match of its own.
func appendAddrtypeWords(words []string, ms []expr.Match) ([]string, []expr.Match) {
	for len(ms) > 0 && isAddrtype(ms[0]) {
		f, types, n := addrtypeOpt(ms)
		words = append(words, "-m", "addrtype")
		words = appendFibWords(words, f, types)
		ms = ms[n:]
		if len(ms) > 0 && isAddrtype(ms[0]) {
			if g, gt, n := addrtypeOpt(ms); f.Src && !g.Src && g.Iface == f.Iface {
				words = appendFibWords(words, g, gt)
				ms = ms[n:]
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

// appendFibWords appends "[!] --src-type TYPES" or "[!] --dst-type TYPES".
func appendFibWords(words []string, f expr.FibType, types parse.AddrTypes) []string {
	if f.Op == expr.OpNeq {
		words = append(words, "!")
	}
	opt := "--dst-type"
	if f.Src {
		opt = "--src-type"
	}
	return append(words, opt, types.String())
}

// joinAddrtypeVariants undoes the split of a list of types (addrtype): when
// the pieces are m groups of equal size, the same but for the test at index
// k, "fib daddr type A" in every piece of the first group, type B in the
// second, and so on, in the kernel's order, it returns the first group with
// the test at k replaced by the joined list (addrtypeJoined), with ok.
// Several lists split the pieces one after the other, the first outermost:
// the caller joins again.
func joinAddrtypeVariants(pieces []expr.Rule) ([]expr.Rule, bool) {
	n := len(pieces)
	for m := 2; m <= n && m <= int(expr.RouteXResolve)+1; m++ {
		if n%m != 0 {
			continue
		}
		g := n / m
		a0, b0 := pieces[0].Matches, pieces[g].Matches
		if len(a0) != len(b0) {
			continue
		}
		k := 0
		for k < len(a0) && expr.Equal(a0[k], b0[k]) {
			k++
		}
		if k == len(a0) {
			continue
		}
		f0, ok := a0[k].(expr.FibType)
		if !ok || f0.Op != expr.OpEq || !isAddrtype(f0) || f0.Type&addrtypeJoined != 0 {
			continue
		}
		types, prev, whole := parse.AddrTypes(0), -1, true
		for j := 0; j < m && whole; j++ {
			fj, ok := pieces[j*g].Matches[k].(expr.FibType)
			if !ok || fj.Op != expr.OpEq || fj.Src != f0.Src || fj.Iface != f0.Iface || fj.Type > expr.RouteXResolve || int(fj.Type) <= prev {
				whole = false
				break
			}
			prev = int(fj.Type)
			types |= 1 << fj.Type
			for i := range g {
				a, b := pieces[i], pieces[j*g+i]
				if len(a.Matches) != len(b.Matches) || len(a.Matches) <= k || !expr.Equal(b.Matches[k], fj) ||
					!expr.EqualMatches(a.Matches[:k], b.Matches[:k]) || !expr.EqualMatches(a.Matches[k+1:], b.Matches[k+1:]) ||
					a.Counter != b.Counter || a.Verdict != b.Verdict || a.Comment != b.Comment {
					whole = false
					break
				}
			}
		}
		if !whole {
			continue
		}
		out := make([]expr.Rule, g)
		for i := range g {
			out[i] = pieces[i]
			out[i].Matches = slices.Clone(pieces[i].Matches)
			out[i].Matches[k] = expr.FibType{Src: f0.Src, Iface: f0.Iface, Op: expr.OpEq, Type: addrtypeJoined | uint32(types)}
		}
		return out, true
	}
	return pieces, false
}
