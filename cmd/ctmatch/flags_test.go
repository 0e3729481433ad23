package main

import (
	"strings"
	"testing"
)

// --index and --handle are decimal on the command line, as in apply lines:
// "08" and "010" are eight and ten (pflag's number flags read them as a bad
// octal number and as eight), and "0x10" is not a number.
func TestIndexDecimal(t *testing.T) {
	var n int
	var h uint64
	for s, want := range map[string]int{"010": 10, "08": 8, "10": 10} {
		if err := (decimal[int]{&n}).Set(s); err != nil || n != want {
			t.Errorf("--index %s = %d (%v), want %d", s, n, err, want)
		}
		if err := (decimal[uint64]{&h}).Set(s); err != nil || h != uint64(want) {
			t.Errorf("--handle %s = %d (%v), want %d", s, h, err, want)
		}
	}
	dialed := noDial(t)
	words := []string{"--", "-m", "conntrack", "--ctstate", "NEW"}
	for _, flag := range []string{"--index", "--handle"} {
		for _, verb := range []string{"add", "insert"} {
			// 09 is read (the command goes on to the kernel, which the
			// test refuses); 0x10 is bad usage.
			*dialed = nil
			args := append([]string{verb, "rule", "inet", "fw", "input", flag, "09"}, words...)
			if r := runCLI(t, args, ""); len(*dialed) != 1 {
				t.Errorf("ctmatch %s: exit %d, %s; want it read as 9", shellQuoteArgs(args), r.code, r.stderr)
			}
			args = append([]string{verb, "rule", "inet", "fw", "input", flag, "0x10"}, words...)
			if r := runCLI(t, args, ""); r.code != exitInvalid || !strings.Contains(r.stderr, "expected a decimal number") || strings.Contains(r.stderr, "iptables words go after") {
				t.Errorf("ctmatch %s: exit %d, %s; want exit 2, expected a decimal number, and no hint about the words", shellQuoteArgs(args), r.code, r.stderr)
			}
		}
	}
	// Apply lines read digits only: so does the command line.
	for _, s := range []string{"+5", "-1", " 5", ""} {
		if err := (decimal[int]{&n}).Set(s); err == nil || err.Error() != "expected a decimal number" {
			t.Errorf("--index %q: %v, want expected a decimal number", s, err)
		}
	}
	if err := (decimal[uint64]{&h}).Set("99999999999999999999"); err == nil || err.Error() != "the number is too large" {
		t.Errorf("--handle 99999999999999999999: %v, want the number is too large", err)
	}
}
