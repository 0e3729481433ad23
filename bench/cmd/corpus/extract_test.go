package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExtractSave(t *testing.T) {
	rs, err := extractFile("testdata/save.rules")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Family != 4 || rs.Format != FormatSave {
		t.Errorf("family %d, format %s; want 4, %s", rs.Family, rs.Format, FormatSave)
	}
	want := []Rule{
		{Line: 5, Table: "raw", Command: "-A", Text: "-A PREROUTING -p udp --dport 5353 -j NOTRACK", Counters: "[5:300]", Save: true},
		{Line: 12, Table: "filter", Command: "-A", Text: "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", Counters: "[12:3456]", Conntrack: true, Save: true},
		{Line: 13, Table: "filter", Command: "-A", Text: "-A INPUT -p tcp --dport 2222 -m state --state NEW -j svc", Conntrack: true, Save: true},
		{Line: 14, Table: "filter", Command: "-I", Text: "-I INPUT 1 -i lo -j ACCEPT", Save: true},
		// The words of a quoted comment are not a match.
		{Line: 16, Table: "filter", Command: "-A", Text: `-A svc -m comment --comment "not -m conntrack here" -j ACCEPT`, Save: true},
		{Line: 22, Table: "nat", Command: "-A", Text: "-A POSTROUTING -o wan0 -j MASQUERADE", Save: true},
	}
	if diff := cmp.Diff(want, rs.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	// A tool that reads one rule gets the table of the *table line, and no
	// counter prefix.
	if got, w := rs.Rules[0].Input(), "-t raw -A PREROUTING -p udp --dport 5353 -j NOTRACK"; got != w {
		t.Errorf("Input() = %q, want %q", got, w)
	}
	if got, w := rs.Rules[0].InputWithCounters(), "[5:300] -t raw -A PREROUTING -p udp --dport 5353 -j NOTRACK"; got != w {
		t.Errorf("InputWithCounters() = %q, want %q", got, w)
	}
	if got, w := rs.Rules[2].InputWithCounters(), rs.Rules[2].Input(); got != w {
		t.Errorf("InputWithCounters() = %q, want %q", got, w)
	}
}

func TestExtractLines(t *testing.T) {
	rs, err := extractFile("testdata/lines6.rules")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Family != 6 || rs.Format != FormatLines {
		t.Errorf("family %d, format %s; want 6, %s", rs.Family, rs.Format, FormatLines)
	}
	want := []Rule{
		{Line: 2, Table: "filter", Command: "-A", Text: "-A INPUT -i lo -j ACCEPT"},
		{Line: 3, Table: "nat", Command: "-A", Text: "-t nat -A POSTROUTING -s fd00:1::/64 -j MASQUERADE"},
		{Line: 4, Table: "filter", Command: "-I", Text: "-I INPUT 3 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", Conntrack: true},
		{Line: 5, Table: "mangle", Command: "-I", Text: "--table mangle --insert PREROUTING --match state --state INVALID --jump DROP", Conntrack: true},
		{Line: 9, Table: "filter", Command: "-A", Text: `-A OUTPUT -j LOG --log-prefix "out: "`},
	}
	if diff := cmp.Diff(want, rs.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	// The table is among the words: nothing is added.
	if got, w := rs.Rules[1].Input(), rs.Rules[1].Text; got != w {
		t.Errorf("Input() = %q, want %q", got, w)
	}
}

func TestExtractErrors(t *testing.T) {
	for _, in := range []string{
		"*filter\n[1:x] -A INPUT -j ACCEPT\nCOMMIT\n",
		"*filter\n-A INPUT -m comment --comment \"open -j ACCEPT\nCOMMIT\n",
		":INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n",
	} {
		if _, err := Extract("x.rules", strings.NewReader(in)); err == nil {
			t.Errorf("Extract(%q) did not fail", in)
		}
	}
}

func TestSplit(t *testing.T) {
	const text = `-A  X -j LOG --log-prefix "a \"b\" c " -m comment --comment x\y`
	words, err := Split(text)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range words {
		got = append(got, w.Text)
	}
	want := []string{"-A", "X", "-j", "LOG", "--log-prefix", `a "b" c `, "-m", "comment", "--comment", `x\y`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("words (-want +got):\n%s", diff)
	}
	// Each word spans its bytes in the text, quotes included.
	quoted := `"a \"b\" c "`
	start := strings.Index(text, quoted)
	if w := words[5]; w.Start != start || w.End != start+len(quoted) {
		t.Errorf("quoted word spans %d:%d, want %d:%d", w.Start, w.End, start, start+len(quoted))
	}
}

func TestBlocker(t *testing.T) {
	const rule = "-t filter -I INPUT 2 -i eth0 ! --protocol tcp -m multiport --dports 1,2 -m conntrack --ctstate NEW,BOGUS -j REJECT --reject-with tcp-reset"
	at := func(word string) int { return strings.Index(rule, word) + 1 }
	for _, c := range []struct {
		column int
		want   string
	}{
		{at("2 "), "-I CHAIN N"},
		{at("-i"), "-i"},
		{at("eth0"), "-i"},
		{at("!"), "-p"},
		{at("--protocol"), "-p"},
		{at("multiport"), "-m multiport"},
		{at("--dports"), "--dports"},
		{at("1,2"), "--dports"},
		{at("BOGUS"), "--ctstate"},
		{at("REJECT"), "-j REJECT"},
		{at("tcp-reset"), "--reject-with"},
		{at("-m conntrack"), "-m conntrack"},
		{at("INPUT"), "-I"},
		{0, "(no word)"},
		{len(rule) + 5, "(no word)"},
	} {
		if got := Blocker(rule, c.column, "", "no word"); got != c.want {
			t.Errorf("Blocker at column %d = %q, want %q", c.column, got, c.want)
		}
	}
	const stray = "-A INPUT BOGUS -j ACCEPT"
	if got := Blocker(stray, strings.Index(stray, "BOGUS")+1, "BOGUS", "unexpected word"); got != "BOGUS" {
		t.Errorf("Blocker at a word no option takes = %q, want BOGUS", got)
	}
}

func TestClassifyPeer(t *testing.T) {
	for _, c := range []struct {
		out  string
		exit int
		want bool
	}{
		{"nft 'add rule ip filter INPUT counter accept'\n", 0, true},
		// iptables-translate 1.8.9 on a rule it cannot translate.
		{"nft # -A INPUT -m recent --set -j ACCEPT \n", 0, false},
		// Several rules for one (-s A,B): the second without "nft".
		{"nft 'add rule ip filter X ip saddr 10.0.0.0/8 counter drop'\n'add rule ip filter X ip saddr 10.1.0.0/16 counter drop'\n", 0, true},
		{"", 0, false},
		{"", 2, false},
	} {
		if got := classifyPeer([]byte(c.out), c.exit); got.Translated != c.want {
			t.Errorf("classifyPeer(%q, %d) = %+v, want translated %v", c.out, c.exit, got, c.want)
		}
	}
	w := classifyWholePeer([]byte("# Translated by iptables-restore-translate v1.8.9 on a day\nadd table ip filter\n# -t filter -A X -m recent --set \n# Completed on a day\n"), 0)
	if w.OK || w.Untranslated != 1 {
		t.Errorf("classifyWholePeer = %+v, want 1 untranslated, not OK", w)
	}
}

// realCorpus returns the directory of the corpus of real rulesets, or "".
func realCorpus() string {
	for _, d := range []string{
		os.Getenv("CTMATCH_CORPUS"),
		filepath.Join("..", "..", "..", "..", "shared", "corpus", "real"), // next to the module root
	} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "SOURCES.md")); err == nil {
			return d
		}
	}
	return ""
}

func TestRealCorpusCounts(t *testing.T) {
	dir := realCorpus()
	if dir == "" {
		t.Skip("no corpus of real rulesets (../shared/corpus/real next to the module root, or $CTMATCH_CORPUS)")
	}
	files, err := readCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	tot := totals(files)
	if tot.Files != 32 || tot.Rules != 762 || tot.Conntrack != 109 {
		t.Errorf("%s: %d files, %d rules, %d conntrack rules; SOURCES.md says 32, 762, 109", dir, tot.Files, tot.Rules, tot.Conntrack)
	}
}

func TestCompare(t *testing.T) {
	rule := func(line int, text, status string) RuleResult {
		return RuleResult{Rule: Rule{Line: line, Text: text}, Ctmatch: CtmatchResult{Status: status}}
	}
	old := &Report{Files: []*FileResult{{Name: "a.rules", Rules: []RuleResult{
		rule(1, "-A X -j ACCEPT", statusTranslated),
		rule(2, "-A X -p tcp -j ACCEPT", statusUnsupported),
		rule(3, "-A X -j ACCEPT", statusUnsupported),
		rule(4, "-A X -j DROP", statusUnsupported),
	}}}}
	// A line added at the top moves every rule down: rules are matched by
	// their text, the n-th of a text with the n-th.
	cur := &Report{Files: []*FileResult{{Name: "a.rules", Rules: []RuleResult{
		rule(1, "-A X -j RETURN", statusTranslated),
		rule(2, "-A X -j ACCEPT", statusUnsupported),
		rule(3, "-A X -p tcp -j ACCEPT", statusTranslated),
		rule(4, "-A X -j ACCEPT", statusUnsupported),
		rule(5, "-A X -j DROP", statusInvalid),
	}}}}
	c := compare("old.json", old, cur)
	lost := []Change{
		{File: "a.rules", Line: 2, Before: statusTranslated, After: statusUnsupported},
		{File: "a.rules", Line: 5, Before: statusUnsupported, After: statusInvalid},
	}
	gained := []Change{{File: "a.rules", Line: 3, Before: statusUnsupported, After: statusTranslated}}
	if diff := cmp.Diff(lost, c.Lost); diff != "" {
		t.Errorf("lost (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(gained, c.Gained); diff != "" {
		t.Errorf("gained (-want +got):\n%s", diff)
	}
	if c.Unmatched != 1 {
		t.Errorf("unmatched = %d, want 1", c.Unmatched)
	}
}
