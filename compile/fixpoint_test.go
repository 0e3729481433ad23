package compile_test

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// roundTrip lowers rules to the kernel's wire form, raises them back and
// decompiles them as one group, then compiles the iptables rule found.
// commentBack returns the comment of r as a listing reads it back: from
// the userdata the rule is loaded with, next to its group record.
func commentBack(t testing.TB, r expr.Rule) string {
	t.Helper()
	ud, err := expr.Group{ID: 1, Count: 1}.UserData(r.Comment)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := expr.ParseUserData(ud)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func roundTrip(t testing.TB, rules []expr.Rule, table expr.Family) []expr.Rule {
	t.Helper()
	raised := make([]expr.Rule, len(rules))
	for i, r := range rules {
		b, sets, err := r.LowerSets(table, 1)
		if err != nil {
			t.Fatalf("lower %q: %v", r.String(), err)
		}
		if raised[i], err = expr.RaiseSets(table, b, setsByID(sets)); err != nil {
			t.Fatalf("raise %q: %v", r.String(), err)
		}
		raised[i].Comment = commentBack(t, r)
	}
	back, fam, err := compile.Decompile(raised, table)
	if err != nil {
		t.Fatalf("decompile: %v", err)
	}
	out, err := compile.Rule(back, compile.Options{Table: table, Family: fam, Counter: rules[0].Counter, Chain: compile.StmtChain(rules)})
	if err != nil {
		t.Fatalf("compile %q: %v", back, err)
	}
	return out
}

// TestFixpoint: compile(decompile(raise(lower(compile(x))))) == compile(x)
// for every golden case.
func TestFixpoint(t *testing.T) {
	for _, c := range tableCases(t) {
		want := compileCase(t, c)
		if got := roundTrip(t, want, c.table); render(got) != render(want) {
			t.Errorf("%s: round trip gives\n%swant\n%s", c.key(), render(got), render(want))
		}
	}
}

// FuzzFixpoint checks the same for any rule the parser accepts, as a set of
// rules: listed back without group records, every nft rule is a group of
// its own, rebuilt one piece at a time.
func FuzzFixpoint(f *testing.F) {
	for _, c := range loadCases(f) {
		f.Add(c.words, c.family == parse.IPv6, false)
		f.Add(c.words, c.family == parse.IPv6, true)
	}
	f.Fuzz(func(t *testing.T, words string, v6, inet bool) {
		fam := parse.IPv4
		table := expr.FamilyIP
		if v6 {
			fam, table = parse.IPv6, expr.FamilyIP6
		}
		if inet {
			table = expr.FamilyInet
		}
		r, err := parse.ParseText(words, parse.Options{Family: fam})
		if err != nil {
			return
		}
		want, err := compile.Rule(r, compile.Options{Table: table, Family: fam, Counter: true})
		if err != nil {
			return
		}
		// The two rules of an ip6tables port match decompile only
		// together: list them back as one group.
		records := false
		for _, r := range want {
			records = records || halfOfIPv6Ports(r)
		}
		var got []expr.Rule
		for _, d := range listBack(t, want, table, records) {
			if d.Err != nil {
				t.Fatalf("%q: decompile: %v", words, d.Err)
			}
			back, err := compile.Rule(d.Rule, compile.Options{Table: table, Family: d.Family, Counter: true, Chain: compile.StmtChain(want)})
			if err != nil {
				t.Fatalf("compile %q: %v", d.Rule, err)
			}
			got = append(got, back...)
		}
		// nft merges adjacent equalities of one header into one load, and
		// Lower with it, so that "tcp dport 0 tcp sport 100" and "tcp sport
		// 100 tcp dport 0" are one rule in the kernel, raised back in the
		// header's order: such rules round trip to the same bytes.
		if render(got) != render(want) && !sameWire(t, got, want, table) {
			t.Fatalf("%q: round trip gives\n%swant\n%s", words, render(got), render(want))
		}
	})
}

// sameWire reports whether a and b lower to the same expressions and sets,
// rule by rule.
func sameWire(t *testing.T, a, b []expr.Rule, table expr.Family) bool {
	t.Helper()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		wa, sa, err := a[i].LowerSets(table, 1)
		if err != nil {
			t.Fatal(err)
		}
		wb, sb, err := b[i].LowerSets(table, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wa, wb) || !reflect.DeepEqual(sa, sb) {
			return false
		}
	}
	return true
}

// listBack lowers rules, raises them as the kernel lists them, and groups
// them as a chain: with group records (one group, with no words in its
// record, so that it is rebuilt from the rules), or without.
func listBack(t *testing.T, rules []expr.Rule, table expr.Family, records bool) []compile.Decompiled {
	t.Helper()
	var listed []compile.Listed
	for i, w := range rules {
		b, sets, err := w.LowerSets(table, 1)
		if err != nil {
			t.Fatal(err)
		}
		raised, err := expr.RaiseSets(table, b, setsByID(sets))
		if err != nil {
			t.Fatal(err)
		}
		raised.Comment = commentBack(t, w)
		l := compile.Listed{Rule: raised}
		if records {
			l.Grouped, l.Group = true, expr.Group{ID: 1, Index: i, Count: len(rules)}
		}
		listed = append(listed, l)
	}
	return compile.Chain(listed, table)
}

// One conntrack match is one group when listed back with its group record,
// rebuilt from its rules: every golden case of one match, and each state
// with each option that holds for every packet with a conntrack (such an
// option compiles to no match of its own, only "has a conntrack"). Without
// the record each nft rule is a group of its own, whatever its shape, and
// compiles back to exactly that rule.
func TestChainOneGroup(t *testing.T) {
	type rule struct {
		words string
		fam   parse.Family
		table expr.Family
	}
	var rules []rule
	for _, c := range tableCases(t) {
		if strings.Count(c.words, "-m ") == 1 {
			rules = append(rules, rule{c.words, c.family, c.table})
		}
	}
	always := []string{"! --ctstatus NONE", "--ctexpire 0:4294967295", "--ctorigsrc 0.0.0.0/0", "--ctrepldstport 0:65535"}
	states := []string{"", "--ctstate NEW", "! --ctstate NEW", "--ctstate NEW,DNAT", "! --ctstate SNAT", "--ctstate INVALID,ESTABLISHED", "! --ctstate RELATED,UNTRACKED,DNAT"}
	for _, table := range []expr.Family{expr.FamilyIP, expr.FamilyInet} {
		for _, st := range states {
			for _, a := range always {
				rules = append(rules, rule{"-m conntrack " + st + " " + a + " -j ACCEPT", parse.IPv4, table})
			}
		}
	}
	split := 0
	for _, c := range rules {
		r, err := parse.ParseText(c.words, parse.Options{Family: c.fam})
		if err != nil {
			t.Fatal(err)
		}
		nrs, err := compile.Rule(r, compile.Options{Table: c.table, Family: c.fam, Counter: true})
		if err != nil {
			t.Fatal(err)
		}
		if groups := listBack(t, nrs, c.table, true); len(groups) != 1 || groups[0].Err != nil {
			var got []string
			for _, g := range groups {
				got = append(got, fmt.Sprint(g.Rule, g.Err))
			}
			t.Errorf("%v: %q (%d nft rules) lists back as %d groups: %q", c.table, c.words, len(nrs), len(groups), got)
		}
		if halfOfIPv6Ports(nrs[0]) {
			// Its two halves have no iptables form alone.
			continue
		}
		groups := listBack(t, nrs, c.table, false)
		if len(groups) != len(nrs) {
			t.Errorf("%v: %q (%d nft rules) without records lists back as %d groups, want one per rule", c.table, c.words, len(nrs), len(groups))
			continue
		}
		for i, g := range groups {
			if g.Err != nil {
				t.Errorf("%v: %q: rule %d alone: %v", c.table, c.words, i, g.Err)
				continue
			}
			back, err := compile.Rule(g.Rule, compile.Options{Table: c.table, Family: g.Family, Counter: true})
			if err != nil || render(back) != render(nrs[i:i+1]) {
				t.Errorf("%v: %q: rule %d alone lists back as %q, which compiles to %q (%v)", c.table, c.words, i, g.Rule, render(back), err)
			}
		}
		if len(nrs) > 1 {
			split++
		}
	}
	t.Logf("%d rules of one match, each listed back as one group with its record; %d of several nft rules, one group each without", len(rules), split)
}

// setsByID gives the sets a rule's lookups name by their id, as a
// transaction holds them.
func setsByID(sets []expr.Set) expr.SetSource {
	return func(name string, id uint32) (expr.Set, error) {
		for _, s := range sets {
			if s.ID == id && name == expr.AnonymousSetName {
				return s, nil
			}
		}
		return expr.Set{}, fmt.Errorf("no set %s with id %d", name, id)
	}
}
