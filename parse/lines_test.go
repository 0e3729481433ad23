package parse_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/parse"
)

// Lines of rule text: [PACKETS:BYTES] first, and the limit on words.
func TestLines(t *testing.T) {
	for _, c := range cases.Lines {
		t.Run(c.Name, func(t *testing.T) {
			opts := parse.Options{Family: c.Family}
			r, err := parse.ParseText(c.Text, opts)
			if err != nil {
				t.Fatalf("ParseText(%q):\n%+v", c.Text, err)
			}
			if got := r.String(); got != c.Want {
				t.Errorf("ParseText(%q).String() = %q, want %q", c.Text, got, c.Want)
			}
			checkPositions(t, r)
			r2, err := parse.ParseText(c.Want, opts)
			if err != nil {
				t.Fatalf("ParseText(%q) (the canonical text):\n%+v", c.Want, err)
			}
			if got := r2.String(); got != c.Want {
				t.Errorf("ParseText(%q).String() = %q, want it unchanged", c.Want, got)
			}
		})
	}
	for _, c := range cases.BadLines {
		t.Run(c.Name, func(t *testing.T) {
			checkTextError(t, cases.InvalidCase{Name: c.Name, Family: c.Family, Text: c.Text, Msg: c.Msg}, parse.Invalid)
		})
	}
}

// Counters are not words: among argv words, [0:0] is an invalid word, as
// iptables says ("Bad argument"), even first.
func TestCountersNotInArgv(t *testing.T) {
	_, err := parse.ParseArgs([]string{"[0:0]", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW"}, parse.Options{})
	var e *parse.Error
	if !errors.As(err, &e) || e.Kind != parse.Invalid || e.Pos != 0 || !strings.Contains(e.Msg, `unexpected word "[0:0]"`) || !strings.Contains(e.Hint, "-c PACKETS BYTES") {
		t.Fatalf("ParseArgs([0:0] …) = %#v, want an Invalid error at 0 about the word, with a hint for -c", err)
	}
}

// Argv has no limit on words in iptables: past MaxWords, ctmatch refuses
// the rule as unsupported, but only when no word makes it invalid.
func TestArgvWordLimit(t *testing.T) {
	words := strings.Fields(cases.LineWords(parse.MaxWords))
	if _, err := parse.ParseArgs(words, parse.Options{}); err != nil {
		t.Fatalf("%d words: %v", len(words), err)
	}
	over := append(slices.Clone(words), "-j", "ACCEPT")
	_, err := parse.ParseArgs(over, parse.Options{})
	var e *parse.Error
	if !errors.As(err, &e) || e.Kind != parse.Unsupported || e.Word != "-j" || !strings.Contains(e.Msg, "more than 251 words") {
		t.Fatalf("%d words: %#v, want Unsupported at the %dth word", len(over), err, parse.MaxWords+1)
	}
	bad := append(slices.Clone(over), "--ctstate", "BOGUS")
	_, err = parse.ParseArgs(bad, parse.Options{})
	if !errors.As(err, &e) || e.Kind != parse.Invalid || e.Word != "--ctstate" {
		t.Fatalf("%d words with a repeated --ctstate at the end: %#v, want Invalid at it", len(bad), err)
	}
}

// With an Unsupported error comes the rule read so far, so that a caller
// can still refuse it as invalid for its own reasons (translate needs -A).
func TestUnsupportedKeepsRule(t *testing.T) {
	r, err := parse.ParseText("-m physdev --physdev-in eth0 -A INPUT -m conntrack -j DROP --ctstate NEW", parse.Options{})
	var e *parse.Error
	if !errors.As(err, &e) || e.Kind != parse.Unsupported || e.Pos != 3 {
		t.Fatalf("err = %v, want Unsupported at physdev", err)
	}
	if r == nil || r.Command == nil || r.Command.Chain != "INPUT" || len(r.Matches) != 1 {
		t.Fatalf("rule = %+v, want the rule read so far: -A INPUT and the conntrack match", r)
	}
	if r, err := parse.ParseText("-i lo -m conntrack --ctstate BOGUS", parse.Options{}); r != nil || err == nil {
		t.Errorf("an invalid rule gave %v, %v: want no rule", r, err)
	}
}
