package compile_test

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// A comment is the -m comment of the rule decompiled; one that no comment
// match ctmatch reads can say (given next to the rule through the Go API)
// is left out of the words, and the rule is still understood.
func TestDecompileComment(t *testing.T) {
	for _, c := range []struct{ comment, want string }{
		{"allow ssh", `-m conntrack --ctstate NEW -m comment --comment "allow ssh" -j ACCEPT`},
		{"it's", `-m conntrack --ctstate NEW -m comment --comment "it\'s" -j ACCEPT`},
		{strings.Repeat("c", parse.MaxNftComment), "-m conntrack --ctstate NEW -m comment --comment " + strings.Repeat("c", parse.MaxNftComment) + " -j ACCEPT"},
		{strings.Repeat("c", parse.MaxNftComment+1), "-m conntrack --ctstate NEW -j ACCEPT"},
		{`a"b`, "-m conntrack --ctstate NEW -j ACCEPT"},
	} {
		r, err := parse.ParseText("-m conntrack --ctstate NEW -j ACCEPT", parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rules, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP, Counter: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := range rules {
			rules[i].Comment = c.comment
		}
		back, _, err := compile.Decompile(rules, expr.FamilyIP)
		if err != nil {
			t.Errorf("comment %q: %v", c.comment, err)
			continue
		}
		if got := back.String(); got != c.want {
			t.Errorf("comment %q: decompiled %q, want %q", c.comment, got, c.want)
		}
	}
}
