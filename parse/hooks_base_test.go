package parse_test

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// A chain given apart from the words (add rule, apply lines) is checked for
// the restrictions parse checks itself in the chain of -A or -I: the mac
// match outside PREROUTING, INPUT and FORWARD, and the policy match's
// directions where xt_policy's checkentry refuses them.
func TestCheckHooksAtBuiltinChain(t *testing.T) {
	for _, c := range []struct {
		words, chain, want string // want: the word the error points at, "" for none
	}{
		{"-m mac --mac-source 00:11:22:33:44:55 -j ACCEPT", "OUTPUT", "mac"},
		{"-m mac --mac-source 00:11:22:33:44:55 -j ACCEPT", "POSTROUTING", "mac"},
		{"-m mac --mac-source 00:11:22:33:44:55 -j ACCEPT", "INPUT", ""},
		{"-m mac --mac-source 00:11:22:33:44:55 -j ACCEPT", "U", ""},
		{"-m policy --dir in --pol none -j ACCEPT", "OUTPUT", "--dir in"},
		{"-m policy --dir in --pol none -j ACCEPT", "FORWARD", ""},
		{"-m policy --dir out --pol none -j ACCEPT", "INPUT", "--dir out"},
		{"-m policy --dir out --pol none -j ACCEPT", "POSTROUTING", ""},
	} {
		r, err := parse.ParseText(c.words, parse.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.words, err)
		}
		table := "filter"
		if c.chain == "PREROUTING" || c.chain == "POSTROUTING" {
			table = "mangle"
			r, _ = parse.ParseText("-t mangle "+c.words, parse.Options{})
		}
		hook, _ := parse.ChainHook(table, c.chain)
		err = parse.CheckHooksAt(r, c.chain, hook)
		var e *parse.Error
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s in %s: %v, want no error", c.words, c.chain, err)
		case c.want != "" && (err == nil || !asError(err, &e) || e.Word != c.want || !strings.Contains(e.Msg, c.chain)):
			t.Errorf("%s in %s: %v, want an error at %q naming the chain", c.words, c.chain, err, c.want)
		}
	}
}

func asError(err error, e **parse.Error) bool {
	pe, ok := err.(*parse.Error)
	*e = pe
	return ok
}
