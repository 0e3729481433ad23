package expr_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/benchrules"
	"github.com/ctmatch/ctmatch/parse"
)

// BenchmarkLower measures lowering one nft rule compiled from the mix of
// rules of internal/benchrules for an ip table, with counters (an op is one
// nft rule).
func BenchmarkLower(b *testing.B) {
	var rules []expr.Rule
	for _, line := range benchrules.Lines() {
		r, err := parse.ParseText(line, parse.Options{})
		if err != nil {
			b.Fatal(err)
		}
		nrs, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP, Counter: true})
		if err != nil {
			b.Fatal(err)
		}
		rules = append(rules, nrs...)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := rules[i%len(rules)].Lower(expr.FamilyIP); err != nil {
			b.Fatal(err)
		}
	}
}
