package script_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// A SaveReader never panics; every error is a *parse.Error about the line
// it was given (or, at the end, the *TABLE line it names), at a word of it;
// and the -I positions it resolves are within the chain.
func FuzzSaveReader(f *testing.F) {
	for _, c := range saveCases {
		text, _, _ := c.file()
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, file string) {
		r := script.NewSaveReader(parse.Options{})
		rules := map[[2]string]int{}
		check := func(text string, err error) {
			var e *parse.Error
			if !errors.As(err, &e) {
				t.Fatalf("%q: %T %v, want a *parse.Error", text, err, err)
			}
			if e.Text != text || e.Pos < 0 || int(e.Pos) > len(text) || text[e.Pos:min(len(text), int(e.Pos)+len(e.Word))] != e.Word {
				t.Fatalf("%q: error %q at %d with word %q: not a word of the line", text, e.Msg, e.Pos, e.Word)
			}
		}
		for i, line := range strings.Split(file, "\n") {
			l, err := r.Line(line, parse.Position{Line: i + 1})
			if err != nil {
				check(line, err)
			}
			if l == nil {
				continue
			}
			switch l.Op {
			case script.SaveTable:
				clear(rules)
			case script.SaveFlush:
				rules[[2]string{l.Table, l.Chain}] = 0
			case script.SaveRule:
				k := [2]string{l.Table, l.Chain}
				if l.Index < 0 || l.Index > rules[k] {
					t.Fatalf("line %d %q: index %d, the chain has %d rules", i+1, line, l.Index, rules[k])
				}
				if l.Rules < 1 {
					t.Fatalf("line %d %q: %d rules", i+1, line, l.Rules)
				}
				rules[k] += l.Rules
			}
		}
		if l, err := r.End(); err != nil {
			check(l.Text, err)
		}
	})
}
