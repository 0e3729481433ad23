package e2e

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/cases"
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
// canonical text has it.
func TestIptablesTargetOptionsHaveCases(t *testing.T) {
	for _, tool := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed (make test installs it when run as root)")
		}
	}
	all := targetCases()
	checked := 0
	for _, tg := range optionTargets {
		for _, f := range []struct {
			tool string
			fam  parse.Family
			on   bool
		}{{"iptables", parse.IPv4, tg.v4}, {"ip6tables", parse.IPv6, tg.v6}} {
			if !f.on {
				continue
			}
			var mine []targetCase
			for _, c := range all {
				if c.fam == f.fam && loadsTarget(c.words, tg.name) {
					mine = append(mine, c)
				}
			}
			if len(mine) == 0 {
				t.Errorf("-j %s (%s): iptables has the target, and internal/cases has no valid or unsupported %s case of it", tg.name, f.tool, f.tool)
			}
			checked++
			opts := helpOptions(t, f.tool, "-j", tg.name)
			for _, o := range slices.Sorted(maps.Keys(opts)) {
				if !slices.ContainsFunc(mine, func(c targetCase) bool { return hasOption(c.words, o) }) {
					t.Errorf("-j %s %s (%s): iptables has the option, and internal/cases has no valid or unsupported %s case of it", tg.name, o, f.tool, f.tool)
				}
				checked++
			}
			if tg.name != "REJECT" {
				continue
			}
			types := rejectTypes(t, f.tool)
			if len(types) == 0 {
				t.Errorf("%s -j REJECT --help lists no reject type", f.tool)
			}
			for _, ty := range types {
				if !slices.ContainsFunc(mine, func(c targetCase) bool {
					f := strings.Fields(c.want)
					i := slices.Index(f, "--reject-with")
					return i >= 0 && i+1 < len(f) && f[i+1] == ty
				}) {
					t.Errorf("-j REJECT --reject-with %s (%s): iptables has the type, and internal/cases has no valid %s case whose canonical text has it", ty, f.tool, f.tool)
				}
				checked++
			}
		}
	}
	t.Logf("%d targets, options and reject types of %d targets have cases", checked, len(optionTargets))
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
