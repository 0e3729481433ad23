package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// result is what one run of the command line gave.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs ctmatch in-process with args and stdin and returns what it
// printed on each stream and its exit code.
func runCLI(t *testing.T, args []string, stdin string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// runCombined runs ctmatch in-process with stdout and stderr going to one
// writer, as a terminal shows them, and returns that output and the exit code.
func runCombined(args []string, stdin string) (string, int) {
	var out bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &out)
	return out.String(), code
}

// checkGolden compares got with the golden file path, or writes it there
// with -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/ctmatch -run %s -update to create it)", err, t.Name())
	}
	if diff := cmp.Diff(strings.SplitAfter(string(want), "\n"), strings.SplitAfter(got, "\n")); diff != "" {
		t.Errorf("%s differs (-want +got); if the change is intended, run go test ./cmd/ctmatch -update and review the diff:\n%s", path, diff)
	}
}

// shellQuoteArgs writes args the way a shell user would type them, for
// golden-file headers and messages.
func shellQuoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "!" || a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/+@%") == "" {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
