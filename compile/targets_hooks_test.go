package compile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/parse"
)

// CheckTargetPlace refuses, as invalid, every place where iptables refuses
// the target (e2e's TestTargetPlacesIptables runs the same cases through
// iptables), and points at the target's name.
func TestCheckTargetPlace(t *testing.T) {
	refused := 0
	for _, c := range cases.Places {
		r, err := parse.ParseText(c.Text, parse.Options{Family: c.Family})
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		err = compile.CheckTargetPlace(r, "")
		if (err == nil) != c.OK {
			t.Errorf("%s: %q: CheckTargetPlace = %v, want ok %v", c.Name, c.Text, err, c.OK)
			continue
		}
		if err == nil {
			continue
		}
		refused++
		var pe *parse.Error
		if !errors.As(err, &pe) || pe.Kind != parse.Invalid || pe.Pos != r.Target.NamePos || !strings.Contains(pe.Msg, r.Target.Name) {
			t.Errorf("%s: %v: want an Invalid parse.Error at the target's name", c.Name, err)
		}
	}
	if refused == 0 {
		t.Fatal("no case refused")
	}
}

// The chain given (add rule's CHAIN) decides over the words' -A, in any
// case, as --create reads built-in chain names.
func TestCheckTargetPlaceChain(t *testing.T) {
	r, err := parse.ParseText("-t nat -j MASQUERADE", parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for chain, ok := range map[string]bool{"POSTROUTING": true, "postrouting": true, "PREROUTING": false, "output": false, "mychain": true, "": true} {
		if err := compile.CheckTargetPlace(r, chain); (err == nil) != ok {
			t.Errorf("chain %q: %v, want ok %v", chain, err, ok)
		}
	}
	if err := compile.CheckTargetPlace(r, "prerouting"); err == nil || !strings.Contains(err.Error(), "not in prerouting") {
		t.Errorf("the error names the chain: %v", err)
	}
}

// A jump to a built-in chain's name is refused for words of an iptables
// chain (-A, -I) of a table that has that chain, and not for the words of
// add rule and apply lines, whose chain and jump are an nft table's (a
// regular chain may be named INPUT there), nor in a table without it.
func TestCheckTargetPlaceJumps(t *testing.T) {
	for _, tc := range []struct {
		words, chain string
		ok           bool
	}{
		{"-A INPUT -j INPUT", "", false},
		{"-t raw -A PREROUTING -g OUTPUT", "", false},
		{"-t raw -A PREROUTING -j INPUT", "", true}, // raw has no INPUT: a user chain
		{"-j INPUT", "PREROUTING", true},            // add rule ip raw PREROUTING -- -j INPUT
		{"-j OUTPUT", "input", true},                // add rule inet fw input -- -j OUTPUT
		{"-j FORWARD", "", true},                    // a JSON listing's words
	} {
		r, err := parse.ParseText(tc.words, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := compile.CheckTargetPlace(r, tc.chain); (err == nil) != tc.ok {
			t.Errorf("%q in chain %q: %v, want ok %v", tc.words, tc.chain, err, tc.ok)
		}
	}
}
