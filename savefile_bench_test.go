package ctmatch_test

import (
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/internal/benchrules"
)

// BenchmarkSavePrepare times what translate -f does on every CPU for one
// rule line of the mix of internal/benchrules: parse, compile and write
// the nft rules' text (an op is one line).
func BenchmarkSavePrepare(b *testing.B) {
	lines := benchrules.Lines()
	s := ctmatch.NewSaveScript(ctmatch.Options{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if s.Prepare(lines[i%len(lines)], "filter") == nil {
			b.Fatal("not prepared")
		}
	}
}

// BenchmarkCompileAll times compiling one parsed rule of the mix with
// CompileAll (an op is one rule).
func BenchmarkCompileAll(b *testing.B) {
	var rules []*ctmatch.Rule
	for _, line := range benchrules.Lines() {
		r, err := ctmatch.Translate(line, ctmatch.Options{})
		if err != nil {
			b.Fatal(err)
		}
		rules = append(rules, r)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ctmatch.CompileAll(rules[i%len(rules)].Source, ctmatch.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
