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
