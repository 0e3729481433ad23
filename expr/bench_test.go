package expr_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// BenchmarkLower measures lowering one nft rule compiled from the mix of
// rules bench/rules.sh prints (kept in parse's testdata) for an ip table, with
// counters (an op is one nft rule).
func BenchmarkLower(b *testing.B) {
	f, err := os.Open("../parse/testdata/bench-rules.txt")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var rules []expr.Rule
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
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
	if err := s.Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := rules[i%len(rules)].Lower(expr.FamilyIP); err != nil {
			b.Fatal(err)
		}
	}
}
