package firewall_test

import (
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/internal/benchrules"
)

// BenchmarkPrepare times lowering one translated rule of the mix of
// internal/benchrules for Change.Prepared (an op is one rule).
func BenchmarkPrepare(b *testing.B) {
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
		if _, err := firewall.Prepare(rules[i%len(rules)]); err != nil {
			b.Fatal(err)
		}
	}
}
