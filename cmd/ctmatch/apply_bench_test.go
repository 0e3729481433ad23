package main

import (
	"bufio"
	"os"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// BenchmarkApplyLine times what apply does for each line of the apply
// file named by CTMATCH_BENCH_APPLY (bench/load.sh writes them: add rule
// lines) before the batch: read the line, compile its rule and lower it
// (lineChanges). An op is one line, the lines taken in turn.
func BenchmarkApplyLine(b *testing.B) {
	path := os.Getenv("CTMATCH_BENCH_APPLY")
	if path == "" {
		b.Skip("CTMATCH_BENCH_APPLY names no apply file")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if t := sc.Text(); !script.Blank(t) {
			lines = append(lines, t)
		}
	}
	if len(lines) == 0 {
		b.Fatal("no lines")
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l, err := script.ReadLine(lines[i%len(lines)], parse.Position{File: path, Line: i%len(lines) + 1}, parse.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := lineChanges(l, false, true); err != nil {
			b.Fatal(err)
		}
	}
}
