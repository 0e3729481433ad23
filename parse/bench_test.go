package parse_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/internal/benchrules"
	"github.com/ctmatch/ctmatch/parse"
)

// benchRules returns the mix of rules of internal/benchrules.
func benchRules(b *testing.B) []string {
	b.Helper()
	return benchrules.Lines()
}

// BenchmarkParse measures parsing one rule of the mix (an op is one rule).
func BenchmarkParse(b *testing.B) {
	lines := benchRules(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := parse.ParseText(lines[i%len(lines)], parse.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCanonical measures printing one parsed rule of the mix in
// canonical form without -t and -A, as ctmatch.Words does.
func BenchmarkCanonical(b *testing.B) {
	lines := benchRules(b)
	rules := make([]*parse.Rule, len(lines))
	for i, l := range lines {
		r, err := parse.ParseText(l, parse.Options{})
		if err != nil {
			b.Fatal(err)
		}
		rules[i] = r
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c := *rules[i%len(rules)]
		c.Table, c.Command = nil, nil
		if c.String() == "" {
			b.Fatal("empty canonical form")
		}
	}
}
