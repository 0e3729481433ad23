package compile_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// TestMergeMatches merges conntrack matches into one exactly when the one
// match compiles to the same nft rules as the several.
func TestMergeMatches(t *testing.T) {
	for _, tc := range []struct {
		words, want string
	}{
		{"-m conntrack --ctstate NEW,ESTABLISHED -m conntrack --ctproto 6 -j ACCEPT", "-m conntrack --ctstate NEW,ESTABLISHED --ctproto 6 -j ACCEPT"},
		{"-m conntrack --ctstate NEW -m conntrack --ctdir REPLY", "-m conntrack --ctstate NEW --ctdir REPLY"},
		// INVALID ignores every other option of the same match: as one
		// match it means something else.
		{"-m conntrack --ctstate INVALID -m conntrack --ctproto 17 -j DROP", ""},
		// One match, or a match that is not conntrack: nothing to merge.
		{"-m conntrack --ctstate NEW -j ACCEPT", ""},
		{"-m state --state NEW -m conntrack --ctproto 6", ""},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pieces, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP, Family: parse.IPv4, Counter: true})
		if err != nil {
			t.Fatal(err)
		}
		got := compile.MergeMatches(r, parse.IPv4, expr.FamilyIP, pieces)
		want := tc.want
		if want == "" {
			if got != r {
				t.Errorf("%s: merged into %s, want it kept", tc.words, got)
			}
			continue
		}
		if got.String() != want {
			t.Errorf("%s: merged into %s, want %s", tc.words, got, want)
		}
		// And the pieces of another rule are not taken for its own.
		if other := compile.MergeMatches(r, parse.IPv4, expr.FamilyIP, pieces[:0]); other != r {
			t.Errorf("%s: merged without pieces into %s", tc.words, other)
		}
	}
}
