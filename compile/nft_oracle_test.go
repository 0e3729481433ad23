package compile_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/goldens"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/internal/nftforms"
	"github.com/ctmatch/ctmatch/parse"
)

// handwritten reads testdata/handwritten.nft.
func handwritten(t testing.TB) (rules map[string][]string, sameSpelling map[string]bool) {
	t.Helper()
	h, err := goldens.ReadHandwritten()
	if err != nil {
		t.Fatal(err)
	}
	return h.Rules, h.SameSpelling
}

var (
	ansi    = regexp.MustCompile("\x1b\\[[0-9;]*m")
	msgHead = regexp.MustCompile(`^\|\s+\d+\s+\|\s+\| message length \|`)
)

// newRuleDumps runs nft --debug=mnl on text inside ns and returns the dump of
// every NEWRULE message it sends, with sequence numbers and the ASCII column
// left out: two dumps are equal exactly when the messages' bytes are.
func newRuleDumps(t *testing.T, ns *netns.NS, text string) ([]string, error) {
	return messageDumps(ns, text, mnlArgs, "| 02566 |")
}

// mnlArgs are nft's arguments for the messages of a script on its input.
var mnlArgs = []string{"--debug=mnl", "-f", "-"}

// txDumps is newRuleDumps with the NEWSET and NEWSETELEM messages of the
// anonymous sets the rules look up, in the order nft sends them.
func txDumps(t *testing.T, ns *netns.NS, text string) ([]string, error) {
	return messageDumps(ns, text, mnlArgs, "| 02566 |", "| 02569 |", "| 02572 |")
}

// nftRuleDumps is newRuleDumps with nft's arguments (-j for JSON).
func nftRuleDumps(ns *netns.NS, text string, args ...string) ([]string, error) {
	return messageDumps(ns, text, args, "| 02566 |")
}

// messageDumps runs nft with args on text inside ns and returns the dump
// of every message whose type line starts with one of types.
func messageDumps(ns *netns.NS, text string, args []string, types ...string) ([]string, error) {
	out, errOut, err := ktest.Exec(ns, text, "nft", args...)
	if err != nil {
		return nil, &nftError{msg: errOut}
	}
	var dumps []string
	var cur []string
	flush := func() {
		if len(cur) > 1 && slices.ContainsFunc(types, func(p string) bool { return strings.HasPrefix(strings.TrimSpace(cur[1]), p) }) {
			dumps = append(dumps, strings.Join(cur, "\n"))
		}
		cur = nil
	}
	for _, line := range strings.Split(out+errOut, "\n") {
		line = ansi.ReplaceAllString(line, "")
		if msgHead.MatchString(line) {
			flush()
		}
		if strings.Contains(line, "sequence number") {
			continue
		}
		if i := strings.Index(line, "|      data      |"); i >= 0 {
			line = line[:i]
		}
		cur = append(cur, line)
	}
	flush()
	return dumps, nil
}

type nftError struct{ msg string }

func (e *nftError) Error() string { return e.msg }

var portMatch = regexp.MustCompile(`proto-(src|dst)`)

func needsProtoContext(body string) bool {
	return portMatch.MatchString(body) && !strings.Contains(body, "ct original protocol 6 ") && !strings.Contains(body, "ct original protocol tcp ")
}

// TestNftOracle checks, for every golden case, that ctmatch's nft text and
// the hand-written correct text for the same meaning make nft 1.0.6 send the
// same bytes.
func TestNftOracle(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	hand, same := handwritten(t)
	checked, ported, withSets := 0, 0, 0
	for _, c := range tableCases(t) {
		want, ok := hand[c.name]
		if !ok {
			t.Errorf("%s: no hand-written text in testdata/handwritten.nft", c.name)
			continue
		}
		got := compileCase(t, c)
		if len(got) != len(want) {
			t.Errorf("%s: ctmatch gives %d rules, the hand-written text %d:\nctmatch:\n  %s\nhand-written:\n  %s",
				c.key(), len(got), len(want), joinRules(got), strings.Join(want, "\n  "))
			continue
		}
		var text strings.Builder
		setup := "flush ruleset\nadd table " + c.table.String() + " t\nadd chain " + c.table.String() + " t c\n"
		if v := got[0].Verdict; v.Chain != "" {
			setup += "add chain " + c.table.String() + " t " + v.Chain + "\n"
		}
		text.WriteString(setup)
		if hasLookup(got) {
			// The rules name their sets by the id nft gives each set of the
			// transaction: ctmatch's rules and the hand-written ones go in
			// transactions of their own, sets and elements compared too.
			ours, theirs := setup, setup
			for i, r := range got {
				h := want[i]
				if c.table == expr.FamilyInet {
					h = handNfproto(c) + h
				}
				if r.String() == h && !same[c.name] {
					t.Errorf("%s: the hand-written rule %d is spelled exactly as ctmatch spells it (%q)", c.key(), i+1, h)
				}
				ours += "add rule " + c.table.String() + " t c " + r.String() + "\n"
				theirs += "add rule " + c.table.String() + " t c " + h + "\n"
			}
			a, err := txDumps(t, ns, ours)
			if err != nil {
				t.Errorf("%s: nft refused ctmatch's rules: %v\n%s", c.key(), err, ours)
				continue
			}
			b, err := txDumps(t, ns, theirs)
			if err != nil {
				t.Errorf("%s: nft refused the hand-written rules: %v\n%s", c.key(), err, theirs)
				continue
			}
			if strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Errorf("%s: nft sends different sets or rules for ctmatch's\n%sand the hand-written\n%s", c.key(), ours, theirs)
			}
			withSets++
			checked++
			continue
		}
		for i, r := range got {
			ours := r.String()
			theirs := want[i]
			if c.table == expr.FamilyInet {
				theirs = handNfproto(c) + theirs
			}
			if ours == theirs && !same[c.name] {
				t.Errorf("%s: the hand-written rule %d is spelled exactly as ctmatch spells it (%q): write another spelling, or list the case under \"# no other spelling:\"", c.key(), i+1, ours)
			}
			if needsProtoContext(ours) {
				ported++
			}
			text.WriteString("add rule " + c.table.String() + " t c " + withProto(ours) + "\n")
			text.WriteString("add rule " + c.table.String() + " t c " + withProto(theirs) + "\n")
		}
		dumps, err := newRuleDumps(t, ns, text.String())
		if err != nil {
			t.Errorf("%s: nft refused the rules: %v\n%s", c.key(), err, text.String())
			continue
		}
		if len(dumps) != 2*len(got) {
			t.Fatalf("%s: %d NEWRULE messages in nft's dump, want %d", c.key(), len(dumps), 2*len(got))
		}
		for i := range got {
			if dumps[2*i] != dumps[2*i+1] {
				t.Errorf("%s rule %d: nft sends different bytes for ctmatch's %q and the hand-written %q:\nctmatch:\n%s\nhand-written:\n%s",
					c.key(), i+1, got[i].String(), want[i], dumps[2*i], dumps[2*i+1])
			}
		}
		checked++
	}
	t.Logf("%d cases checked against nft's bytes (%d with anonymous sets), %d rules with a ct port match loaded after a protocol test", checked, withSets, ported)
}

// handNfproto is the family test the oracle adds to a hand-written rule for an
// inet table, spelled by number rather than by name.
func handNfproto(c tableCase) string {
	if c.family == parse.IPv6 {
		return "meta nfproto 10 "
	}
	return "meta nfproto 2 "
}

// withProto puts "ct original protocol 6" before a rule's first ct match when
// the rule has a ct port match with no protocol test: nft 1.0.6 cannot parse
// it otherwise. Both sides of a comparison get the same prefix.
func withProto(body string) string {
	if !needsProtoContext(body) {
		return body
	}
	i := strings.Index(body, "ct ")
	return body[:i] + "ct original protocol 6 " + body[i:]
}

func joinRules(rs []expr.Rule) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.String())
	}
	return strings.Join(s, "\n  ")
}

// TestParsesInNft106 checks expr.Rule.ParsesInNft106, which decides when
// translate warns that nft 1.0.6 cannot read a line, against nft 1.0.6 itself:
// every golden rule with a port match, and every rule of the port cases'
// tables, is loaded alone.
// parsesPortsAlone reports whether the nft the tests run is 1.0.7 or later,
// which parses a ct port match after any protocol or none: the tests of
// ParsesInNft106 then check that it loads every such rule.
func parsesPortsAlone(t *testing.T) bool {
	t.Helper()
	return nftforms.Need(t).AtLeast(1, 0, 7)
}

func TestParsesInNft106(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	later := parsesPortsAlone(t)
	refused, loaded := 0, 0
	for _, c := range tableCases(t) {
		for _, r := range compileCase(t, c) {
			text := r.String()
			if !strings.Contains(text, "proto-") && !strings.Contains(text, "protocol") {
				continue
			}
			script := "flush ruleset\nadd table " + c.table.String() + " t\nadd chain " + c.table.String() + " t c\n"
			if v := r.Verdict; v.Chain != "" {
				script += "add chain " + c.table.String() + " t " + v.Chain + "\n"
			}
			_, errOut, err := ktest.Exec(ns, script+"add rule "+c.table.String()+" t c "+text+"\n", "nft", "-f", "-")
			if got, want := err == nil, r.ParsesInNft106() || later; got != want {
				t.Errorf("%s: %q: nft loads it: %v, ParsesInNft106: %v, nft 1.0.7 or later: %v %s", c.key(), text, got, r.ParsesInNft106(), later, errOut)
			}
			if err == nil {
				loaded++
			} else {
				refused++
			}
		}
	}
	if later {
		// What ParsesInNft106 says is 1.0.6's alone: a later nft loads
		// every rule.
		t.Logf("nft 1.0.7 or later: %d rules loaded, %d refused", loaded, refused)
		return
	}
	if refused == 0 || loaded == 0 {
		t.Fatalf("%d rules refused and %d loaded: the check saw only one side", refused, loaded)
	}
	t.Logf("%d rules nft 1.0.6 refuses, %d it loads, as ParsesInNft106 says", refused, loaded)
}

// ParsesInNft106 knows every protocol nft 1.0.6 takes a ct port match after:
// a port match after each protocol from 1 to 255, in an ip and an inet
// table, is loaded by nft exactly when ParsesInNft106 says so.
func TestParsesInNft106Protocols(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	later := parsesPortsAlone(t)
	var known []int
	for _, fam := range []expr.Family{expr.FamilyIP, expr.FamilyInet} {
		for p := 1; p <= 255; p++ {
			r, err := parse.ParseText(fmt.Sprintf("-m conntrack --ctproto %d --ctorigdstport 22", p), parse.Options{})
			if err != nil {
				t.Fatal(err)
			}
			nrs, err := compile.Rule(r, compile.Options{Table: fam})
			if err != nil || len(nrs) != 1 {
				t.Fatalf("protocol %d: %d rules, %v", p, len(nrs), err)
			}
			script := fmt.Sprintf("add table %[1]s t\nadd chain %[1]s t c\nadd rule %[1]s t c %s\n", fam, nrs[0])
			_, errOut, err := ktest.Exec(ns, script, "nft", "-c", "-f", "-")
			if got, want := err == nil, nrs[0].ParsesInNft106() || later; got != want {
				t.Errorf("%v table, protocol %d: nft parses %q: %v, ParsesInNft106: %v, nft 1.0.7 or later: %v %s", fam, p, nrs[0], got, nrs[0].ParsesInNft106(), later, errOut)
			}
			if err == nil && fam == expr.FamilyIP {
				known = append(known, p)
			}
		}
	}
	if later {
		t.Logf("nft 1.0.7 or later takes ct ports after protocols %v", known)
		return
	}
	t.Logf("nft 1.0.6 takes ct ports after protocols %v", known)
}

// hasLookup reports whether one of rules looks up a set.
func hasLookup(rules []expr.Rule) bool {
	return slices.ContainsFunc(rules, expr.Rule.HasLookup)
}
