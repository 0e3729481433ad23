package shellwords_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/internal/shellwords"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		in      string
		words   []string
		heredoc string
		bad     bool
	}{
		{in: `ctmatch fmt -- -m conntrack --ctstate NEW`, words: []string{"ctmatch", "fmt", "--", "-m", "conntrack", "--ctstate", "NEW"}},
		{in: `ctmatch fmt -- '-A INPUT -j "x y"'  '' a\ b`, words: []string{"ctmatch", "fmt", "--", `-A INPUT -j "x y"`, "", "a b"}},
		{in: `ctmatch "a\"b\\c" x"y"'z'`, words: []string{"ctmatch", `a"b\c`, "xyz"}},
		{in: `ctmatch fmt -- ! --ctstate NEW`, words: []string{"ctmatch", "fmt", "--", "!", "--ctstate", "NEW"}},
		{in: `ctmatch fmt -f - <<'EOF'`, words: []string{"ctmatch", "fmt", "-f", "-"}, heredoc: "EOF"},
		{in: `ctmatch fmt -f - <<END`, words: []string{"ctmatch", "fmt", "-f", "-"}, heredoc: "END"},
		{in: `ctmatch fmt a#b`, words: []string{"ctmatch", "fmt", "a#b"}},
		{in: `ctmatch fmt '`, bad: true},
		{in: `ctmatch fmt "`, bad: true},
		{in: `ctmatch fmt $X`, bad: true},
		{in: `ctmatch fmt "$X"`, bad: true},
		{in: `ctmatch fmt -- a | cat`, bad: true},
		{in: `ctmatch fmt -- a > f`, bad: true},
		{in: `ctmatch fmt -- a*`, bad: true},
		{in: `ctmatch fmt # comment`, bad: true},
		{in: `ctmatch fmt \`, bad: true},
		{in: `ctmatch "a$b"`, bad: true},
	} {
		words, heredoc, err := shellwords.Split(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("Split(%q) = %q, want an error", c.in, words)
			}
			continue
		}
		if err != nil || heredoc != c.heredoc {
			t.Errorf("Split(%q): heredoc %q, error %v; want %q, no error", c.in, heredoc, err, c.heredoc)
		}
		if diff := cmp.Diff(c.words, words); diff != "" {
			t.Errorf("Split(%q) (-want +got):\n%s", c.in, diff)
		}
	}
}
