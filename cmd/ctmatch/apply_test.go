package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/parse"
)

// forEachInOrder gives every result, in the order of the sources, however
// the workers finish; and the reader's error.
func TestForEachInOrder(t *testing.T) {
	const n = 1000
	errRead := errors.New("read failed")
	for _, readErr := range []error{nil, errRead} {
		read := func(yield func(source) bool) error {
			for i := range n {
				if !yield(source{pos: parse.Position{Line: i}, text: strconv.Itoa(i)}) {
					return nil
				}
			}
			return readErr
		}
		work := func(src source) ([]firewall.Change, error) {
			if src.pos.Line%7 == 0 {
				time.Sleep(10 * time.Microsecond) // finish out of order
			}
			if src.pos.Line%100 == 99 {
				return nil, fmt.Errorf("line %d", src.pos.Line)
			}
			return []firewall.Change{{Table: src.text}, {Table: src.text + "b"}}, nil
		}
		next := 0
		err := forEachInOrder(read, work, func(src source, chs []firewall.Change, err error) {
			if src.pos.Line != next {
				t.Fatalf("got line %d, want %d", src.pos.Line, next)
			}
			next++
			switch {
			case src.pos.Line%100 == 99:
				if err == nil || err.Error() != fmt.Sprintf("line %d", src.pos.Line) {
					t.Errorf("line %d: error %v", src.pos.Line, err)
				}
			case err != nil || len(chs) != 2 || chs[0].Table != src.text || chs[1].Table != src.text+"b":
				t.Errorf("line %d: changes %+v, error %v", src.pos.Line, chs, err)
			}
		})
		if next != n || err != readErr {
			t.Errorf("%d lines, error %v; want %d, %v", next, err, n, readErr)
		}
	}
}

// apply reports every bad line of a long file, in the file's order, before
// it looks at the kernel at all (here, a namespace that does not exist).
func TestApplyReportsEveryBadLine(t *testing.T) {
	var in strings.Builder
	var want strings.Builder
	for i := 1; i <= 1000; i++ {
		if i%250 == 0 {
			fmt.Fprintf(&in, "add rule ip t c -- -m conntrack --ctstate NEW,BOGUS%d\n", i)
			fmt.Fprintf(&want, "{\"file\":\"<stdin>\",\"line\":%d,\"column\":47,\"word\":\"BOGUS%d\",", i, i)
			continue
		}
		fmt.Fprintf(&in, "add rule ip t c -- -m conntrack --ctorigdstport %d -j ACCEPT\n", i)
	}
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"apply", "-f", "-", "--netns", "/nonexistent", "--error-format", "json"}, strings.NewReader(in.String()), &out, &errOut)
	var got strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
		got.WriteString(l[:strings.Index(l, `"message"`)])
	}
	if code != 2 || got.String() != want.String() {
		t.Errorf("exit %d, errors:\n%s\nwant exit 2 and the lines\n%s", code, errOut.String(), want.String())
	}
}

// The heap pacer gives the garbage collector back the settings it had,
// and paces after every collection.
func TestHeapPacerRestores(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set: the pacer stays off")
	}
	oldGC, oldLimit := debug.SetGCPercent(77), debug.SetMemoryLimit(1<<40)
	defer func() { debug.SetGCPercent(oldGC); debug.SetMemoryLimit(oldLimit) }()
	p := newHeapPacer()
	if gc := debug.SetGCPercent(-1); gc != -1 {
		t.Errorf("GOGC %d while pacing, want off", gc)
	}
	// Collections until one has run the pacer (finalizers run on a
	// goroutine of their own, after the collection).
	for i := 0; ; i++ {
		runtime.GC()
		p.mu.Lock()
		n := p.cycles
		p.mu.Unlock()
		if n > 0 {
			break
		}
		if i == 1000 {
			t.Fatal("1,000 collections, and the pacer never ran")
		}
		time.Sleep(time.Millisecond)
	}
	p.stop()
	if gc, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); gc != 77 || limit != 1<<40 {
		t.Errorf("after stop: GOGC %d, limit %d; want 77 and %d", gc, limit, int64(1)<<40)
	}
}

// While the lines move on, the collector runs when the process's memory
// has grown by a quarter of what is live, 24 MiB at least (a memory limit);
// from the second collection within one line on (a burst: the line reads
// a whole chain, say), on a GC percent instead, until a line is done.
func TestHeapPacerBursts(t *testing.T) {
	var p heapPacer
	type settings struct {
		percent int
		limit   int64
	}
	const mb = 1 << 20
	for i, step := range []struct {
		lines int64
		live  uint64
		want  settings
	}{
		{1, 4 * mb, settings{-1, 28 * mb}},
		{300, 40 * mb, settings{-1, 64 * mb}},
		{900, 100 * mb, settings{-1, 125 * mb}},
		{900, 120 * mb, settings{-1, 150 * mb}}, // one collection within a line
		{900, 160 * mb, settings{25, math.MaxInt64}},
		{900, 20 * mb, settings{80, math.MaxInt64}},
		{900, 1 * mb, settings{400, math.MaxInt64}},
		{901, 100 * mb, settings{-1, 125 * mb}},
	} {
		percent, limit := p.next(step.lines, step.live)
		if got := (settings{percent, limit}); got != step.want {
			t.Errorf("step %d (%d lines, %d MiB live): %+v, want %+v", i, step.lines, step.live/mb, got, step.want)
		}
	}
}

// One line that makes the live heap jump, as a line that reads and groups
// a whole chain does, gets a few collections, not one after the other for
// all of it: here 96 MiB kept and 768 MiB of garbage, in one line.
func TestHeapPacerOneBigLine(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set: the pacer stays off")
	}
	p := newHeapPacer()
	defer p.stop()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.NumGC
	var kept [][]byte
	for i := 0; i < 96; i++ {
		kept = append(kept, make([]byte, 1<<20))
		for k := 0; k < 8*16; k++ {
			sink = make([]byte, 64<<10)
		}
	}
	runtime.ReadMemStats(&ms)
	if n := ms.NumGC - before; n > 100 {
		t.Errorf("%d collections for one line that keeps %d MiB", n, len(kept))
	}
	// The line lasted many collections: some of them were paced as in a
	// burst (without that the count above is still below 100).
	p.mu.Lock()
	bursts := p.bursts
	p.mu.Unlock()
	if bursts == 0 {
		t.Errorf("no collection paced as in a burst through one line of %d collections", ms.NumGC-before)
	}
	t.Logf("%d collections, %d in a burst", ms.NumGC-before, bursts)
}

var sink []byte
