package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch"
)

// forEachInOrder gives every result, in the order of the sources, however
// the workers finish; and the reader's error.
func TestForEachInOrder(t *testing.T) {
	const n = 1000
	errRead := errors.New("read failed")
	for _, readErr := range []error{nil, errRead} {
		read := func(yield func(source) bool) error {
			for i := range n {
				if !yield(source{line: i, text: strconv.Itoa(i)}) {
					return nil
				}
			}
			return readErr
		}
		work := func(src source) (ctmatch.Change, error) {
			if src.line%7 == 0 {
				time.Sleep(10 * time.Microsecond) // finish out of order
			}
			if src.line%100 == 99 {
				return ctmatch.Change{}, fmt.Errorf("line %d", src.line)
			}
			return ctmatch.Change{Table: src.text}, nil
		}
		next := 0
		err := forEachInOrder(read, work, func(src source, ch ctmatch.Change, err error) {
			if src.line != next {
				t.Fatalf("got line %d, want %d", src.line, next)
			}
			next++
			switch {
			case src.line%100 == 99:
				if err == nil || err.Error() != fmt.Sprintf("line %d", src.line) {
					t.Errorf("line %d: error %v", src.line, err)
				}
			case err != nil || ch.Table != src.text:
				t.Errorf("line %d: change %q, error %v", src.line, ch.Table, err)
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

// The heap pacer gives the garbage collector back the settings it had.
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
	p.pace()
	if limit := debug.SetMemoryLimit(-1); limit < minHeadroom || limit >= 1<<40 {
		t.Errorf("memory limit %d while pacing", limit)
	}
	p.stop()
	if gc, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); gc != 77 || limit != 1<<40 {
		t.Errorf("after stop: GOGC %d, limit %d; want 77 and %d", gc, limit, int64(1)<<40)
	}
}
