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

// A word only newer nft versions read as a keyword is no BareName (translate
// refuses it, for them) but ReadsBare (a listing writes it bare, which nft
// 1.0.6 reads, where no version reads it quoted).
func TestReadsBare(t *testing.T) {
	for _, tc := range []struct {
		s               string
		bare, readsBare bool
	}{
		{"input", true, true}, {"vxlan", false, true}, {"tunnel", false, true},
		{"log", false, false}, {"1st", false, false}, {"", false, false},
	} {
		if BareName(tc.s) != tc.bare || ReadsBare(tc.s) != tc.readsBare {
			t.Errorf("%q: BareName %v, ReadsBare %v; want %v, %v", tc.s, BareName(tc.s), ReadsBare(tc.s), tc.bare, tc.readsBare)
		}
	}
}
