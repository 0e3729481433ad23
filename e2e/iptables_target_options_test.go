package e2e

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/internal/goldens"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/parse"
)

// optionTargets are the target extensions ctmatch translates or refuses
// with a reason (ACCEPT, DROP and RETURN are iptables' own verdicts, with
// no options), each with the families whose iptables has it. Their options
// come from the installed iptables' and ip6tables' help (-j NAME --help),
// not from parse's tables.
var optionTargets = []struct {
	name   string
	v4, v6 bool
}{
	{"REJECT", true, true},
	{"LOG", true, true},
	{"NFLOG", true, true},
	{"SNAT", true, true},
	{"DNAT", true, true},
	{"MASQUERADE", true, true},
	{"REDIRECT", true, true},
	{"NETMAP", true, true},
	{"MARK", true, true},
	{"CONNMARK", true, true},
	{"CT", true, true},
	{"NOTRACK", true, true},
	{"TCPMSS", true, true},
	{"DSCP", true, true},
	{"TOS", true, true},
	{"CHECKSUM", true, true},
}

// targetCase is a case of internal/cases that iptables accepts: a valid
// one, with its canonical text, or an unsupported one.
type targetCase struct {
	name  string
	fam   parse.Family
	words []string
	want  string // the canonical text of a valid case; "" for an unsupported one
}

// targetCases returns the valid and the unsupported cases of
// internal/cases, as words.
func targetCases() []targetCase {
	var all []targetCase
	for _, c := range cases.Valid {
		all = append(all, targetCase{c.Name, c.Family, c.Args, c.Want})
	}
	for _, c := range cases.Unsupported {
		text, _ := c.Rule()
		words, ok := splitWords(text)
		if !ok {
			words = strings.Fields(text)
		}
		all = append(all, targetCase{c.Name, c.Family, words, ""})
	}
	return all
}

// loadsTarget reports whether words load the target name (-j NAME).
func loadsTarget(words []string, name string) bool {
	for i := 0; i+1 < len(words); i++ {
		if (words[i] == "-j" || words[i] == "--jump") && words[i+1] == name {
			return true
		}
	}
	return false
}

// hasOption reports whether words give opt by its full name (--opt or
// --opt=VALUE).
func hasOption(words []string, opt string) bool {
	return slices.ContainsFunc(words, func(w string) bool { return w == opt || strings.HasPrefix(w, opt+"=") })
}

// TestIptablesTargetOptionsHaveCases asks the installed iptables and
// ip6tables for the options of every target ctmatch translates or refuses
// (iptables -j NAME --help, ip6tables -j NAME --help), and fails for each
// target without a case in a family that has it, for each option of a
// family without a case in that family (a valid case, or an unsupported
// one, whose words load the target and give the option by its full name),
// and for each of REJECT's --reject-with types without a valid case whose
// canonical text has it. Each option and type that ctmatch translates (one
// with a valid case) must also have a case of that family in
// compile/testdata/cases.txt, which the goldens, the nft byte oracle and the
// kernel dump comparison run.
func TestIptablesTargetOptionsHaveCases(t *testing.T) {
	for _, tool := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed (make test installs it when run as root)")
		}
	}
	all := targetCases()
	gs, err := goldens.Cases()
	if err != nil {
		t.Fatal(err)
	}
	var compiled []targetCase
	for _, g := range gs {
		words, ok := splitWords(g.Words)
		if !ok {
			t.Fatalf("compile case %s: words %q do not split", g.Name, g.Words)
		}
		compiled = append(compiled, targetCase{g.Name, g.Family, words, ""})
	}
	checked, nCompiled := 0, 0
	for _, tg := range optionTargets {
		for _, f := range []struct {
			tool, flag string // the tool and compile's family flag
			fam        parse.Family
			on         bool
		}{{"iptables", "-4", parse.IPv4, tg.v4}, {"ip6tables", "-6", parse.IPv6, tg.v6}} {
			if !f.on {
				continue
			}
			var mine []targetCase
			for _, c := range all {
				if c.fam == f.fam && loadsTarget(c.words, tg.name) {
					mine = append(mine, c)
				}
			}
			var mineCompiled []targetCase
			for _, c := range compiled {
				if c.fam == f.fam && loadsTarget(c.words, tg.name) {
					mineCompiled = append(mineCompiled, c)
				}
			}
			if len(mine) == 0 {
				t.Errorf("-j %s (%s): iptables has the target, and internal/cases has no valid or unsupported %s case of it", tg.name, f.tool, f.tool)
			}
			checked++
			opts := helpOptions(t, f.tool, "-j", tg.name)
			if len(opts) == 0 && tg.name != "NOTRACK" {
				t.Errorf("%s -j %s --help lists no option: the test would check nothing of it", f.tool, tg.name)
			}
			for _, o := range slices.Sorted(maps.Keys(opts)) {
				if !slices.ContainsFunc(mine, func(c targetCase) bool { return hasOption(c.words, o) }) {
					t.Errorf("-j %s %s (%s): iptables has the option, and internal/cases has no valid or unsupported %s case of it", tg.name, o, f.tool, f.tool)
				}
				checked++
				if slices.ContainsFunc(mine, func(c targetCase) bool { return c.want != "" && hasOption(c.words, o) }) {
					if !slices.ContainsFunc(mineCompiled, func(c targetCase) bool { return hasOption(c.words, o) }) {
						t.Errorf("-j %s %s (%s): ctmatch translates the option, and compile/testdata/cases.txt has no %s case of it", tg.name, o, f.tool, f.flag)
					}
					nCompiled++
				}
			}
			if tg.name != "REJECT" {
				continue
			}
			types := rejectTypes(t, f.tool)
			if len(types) == 0 {
				t.Errorf("%s -j REJECT --help lists no reject type", f.tool)
			}
			for _, ty := range types {
				if !slices.ContainsFunc(mine, func(c targetCase) bool { return optionValue(strings.Fields(c.want), "--reject-with") == ty }) {
					t.Errorf("-j REJECT --reject-with %s (%s): iptables has the type, and internal/cases has no valid %s case whose canonical text has it", ty, f.tool, f.tool)
				}
				checked++
				// The compile cases leave out the default type.
				if !slices.ContainsFunc(mineCompiled, func(c targetCase) bool {
					v := optionValue(c.words, "--reject-with")
					return v == ty || v == "" && strings.HasSuffix(ty, "-port-unreachable")
				}) {
					t.Errorf("-j REJECT --reject-with %s (%s): compile/testdata/cases.txt has no %s case of it", ty, f.tool, f.flag)
				}
				nCompiled++
			}
		}
	}
	t.Logf("%d targets, options and reject types of %d targets have cases in internal/cases, and the %d that ctmatch translates in compile/testdata/cases.txt", checked, len(optionTargets), nCompiled)
}

// optionValue returns the word after opt in words, or "".
func optionValue(words []string, opt string) string {
	i := slices.Index(words, opt)
	if i < 0 || i+1 >= len(words) {
		return ""
	}
	return words[i+1]
}

// rejectTypes returns the reject types "TOOL -j REJECT --help" lists, by
// the names iptables-save prints (the aliases left out).
func rejectTypes(t *testing.T, tool string) []string {
	t.Helper()
	out, err := exec.Command(tool, "-j", "REJECT", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -j REJECT --help: %v\n%s", tool, err, out)
	}
	_, list, ok := strings.Cut(string(out), "Valid reject types:")
	if !ok {
		t.Fatalf("%s -j REJECT --help: no list of reject types in:\n%s", tool, out)
	}
	var types []string
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.Contains(f[0], "-") || f[1] == "alias" {
			continue
		}
		if !slices.Contains(types, f[0]) {
			types = append(types, f[0])
		}
	}
	return types
}
