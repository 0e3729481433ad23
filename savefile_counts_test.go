package ctmatch

import (
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/ctmatch/ctmatch/internal/benchrules"
	"github.com/ctmatch/ctmatch/parse"
)

// TestRuleCounts compares ruleCounts with a slice of one number per rule
// over random insertions at the front, the end and anywhere between, with
// the numbers of nft rules a rule has (0 for a rule that failed, 1, 2, 4,
// and numbers too large for a byte), and a flush now and then.
func TestRuleCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var c ruleCounts
	var model []int
	sum := func(s []int) int {
		n := 0
		for _, v := range s {
			n += v
		}
		return n
	}
	for step := range 20000 {
		if rng.IntN(500) == 0 {
			c.reset()
			model = model[:0]
		}
		var idx int
		switch rng.IntN(4) {
		case 0:
			idx = 0
		case 1:
			idx = len(model) + rng.IntN(3) // at the end, or past it (-A)
		default:
			idx = rng.IntN(len(model) + 1)
		}
		n, each := 1, []int{0, 1, 1, 1, 2, 4, 254, 255, 300}[rng.IntN(9)]
		if rng.IntN(10) == 0 {
			n = 1 + rng.IntN(3)
		}
		for range n {
			model = slices.Insert(model, min(idx, len(model)), each)
		}
		c.insert(idx, n, each)
		if len(c.counts) != len(model) || c.total != sum(model) {
			t.Fatalf("step %d: %d rules, %d nft rules; want %d, %d", step, len(c.counts), c.total, len(model), sum(model))
		}
		for _, at := range []int{0, len(model) / 3, len(model) / 2, len(model) - 1, len(model), len(model) + 5, rng.IntN(len(model) + 1)} {
			if at < 0 {
				continue
			}
			if got, want := c.before(at), sum(model[:min(at, len(model))]); got != want {
				t.Fatalf("step %d: before(%d) = %d, want %d", step, at, got, want)
			}
		}
	}
}

// TestRuleCountsSize checks what keeps translate -f's memory small: a
// million rules, of one and two nft rules in turn, take a byte each.
func TestRuleCountsSize(t *testing.T) {
	var c ruleCounts
	for i := range 1_000_000 {
		c.insert(len(c.counts), 1, 1+i%2)
	}
	if c.total != 1_500_000 || cap(c.counts) > 1_500_000 || len(c.over) != 0 {
		t.Fatalf("total %d, %d bytes, %d apart", c.total, cap(c.counts), len(c.over))
	}
}

// TestSaveScriptHeapStaysFlat translates 300,000 rules of the benchmarks'
// mix (a seventh of them become two nft rules) as translate -f does, each
// line given back once written, and checks that the live heap after the
// last 250,000 grew by less than two bytes a rule: what the script
// keeps of a rule is its byte in ruleCounts. (A word a rule, as it kept
// before, grew it by 2 MB.)
func TestSaveScriptHeapStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("translates 300,000 rules")
	}
	lines := benchrules.Lines()
	s := NewSaveScript(Options{})
	at := parse.Position{File: "rules"}
	line := func(text string) {
		at.Line++
		l, err := s.Line(io.Discard, text, at)
		if err != nil {
			t.Fatalf("%d: %v", at.Line, err)
		}
		s.Done(l)
	}
	live := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	line("*filter")
	const first, more = 50_000, 250_000
	for i := range first {
		line(lines[i%len(lines)])
	}
	before := live()
	for i := range more {
		line(lines[(first+i)%len(lines)])
	}
	grew := int64(live()) - int64(before)
	if grew > 2*more {
		t.Errorf("the live heap grew by %d bytes over %d rules", grew, more)
	}
	t.Logf("the live heap grew by %d bytes over %d rules", grew, more)
	line("COMMIT")
}
