package compile_test

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
)

// TestNftJSONOracle checks, for every golden case, that ctmatch's JSON of
// each rule (expr.Rule.AppendJSONRule, libnftables' schema) makes nft 1.0.6
// send the same bytes as ctmatch's nft text: nft -j -f reads the JSON, nft
// -f the text, each in one run over every case, and the NEWRULE messages
// are compared in order. A rule with a ct port match and no protocol test,
// which nft 1.0.6 parses neither as text nor as JSON, gets the same
// "ct original protocol 6" before its first ct match in both.
func TestNftJSONOracle(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	var text strings.Builder
	var js []string
	text.WriteString("flush ruleset\n")
	js = append(js, `{"flush":{"ruleset":null}}`)
	var chains []string
	for _, fam := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
		fmt.Fprintf(&text, "add table %s t\nadd chain %s t c\n", fam, fam)
		js = append(js, fmt.Sprintf(`{"add":{"table":{"family":%q,"name":"t"}}}`, fam), fmt.Sprintf(`{"add":{"chain":{"family":%q,"table":"t","name":"c"}}}`, fam))
		for _, c := range tableCases(t) {
			for _, r := range compileCase(t, c) {
				if ch := r.Verdict.Chain; ch != "" && !slices.Contains(chains, fam.String()+" "+ch) {
					chains = append(chains, fam.String()+" "+ch)
					fmt.Fprintf(&text, "add chain %s t %s\n", fam, ch)
					js = append(js, fmt.Sprintf(`{"add":{"chain":{"family":%q,"table":"t","name":%q}}}`, fam, ch))
				}
			}
		}
	}
	var names []string
	for _, c := range tableCases(t) {
		for i, r := range compileCase(t, c) {
			body := r.String()
			if needsProtoContext(body) {
				k := slices.IndexFunc(r.Matches, func(m expr.Match) bool { _, ok := m.(expr.Ct); return ok })
				r.Matches = slices.Insert(slices.Clone(r.Matches), k, expr.Match(expr.Ct{Key: expr.CtProtocol, Op: expr.OpEq, Lo: 6}))
				if r.String() != withProto(body) {
					t.Fatalf("%s: the protocol test went elsewhere in the IR (%q) than in the text (%q)", c.key(), r.String(), withProto(body))
				}
			}
			fmt.Fprintf(&text, "add rule %s t c %s\n", c.table, r)
			js = append(js, `{"add":{"rule":`+string(r.AppendJSONRule(nil, c.table, "t", "c", -1))+`}}`)
			names = append(names, fmt.Sprintf("%s rule %d: %s", c.key(), i+1, body))
		}
	}
	want, err := newRuleDumps(t, ns, text.String())
	if err != nil {
		t.Fatalf("nft -f of ctmatch's text: %v", err)
	}
	doc := `{"nftables":[` + strings.Join(js, ",\n") + "]}\n"
	got, err := nftRuleDumps(ns, doc, "-j", "--debug=mnl", "-f", "-")
	if err != nil {
		t.Fatalf("nft -j -f of ctmatch's JSON: %v", err)
	}
	if len(want) != len(names) || len(got) != len(names) {
		t.Fatalf("%d rules, %d NEWRULE messages for the text and %d for the JSON", len(names), len(want), len(got))
	}
	for i := range names {
		want[i], got[i] = withoutPadding(want[i]), withoutPadding(got[i])
		if want[i] != got[i] {
			t.Errorf("%s: nft sends other bytes for the JSON than for the text (-text +JSON):\n%s", names[i], cmp.Diff(want[i], got[i]))
		}
	}
	t.Logf("%d rules of %d golden cases: the same bytes from JSON and from text", len(names), len(tableCases(t)))
}

var (
	attrLine = regexp.MustCompile(`^\|(\d{5})\|(..)\|(\d{5})\|`)
	dataLine = regexp.MustCompile(`^\| ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2})  \|`)
)

// withoutPadding returns a message's dump of nft --debug=mnl with the
// padding bytes after each attribute's value written as "..": nft 1.0.6
// leaves them as they were in its buffer when it reads JSON (the text path
// zeroes them), and the kernel reads only the attribute's length.
func withoutPadding(dump string) string {
	lines := strings.Split(dump, "\n")
	left := 0 // value bytes still to come of the attribute being read
	for i, l := range lines {
		if m := attrLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			left = 0
			if !strings.HasPrefix(m[2], "N") {
				left = n - 4
			}
			continue
		}
		m := dataLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		bs := m[1:]
		for k := range bs {
			if left > 0 {
				left--
			} else {
				bs[k] = ".."
			}
		}
		lines[i] = "| " + strings.Join(bs, " ") + l[len(m[0])-3:]
	}
	return strings.Join(lines, "\n")
}
