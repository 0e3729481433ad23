package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
	"github.com/ctmatch/ctmatch/parse"
)

// labTable is one fixed case list of the laboratory and the table family it
// runs in.
type labTable struct {
	table expr.Family
	cases []lab.Case
}

// labTables are the fixed case lists, by table family: what TestLabIPv4,
// TestLabIPv6 and TestLabInet run.
func labTables() []labTable {
	return []labTable{
		{expr.FamilyIP, labCases(lab.IPv4, labIPv4)},
		{expr.FamilyIP6, labCases(lab.IPv6, labIPv6)},
		{expr.FamilyInet, append(labCases(lab.IPv4, labInet[lab.IPv4]), labCases(lab.IPv6, labInet[lab.IPv6])...)},
	}
}

// parseCase parses a lab case's words as iptables or ip6tables words.
func parseCase(c lab.Case) (*parse.Rule, error) {
	fam := parse.IPv4
	if c.Family == lab.IPv6 {
		fam = parse.IPv6
	}
	return parse.ParseText(c.Words, parse.Options{Family: fam})
}

// conntrackMatches returns the rule's conntrack (and state) matches.
func conntrackMatches(r *parse.Rule) []*parse.Conntrack {
	var out []*parse.Conntrack
	for _, m := range r.Matches {
		if ct, ok := m.(*parse.Conntrack); ok {
			out = append(out, ct)
		}
	}
	return out
}

func optionForm(k parse.OptionKind, negated bool) string {
	if negated {
		return "! --" + k.String()
	}
	return "--" + k.String()
}

// optionForms is every option of the conntrack match (parse.Kinds, the
// parser's dispatch table), plain, and negated where iptables allows "!".
func optionForms() []string {
	var want []string
	for _, k := range parse.Kinds() {
		want = append(want, optionForm(k, false))
		if k.Invertible() {
			want = append(want, optionForm(k, true))
		}
	}
	return want
}

// formsMissing parses every case and returns the option forms no case
// uses, how many cases use each form, and the problems with the cases
// themselves (words that do not parse, that are not matches alone, that
// are listed twice).
func formsMissing(cases []lab.Case) (missing []string, have map[string]int, problems []string) {
	have = map[string]int{}
	seen := map[string]bool{}
	for _, c := range cases {
		key := c.Family.String() + " " + c.Words
		if seen[key] {
			problems = append(problems, fmt.Sprintf("case %q (%s) is listed twice", c.Words, c.Family))
		}
		seen[key] = true
		r, err := parseCase(c)
		if err != nil {
			problems = append(problems, fmt.Sprintf("case %q (%s): %v", c.Words, c.Family, err))
			continue
		}
		cts := conntrackMatches(r)
		if len(cts) == 0 || len(cts) != len(r.Matches) || r.Target != nil || r.Command != nil || r.Table != nil {
			problems = append(problems, fmt.Sprintf("case %q: want conntrack matches only", c.Words))
		}
		for _, ct := range cts {
			for _, o := range ct.Options {
				have[optionForm(o.Kind, o.Negated)]++
			}
		}
	}
	for _, f := range optionForms() {
		if have[f] == 0 {
			missing = append(missing, f)
		}
	}
	return missing, have, problems
}

// Every option of the conntrack match, plain and negated where iptables
// allows "!", has a lab case in every table family: ip (IPv4 words), ip6
// (IPv6 words) and inet (words of either). The option list is the parser's
// own (parse.Kinds), and the cases count for what their words say once
// parsed. And no case has an expire range that the lab cannot measure
// without racing (lab.ExpireRaces).
func TestLabCompleteness(t *testing.T) {
	if n := len(optionForms()); n != 25 {
		// 13 options, all but --ctdir invertible: a new option gets lab
		// cases (and this number changes) before it ships.
		t.Errorf("parse.Kinds() gives %d option forms, want 25", n)
	}
	for _, tab := range labTables() {
		for _, c := range tab.cases {
			if expireRaces(c) {
				t.Errorf("%s table: case %q (%s): its --ctexpire range races on the lab's TCP packets (lab.ExpireRaces)", tab.table, c.Words, c.Family)
			}
		}
		missing, have, problems := formsMissing(tab.cases)
		for _, p := range problems {
			t.Errorf("%s table: %s", tab.table, p)
		}
		if len(missing) > 0 {
			t.Errorf("%s table: no lab case for %s", tab.table, strings.Join(missing, ", "))
		}
		var counts []string
		for _, f := range optionForms() {
			counts = append(counts, fmt.Sprintf("%s:%d", f, have[f]))
		}
		t.Logf("%s table: %d cases; %s", tab.table, len(tab.cases), strings.Join(counts, " "))
	}
}

// The completeness check can fail: the IPv4 list without its negated
// --ctexpire cases is missing exactly "! --ctexpire".
func TestLabCompletenessCatchesAGap(t *testing.T) {
	cases := slices.DeleteFunc(labCases(lab.IPv4, labIPv4), func(c lab.Case) bool {
		return strings.Contains(c.Words, "! --ctexpire")
	})
	missing, _, problems := formsMissing(cases)
	if diff := cmp.Diff([]string{"! --ctexpire"}, missing); diff != "" || problems != nil {
		t.Errorf("missing forms (-want +got):\n%s\nproblems: %v", diff, problems)
	}
	_, _, problems = formsMissing(labCases(lab.IPv4, []labCase{{words: "-m conntrack --ctstate NEW"}, {words: "-m conntrack --ctstate NEW"}, {words: "-m conntrack --ctstate BOGUS"}}))
	if len(problems) != 2 {
		t.Errorf("problems = %q, want a duplicate and a parse error", problems)
	}
}
