package compile_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// checkDecompiles compiles words (iptables words of family fam) for a
// table and checks that Decompile gives back want and the family.
func checkDecompiles(t *testing.T, fam parse.Family, table expr.Family, words, want string) {
	t.Helper()
	r, err := parse.ParseText(words, parse.Options{Family: fam})
	if err != nil {
		t.Fatalf("%s: %v", words, err)
	}
	rules, err := compile.Rule(r, compile.Options{Table: table, Family: fam, Counter: true})
	if err != nil {
		t.Fatalf("%s: %v", words, err)
	}
	back, gotFam, err := compile.Decompile(rules, table)
	if err != nil {
		t.Errorf("%s in %v: Decompile: %v", words, table, err)
		return
	}
	if gotFam != fam || back.String() != want {
		t.Errorf("%s in %v: decompiled as %q (family %v), want %q", words, table, back.String(), gotFam, want)
	}
}
