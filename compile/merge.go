package compile

import (
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// MergeMatches returns r with its conntrack matches merged into one when
// that compiles, for a table of family table, to exactly the nft rules
// pieces, or r itself. Rules rebuilt from their expressions (their words
// did not fit in the group record, or they have no record) come back from
// Decompile with the state test in a match of its own
// (-m conntrack --ctstate X -m conntrack --ctproto 6): when that means the
// same as one match, one match is how it was written, and its canonical
// form. The counter of the merged rule is that of pieces[0].
func MergeMatches(r *parse.Rule, fam parse.Family, table expr.Family, pieces []expr.Rule) *parse.Rule {
	if len(r.Matches) < 2 || len(pieces) == 0 {
		return r
	}
	var opts []string
	for _, m := range r.Matches {
		c, ok := m.(*parse.Conntrack)
		if !ok || c.Alias() {
			return r
		}
		opts = append(opts, strings.TrimPrefix(c.String(), "-m conntrack "))
	}
	text := "-m conntrack " + strings.Join(opts, " ")
	if r.Target != nil {
		c := *r
		c.Table, c.Command, c.Matches = nil, nil, nil
		text += " " + strings.TrimSpace(c.String())
	}
	merged, err := parse.ParseText(text, parse.Options{Family: fam})
	if err != nil {
		return r
	}
	if !compilesTo(merged, fam, table, pieces) {
		return r
	}
	return merged
}
