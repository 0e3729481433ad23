package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// translateRule matches the one rule iptables-translate prints for
// `-A FORWARD <match>`.
var translateRule = regexp.MustCompile(`^nft 'add rule ip filter FORWARD (.*)'$`)

// iptablesTranslate is a translation by the installed iptables-translate
// (run inside the lab's router namespace), loaded with nft.
func iptablesTranslate(l *lab.Lab) lab.Translation {
	return func(c lab.Case, table expr.Family) ([]lab.Piece, error) {
		out, err := l.Run(l.Router, "", "iptables-translate", append([]string{"-A", "FORWARD"}, strings.Fields(c.Words)...)...)
		if err != nil {
			return nil, err
		}
		var ps []lab.Piece
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			m := translateRule.FindStringSubmatch(line)
			if m == nil {
				return nil, &translateError{c.Words, out}
			}
			ps = append(ps, lab.Piece{Text: m[1]})
		}
		return ps, nil
	}
}

type translateError struct{ words, out string }

func (e *translateError) Error() string {
	return "iptables-translate " + e.words + ": unexpected output " + e.out
}

// mutate is ctmatch's translation with fault applied to its rules.
func mutate(fault func([]expr.Rule) []expr.Rule) lab.Translation {
	return func(c lab.Case, table expr.Family) ([]lab.Piece, error) {
		rules, err := lab.CtmatchRules(c, table)
		if err != nil {
			return nil, err
		}
		var ps []lab.Piece
		for _, r := range fault(rules) {
			b, err := r.Lower(table)
			if err != nil {
				return nil, err
			}
			ps = append(ps, lab.Piece{Wire: b})
		}
		return ps, nil
	}
}

// mapCt applies f to every ct match of every rule (on copies).
func mapCt(f func(expr.Ct) expr.Ct) func([]expr.Rule) []expr.Rule {
	return func(rs []expr.Rule) []expr.Rule {
		var out []expr.Rule
		for _, r := range rs {
			r.Matches = slices.Clone(r.Matches)
			for i, m := range r.Matches {
				if ct, ok := m.(expr.Ct); ok {
					r.Matches[i] = f(ct)
				}
			}
			out = append(out, r)
		}
		return out
	}
}

// wireNeq is the negated flag test spelled `ct state|status != M`: a
// comparison of the whole value, true for almost every packet.
func wireNeq(key expr.CtKey, value uint32) lab.Translation {
	return func(lab.Case, expr.Family) ([]lab.Piece, error) {
		return []lab.Piece{{Wire: append(lab.CtNeq(key, value), lab.Counter()...)}}, nil
	}
}

// The lab proves it can fail: fed iptables-translate's output for the
// matches it gets wrong, or ctmatch's translation with a fault injected
// (`!=` for `!`, seconds for milliseconds, no split for ct == NULL,
// original for reply, pieces that are not mutually exclusive), it reports a
// divergence for every one of them — and none for ctmatch's own translation
// of the same matches.
func TestLabCatchesWrongTranslations(t *testing.T) {
	l := lab.New(t)
	type fault struct {
		name, words string
		tr          lab.Translation
		overlap     bool // two pieces match one packet
	}
	faults := []fault{
		{"iptables-translate drops NEW", "-m conntrack --ctstate NEW,DNAT", iptablesTranslate(l), false},
		{"iptables-translate drops DNAT", "-m conntrack --ctstate SNAT,DNAT", iptablesTranslate(l), false},
		{"iptables-translate loses the negation", "-m conntrack ! --ctstate SNAT", iptablesTranslate(l), false},
		{"iptables-translate ignores ct == NULL", "-m conntrack --ctstate INVALID --ctproto 17", iptablesTranslate(l), false},
		{"iptables-translate takes seconds for an exact value", "-m conntrack --ctexpire 15", iptablesTranslate(l), false},
		{"!= for ! on states", "-m conntrack ! --ctstate NEW,RELATED", wireNeq(expr.CtState, uint32(expr.StateNew|expr.StateRelated)), false},
		{"!= for ! on a status", "-m conntrack ! --ctstatus SEEN_REPLY", wireNeq(expr.CtStatus, uint32(expr.StatusSeenReply)), false},
		{"seconds for milliseconds", "-m conntrack --ctexpire 14:15", mutate(mapCt(func(c expr.Ct) expr.Ct {
			if c.Key == expr.CtExpiration {
				c.Lo, c.Hi = c.Lo/1000, c.Hi/1000
			}
			return c
		})), false},
		{"no +999 ms at the top of an expire range", "-m conntrack --ctexpire 14:15", mutate(mapCt(func(c expr.Ct) expr.Ct {
			if c.Key == expr.CtExpiration {
				c.Hi -= 999
			}
			return c
		})), false},
		{"no split for ct == NULL", "-m conntrack ! --ctstate ESTABLISHED --ctorigsrc 10.1.0.2", mutate(func(rs []expr.Rule) []expr.Rule {
			return rs[len(rs)-1:]
		}), false},
		{"original for reply", "-m conntrack --ctreplsrc 10.2.0.2", mutate(mapCt(func(c expr.Ct) expr.Ct {
			c.Dir = expr.DirOriginal
			return c
		})), false},
		{"reply for original on a port", "-m conntrack --ctorigdstport 8007", mutate(mapCt(func(c expr.Ct) expr.Ct {
			c.Dir = expr.DirReply
			return c
		})), false},
		{"pieces not mutually exclusive", "-m conntrack --ctstate NEW,DNAT", mutate(func(rs []expr.Rule) []expr.Rule {
			if len(rs) != 2 {
				t.Fatalf("--ctstate NEW,DNAT: %d rules, want 2", len(rs))
			}
			// Drop `ct state ! new` from the second piece.
			rs[1].Matches = slices.DeleteFunc(slices.Clone(rs[1].Matches), func(m expr.Match) bool {
				ct, ok := m.(expr.Ct)
				return ok && ct.Key == expr.CtState
			})
			return rs
		}), true},
	}
	var cases []lab.Case
	for _, f := range faults {
		cases = append(cases, lab.Case{Name: f.name, Words: f.words, Family: lab.IPv4, Translation: f.tr})
	}
	controls := map[string]bool{}
	for _, f := range faults {
		if !controls[f.words] {
			controls[f.words] = true
			cases = append(cases, lab.Case{Name: "ctmatch " + f.words, Words: f.words, Family: lab.IPv4})
		}
	}
	rep, err := l.Differential(expr.FamilyIP, cases, lab.Scenario(lab.IPv4))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Format(&b)
	t.Log("\n" + b.String())
	for _, f := range faults {
		if !rep.Diverged(f.name) {
			t.Errorf("%s (%s): the lab saw no divergence", f.name, f.words)
		}
		if rep.Overlapped(f.name) != f.overlap {
			t.Errorf("%s (%s): overlap reported: %v, want %v", f.name, f.words, rep.Overlapped(f.name), f.overlap)
		}
	}
	for w := range controls {
		if rep.Diverged("ctmatch "+w) || rep.Overlapped("ctmatch "+w) {
			t.Errorf("ctmatch's own translation of %s diverged or overlapped", w)
		}
	}
}
