package compile_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/benchrules"
	"github.com/ctmatch/ctmatch/parse"
)

// benchRules parses the mix of rules of internal/benchrules.
func benchRules(b *testing.B) ([]string, []*parse.Rule) {
	b.Helper()
	lines := benchrules.Lines()
	rules := make([]*parse.Rule, len(lines))
	for i, line := range lines {
		r, err := parse.ParseText(line, parse.Options{})
		if err != nil {
			b.Fatal(err)
		}
		rules[i] = r
	}
	return lines, rules
}

// BenchmarkCompile measures compiling one parsed rule of the mix for an ip
// table, with counters (an op is one rule).
func BenchmarkCompile(b *testing.B) {
	_, rules := benchRules(b)
	opts := compile.Options{Table: expr.FamilyIP, Counter: true}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := compile.Rule(rules[i%len(rules)], opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipeline measures what apply does for one rule of the mix: parse
// the text, compile it, print its canonical words and lower each nft rule.
func BenchmarkPipeline(b *testing.B) {
	lines, _ := benchRules(b)
	opts := compile.Options{Table: expr.FamilyIP, Counter: true}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r, err := parse.ParseText(lines[i%len(lines)], parse.Options{})
		if err != nil {
			b.Fatal(err)
		}
		nrs, err := compile.Rule(r, opts)
		if err != nil {
			b.Fatal(err)
		}
		c := *r
		c.Table, c.Command = nil, nil
		_ = c.String()
		for _, nr := range nrs {
			if _, err := nr.Lower(opts.Table); err != nil {
				b.Fatal(err)
			}
		}
	}
}
