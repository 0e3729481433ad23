package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// applyFile returns an apply file of n lines (and a comment) whose line
// bad (its number in the file) is replaced by badLine.
func applyFile(n, bad int, badLine string) string {
	var b strings.Builder
	b.WriteString("# 1,000 rules, one transaction\n")
	for i := 2; i <= n; i++ {
		if i == bad {
			b.WriteString(badLine + "\n")
			continue
		}
		fmt.Fprintf(&b, "add rule inet fw input -- -m conntrack --ctstate NEW,DNAT --ctorigdstport %d -j ACCEPT\n", i)
	}
	return b.String()
}

// ctmatch apply is atomic: with line 700 of 1,000 refused by the kernel
// alone (a jump to a base chain, which ctmatch sends and the kernel
// refuses), apply and apply --check exit 1 with an error that names line
// 700 and change nothing; with line 700 refused by ctmatch (a bad word),
// nothing is sent and the error is FILE:700:COL; with line 700 right, all
// 1,000 rules go in, in order.
func TestCLIApplyAtomic(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	ktest.Run(t, ns, "table inet fw {\n chain input { type filter hook input priority 0; }\n chain out { type filter hook output priority 0; }\n}\n", "nft", "-f", "-")
	gen, listing := rulesetState(t, ns)

	kernelBad := applyFile(1000, 700, "add rule inet fw input -- -m conntrack --ctstate NEW -j out")
	for _, check := range []bool{false, true} {
		args := []string{"apply", "-f", "-"}
		if check {
			args = append(args, "--check")
		}
		r := runCLI(t, bin, ns, kernelBad, args...)
		t.Logf("apply --check=%v: exit %d: %s", check, r.code, r.stderr)
		want := "ctmatch: add rule inet fw input (<stdin>:700: -m conntrack --ctstate NEW -j out): expression 7 (immediate): chain out is a base chain, and the kernel takes no jump or goto to a base chain: operation not supported; the kernel refused the whole transaction, nothing was changed\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("apply --check=%v: exit %d\nstdout %q\nstderr %q\nwant exit 1 and\n       %q", check, r.code, r.stdout, r.stderr, want)
		}
		unchangedSince(t, ns, fmt.Sprintf("apply --check=%v with a bad line 700", check), gen, listing)
	}

	// With --error-format json, the kernel's refusal is an object that
	// names the line.
	r := runCLI(t, bin, ns, kernelBad, "apply", "-f", "-", "--error-format", "json")
	if r.code != 1 || !strings.HasPrefix(r.stderr, `{"file":"<stdin>","line":700,"word":"","message":"add rule inet fw input (<stdin>:700: `) || !strings.HasSuffix(r.stderr, "\"kind\":\"error\"}\n") {
		t.Errorf("apply --error-format json: exit %d\n%s", r.code, r.stderr)
	}

	parseBad := applyFile(1000, 700, "add rule inet fw input -- -m conntrack --ctstate NEW,BOGUS")
	r = runCLI(t, bin, ns, parseBad, "apply", "-f", "-")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "ctmatch: <stdin>:700:54: unknown conntrack state \"BOGUS\"\n") {
		t.Errorf("apply with a bad word on line 700: exit %d\n%s", r.code, r.stderr)
	}
	unchangedSince(t, ns, "apply with a bad word on line 700", gen, listing)

	good := applyFile(1000, 700, "add rule inet fw input -- -m conntrack --ctstate NEW,DNAT --ctorigdstport 700 -j ACCEPT")
	mustCLI(t, bin, ns, good, "apply", "-f", "-")
	out := mustCLI(t, bin, ns, "", "list", "chain", "inet", "fw", "input", "-o", "iptables")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2+999 {
		t.Fatalf("%d lines listed, want 2 comments and 999 rules", len(lines))
	}
	for i, l := range lines[2:] {
		want := fmt.Sprintf("-A input -m conntrack --ctstate NEW,DNAT --ctorigdstport %d -j ACCEPT", i+2)
		if l != want {
			t.Fatalf("line %d: %q, want %q", i+3, l, want)
		}
	}
}

// With --create, a line may jump to a chain that a later line writes into:
// the chain is created before the rule that jumps to it, and the kernel
// takes both. Without a line that writes into it, nothing is sent.
func TestCLIApplyJumpFirst(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	file := "add rule inet fw input -- -m conntrack --ctstate NEW -j newconns\n" +
		"add rule inet fw newconns -- -m conntrack --ctorigdstport 22 --ctproto tcp -j ACCEPT\n"
	out := mustCLI(t, bin, ns, file, "apply", "--create", "-f", "-", "--echo")
	for _, want := range []string{"add chain inet fw newconns\n", "add rule inet fw input meta nfproto ipv4 ct state new counter jump newconns # handle"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply --echo printed:\n%s\nwant a line with %q", out, want)
		}
	}
	got := mustCLI(t, bin, ns, "", "list", "table", "inet", "fw", "-o", "iptables")
	for _, want := range []string{"-A input -m conntrack --ctstate NEW -j newconns\n", "-A newconns -m conntrack --ctproto 6 --ctorigdstport 22 -j ACCEPT\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("list -o iptables:\n%s\nwant a line %q", got, want)
		}
	}

	gen, listing := rulesetState(t, ns)
	r := runCLI(t, bin, ns, "add rule inet fw input -- -m conntrack --ctstate NEW -j other\n", "apply", "--create", "-f", "-")
	want := "ctmatch: add rule inet fw input (<stdin>:1: -m conntrack --ctstate NEW -j other): the rule jumps to chain other, which table inet fw does not have\n  create it first (nft add chain inet fw other)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("apply of a jump to a chain no line writes into: exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
	}
	unchangedSince(t, ns, "a jump to a chain no line writes into", gen, listing)

	// A table or chain that --create cannot make names the line it is for.
	long := strings.Repeat("t", 300)
	r = runCLI(t, bin, ns, "add rule inet fw input -- -m conntrack --ctstate NEW\nadd rule ip "+long+" INPUT -- -m conntrack --ctstate INVALID\n", "apply", "--create", "-f", "-")
	want = "ctmatch: add table ip " + long + " (<stdin>:2: -m conntrack --ctstate INVALID): table name of 300 bytes (at most 255)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("apply of a table name too long: exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
	}
	unchangedSince(t, ns, "a table name too long", gen, listing)
}

// A kernel error names the file and line of the change it is about, for
// any file name: one named `a:1: b` is that file, not file "a" line 1 (the
// position is carried, never read back out of the message), for apply and
// for add rule -f alike, in the message and in the JSON's file and line.
func TestCLIApplyErrorFileName(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	ktest.Run(t, ns, "table inet fw {\n chain input { type filter hook input priority 0; }\n chain out { type filter hook output priority 0; }\n}\n", "nft", "-f", "-")
	dir := t.TempDir()
	name := filepath.Join(dir, "a:1: b")
	const bad = "-m conntrack --ctstate NEW -j out" // a jump to a base chain: the kernel refuses it
	for _, tc := range []struct {
		file string
		args []string
	}{
		{"add rule inet fw input -- -m conntrack --ctstate NEW -j ACCEPT\nadd rule inet fw input -- " + bad + "\n", []string{"apply", "-f", name}},
		{"-m conntrack --ctstate NEW -j ACCEPT\n" + bad + "\n", []string{"add", "rule", "inet", "fw", "input", "-f", name}},
	} {
		if err := os.WriteFile(name, []byte(tc.file), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, bin, ns, "", append(tc.args, "--error-format", "json")...)
		var got struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Message string `json:"message"`
			Kind    string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(r.stderr), &got); err != nil {
			t.Fatalf("ctmatch %s: exit %d, stderr %q: %v", strings.Join(tc.args, " "), r.code, r.stderr, err)
		}
		prefix := "add rule inet fw input (" + name + ":2: " + bad + "): "
		if r.code != 1 || got.File != name || got.Line != 2 || got.Kind != "error" || !strings.HasPrefix(got.Message, prefix) {
			t.Errorf("ctmatch %s: exit %d, %+v\nwant exit 1, file %q, line 2, kind error, a message beginning %q", strings.Join(tc.args, " "), r.code, got, name, prefix)
		}
	}
}
