package compile

import (
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file joins the matches of parse/ext.go (each compiled in a file of
// its own) to the packet matches: each is one expression of the packet,
// tested in every piece of the rule, where the words put it.

// isExtMatch reports whether m is a match of parse/ext.go.
func isExtMatch(m parse.Match) bool {
	switch m.(type) {
	case *parse.Length, *parse.IPRange, *parse.MAC, *parse.Policy, *parse.AH:
		return true
	}
	return false
}

// extMatch compiles a match of parse/ext.go of rule r, and reports whether
// the rule needs the fragment test of the tcp and udp matches.
func extMatch(m parse.Match, r *parse.Rule, fam parse.Family) ([]expr.Match, bool, error) {
	if a, ok := m.(*parse.AH); ok {
		return ah(a, r, fam)
	}
	ms, err := extMatch1(m, fam)
	return ms, false, err
}

// extMatch1 compiles a match of parse/ext.go that is one test of the
// packet's headers.
func extMatch1(m parse.Match, fam parse.Family) ([]expr.Match, error) {
	switch m := m.(type) {
	case *parse.Length:
		return []expr.Match{length(m, fam)}, nil
	case *parse.IPRange:
		return iprange(m), nil
	case *parse.MAC:
		return []expr.Match{mac(m)}, nil
	case *parse.Policy:
		return []expr.Match{policy(m)}, nil
	}
	return nil, nil
}

// simpleWords returns the words of the packet match at the start of ms
// that stands alone, with no -p before it (ttl, hl, and the matches of
// parse/ext.go), and how many of ms they say: 0 for any other match.
func simpleWords(ms []expr.Match) ([]string, int, error) {
	m := ms[0]
	if isHL(m) {
		w, err := hlWords(m)
		return w, 1, err
	}
	if isLength(m) {
		w, err := lengthWords(m)
		return w, 1, err
	}
	if _, ok := m.(expr.IPRange); ok {
		return iprangeWords(ms)
	}
	if e, ok := m.(expr.EtherSaddr); ok && (e.Op == expr.OpEq || e.Op == expr.OpNeq) {
		return macWords(e), 1, nil
	}
	if s, ok := m.(expr.IPsec); ok {
		return policyWords(s), 1, nil
	}
	return nil, 0, nil
}

// appendSimpleWords appends the words of the matches simpleWords reads at
// the start of ms, and returns the rest of ms.
func appendSimpleWords(words []string, ms []expr.Match) ([]string, []expr.Match, error) {
	for len(ms) > 0 {
		w, n, err := simpleWords(ms)
		if err != nil {
			return nil, nil, err
		}
		if n == 0 {
			break
		}
		words = append(words, w...)
		ms = ms[n:]
	}
	return words, ms, nil
}
