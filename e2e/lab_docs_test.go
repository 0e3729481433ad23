package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// The numbers docs/semantics.md gives in "Verified against the kernel"
// come from the lab's own lists; labDocLines writes the lines that hold
// them, and TestLabDocs checks that the page has each one, verbatim.

const semanticsDoc = "../docs/semantics.md"

// commas writes n with thousands separators.
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func labDocLines(t *testing.T) []string {
	var lines []string
	classes := len(lab.Scenario(lab.IPv4))
	for _, tab := range labTables() {
		n := map[lab.Family]int{}
		for _, c := range tab.cases {
			n[c.Family]++
		}
		var words []string
		for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
			if n[f] > 0 {
				words = append(words, fmt.Sprintf("%d %s", n[f], map[lab.Family]string{lab.IPv4: "IPv4", lab.IPv6: "IPv6"}[f]))
			}
		}
		cl := classes * len(families(tab.table))
		lines = append(lines, fmt.Sprintf("| %s | %s | %d | %s |", tab.table, strings.Join(words, " + "), cl,
			commas(len(tab.cases)*cl*len(lab.Points))))
	}
	lines = append(lines,
		fmt.Sprintf("default seed %d, %d matches per run", sweepSeed, sweepMatches),
		fmt.Sprintf("%d coverage items", len(sweepWant())),
		// The other matches and the target sweep.
		fmt.Sprintf("one rule for each of %d forms after those", len(steeredOptions())),
		fmt.Sprintf("; and %d forms of the other", len(sweepOptionForms)),
		fmt.Sprintf("draws %d rules of", sweepTargets),
		fmt.Sprintf("The first %d are each form in both families", 2*len(sweepTargetForms())))

	kws := conntrackKnownWrong(t)
	refused := 0
	for _, kw := range kws {
		if kw.loads != "loads" {
			refused++
		}
	}
	tclasses := len(translatePhases())
	comparisons, pairs := divergenceCount()
	loaded := len(kws) - refused
	lines = append(lines, fmt.Sprintf("Of its %d cases, nft refuses %d; the other %d load, and every one of them counts differently from xt_conntrack: in %d of their %s class comparisons (%d classes × %d points × %d cases), %d of the %d (case, class) pairs.",
		len(kws), refused, loaded, comparisons, commas(loaded*tclasses*len(lab.Points)), tclasses, len(lab.Points), loaded, pairs, loaded*tclasses))
	var raced []string
	for _, kw := range kws {
		if expireRaces(lab.Case{Words: kw.words, Family: lab.IPv4}) {
			raced = append(raced, "`"+strings.TrimPrefix(kw.words, "-m conntrack ")+"`")
		}
	}
	lines = append(lines, "left out of that run: "+strings.Join(raced, ", ")+";")
	for _, kw := range kws {
		outcome := "refused: " + kw.loads
		if kw.loads == "loads" {
			var cls []string
			for _, f := range strings.Fields(knownWrongDivergences[kw.name]) {
				c, _, _ := strings.Cut(f, ":")
				cls = append(cls, c)
			}
			outcome = fmt.Sprintf("diverges in %d of %d classes", len(cls), tclasses)
			if len(cls) <= 3 {
				outcome += ": " + strings.Join(cls, ", ")
			}
		}
		printed := strings.TrimSuffix(strings.TrimPrefix(kw.printed, "nft 'add rule ip filter INPUT "), " counter'")
		lines = append(lines, fmt.Sprintf("| `%s` | `%s` | %s |", kw.words, printed, outcome))
	}
	// Whole rules: the lab's own lists, the classes, the truncated packets.
	lines = append(lines, fmt.Sprintf("%d IPv4 and %d IPv6 cases", len(labRuleIPv4), len(labRuleIPv6)),
		fmt.Sprintf("Its classes (`lab.RuleScenario`), %d per family", len(lab.RuleScenario(nil, lab.IPv4))))
	for _, hc := range hotdropCases {
		lines = append(lines, fmt.Sprintf("%-40s %s", hc.fam.String()+" "+hc.words, hc.want))
	}
	for _, c := range expireWrapCases {
		lines = append(lines, fmt.Sprintf("| `%s` | %d | %d |", c.words, c.want.xt, c.want.nft))
	}
	// Every target form compared: the rules, the forms, the exceptions.
	tf := validTargetForms(t)
	lines = append(lines, fmt.Sprintf("%d rules, for %d forms (%d IPv4, %d IPv6)", len(comparedTargetRules()),
		len(tf[lab.IPv4])+len(tf[lab.IPv6]), len(tf[lab.IPv4]), len(tf[lab.IPv6])),
		fmt.Sprintf("its %d forms (the target alone and its seven options)", len(targetFormExceptions)-len(notShown)),
		fmt.Sprintf("the %d forms whose effect the probes cannot show", len(notShown)))
	return lines
}

func families(table expr.Family) []lab.Family {
	switch table {
	case expr.FamilyIP6:
		return []lab.Family{lab.IPv6}
	case expr.FamilyInet:
		return []lab.Family{lab.IPv4, lab.IPv6}
	}
	return []lab.Family{lab.IPv4}
}

// docs/semantics.md's "Verified against the kernel" gives the lab's
// numbers as the lab's lists and tests have them: the cases of each table,
// the classes, the comparisons of a run, the sweep's seed, size and
// coverage, iptables-translate's outcome case by case and its divergence
// count, the counts of the 32-bit expiration limit, and the rules and forms
// of the targets' completeness check.
func TestLabDocs(t *testing.T) {
	b, err := os.ReadFile(semanticsDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Verified against the kernel\n")
	if !ok {
		t.Fatalf("%s has no section \"Verified against the kernel\"", semanticsDoc)
	}
	for _, line := range labDocLines(t) {
		if !strings.Contains(section, line) {
			t.Errorf("%s, \"Verified against the kernel\", does not say:\n%s", semanticsDoc, line)
		}
	}
}
