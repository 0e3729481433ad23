package script

import (
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// A name nft reads as a keyword is no bare name, and RuleNameError points
// at the chain of -A or of the jump that nft cannot name.
func TestRuleNameError(t *testing.T) {
	for _, tc := range []struct {
		rule, word string // word: the word the error points at ("" for none)
	}{
		{"-A INPUT -j log", "log"},
		{"-A log -j ACCEPT", "log"},
		{"-A INPUT -g counter", "counter"},
		{"-A INPUT -j 1st", "1st"},
		{"-A INPUT -j logdrop", ""},
		{"-A tcp_in -j ACCEPT", ""},
		{"-A INPUT -j DROP", ""},
	} {
		r, err := parse.ParseText(tc.rule, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e := RuleNameError(r, "")
		switch {
		case tc.word == "" && e != nil:
			t.Errorf("%s: %v, want no error", tc.rule, e)
		case tc.word != "" && (e == nil || e.Word != tc.word || tc.rule[e.Pos:int(e.Pos)+len(e.Word)] != tc.word):
			t.Errorf("%s: %+v, want an error at %q", tc.rule, e, tc.word)
		}
	}
	for _, w := range []string{"log", "tcp", "counter", "jump", "ip", "vxlan"} {
		if BareName(w) || !NftKeyword(w) {
			t.Errorf("%s: BareName %v, NftKeyword %v", w, BareName(w), NftKeyword(w))
		}
	}
}
