package e2e

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/parse"
)

// TestSaveCheckOracle loads every whole-file case (cases.SaveCheckCases)
// with the real iptables-nft-restore and iptables-legacy-restore (ip6tables
// for IPv6 cases), each in a namespace of its own: each loads exactly the
// files the case says it does, which ctmatch's verdict (exit 2 where the
// nf_tables backend refuses, exit 1 where only legacy refuses) follows.
// Each file ctmatch translates loads with nft -f from ctmatch's script.
func TestSaveCheckOracle(t *testing.T) {
	for _, c := range cases.SaveCheckCases {
		t.Run(c.Name, func(t *testing.T) {
			text, _, _ := c.File()
			prefix := "iptables"
			if c.V6 {
				prefix = "ip6tables"
			}
			for _, tool := range []struct {
				name string
				want bool
			}{{prefix + "-nft-restore", c.NFT}, {prefix + "-legacy-restore", c.Legacy}} {
				ns := ktest.Namespace(t, tool.name)
				_, stderr, err := ktest.Exec(ns, text, tool.name)
				if (err == nil) != tool.want {
					t.Errorf("%s: loaded %v, the case says %v: %v %s\n%s", tool.name, err == nil, tool.want, err, strings.TrimSpace(stderr), text)
				}
			}
			if c.Kind != "" {
				return
			}
			s := ctmatch.NewSaveScript(ctmatch.Options{IPv6: c.V6})
			var out bytes.Buffer
			for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
				if _, err := s.Line(&out, line, parse.Position{File: c.Name, Line: i + 1}); err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
			}
			ns := ktest.Namespace(t, "nft")
			if _, stderr, err := ktest.Exec(ns, out.String(), "nft", "-f", "-"); err != nil {
				t.Errorf("nft -f refused ctmatch's script: %v\n%s\n%s", err, stderr, out.String())
			}
		})
	}
}

// TestSaveCheckFibHooks shows why addrtype's interface limits reached from
// a hook where xt_addrtype ignores them are refused as unsupported: the
// kernel refuses nft's fib expression with the input interface reached
// from the output hook, and with the output interface from the input
// hook, through a jump.
func TestSaveCheckFibHooks(t *testing.T) {
	for _, c := range []struct{ hook, fib string }{
		{"output", "fib daddr . iif type local accept"},
		{"input", "fib saddr . oif type local accept"},
	} {
		ns := ktest.Namespace(t, "nft")
		script := "table ip t {\n chain B { type filter hook " + c.hook + " priority 0; jump U; }\n chain U { " + c.fib + "; }\n}\n"
		if _, _, err := ktest.Exec(ns, script, "nft", "-f", "-"); err == nil {
			t.Errorf("nft loaded %q reached from the %s hook", c.fib, c.hook)
		}
		ok := strings.Replace(script, "hook "+c.hook, "hook forward", 1)
		if _, stderr, err := ktest.Exec(ns, ok, "nft", "-f", "-"); err != nil {
			t.Errorf("nft refused %q reached from the forward hook: %v %s", c.fib, err, stderr)
		}
	}
}

// TestSaveCheckApply runs ctmatch apply -f with every whole-file case, each
// in a namespace of its own: the files ctmatch accepts load (the kernel
// takes the native rules of chains reached from every hook the file
// jumps from), the others exit 2 or 1 and leave the kernel empty.
func TestSaveCheckApply(t *testing.T) {
	ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	for _, c := range cases.SaveCheckCases {
		t.Run(c.Name, func(t *testing.T) {
			text, _, _ := c.File()
			ns := ktest.Namespace(t, "nft")
			args := []string{"apply", "-f", "-"}
			if c.V6 {
				args = []string{"apply", "--file6", "-"}
			}
			r := runCLI(t, bin, ns, text, args...)
			want := map[string]int{"": 0, "invalid": 2, "unsupported": 1}[c.Kind]
			if r.code != want {
				t.Fatalf("exit %d, want %d\n%s", r.code, want, r.stderr)
			}
			listed := ktest.Run(t, ns, "", "nft", "list", "ruleset")
			if c.Kind != "" && listed != "" {
				t.Errorf("a refused file left rules in the kernel:\n%s", listed)
			}
			if c.Kind == "" && listed == "" {
				t.Errorf("an accepted file left nothing in the kernel")
			}
		})
	}
}
