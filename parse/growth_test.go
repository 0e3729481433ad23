package parse_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// allocated returns the bytes and the number of allocations f makes, on
// average over runs.
func allocated(runs int, f func()) (bytes, allocs float64) {
	f() // warm up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(runs), float64(after.Mallocs-before.Mallocs) / float64(runs)
}

func manyMatches(n int) []string {
	return strings.Fields(strings.Repeat("-m conntrack --ctstate NEW ", n))
}

// What parsing a rule allocates grows linearly with its matches: argv of 4N
// matches costs about 4 times what N cost, not 16 times (each -m once
// reserved room for every option after it).
func TestParseGrowsLinearly(t *testing.T) {
	const n = 500
	cost := func(m int) (float64, float64) {
		args := manyMatches(m)
		return allocated(5, func() {
			_, err := parse.ParseArgs(args, parse.Options{})
			var e *parse.Error
			if !errors.As(err, &e) || e.Kind != parse.Unsupported {
				t.Fatalf("%d matches: %v, want Unsupported (more than %d words)", m, err, parse.MaxWords)
			}
		})
	}
	b1, a1 := cost(n)
	b4, a4 := cost(4 * n)
	t.Logf("%d matches: %.0f bytes, %.0f allocations; %d matches: %.0f bytes, %.0f allocations", n, b1, a1, 4*n, b4, a4)
	if b4 > 5*b1 || a4 > 5*a1 {
		t.Errorf("4 times the matches cost %.1f times the bytes and %.1f times the allocations, want at most 5", b4/b1, a4/a1)
	}
}

// A line of rule text is read no further than its MaxWords+1st word: what
// parsing it allocates does not grow with the rest of the line.
func TestParseTextBounded(t *testing.T) {
	cost := func(m int) float64 {
		line := strings.Join(manyMatches(m), " ")
		b, _ := allocated(5, func() {
			_, err := parse.ParseText(line, parse.Options{})
			var e *parse.Error
			if !errors.As(err, &e) || e.Kind != parse.Invalid || !strings.Contains(e.Msg, "more than 251 words") {
				t.Fatalf("%d matches: %v, want Invalid (more than %d words)", m, err, parse.MaxWords)
			}
		})
		return b
	}
	b1, b4 := cost(10_000), cost(40_000)
	t.Logf("10000 matches: %.0f bytes; 40000 matches: %.0f bytes", b1, b4)
	if b4 > 1.5*b1 || b4 > 64<<10 {
		t.Errorf("a line of 40000 matches costs %.0f bytes, one of 10000 %.0f: want the same, at most 64 KiB", b4, b1)
	}
}
