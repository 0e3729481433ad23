package compile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// A comment is the -m comment of the rule decompiled; one that no comment
// match ctmatch reads can say (given next to the rule through the Go API)
// is left out of the words, and the rule is still understood.
func TestDecompileComment(t *testing.T) {
	for _, c := range []struct{ comment, want string }{
		{"allow ssh", `-m conntrack --ctstate NEW -m comment --comment "allow ssh" -j ACCEPT`},
		{"it's", `-m conntrack --ctstate NEW -m comment --comment "it\'s" -j ACCEPT`},
		{strings.Repeat("c", parse.MaxNftComment), "-m conntrack --ctstate NEW -m comment --comment " + strings.Repeat("c", parse.MaxNftComment) + " -j ACCEPT"},
		{strings.Repeat("c", parse.MaxNftComment+1), "-m conntrack --ctstate NEW -j ACCEPT"},
		{`a"b`, "-m conntrack --ctstate NEW -j ACCEPT"},
	} {
		r, err := parse.ParseText("-m conntrack --ctstate NEW -j ACCEPT", parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rules, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP, Counter: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := range rules {
			rules[i].Comment = c.comment
		}
		back, _, err := compile.Decompile(rules, expr.FamilyIP)
		if err != nil {
			t.Errorf("comment %q: %v", c.comment, err)
			continue
		}
		if got := back.String(); got != c.want {
			t.Errorf("comment %q: decompiled %q, want %q", c.comment, got, c.want)
		}
	}
}

// A comment nft cannot hold as a rule's comment is valid iptables, which
// parse reads (fmt prints it), and compile refuses, at its word, with the
// reason: a second comment match, more than 128 bytes, a double quote.
func TestCommentsNftCannotHold(t *testing.T) {
	for _, tc := range []struct{ words, word, why string }{
		{"-A INPUT -m comment --comment a -m comment --comment b -j ACCEPT", "-m comment --comment b", "an nft rule has one comment"},
		{"-A INPUT -m comment --comment " + strings.Repeat("c", 129), strings.Repeat("c", 129), "a comment of 129 bytes"},
		{"-A INPUT -m comment --comment " + strings.Repeat("c", 300), strings.Repeat("c", 300), "a comment of 300 bytes is valid iptables (iptables keeps its first 255)"},
		{`-A INPUT -m comment --comment "a\"b" -j ACCEPT`, `"a\"b"`, "nft's strings cannot hold one"},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{})
		if err != nil {
			t.Fatalf("%s: parse: %v", tc.words, err)
		}
		_, err = compile.Rule(r, compile.Options{Table: expr.FamilyIP})
		var pe *parse.Error
		if !errors.As(err, &pe) || pe.Kind != parse.Unsupported || pe.Word != tc.word || !strings.Contains(pe.Msg, tc.why) {
			t.Errorf("%s: %v (at %q); want Unsupported at %q: %s", tc.words[:min(len(tc.words), 60)], err, wordOf(pe), tc.word, tc.why)
		}
	}
	r, err := parse.ParseText("-A INPUT -m comment --comment "+strings.Repeat("c", 128), parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP}); err != nil {
		t.Errorf("a comment of 128 bytes: %v", err)
	}
}

func wordOf(e *parse.Error) string {
	if e == nil {
		return ""
	}
	return e.Word
}
