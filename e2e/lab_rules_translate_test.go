package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// ruleKnownWrongDivergences says, for each whole-rule case of
// compile/testdata/known-wrong.txt (iptables-translate's wrong translations
// of -p, ports and icmp types: docs/semantics.md, "Protocols and ports" and
// "ICMP types"), where its text counts otherwise than iptables-legacy on the
// whole-rule classes (lab.RuleScenario), as knownWrongDivergences does: r
// the router's forward hook, s the server's input hook.
var ruleKnownWrongDivergences = map[string]string{
	// Every port match on non-first fragments: the lone fragment whose
	// data is a TCP header to 8022, the one whose data starts with zeros.
	// The server reassembles IPv4 before its input hook.
	"port-fragment":      "fragments4:r",
	"port-zero-fragment": "fragments4:r",
	// -p tcp -m tcp, --dport : and ! --dport 0:65535 become a bare
	// counter: every packet of every protocol.
	"tcp-match-bare":  "ports4:rs icmp-types4:rs lengths4:rs hop-limits4:rs fragments4:r ah4:rs client24:rs mark4:rs burst4:rs",
	"every-port-bare": "ports4:rs icmp-types4:rs lengths4:rs hop-limits4:rs fragments4:r ah4:rs client24:rs mark4:rs burst4:rs",
	"no-port-bare":    "ports4:rs tcp-flags4:rs icmp-types4:rs lengths4:rs hop-limits4:rs fragments4:rs ah4:rs client24:rs mark4:rs burst4:rs",
	// ! --icmp-type any matches nothing; its translation every ICMP
	// packet (the server's errors cross the router).
	"icmp-any-negated": "ports4:r icmp-types4:rs lengths4:r hop-limits4:r burst4:r",
}

// ruleKnownWrongMore are the wrong translations known-wrong.txt cannot hold
// (it holds iptables-translate's, of words ctmatch translates):
// ip6tables-translate's, and words the kernel refuses.
var ruleKnownWrongMore = []struct {
	name  string
	fam   lab.Family
	words string // given to iptables-translate (ip6tables-translate)
	// xt is the xt rule to compare with, when not the words themselves:
	// for words the kernel refuses.
	xt   string
	want string
}{
	// For IPv6 nft reads the IPv6 header's bytes 2–3 (0) as the port of
	// every non-first fragment; the server sees them fragment by fragment.
	{"port-zero-fragment6", lab.IPv6, "-p tcp --dport 0", "", "fragments6:rs"},
	// ip6tables -p ah never matches (ip6tables' -p reads past AH); its
	// translation matches the AH packets.
	{"ah6", lab.IPv6, "-p ah", "", "ah6:rs"},
	// The kernel refuses a tcp match after ! -p tcp (iptables-legacy:
	// "Invalid argument"; ctmatch refuses it too); iptables-translate
	// drops the "!" and counts TCP packets to port 22, which ! -p tcp
	// (whatever else the words say) excludes: compared with ! -p tcp, it
	// diverges wherever a packet is not TCP.
	{"negated-protocol-port", lab.IPv4, "! -p tcp --dport 22", "! -p tcp", "ports4:rs icmp-types4:rs lengths4:rs hop-limits4:rs ah4:rs client24:rs mark4:rs burst4:rs"},
}

var translateLine = regexp.MustCompile(`^nft 'add rule ip6? filter INPUT (.*)'$`)

// TestLabRulesIptablesTranslate shows, with packets, that iptables-translate
// 1.8.9's texts for the whole-rule cases of known-wrong.txt and for
// ruleKnownWrongMore diverge from the kernel's xt code where the lists say,
// and that ctmatch's translations of the same words agree.
func TestLabRulesIptablesTranslate(t *testing.T) {
	for _, tool := range []string{"iptables-translate", "ip6tables-translate", "iptables-legacy"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed (make test installs it when run as root)")
		}
	}
	start := time.Now()
	type known struct {
		name, words, xt, want string
		fam                   lab.Family
		printed               string // what known-wrong.txt records; "" for ruleKnownWrongMore
	}
	var all []known
	for _, kw := range readKnownWrong(t) {
		if !wholeWords(t, kw.words, lab.IPv4) {
			continue
		}
		if kw.loads != "loads" {
			t.Errorf("%s: known-wrong.txt says nft refuses it (%s): a whole-rule case here must load", kw.name, kw.loads)
		}
		want, ok := ruleKnownWrongDivergences[kw.name]
		if !ok {
			t.Errorf("%s: a whole-rule case of known-wrong.txt that ruleKnownWrongDivergences does not list", kw.name)
		}
		all = append(all, known{name: kw.name, words: kw.words, want: want, fam: lab.IPv4, printed: kw.printed})
	}
	if len(all) != len(ruleKnownWrongDivergences) {
		t.Errorf("ruleKnownWrongDivergences lists %d cases, known-wrong.txt has %d whole-rule ones", len(ruleKnownWrongDivergences), len(all))
	}
	for _, m := range ruleKnownWrongMore {
		all = append(all, known{name: m.name, words: m.words, xt: m.xt, want: m.want, fam: m.fam})
	}
	for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
		table := expr.FamilyIP
		tool := "iptables-translate"
		if f == lab.IPv6 {
			table, tool = expr.FamilyIP6, "ip6tables-translate"
		}
		l := lab.NewStateless(t) // for the tools
		var cs []lab.Case
		for _, kw := range all {
			if kw.fam != f {
				continue
			}
			out, err := l.Run(l.Router, "", tool, append([]string{"-A", "INPUT"}, strings.Fields(kw.words)...)...)
			if err != nil {
				t.Fatalf("%s: %s: %v", kw.name, tool, err)
			}
			printed := strings.TrimSpace(out)
			if kw.printed != "" && printed != kw.printed {
				t.Errorf("%s: iptables-translate prints %q, %s records %q", kw.name, printed, knownWrongFile, kw.printed)
			}
			var texts []string
			for _, line := range strings.Split(printed, "\n") {
				m := translateLine.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("%s: unexpected %s output %q", kw.name, tool, line)
				}
				texts = append(texts, m[1])
			}
			words := kw.words
			if kw.xt != "" {
				// The kernel refuses the words themselves.
				xtTool := "iptables-legacy"
				if f == lab.IPv6 {
					xtTool = "ip6tables-legacy"
				}
				if _, err := l.Run(l.Router, "", xtTool, append([]string{"-A", "FORWARD"}, strings.Fields(kw.words)...)...); err == nil || !strings.Contains(err.Error(), "Invalid argument") {
					t.Errorf("%s: %s -A FORWARD %s: %v, want the kernel's Invalid argument", kw.name, xtTool, kw.words, err)
				}
				words = kw.xt
			}
			t.Logf("%s: %s %s prints %q", kw.name, tool, kw.words, texts)
			cs = append(cs, lab.Case{Name: "iptables-translate " + kw.name, Words: words, Family: f, Translation: textPieces(texts)})
			if kw.xt == "" {
				cs = append(cs, lab.Case{Name: "ctmatch " + kw.name, Words: kw.words, Family: f})
			}
		}
		rep, err := ruleDifferential(t, table, cs, lab.RuleScenario(nil, f), nil)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		rep.Format(&b)
		t.Log("\n" + b.String())
		for _, d := range rep.Divergences {
			if strings.HasPrefix(d.Case, "ctmatch ") {
				t.Errorf("ctmatch's own translation diverged: %s", d)
			}
		}
		for _, kw := range all {
			if kw.fam != f {
				continue
			}
			got := divergenceString(rep, "iptables-translate "+kw.name, kw.words, false)
			if got != kw.want {
				t.Errorf("%s (%s): iptables-translate's text diverges from xt at %q, want %q", kw.name, kw.words, got, kw.want)
			}
		}
	}
	t.Logf("iptables-translate's whole-rule known wrong translations: %d cases, in %v", len(all), time.Since(start).Round(time.Millisecond))
}

// The lists are not empty and name each case once.
func TestRuleKnownWrongList(t *testing.T) {
	seen := map[string]bool{}
	for name, want := range ruleKnownWrongDivergences {
		if want == "" {
			t.Errorf("%s: no divergence", name)
		}
		seen[name] = true
	}
	for _, kw := range ruleKnownWrongMore {
		if seen[kw.name] || kw.want == "" {
			t.Errorf("%s: listed twice or without divergences", kw.name)
		}
		seen[kw.name] = true
	}
	if len(seen) < 9 {
		t.Errorf("%d cases", len(seen))
	}
}
