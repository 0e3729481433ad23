package parse_test

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// The built-in chains of each table have their hooks; any other name, or a
// built-in name the table lacks, is a chain whose hooks are not known.
func TestChainHook(t *testing.T) {
	for _, tc := range []struct {
		table, chain string
		want         parse.Hooks
		ok           bool
	}{
		{"", "INPUT", parse.HookInput, true},
		{"filter", "FORWARD", parse.HookForward, true},
		{"filter", "PREROUTING", 0, false},
		{"nat", "POSTROUTING", parse.HookPostrouting, true},
		{"raw", "INPUT", 0, false},
		{"mangle", "PREROUTING", parse.HookPrerouting, true},
		{"security", "OUTPUT", parse.HookOutput, true},
		{"filter", "input", 0, false},
		{"filter", "DOCKER", 0, false},
	} {
		got, ok := parse.ChainHook(tc.table, tc.chain)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ChainHook(%q, %q) = %v, %v; want %v, %v", tc.table, tc.chain, got, ok, tc.want, tc.ok)
		}
	}
	if s := (parse.HookPrerouting | parse.HookForward).String(); s != "PREROUTING, FORWARD" {
		t.Errorf("String() = %q", s)
	}
}

// CheckHooks refuses an interface limit in a hook the kernel refuses it in,
// accepts it in a user chain, and CheckHooksAt checks the hook it is given.
func TestCheckHooks(t *testing.T) {
	rule := func(words string) *parse.Rule {
		r, err := parse.ParseText(words, parse.Options{})
		if err != nil {
			t.Fatalf("%s: %v", words, err)
		}
		return r
	}
	in := rule("-m addrtype --dst-type LOCAL --limit-iface-in")
	out := rule("-t nat -m addrtype --src-type LOCAL --limit-iface-out")
	for _, tc := range []struct {
		r     *parse.Rule
		chain string
		bad   bool
	}{
		{in, "INPUT", false}, {in, "FORWARD", false}, {in, "OUTPUT", true}, {in, "U", false},
		{out, "POSTROUTING", false}, {out, "OUTPUT", false}, {out, "PREROUTING", true}, {out, "INPUT", true},
		{rule("-m addrtype --dst-type LOCAL"), "OUTPUT", false},
	} {
		err := parse.CheckHooks(tc.r, tc.chain)
		if (err != nil) != tc.bad {
			t.Errorf("CheckHooks(%q, %s) = %v, want an error: %v", tc.r.Text, tc.chain, err, tc.bad)
			continue
		}
		if err != nil {
			e := err.(*parse.Error)
			if e.Kind != parse.Invalid || !strings.HasPrefix(e.Word, "--limit-iface-") || !strings.Contains(e.Msg, "chain "+tc.chain) {
				t.Errorf("CheckHooks(%q, %s): %+v", tc.r.Text, tc.chain, e)
			}
		}
	}
	if err := parse.CheckHooksAt(in, "output", parse.HookOutput); err == nil {
		t.Errorf("CheckHooksAt(output hook) accepts --limit-iface-in")
	}
	if err := parse.CheckHooksAt(in, "anything", 0); err != nil {
		t.Errorf("CheckHooksAt(no hook): %v", err)
	}
}
