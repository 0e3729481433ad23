package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// A spool's temporary file that fails makes every later Write, WriteTo and
// Reader fail with that error: what it held is never printed in part, even
// when a later write would succeed.
func TestSpoolErrorSticks(t *testing.T) {
	s := &spool{}
	defer s.Close()
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for s.file == nil {
		if _, err := s.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	f := s.file
	f.Close() // the file fails from now on
	if _, err := s.Write(chunk); err == nil {
		t.Fatal("a write to the failed file: no error")
	}
	s.file = nil // were it to work again, nothing may come out
	_, werr := s.Write([]byte("y"))
	var out bytes.Buffer
	_, toErr := s.WriteTo(&out)
	_, rErr := s.Reader()
	var se *spoolError
	for _, err := range []error{werr, toErr, rErr} {
		if !errors.As(err, &se) || !errors.Is(err, os.ErrClosed) {
			t.Errorf("got %v, want the file's first error", err)
		}
	}
	if out.Len() != 0 {
		t.Errorf("%d bytes written out", out.Len())
	}
}

// translate -f of a file of rules whose held output cannot all be kept
// (a file size limit stops the spool's temporary file) prints nothing and
// exits 1 with the spool's error, not part of the rules with exit 0; so
// does translate -o iptables of an iptables-save file, whose rules' text
// waits in a spool too.
func TestTranslateRulesFileSpoolFails(t *testing.T) {
	lines := quietLines()
	for _, tc := range []struct {
		name, head, tail string
		n                int
		args             []string
	}{
		{"rules", "", "", 15_000, nil},
		// -o iptables: the rules' text waits in a spool of its own.
		{"iptables", "*filter\n", "COMMIT\n", 30_000, []string{"-o", "iptables"}},
	} {
		var b strings.Builder
		b.WriteString(tc.head)
		for i := range tc.n {
			b.WriteString(lines[i%len(lines)])
			b.WriteByte('\n')
		}
		b.WriteString(tc.tail)
		path := t.TempDir() + "/rules"
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		var old syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		limit := old
		limit.Cur = 1536 << 10 // above the spool's 1 MiB in memory, below the 2.7 MB of output
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, append(append([]string{"translate"}, tc.args...), "-f", path), "")
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "hold the output in a temporary file") || !strings.Contains(r.stderr, "file too large") {
			t.Errorf("%s: exit %d, %d bytes printed, stderr %q; want exit 1, nothing printed, the spool's error", tc.name, r.code, len(r.stdout), r.stderr)
		}
		if n := strings.Count(r.stderr, "\n"); n > 2 {
			t.Errorf("%s: %d lines on stderr, want the error once (or twice with the line it stopped at):\n%s", tc.name, n, r.stderr)
		}
	}
}
