package parse_test

import (
	"fmt"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// Positions print as the CLI's errors begin: FILE:LINE:COL, FILE:LINE, or
// col N on the command line; as go/token's do where it has the form.
func TestPositionString(t *testing.T) {
	for _, tc := range []struct {
		p     parse.Position
		want  string
		valid bool
	}{
		{parse.Position{File: "rules.v4", Line: 3, Col: 17}, "rules.v4:3:17", true},
		{parse.Position{File: "<stdin>", Line: 12}, "<stdin>:12", true},
		{parse.Position{Col: 28}, "col 28", true},
		{parse.Position{Line: 3, Col: 2}, "3:2", true},
		{parse.Position{Line: 3}, "3", true},
		{parse.Position{File: "a:b", Line: 1, Col: 1}, "a:b:1:1", true},
		{parse.Position{File: "f", Col: 5}, "f:col 5", true},
		{parse.Position{File: "f"}, "f", false},
		{parse.Position{}, "-", false},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
		if got := tc.p.IsValid(); got != tc.valid {
			t.Errorf("%#v.IsValid() = %v, want %v", tc.p, got, tc.valid)
		}
	}
}

// At gives the column of an offset, and none for NoPos.
func TestPositionAt(t *testing.T) {
	line := parse.Position{File: "f", Line: 2, Col: 9}
	if got, want := line.At(0), (parse.Position{File: "f", Line: 2, Col: 1}); got != want {
		t.Errorf("At(0) = %#v, want %#v", got, want)
	}
	if got, want := line.At(parse.NoPos), (parse.Position{File: "f", Line: 2}); got != want {
		t.Errorf("At(NoPos) = %#v, want %#v", got, want)
	}
}

func ExamplePosition() {
	const text = "-m conntrack --ctstate NEW,BOGUS"
	_, err := parse.ParseText(text, parse.Options{})
	e := err.(*parse.Error)
	for _, at := range []parse.Position{{File: "rules.txt", Line: 4}, {}} {
		fmt.Printf("%s: %s\n", at.At(e.Pos), e.Msg)
	}
	fmt.Println(parse.Position{File: "rules.txt", Line: 4})
	// Output:
	// rules.txt:4:28: unknown conntrack state "BOGUS"
	// col 28: unknown conntrack state "BOGUS"
	// rules.txt:4
}
