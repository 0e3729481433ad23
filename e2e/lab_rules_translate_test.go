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

// ruleKnownWrong are iptables-translate's wrong translations of -p, ports
// and icmp types (docs/semantics.md, "Protocols and ports" and "ICMP
// types"), each run in the whole-rule lab against the kernel's xt code:
// where iptables-translate's text counts otherwise than iptables-legacy,
// class by class (as knownWrongDivergences: r the router's forward hook,
// s the server's input hook). ctmatch's own translation of the same words
// runs beside each and agrees everywhere.
var ruleKnownWrong = []struct {
	name  string
	fam   lab.Family
	words string // given to iptables-translate (ip6tables-translate)
	// xt is the xt rule to compare with, when not the words themselves:
	// for words the kernel refuses.
	xt   string
	want string
}{
	// Every port match on non-first fragments: the lone fragment whose
	// data is a TCP header to 8022, the one whose data starts with zeros
	// (IPv4); for IPv6 nft reads the IPv6 header's bytes 2–3 (0) as the
	// port of every non-first fragment. The server reassembles IPv4
	// before its input hook; IPv6 reaches it fragment by fragment.
	{"port-fragments", lab.IPv4, "-p tcp --dport 8022", "", "fragments4:r"},
	{"port-zero-fragments", lab.IPv4, "-p tcp --dport 0", "", "fragments4:r"},
	{"port-zero-fragments6", lab.IPv6, "-p tcp --dport 0", "", "fragments6:rs"},
	// -p tcp -m tcp, --dport : and ! --dport 0:65535 become a bare
	// counter: every packet of every protocol.
	{"tcp-match-bare", lab.IPv4, "-p tcp -m tcp", "", "ports4:rs icmp-types4:rs lengths4:rs hop-limits4:rs fragments4:r ah4:rs client24:rs mark4:rs burst4:rs"},
	{"every-port-bare", lab.IPv4, "-p tcp --dport :", "", "ports4:rs icmp-types4:rs lengths4:rs hop-limits4:rs fragments4:r ah4:rs client24:rs mark4:rs burst4:rs"},
	{"no-port-bare", lab.IPv4, "-p tcp ! --dport 0:65535", "", "ports4:rs tcp-flags4:rs icmp-types4:rs lengths4:rs hop-limits4:rs fragments4:rs ah4:rs client24:rs mark4:rs burst4:rs"},
	// ! --icmp-type any matches nothing; its translation every ICMP
	// packet.
	{"icmp-any-negated", lab.IPv4, "-p icmp ! --icmp-type any", "", "ports4:r icmp-types4:rs lengths4:r hop-limits4:r ah4:r burst4:r"},
	// ip6tables -p ah never matches (ip6tables' -p reads past AH); its
	// translation matches the AH packets.
	{"ah6", lab.IPv6, "-p ah", "", "ah6:rs"},
	// The kernel refuses a tcp match after ! -p tcp (iptables-legacy:
	// "Invalid argument"); iptables-translate drops the "!" and counts
	// TCP packets to port 22, which ! -p tcp (whatever else the words
	// say) excludes: compared with ! -p tcp, it diverges wherever either
	// side counts.
	{"negated-protocol-port", lab.IPv4, "! -p tcp --dport 22", "! -p tcp", "ports4:rs icmp-types4:rs lengths4:rs hop-limits4:rs ah4:rs client24:rs mark4:rs burst4:rs"},
}

var translateLine = regexp.MustCompile(`^nft 'add rule ip6? filter INPUT (.*)'$`)

// TestLabRulesIptablesTranslate shows, with packets, that iptables-translate
// 1.8.9's texts for ruleKnownWrong diverge from the kernel's xt code where
// the list says, and that ctmatch's translations of the same words agree.
func TestLabRulesIptablesTranslate(t *testing.T) {
	for _, tool := range []string{"iptables-translate", "ip6tables-translate", "iptables-legacy"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed (make test installs it when run as root)")
		}
	}
	start := time.Now()
	for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
		table := expr.FamilyIP
		if f == lab.IPv6 {
			table = expr.FamilyIP6
		}
		l := lab.NewStateless(t) // for the tools
		var cs []lab.Case
		for _, kw := range ruleKnownWrong {
			if kw.fam != f {
				continue
			}
			tool := "iptables-translate"
			if f == lab.IPv6 {
				tool = "ip6tables-translate"
			}
			out, err := l.Run(l.Router, "", tool, append([]string{"-A", "INPUT"}, strings.Fields(kw.words)...)...)
			if err != nil {
				t.Fatalf("%s: %s: %v", kw.name, tool, err)
			}
			var texts []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
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
		for _, kw := range ruleKnownWrong {
			if kw.fam != f {
				continue
			}
			got := divergenceString(rep, "iptables-translate "+kw.name, kw.words, false)
			if got != kw.want {
				t.Errorf("%s (%s): iptables-translate's text diverges from xt at %q, want %q", kw.name, kw.words, got, kw.want)
			}
		}
	}
	t.Logf("iptables-translate's whole-rule known wrong translations: %d cases, in %v", len(ruleKnownWrong), time.Since(start).Round(time.Millisecond))
}

// The list is not empty and names each case once.
func TestRuleKnownWrongList(t *testing.T) {
	seen := map[string]bool{}
	for _, kw := range ruleKnownWrong {
		if seen[kw.name] || kw.want == "" {
			t.Errorf("%s: listed twice or without divergences", kw.name)
		}
		seen[kw.name] = true
	}
	if len(seen) < 5 {
		t.Errorf("%d cases", len(seen))
	}
}
