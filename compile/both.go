package compile

import (
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// A rule of an inet table without meta nfproto first matches packets of
// both families. ctmatch writes such a rule for an iptables rule and an
// ip6tables rule that are the same words and compile to the same nft rules
// apart from meta nfproto (ctmatch.Shared, the inet merge). It decompiles
// to those words, for both families.

// withNfproto returns the pieces, each with meta nfproto fam first.
func withNfproto(pieces []expr.Rule, fam parse.Family) []expr.Rule {
	f := familyTable(fam)
	out := make([]expr.Rule, len(pieces))
	for i, p := range pieces {
		p.Matches = append([]expr.Match{expr.Nfproto{Family: f}}, p.Matches...)
		out[i] = p
	}
	return out
}

// bothFamilies reports whether pieces of an inet table have no meta
// nfproto first: a rule for both families.
func bothFamilies(pieces []expr.Rule, table expr.Family) bool {
	if table != expr.FamilyInet || len(pieces) == 0 {
		return false
	}
	for _, p := range pieces {
		if len(p.Matches) > 0 {
			if _, ok := p.Matches[0].(expr.Nfproto); ok {
				return false
			}
		}
	}
	return true
}

// DecompileBoth returns the iptables rule of nft rules of an inet table
// without meta nfproto: words (the group record's, or "" to rebuild them
// from the expressions) that, read as iptables words and as ip6tables
// words, compile to the pieces with meta nfproto ipv4, and ipv6, first.
func DecompileBoth(pieces []expr.Rule, words string) (*parse.Rule, error) {
	if !bothFamilies(pieces, expr.FamilyInet) {
		return nil, fmt.Errorf("%w: not a rule of both families (meta nfproto first)", ErrNotUnderstood)
	}
	pieces = bareComment(pieces)
	var cands []string
	if words != "" {
		cands = append(cands, words)
	}
	if r, _, err := Decompile(withNfproto(pieces, parse.IPv4), expr.FamilyInet); err == nil {
		cands = append(cands, r.String())
	}
	for _, w := range cands {
		if r, ok := sameInBoth(w, pieces); ok {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w: no rule of both families compiles to %s", ErrNotUnderstood, describe(pieces))
}

// sameInBoth parses words as iptables and as ip6tables words, and reports
// whether both compile to the pieces behind their family's meta nfproto.
func sameInBoth(words string, pieces []expr.Rule) (*parse.Rule, bool) {
	var r4 *parse.Rule
	for _, fam := range []parse.Family{parse.IPv4, parse.IPv6} {
		r, err := parse.ParseText(words, parse.Options{Family: fam})
		if err != nil || !compilesTo(r, fam, expr.FamilyInet, wordsComment(r, withNfproto(pieces, fam))) {
			return nil, false
		}
		if r4 == nil {
			r4 = r
		}
	}
	return r4, true
}

// decompileBothAt is decompileAt for a rule of both families: a whole
// group of ctmatch's whose pieces have no meta nfproto. A rule without
// ctmatch's record (one nft wrote) is not taken for one, whatever its
// shape, as it is not taken for a piece of a group.
func decompileBothAt(rules []Listed, i int, table expr.Family) (Decompiled, bool) {
	g := rules[i].Group
	if !rules[i].Grouped || g.IPv6 || g.Index != 0 || i+g.Count > len(rules) {
		return Decompiled{}, false
	}
	for k, l := range rules[i : i+g.Count] {
		if !l.Grouped || l.Group.ID != g.ID || l.Group.Index != k || l.Group.Count != g.Count {
			return Decompiled{}, false
		}
	}
	pieces := rulesOf(rules[i : i+g.Count])
	if !bothFamilies(pieces, table) {
		return Decompiled{}, false
	}
	r, err := DecompileBoth(pieces, g.Words)
	if err != nil {
		return Decompiled{}, false
	}
	return Decompiled{Rule: r, Family: parse.IPv4, Both: true, First: i, Count: g.Count}, true
}
