package parse_test

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// checkFlagValue checks the positions of an option of a match of ext.go:
// its flag starts with flag (the shortest prefix the cases write), its "!"
// is where NegPos says, and its value where Value says.
func checkFlagValue(t *testing.T, text, flag string, f *parse.FlagValue) {
	t.Helper()
	name := flag
	if w := text[f.Flag:]; !strings.HasPrefix(w, flag) {
		t.Errorf("%s option at %d is %q", name, f.Flag, w)
	}
	if f.Negated {
		if !strings.HasPrefix(text[f.NegPos:], "! ") {
			t.Errorf("! of %s at %d is %q", name, f.NegPos, text[f.NegPos:])
		}
	} else if f.NegPos != parse.NoPos {
		t.Errorf("%s option: NegPos %d without !", name, f.NegPos)
	}
	if !strings.HasPrefix(text[f.Value.At:], f.Value.Text) {
		t.Errorf("%s value at %d is %q, want %q", name, f.Value.At, text[f.Value.At:], f.Value.Text)
	}
}
