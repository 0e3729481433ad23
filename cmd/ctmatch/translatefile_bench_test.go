package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// BenchmarkTranslateSaveFile times translate -f of the iptables-save file
// named by CTMATCH_BENCH_SAVE (bench/translate.sh makes them), the whole
// command in one process, output discarded.
func BenchmarkTranslateSaveFile(b *testing.B) {
	path := os.Getenv("CTMATCH_BENCH_SAVE")
	if path == "" {
		b.Skip("CTMATCH_BENCH_SAVE names no iptables-save file")
	}
	args := strings.Fields(os.Getenv("CTMATCH_BENCH_ARGS"))
	for b.Loop() {
		if code := run(context.Background(), append(append([]string{"translate"}, args...), "-f", path), strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
