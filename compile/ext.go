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
	case *parse.Length:
		return true
	}
	return false
}

// extMatch compiles a match of parse/ext.go.
func extMatch(m parse.Match, fam parse.Family) ([]expr.Match, error) {
	switch m := m.(type) {
	case *parse.Length:
		return []expr.Match{length(m, fam)}, nil
	}
	return nil, nil
}

// simpleWords returns the words of a packet match that stands alone, with
// no -p before it (ttl, hl, and the matches of parse/ext.go), and false for
// any other match.
func simpleWords(m expr.Match) ([]string, bool, error) {
	if isHL(m) {
		w, err := hlWords(m)
		return w, true, err
	}
	if isLength(m) {
		w, err := lengthWords(m)
		return w, true, err
	}
	return nil, false, nil
}

// appendSimpleWords appends the words of the matches simpleWords reads at
// the start of ms, and returns the rest of ms.
func appendSimpleWords(words []string, ms []expr.Match) ([]string, []expr.Match, error) {
	for len(ms) > 0 {
		w, ok, err := simpleWords(ms[0])
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			break
		}
		words = append(words, w...)
		ms = ms[1:]
	}
	return words, ms, nil
}
