package ctmatch

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file merges iptables and ip6tables rules into inet tables. No packet
// is both IPv4 and IPv6, so a chain of an inet table that holds the rules of
// both families, each behind its meta nfproto test, gives every packet the
// verdict its own family's chain gives it whatever the interleaving, as long
// as each family's rules keep their order. A rule whose two compilations are
// the same but for meta nfproto can be one rule without the test, when it
// sits at one place in both orders: the merge is a shortest common
// supersequence of the two chains in which only such rules are shared (a
// longest common subsequence of the shareable rules, Hirschberg's
// algorithm: time proportional to the product of the chains' lengths, memory
// to their sum, after their common beginning and end are set aside).

// Shared returns the one rule of an inet table for both families that
// stands for v4 (iptables words) and v6 (ip6tables words), both compiled
// for an inet table, when they are the same rule: they compile to the same
// nft rules (text and wire bytes) apart from the meta nfproto test each
// begins with, each one's words read in the other family compile to the
// same too (so that the rule's words, v4's, mean it in both), and none has
// a state of its own (a
// limit, whose bucket would count the packets of both). The rule has no
// meta nfproto; its Both is set, its Source is v4's. Its counter, if it has
// one, counts the packets of both families.
func Shared(v4, v6 *Rule) (*Rule, bool) {
	k4, ok4 := sharedKey(v4, parse.IPv4)
	k6, ok6 := sharedKey(v6, parse.IPv6)
	if !ok4 || !ok6 || k4 != k6 {
		return nil, false
	}
	return bothRule(v4), true
}

// TranslateBoth translates one rule given for both families of an inet
// table (o.Table and o.IPv6 are not used): its words read as iptables and
// as ip6tables words must be the same rule (Shared), which it returns. A
// rule that means something else in each family is an error: translate it
// once for each, with its meta nfproto test.
func TranslateBoth(text string, o Options) (*Rule, error) {
	o.Table = expr.FamilyInet
	o.IPv6 = false
	v4, err4 := Translate(text, o)
	o.IPv6 = true
	v6, err6 := Translate(text, o)
	switch {
	case err4 != nil && err6 != nil:
		return nil, err4
	case err4 != nil:
		return nil, notSharedError(err4, "iptables")
	case err6 != nil:
		return nil, notSharedError(err6, "ip6tables")
	}
	r, ok := Shared(v4, v6)
	switch {
	case ok:
		return r, nil
	case hasLimit(v4):
		return nil, fmt.Errorf("%w: %q holds a limit, whose one bucket would take the packets of both families (each family's rule has its own)", ErrNotShared, text)
	}
	return nil, fmt.Errorf("%w: %q compiles to other nft rules for IPv4 (%s) than for IPv6 (%s)", ErrNotShared, text, pieces(v4), pieces(v6))
}

// ErrNotShared says that a rule given for both families compiles to other
// nft rules in each.
var ErrNotShared = errors.New("not the same rule in both families")

// notSharedError is TranslateBoth's error for words that translate as the
// other family's words and not as words of this one (an address of one
// family): ErrNotShared, wrapping err without its advice (a *parse.Error's
// Hint: give or leave out -6), which is not for a rule of both families.
func notSharedError(err error, words string) error {
	var pe *parse.Error
	if errors.As(err, &pe) {
		c := *pe
		c.Hint = ""
		err = &c
	}
	return fmt.Errorf("%w: as %s words, %w", ErrNotShared, words, err)
}

// hasLimit reports whether a nft rule of r holds a limit (which Shared
// never shares).
func hasLimit(r *Rule) bool {
	for _, nr := range r.Rules {
		for _, m := range nr.Matches {
			if _, ok := m.(expr.Limit); ok {
				return true
			}
		}
	}
	return false
}

func pieces(r *Rule) string {
	s := make([]string, len(r.Rules))
	for i, nr := range r.Rules {
		s[i] = nr.String()
	}
	return strings.Join(s, "; ")
}

// bothRule returns the rule of both families made from r (compiled for an
// inet table): its nft rules without their meta nfproto.
func bothRule(r *Rule) *Rule {
	out := &Rule{Source: r.Source, Table: expr.FamilyInet, Family: parse.IPv4, Both: true, Rules: make([]expr.Rule, len(r.Rules)), Caveats: r.Caveats, TextCaveats: r.TextCaveats}
	for i, nr := range r.Rules {
		nr.Matches = slices.Clone(nr.Matches[1:])
		out.Rules[i] = nr
	}
	return out
}

// sharedKey returns what a rule compiled for an inet table must have in
// common with a rule of the other family to be shared: the text and wire
// bytes of its nft rules without the meta nfproto test each begins with;
// false when the rule cannot be shared (not compiled for an inet table
// from words of family fam, a piece without that test first, or with
// another, or one that does not lower, or words that compile to other nft
// rules in the other family).
func sharedKey(r *Rule, fam parse.Family) (string, bool) {
	if r == nil || r.Both || r.Table != expr.FamilyInet || r.Family != fam || r.Source == nil || len(r.Rules) == 0 {
		return "", false
	}
	var b strings.Builder
	for _, nr := range r.Rules {
		if len(nr.Matches) == 0 {
			return "", false
		}
		if _, ok := nr.Matches[0].(expr.Nfproto); !ok {
			return "", false
		}
		nr.Matches = nr.Matches[1:]
		for _, m := range nr.Matches {
			switch m.(type) {
			case expr.Nfproto:
				return "", false
			case expr.Limit:
				// A match with state of its own (a limit's bucket) counts
				// the packets of both families when shared: one limit of
				// 5/second where each family had its own.
				return "", false
			}
		}
		wire, err := nr.Lower(expr.FamilyInet)
		if err != nil {
			return "", false
		}
		b.WriteByte(0)
		b.WriteString(nr.String())
		b.WriteByte(0)
		b.Write(wire)
	}
	// The words must say the same in the other family: the rule of both
	// families keeps one family's words, which list reads back as both.
	other := Options{Table: expr.FamilyInet, IPv6: fam == parse.IPv4, NoCounter: !r.Rules[0].Counter}
	o, err := Translate(Words(r.Source), other)
	if err != nil || len(o.Rules) != len(r.Rules) {
		return "", false
	}
	for i, nr := range o.Rules {
		nr.Matches = nr.Matches[1:]
		mine := r.Rules[i]
		mine.Matches = mine.Matches[1:]
		if nr.String() != mine.String() {
			return "", false
		}
	}
	return b.String(), true
}

// MergeChain merges the rules of one chain of each family (compiled for an
// inet table) into the shortest chain that keeps each family's order: the
// rules Shared can make one are one rule for both where both orders allow
// it, the others keep their meta nfproto. Between two shared rules, the
// IPv4 rules come before the IPv6 ones.
func MergeChain(v4, v6 []*Rule) []*Rule {
	ids := map[string]int{}
	key := func(rs []*Rule, fam parse.Family) []int {
		out := make([]int, len(rs))
		for i, r := range rs {
			out[i] = -1
			if k, ok := sharedKey(r, fam); ok {
				id, seen := ids[k]
				if !seen {
					id = len(ids)
					ids[k] = id
				}
				out[i] = id
			}
		}
		return out
	}
	a, b := key(v4, parse.IPv4), key(v6, parse.IPv6)
	pairs := lcs(a, b, 0, 0, nil)
	out := make([]*Rule, 0, len(v4)+len(v6)-len(pairs))
	i, j := 0, 0
	for _, p := range append(pairs, [2]int{len(v4), len(v6)}) {
		out = append(out, v4[i:p[0]]...)
		out = append(out, v6[j:p[1]]...)
		if p[0] < len(v4) {
			out = append(out, bothRule(v4[p[0]]))
		}
		i, j = p[0]+1, p[1]+1
	}
	return out
}

// lcs appends to out the pairs (i+ai, j+bj) of a longest common
// subsequence of a and b, where only keys ≥ 0 are equal, in order.
func lcs(a, b []int, ai, bj int, out [][2]int) [][2]int {
	// The common beginning and end.
	for len(a) > 0 && len(b) > 0 && a[0] >= 0 && a[0] == b[0] {
		out = append(out, [2]int{ai, bj})
		a, b, ai, bj = a[1:], b[1:], ai+1, bj+1
	}
	var tail [][2]int
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] >= 0 && a[len(a)-1] == b[len(b)-1] {
		tail = append(tail, [2]int{ai + len(a) - 1, bj + len(b) - 1})
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	switch {
	case len(a) == 0 || len(b) == 0:
	case len(a) == 1:
		if k := slices.Index(b, a[0]); a[0] >= 0 && k >= 0 {
			out = append(out, [2]int{ai, bj + k})
		}
	default:
		mid := len(a) / 2
		front := lcsLengths(a[:mid], b, false)
		back := lcsLengths(a[mid:], b, true)
		best, k := -1, 0
		for s := 0; s <= len(b); s++ {
			if n := front[s] + back[len(b)-s]; n > best {
				best, k = n, s
			}
		}
		out = lcs(a[:mid], b[:k], ai, bj, out)
		out = lcs(a[mid:], b[k:], ai+mid, bj+k, out)
	}
	for i := len(tail) - 1; i >= 0; i-- {
		out = append(out, tail[i])
	}
	return out
}

// lcsLengths returns, for each s, the length of a longest common
// subsequence of a and b[:s] (reversed: of a and b[len(b)-s:], both read
// backwards).
func lcsLengths(a, b []int, reversed bool) []int {
	at := func(x []int, i int) int {
		if reversed {
			return x[len(x)-1-i]
		}
		return x[i]
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		ka := at(a, i)
		for j := range b {
			switch {
			case ka >= 0 && ka == at(b, j):
				cur[j+1] = prev[j] + 1
			case cur[j] > prev[j+1]:
				cur[j+1] = cur[j]
			default:
				cur[j+1] = prev[j+1]
			}
		}
		prev, cur = cur, prev
	}
	return prev
}

// MergeInet merges an iptables ruleset and an ip6tables ruleset (their
// rules compiled for inet tables) into one inet table per table name: the
// tables in v4's order, then those only v6 has; in each, the chains of the
// same name merged (MergeChain), v4's first, then those only v6 has. A
// built-in chain's policy is ACCEPT for a family without the chain, as
// iptables without the table lets every packet through. When the two
// families' policies differ, the chain takes one family's policy (v4's,
// unless only v6's chain has a -g rule) and the other family's packets
// meet theirs where iptables gives it to them: a -j RETURN of that
// family's chain becomes its policy's verdict (RETURN in a built-in chain
// is the policy), and the chain ends with a rule for that family with its
// policy as the verdict (meta nfproto ipv6 drop), compiled with
// o.NoCounter. A -g of a built-in chain in both families, where their
// policies differ, is refused: the chain that -g goes to ends in the
// policy, which one chain cannot hold for both. Rules keep their meta
// nfproto unless Shared makes them one.
func MergeInet(v4, v6 Ruleset, o Options) (Ruleset, error) {
	for i, rs := range []Ruleset{v4, v6} {
		fam := []parse.Family{parse.IPv4, parse.IPv6}[i]
		for _, t := range rs.Tables {
			for _, c := range t.Chains {
				for _, r := range c.Rules {
					if r.Table != expr.FamilyInet || r.Both {
						return Ruleset{}, fmt.Errorf("table %s chain %s: a rule compiled for %s tables; the merge takes rules of one family compiled for inet tables", t.Name, c.Name, r.Table)
					}
					if r.Family != fam {
						words := map[parse.Family]string{parse.IPv4: "iptables", parse.IPv6: "ip6tables"}
						return Ruleset{}, fmt.Errorf("table %s chain %s: a rule of %s words among the %s rules (MergeInet takes the iptables ruleset first, then the ip6tables one)", t.Name, c.Name, words[r.Family], words[fam])
					}
				}
			}
		}
	}
	var out Ruleset
	for _, name := range names(v4.Tables, v6.Tables, func(t Table) string { return t.Name }) {
		t4, t6 := find(v4.Tables, name, func(t Table) string { return t.Name }), find(v6.Tables, name, func(t Table) string { return t.Name })
		var c4s, c6s []Chain
		if t4 != nil {
			c4s = t4.Chains
		}
		if t6 != nil {
			c6s = t6.Chains
		}
		t := Table{Name: name}
		for _, cn := range names(c4s, c6s, func(c Chain) string { return c.Name }) {
			c, err := mergeChains(find(c4s, cn, chainName), find(c6s, cn, chainName), o)
			if err != nil {
				return Ruleset{}, fmt.Errorf("table %s: %w", name, err)
			}
			t.Chains = append(t.Chains, c)
		}
		out.Tables = append(out.Tables, t)
	}
	return out, nil
}

func chainName(c Chain) string { return c.Name }

func mergeChains(c4, c6 *Chain, o Options) (Chain, error) {
	var c Chain
	var r4, r6 []*Rule
	p4, p6 := "ACCEPT", "ACCEPT"
	if c4 != nil {
		c, r4 = Chain{Name: c4.Name, Builtin: c4.Builtin}, c4.Rules
		if c4.Policy != "" {
			p4 = c4.Policy
		}
	}
	if c6 != nil {
		c, r6 = Chain{Name: c6.Name, Builtin: c6.Builtin}, c6.Rules
		if c6.Policy != "" {
			p6 = c6.Policy
		}
	}
	if c4 != nil && c6 != nil && c4.Builtin != c6.Builtin {
		return Chain{}, fmt.Errorf("chain %s is built-in in one family only", c.Name)
	}
	if !c.Builtin {
		c.Rules = MergeChain(r4, r6)
		return c, nil
	}
	c.Policy = p4
	if p4 == p6 {
		c.Rules = MergeChain(r4, r6)
		return c, nil
	}
	// The chain holds the policy of one family; the other's ("own") is
	// given by rules of its own.
	g4, g6 := firstGoto(r4), firstGoto(r6)
	if g4 != nil && g6 != nil {
		return Chain{}, fmt.Errorf("chain %s: policy %s for IPv4 and %s for IPv6, and a -g in both (%q, %q): where a chain that -g goes to ends, each family meets its policy, which one inet chain cannot hold for both; give the chain one policy in both files, or leave out --family inet",
			c.Name, p4, p6, Words(g4.Source), Words(g6.Source))
	}
	own, ownRules, six := p6, &r6, true
	if g6 != nil {
		c.Policy, own, ownRules, six = p6, p4, &r4, false
	}
	rs, err := returnsToPolicy(*ownRules, own, c.Name, six, o)
	if err != nil {
		return Chain{}, err
	}
	*ownRules = rs
	c.Rules = MergeChain(r4, r6)
	// The policy of the other family's packets, which the chain's own
	// would otherwise decide.
	r, err := Translate("-j "+own, Options{Table: expr.FamilyInet, IPv6: six, NoCounter: o.NoCounter})
	if err != nil {
		return Chain{}, err
	}
	c.Rules = append(c.Rules, r)
	return c, nil
}

// firstGoto returns the first rule of rs that goes to a chain (-g), or nil.
func firstGoto(rs []*Rule) *Rule {
	for _, r := range rs {
		for _, nr := range r.Rules {
			if nr.Verdict.Kind == expr.VerdictGoto {
				return r
			}
		}
	}
	return nil
}

// returnsToPolicy returns rs, the rules of a built-in chain of one family
// (IPv6 when six), with each -j RETURN compiled again with policy as its
// target: in a built-in chain RETURN is the policy, and in the merged
// chain, whose policy is the other family's, it would be that one.
func returnsToPolicy(rs []*Rule, policy, chain string, six bool, o Options) ([]*Rule, error) {
	out := make([]*Rule, len(rs))
	for i, r := range rs {
		out[i] = r
		if r.Source == nil || r.Source.Target == nil || r.Source.Target.Kind != parse.TargetVerdict || r.Source.Target.Name != "RETURN" {
			continue
		}
		src := *r.Source
		to := *src.Target
		to.Name = policy
		src.Target = &to
		nr, err := Compile(&src, Options{Table: expr.FamilyInet, IPv6: six, NoCounter: o.NoCounter, Chain: chain})
		if err != nil {
			return nil, fmt.Errorf("chain %s: %s with RETURN as %s: %w", chain, Words(r.Source), policy, err)
		}
		out[i] = nr
	}
	return out, nil
}

// names returns the names of a, then those of b that a does not have.
func names[T any](a, b []T, name func(T) string) []string {
	var out []string
	for _, x := range a {
		out = append(out, name(x))
	}
	for _, x := range b {
		if !slices.Contains(out, name(x)) {
			out = append(out, name(x))
		}
	}
	return out
}

func find[T any](xs []T, n string, name func(T) string) *T {
	for i := range xs {
		if name(xs[i]) == n {
			return &xs[i]
		}
	}
	return nil
}
