package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// labCase is a case of the traffic laboratory: the words of one conntrack
// match, and what the lab's traffic is expected to show of it.
type labCase struct {
	words  string
	never  bool // no packet of the lab's traffic matches (--ctstatus NONE)
	always bool // every packet of the family matches
}

// labCases makes the lab's cases of family f, each named by its words.
func labCases(f lab.Family, cs []labCase) []lab.Case {
	var out []lab.Case
	for _, c := range cs {
		out = append(out, lab.Case{Name: c.words, Words: c.words, Family: f, Never: c.never, Always: c.always})
	}
	return out
}

// runLab runs every case against the traffic of the phases in one lab, and
// fails the test on every divergence between xt_conntrack and ctmatch, every
// packet two pieces of one translation both matched, and every case the
// traffic does not exercise (no packet matched, or all of them).
func runLab(t *testing.T, table expr.Family, cases []lab.Case, phases []lab.Phase) *lab.Report {
	t.Helper()
	l := lab.New(t)
	rep, err := l.Differential(table, cases, phases)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Format(&b)
	t.Log("\n" + b.String())
	for _, d := range rep.Divergences {
		t.Errorf("divergence: %s", d)
	}
	for _, o := range rep.Overlaps {
		t.Errorf("overlap: %s", o)
	}
	for _, u := range rep.Uncovered {
		t.Errorf("uncovered: %s", u)
	}
	return rep
}
