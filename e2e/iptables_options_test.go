package e2e

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/parse"
)

// optionMatches are the matches ctmatch reads or refuses with a reason, with
// the families that have them and the words that load each (-m NAME, or -p
// for the protocol matches iptables loads by itself). The options of each
// come from the installed iptables' help, not from parse's tables.
var optionMatches = []struct {
	module string
	v4, v6 bool
	load   []string // the words that load it in a case: "-m tcp", "-p tcp"
}{
	{"conntrack", true, true, []string{"-m conntrack"}},
	{"state", true, true, []string{"-m state"}},
	{"tcp", true, true, []string{"-m tcp", "-p tcp"}},
	{"udp", true, true, []string{"-m udp", "-p udp"}},
	{"icmp", true, false, []string{"-m icmp", "-p icmp"}},
	{"icmp6", false, true, []string{"-m icmp6", "-p icmpv6", "-p ipv6-icmp"}},
	{"comment", true, true, []string{"-m comment"}},
	{"ttl", true, false, []string{"-m ttl"}},
	{"hl", false, true, []string{"-m hl"}},
	{"length", true, true, []string{"-m length"}},
	{"iprange", true, true, []string{"-m iprange"}},
	{"mac", true, true, []string{"-m mac"}},
	{"policy", true, true, []string{"-m policy"}},
	{"ah", true, true, []string{"-m ah"}},
	{"rt", false, true, []string{"-m rt"}},
	{"physdev", true, true, []string{"-m physdev"}},
	{"recent", true, true, []string{"-m recent"}},
	{"hashlimit", true, true, []string{"-m hashlimit"}},
	{"set", true, true, []string{"-m set"}},
	{"string", true, true, []string{"-m string"}},
	{"multiport", true, true, []string{"-m multiport"}},
	{"limit", true, true, []string{"-m limit"}},
	{"addrtype", true, true, []string{"-m addrtype"}},
	{"pkttype", true, true, []string{"-m pkttype"}},
	{"owner", true, true, []string{"-m owner"}},
	{"mark", true, true, []string{"-m mark"}},
	{"connmark", true, true, []string{"-m connmark"}},
	{"sctp", true, true, []string{"-m sctp", "-p sctp"}},
	{"dccp", true, true, []string{"-m dccp", "-p dccp"}},
}

// refusedWithReason are options of the matches above that need no case of
// their own, and why.
var refusedWithReason = map[string]string{}

// helpOption is "--name" in a match's help, with "!" before it when it may
// be negated ("[!] --ctstate", "[! --update-counters]").
var helpOption = regexp.MustCompile(`(!\]?\s*)?--([a-z0-9][a-z0-9-]*)`)

// TestIptablesOptionsHaveCases asks the installed iptables and ip6tables
// for the options of every match ctmatch reads or refuses (iptables -m NAME
// --help), and fails for each option without a case in internal/cases, and
// for each option iptables lets be negated without a case with "!": a
// valid case, or an unsupported one, whose words load the match and give
// the option by its full name.
func TestIptablesOptionsHaveCases(t *testing.T) {
	for _, tool := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed (make test installs it when run as root)")
		}
	}
	type caseWords struct {
		fam   parse.Family
		words []string
	}
	var all []caseWords
	for _, c := range cases.Valid {
		all = append(all, caseWords{c.Family, c.Args})
	}
	for _, c := range cases.Unsupported {
		text, _ := c.Rule()
		words, ok := splitWords(text)
		if !ok {
			words = strings.Fields(text)
		}
		all = append(all, caseWords{c.Family, words})
	}
	loads := func(words []string, load []string) bool {
		for i := 0; i+1 < len(words); i++ {
			if slices.Contains(load, words[i]+" "+words[i+1]) {
				return true
			}
		}
		return false
	}
	has := func(words []string, opt string, neg bool) bool {
		for i, w := range words {
			if w != opt && !strings.HasPrefix(w, opt+"=") {
				continue
			}
			if !neg || i > 0 && words[i-1] == "!" {
				return true
			}
		}
		return false
	}
	checked := 0
	for _, m := range optionMatches {
		opts := map[string]bool{} // option → negatable
		for _, f := range []struct {
			tool string
			on   bool
		}{{"iptables", m.v4}, {"ip6tables", m.v6}} {
			if !f.on {
				continue
			}
			for o, neg := range helpOptions(t, f.tool, "-m", m.module) {
				opts[o] = opts[o] || neg
			}
		}
		if len(opts) == 0 {
			t.Errorf("-m %s: the installed iptables lists no option", m.module)
		}
		for o, negatable := range opts {
			if _, ok := refusedWithReason[m.module+" "+o]; ok {
				continue
			}
			for _, neg := range []bool{false, true} {
				if neg && !negatable {
					continue
				}
				found := false
				for _, c := range all {
					if (c.fam == parse.IPv4 && m.v4 || c.fam == parse.IPv6 && m.v6) && loads(c.words, m.load) && has(c.words, o, neg) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("-m %s %s (negated %v): iptables has the option, and internal/cases has no valid or unsupported case of it", m.module, o, neg)
				}
				checked++
			}
		}
	}
	t.Logf("%d options and negations of %d matches have cases", checked, len(optionMatches))
}

// helpOptions returns the options "TOOL FLAG NAME --help" lists after
// iptables' own help (which ends with --version), each with whether it may
// be negated.
func helpOptions(t *testing.T, tool, flag, name string) map[string]bool {
	t.Helper()
	args := []string{flag, name, "--help"}
	if name == "tcp" || name == "udp" || name == "icmp" {
		args = []string{"-p", name, "--help"}
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	text := string(out)
	i := strings.LastIndex(text, "print package version.")
	if i < 0 {
		t.Fatalf("%s %s: no end of iptables' own help in:\n%s", tool, strings.Join(args, " "), out)
	}
	text = text[i+len("print package version."):]
	opts := map[string]bool{}
	for _, m := range helpOption.FindAllStringSubmatch(text, -1) {
		opts["--"+m[2]] = opts["--"+m[2]] || m[1] != ""
	}
	return opts
}
