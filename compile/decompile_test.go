package compile_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// TestDecompileGolden decompiles every golden case's nft rules as a group,
// and each rule on its own, and checks that the iptables rules found compile
// back to exactly the same nft rules.
func TestDecompileGolden(t *testing.T) {
	groups, singles := 0, 0
	for _, c := range tableCases(t) {
		rules := compileCase(t, c)
		r, fam, err := compile.Decompile(rules, c.table)
		if err != nil {
			t.Errorf("%s: %v", c.key(), err)
			continue
		}
		if fam != c.family {
			t.Errorf("%s: decompiled as family %v, want %v", c.key(), fam, c.family)
		}
		back, err := compile.Rule(r, compile.Options{Table: c.table, Family: fam, Counter: true, Chain: compile.StmtChain(rules)})
		if err != nil {
			t.Fatalf("%s: %v", c.key(), err)
		}
		if got, want := render(back), render(rules); got != want {
			t.Errorf("%s: %q compiles to\n%s\nwant\n%s", c.key(), r, got, want)
		}
		groups++
		for _, one := range rules {
			if halfOfIPv6Ports(one) {
				// One of the two rules of an ip6tables port match: no
				// iptables rule that ctmatch reads compiles to it alone
				// (it would need -m frag or -m ipv6header).
				if _, _, err := compile.Decompile([]expr.Rule{one}, c.table); err == nil {
					t.Errorf("%s: piece %q decompiled on its own", c.key(), one.String())
				}
				continue
			}
			if _, _, err := compile.Decompile([]expr.Rule{one}, c.table); err != nil {
				t.Errorf("%s: piece %q: %v", c.key(), one.String(), err)
			}
			singles++
		}
	}
	t.Logf("%d groups and %d single rules decompiled", groups, singles)
}

func halfOfIPv6Ports(r expr.Rule) bool {
	for _, m := range r.Matches {
		if _, ok := m.(expr.Exthdr); ok {
			return true
		}
	}
	return false
}

func render(rs []expr.Rule) string {
	s := ""
	for _, r := range rs {
		s += r.String() + "\n"
	}
	return s
}

func TestChainGroups(t *testing.T) {
	rules := func(words string) []expr.Rule {
		r, err := parse.ParseText(words, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP, Counter: true})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	grouped := func(id uint64, words string, record string) []compile.Listed {
		var out []compile.Listed
		rs := rules(words)
		for i, r := range rs {
			out = append(out, compile.Listed{Rule: r, Grouped: true, Group: expr.Group{ID: id, Index: i, Count: len(rs), Words: record}})
		}
		return out
	}
	var chain []compile.Listed
	// 1: a group whose record has its words.
	chain = append(chain, grouped(1, "-m conntrack --ctstate NEW,DNAT -m conntrack ! --ctstate SNAT -j ACCEPT",
		"-m conntrack --ctstate NEW,DNAT -m conntrack ! --ctstate SNAT -j ACCEPT")...)
	// 2: a group whose record lost its words: rebuilt from the rules.
	chain = append(chain, grouped(2, "-m conntrack ! --ctstate SNAT -j DROP", "")...)
	// 3: a record whose words do not compile to the rules (edited by hand):
	// the rules win.
	chain = append(chain, grouped(3, "-m conntrack --ctstate ESTABLISHED -j ACCEPT", "-m conntrack --ctstate NEW -j ACCEPT")...)
	// 4: rules without records: one group each, though one iptables rule
	// compiles to them (nothing says they are its pieces).
	for _, r := range rules("-m conntrack --ctstate INVALID,ESTABLISHED --ctproto 6") {
		chain = append(chain, compile.Listed{Rule: r})
	}
	// 5: half of a group: each piece on its own.
	chain = append(chain, grouped(5, "-m conntrack ! --ctstate SNAT -j RETURN", "-m conntrack ! --ctstate SNAT -j RETURN")[1:]...)

	var got []string
	for _, d := range compile.Chain(chain, expr.FamilyIP) {
		if d.Err != nil {
			got = append(got, fmt.Sprintf("%d+%d error: %v", d.First, d.Count, d.Err))
			continue
		}
		got = append(got, fmt.Sprintf("%d+%d %s", d.First, d.Count, d.Rule))
	}
	want := []string{
		"0+2 -m conntrack --ctstate NEW,DNAT -m conntrack ! --ctstate SNAT -j ACCEPT",
		"2+2 -m conntrack ! --ctstate SNAT -j DROP",
		"4+1 -m conntrack --ctstate ESTABLISHED -j ACCEPT",
		"5+1 -m conntrack --ctstate INVALID",
		"6+1 -m conntrack --ctstate ESTABLISHED -m conntrack --ctproto 6",
		"7+1 -m conntrack ! --ctstate SNAT -m conntrack ! --ctstatus NONE -j RETURN",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Chain (-want +got):\n%s", diff)
	}
}
