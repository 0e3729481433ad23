package script_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// ReadLine never panics; a bad line is a *parse.Error at a place in it;
// a line that reads prints as a line that reads the same, and prints the
// same again.
func FuzzLine(f *testing.F) {
	for _, s := range []string{
		"add rule inet fw input -- -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
		"insert rule ip6 t c --no-counter --index=010 -- -m conntrack --ctorigsrc 2001:db8::/32",
		"\t add \trule  inet fw input -6  --handle 12\t--\t -m state --state NEW  ",
		"add rule ip #t --index -- -m state --state NEW",
		"add rule inet fw input --index 1 --handle 2 -- -m state --state NEW",
		"add rule ip fw input -6 -- -m state --state NEW",
		"add rule inet fw input -- -A input -m conntrack --ctstate NEW -j NFQUEUE",
		"add rule inet fw input -- [1:2] -t nat -m conntrack --ctexpire 3:3 -g x",
		"add rule ip t c -- -t filter",
		"# a comment",
		"",
	} {
		f.Add(s)
	}
	at := parse.Position{File: "f", Line: 1}
	f.Fuzz(func(t *testing.T, text string) {
		l, err := script.ReadLine(text, at, parse.Options{})
		if err != nil {
			var e *parse.Error
			if !errors.As(err, &e) {
				t.Fatalf("ReadLine(%q): %T %v, want a *parse.Error", text, err, err)
			}
			if e.Text != text || e.Pos < 0 || int(e.Pos) > len(text) || text[e.Pos:min(len(text), int(e.Pos)+len(e.Word))] != e.Word {
				t.Fatalf("ReadLine(%q): error %q at %d with word %q: not a word of the line", text, e.Msg, e.Pos, e.Word)
			}
			return
		}
		s := l.String()
		l2, err := script.ReadLine(s, at, parse.Options{})
		if err != nil {
			t.Fatalf("ReadLine(%q) reads, but its String %q does not:\n%+v", text, s, err)
		}
		if diff := cmp.Diff(fieldsOf(l), fieldsOf(l2)); diff != "" {
			t.Fatalf("ReadLine(%q) and ReadLine(%q) differ (-first +second):\n%s", text, s, diff)
		}
		if s2 := l2.String(); s2 != s {
			t.Fatalf("String of %q is %q, then %q", text, s, s2)
		}
	})
}
