package parse_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/parse"
)

// TestRelease parses every valid case after releasing the rule parsed
// before it, and wants the same tree as a parse with nothing released:
// a room given back must come back cleared.
func TestRelease(t *testing.T) {
	type parsed struct {
		name, text string
		opts       parse.Options
		want       *parse.Rule
	}
	var all []parsed
	for _, c := range cases.Valid {
		p := parsed{name: c.Name, text: joinQuoted(c.Args), opts: parse.Options{Family: c.Family}}
		r, err := parse.ParseText(p.text, p.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		p.want = r
		all = append(all, p)
	}
	for round := range 2 {
		for _, p := range all {
			r, err := parse.ParseText(p.text, p.opts)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			if diff := cmp.Diff(p.want, r, treeOptions); diff != "" {
				t.Fatalf("round %d, %s: parsed after a release (-want +got):\n%s", round, p.name, diff)
			}
			parse.Release(r)
		}
	}
}

// TestReleaseLeavesOthers: Release does nothing to a rule the parser did
// not return as it is, nor to one whose matches outgrew its room.
func TestReleaseLeavesOthers(t *testing.T) {
	const text = "-A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"
	parseText := func(text string) *parse.Rule {
		t.Helper()
		r, err := parse.ParseText(text, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := parseText(text)
	c := *r
	parse.Release(&c)
	if r.Text != text || c.Text != text || r.String() != c.String() {
		t.Errorf("Release of a copy changed the rule: %q, the copy %q", r.String(), c.String())
	}
	list := parseText("-A INPUT -s 10.0.0.1,10.0.0.2 -j ACCEPT")
	for _, e := range list.Expand() {
		parse.Release(e)
	}
	if got := list.String(); got != "-A INPUT -s 10.0.0.1/32,10.0.0.2/32 -j ACCEPT" {
		t.Errorf("Release of Expand's copies changed the rule: %q", got)
	}
	const many = "-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m state --state NEW -m ttl --ttl-eq 5 -m comment --comment a -j ACCEPT"
	m := parseText(many)
	before := m.String()
	parse.Release(m)
	if m.Text != many || m.String() != before {
		t.Errorf("Release of a rule of five matches (its room holds four) changed it: %q", m.String())
	}
	hand := &parse.Rule{Text: "x", Matches: make([]parse.Match, 0, 4)}
	parse.Release(hand)
	parse.Release(nil)
	if hand.Text != "x" {
		t.Errorf("Release of a rule made by hand changed it")
	}
	parse.Release(r)
	if r.Text != "" {
		t.Errorf("Release of a parsed rule left its text %q: the room was not given back", r.Text)
	}
}

// TestReleaseReuses: a rule parsed after one was released is parsed in the
// released rule's room. A sync.Pool may drop what it is given (the race
// detector has it drop a quarter at random), so the test wants the room
// back in a quarter of 200 parses at least; without the race detector it
// comes back in all but the first. TestReleaseAllocs counts allocations.
func TestReleaseReuses(t *testing.T) {
	const text = "-A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"
	var last *parse.Rule
	reused := 0
	for range 200 {
		r, err := parse.ParseText(text, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r == last {
			reused++
		}
		last = r
		parse.Release(r)
	}
	if reused < 50 {
		t.Errorf("a rule parsed after one was released was parsed in its room %d times in 200: want 50 at least", reused)
	}
}
