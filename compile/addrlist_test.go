package compile_test

import (
	"errors"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// A rule with a comma list of addresses is several iptables rules, each a
// group of its own: Rule refuses it rather than compile one of them, or
// all of them into one group.
func TestRuleRefusesAddressList(t *testing.T) {
	for _, words := range []string{"-s 10.0.0.1,10.0.0.2", "-d 10.0.0.1,10.0.0.2 -s 10.0.0.3"} {
		r, err := parse.ParseText(words, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP}); !errors.Is(err, compile.ErrAddressList) {
			t.Errorf("%s: err = %v, want ErrAddressList", words, err)
		}
		for _, e := range r.Expand() {
			if _, err := compile.Rule(e, compile.Options{Table: expr.FamilyIP}); err != nil {
				t.Errorf("%s: %s: %v", words, e, err)
			}
		}
	}
}

// -f is IPv4's: a syntax tree that gives it to ip6tables words (parse
// refuses -f with -6) is refused, not compiled into an IPv4 header test.
func TestFragmentIPv6Refused(t *testing.T) {
	r, err := parse.ParseText("-f", parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP6, Family: parse.IPv6}); err == nil {
		t.Error("-f compiled for ip6tables words")
	}
	if _, err := compile.Rule(r, compile.Options{Table: expr.FamilyInet, Family: parse.IPv4}); err != nil {
		t.Errorf("-f for iptables words in an inet table: %v", err)
	}
}
