package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/benchrules"
)

// aheadFile is an iptables-save file of n rules in two tables, with user
// chains, -I positions, a rule that does not translate at line bad (0:
// none) and a table that is named twice.
func aheadFile(n, bad int) string {
	var b strings.Builder
	line := 0
	w := func(format string, args ...any) {
		line++
		if line == bad {
			b.WriteString("-A INPUT -m recent --rcheck\n")
			line++
		}
		fmt.Fprintf(&b, format+"\n", args...)
	}
	w("*filter")
	w(":INPUT DROP [0:0]")
	w(":u1 - [0:0]")
	w(":u2 - [0:0]")
	for i := 0; i < n; i++ {
		switch i % 7 {
		case 0:
			w("-A INPUT -p tcp --dport %d -j u1", 1+i%60000)
		case 1:
			w("-I INPUT %d -s 10.%d.%d.0/24 -j ACCEPT", 1+i%5, i%250, i/250%250)
		case 2:
			w("-A u1 -m conntrack --ctstate NEW --ctorigdstport %d -j u2", 1+i%60000)
		case 3:
			w("-I u2 -m comment --comment \"rule %d\" -j RETURN", i)
		case 4:
			w("-A u2 -p udp -m multiport --dports 53,%d -j ACCEPT", 100+i%1000)
		case 5:
			w("[1:2] -A INPUT ! -i eth%d -p icmp --icmp-type echo-request -j DROP", i%4)
		default:
			w("-A OUTPUT -m owner --uid-owner %d -j ACCEPT", i%1000)
		}
	}
	w("COMMIT")
	w("*nat")
	w(":POSTROUTING ACCEPT [0:0]")
	w("-A POSTROUTING -o eth0 -j MASQUERADE")
	w("COMMIT")
	w("*nat")
	w(":PREROUTING ACCEPT [0:0]")
	w("-A PREROUTING -p tcp --dport 2222 -j DNAT --to-destination 10.0.0.2:22")
	w("COMMIT")
	return b.String()
}

// TestTranslateSaveFileAhead: translate -f on several CPUs (lines read
// ahead and prepared by goroutines) prints exactly what it prints on one,
// byte for byte, with the same errors and exit status: a whole file, one
// that fails at a line far in (without and with --keep-going).
func TestTranslateSaveFileAhead(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	for _, tc := range []struct {
		name string
		text string
		args []string
	}{
		{"whole", aheadFile(5000, 0), nil},
		{"fails", aheadFile(5000, 3001), nil},
		{"keep-going", aheadFile(5000, 3001), []string{"--keep-going"}},
		{"short", aheadFile(10, 0), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"translate"}, tc.args...), "-f", "-")
			runtime.GOMAXPROCS(1)
			one := runCLI(t, args, tc.text)
			runtime.GOMAXPROCS(4)
			many := runCLI(t, args, tc.text)
			if one != many {
				t.Errorf("on 4 CPUs: exit %d, %d bytes, stderr %q\non 1 CPU: exit %d, %d bytes, stderr %q", many.code, len(many.stdout), many.stderr, one.code, len(one.stdout), one.stderr)
			}
			if tc.name == "whole" && (one.code != 0 || strings.Count(one.stdout, "\n") < 5000) {
				t.Errorf("exit %d, %d lines:\n%s", one.code, strings.Count(one.stdout, "\n"), one.stderr)
			}
			if tc.name != "whole" && tc.name != "short" && one.code != 1 {
				t.Errorf("exit %d, want 1: %s", one.code, one.stderr)
			}
		})
	}
}

// heapAtWrite is a writer that reads the live heap at its first write,
// and what stdout held then.
type heapAtWrite struct {
	stdout  *strings.Builder
	live    uint64
	printed int    // the bytes on stdout at the first write
	first   string // the first write
	bytes   int
}

func (h *heapAtWrite) Write(p []byte) (int, error) {
	if h.bytes == 0 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		h.live, h.printed, h.first = ms.HeapAlloc, h.stdout.Len(), string(p)
	}
	h.bytes += len(p)
	return len(p), nil
}

// TestTranslateRulesFileHeldOnDisk: translate -f of a file of rules prints
// nothing until its last line has translated, and holds what it will print
// in a spool (a megabyte in memory, the rest in a temporary file), not in
// memory. The file's last rule has a warning, which is printed as the rule
// is read: by then 40,000 rules' 6 MB of output are held, and the live
// heap has grown by less than 3 MB.
func TestTranslateRulesFileHeldOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("translates 40,000 rules")
	}
	out, errOut, grew := translateHeld(t, nil, "", "-A INPUT -m recent --set --name seen -j ACCEPT\n")
	if errOut.printed != 0 || !strings.Contains(errOut.first, ":40001:") || !strings.Contains(errOut.first, "-m recent --set") {
		t.Fatalf("the first write on stderr, with %d bytes on stdout, is not the last rule's warning: %q", errOut.printed, errOut.first)
	}
	if len(out) < 5<<20 || grew > 3<<20 {
		t.Errorf("%d bytes printed; the live heap grew by %d bytes before the last rule's warning (%d bytes)", len(out), grew, errOut.bytes)
	}
	t.Logf("%d bytes printed; the live heap grew by %d bytes before the last rule's warning", len(out), grew)
}

// TestTranslateCanonHeldOnDisk: translate -o iptables of an iptables-save
// file holds the rules' canonical text in a spool until the file's end puts
// it in its chains' order, and 8 bytes a rule in memory. A user chain
// declared with a policy after 40,000 rules has a warning, printed as the
// line is read: by then the live heap has grown by less than 3 MB (the
// text is 4 MB), and the output is iptables-save's.
func TestTranslateCanonHeldOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 40,000 rules")
	}
	out, errOut, grew := translateHeld(t, []string{"-o", "iptables"}, "*filter\n:INPUT DROP [0:0]\n",
		"-I INPUT 2 -p udp --dport 53 -j ACCEPT\n:late ACCEPT [0:0]\n-A late -j RETURN\nCOMMIT\n")
	if errOut.printed != 0 || !strings.Contains(errOut.first, ":40004:") || !strings.Contains(errOut.first, "ignores its policy") {
		t.Fatalf("the first write on stderr, with %d bytes on stdout, is not the late chain's warning: %q", errOut.printed, errOut.first)
	}
	if grew > 3<<20 {
		t.Errorf("the live heap grew by %d bytes before the late chain's warning", grew)
	}
	got := strings.Split(out, "\n")
	if len(got) < 40_009 || got[0] != "*filter" || got[1] != ":INPUT DROP [0:0]" || got[4] != ":late - [0:0]" ||
		got[6] != "-A INPUT -p udp -m udp --dport 53 -j ACCEPT" || got[len(got)-3] != "-A late -j RETURN" || got[len(got)-2] != "COMMIT" {
		t.Errorf("not the canonical file: %d lines, %q … %q", len(got), got[:min(8, len(got))], got[max(0, len(got)-4):])
	}
	t.Logf("%d bytes printed; the live heap grew by %d bytes before the late chain's warning", len(out), grew)
}

// quietLines are bench/rules.sh's rules that translate says no warning of:
// those without a ct port match, or with a protocol before it (nft 1.0.6
// cannot parse the others' text, which translate warns of once).
func quietLines() []string {
	var out []string
	for _, l := range benchrules.Lines() {
		if !strings.Contains(l, "port") || strings.Contains(l, "--ctproto") {
			out = append(out, l)
		}
	}
	return out
}

// translateHeld writes head, 40,000 of bench/rules.sh's rules (quietLines) and tail to a
// file, and runs translate with args and -f FILE, reading the live heap at
// the first write on standard error. It returns standard output, what was
// read then (errOut) and how much the live heap had grown.
func translateHeld(t *testing.T, args []string, head, tail string) (out string, errOut *heapAtWrite, grew int64) {
	t.Helper()
	lines := quietLines()
	var b strings.Builder
	b.WriteString(head)
	for i := range 40_000 {
		b.WriteString(lines[i%len(lines)])
		b.WriteByte('\n')
	}
	b.WriteString(tail)
	path := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	var o strings.Builder
	errOut = &heapAtWrite{stdout: &o}
	if code := run(context.Background(), append(append([]string{"translate"}, args...), "-f", path), strings.NewReader(""), &o, errOut); code != 0 {
		t.Fatalf("exit %d", code)
	}
	return o.String(), errOut, int64(errOut.live) - int64(ms.HeapAlloc)
}
