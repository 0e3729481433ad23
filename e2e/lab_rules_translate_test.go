package e2e

import (
	"errors"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// ruleKnownWrongDivergences says, for each whole-rule case of
// compile/testdata/known-wrong.txt (iptables-translate's wrong translations
// of -p, ports, icmp types, addrtype, multiport and tcp flags:
// docs/semantics.md) and of compile/testdata/known-wrong-matches.txt (the
// small matches'), where its text counts otherwise than iptables-legacy on
// the whole-rule and local classes (lab.RuleScenario, lab.LocalScenario),
// as knownWrongDivergences does, at the points of pointLetters: r the
// router's forward hook, s the server's input hook, o the client's output
// hook, i the router's input hook.
var ruleKnownWrongDivergences = map[string]string{
	// Every port match on non-first fragments: the lone fragment whose
	// data is a TCP header to 8022, the one whose data starts with zeros.
	// The server reassembles IPv4 before its input hook.
	"port-fragment":      "fragments4:ro",
	"port-zero-fragment": "fragments4:ro",
	// -p tcp -m tcp, --dport : and ! --dport 0:65535 become a bare
	// counter: every packet of every protocol.
	"tcp-match-bare":  "ports4:rso icmp-types4:rso lengths4:rso hop-limits4:rso fragments4:ro ah4:rso client24:rs mark4:rso burst4:rso local-out4:rso router-local4:oi",
	"every-port-bare": "ports4:rso icmp-types4:rso lengths4:rso hop-limits4:rso fragments4:ro ah4:rso client24:rs mark4:rso burst4:rso local-out4:rso router-local4:oi",
	"no-port-bare":    "ports4:rso tcp-flags4:rso icmp-types4:rso lengths4:rso hop-limits4:rso fragments4:rso ah4:rso client24:rs mark4:rso burst4:rso local-out4:rso router-local4:oi",
	// ! --icmp-type any matches nothing; its translation every ICMP
	// packet (the server's errors cross the router), and the lone ICMP
	// fragment.
	"icmp-any-negated": "ports4:r icmp-types4:rso lengths4:r hop-limits4:r fragments4:ro burst4:r local-out4:r",
	// --src-type LOCAL,BROADCAST --dst-type UNICAST,MULTICAST: the text
	// drops the destination list, so the client's packets to the
	// router's own address (LOCAL) count too.
	"addrtype-lists": "router-local4:o",
	// --src-type LOCAL ! --dst-type LOCAL: the text drops the
	// destination test and puts its "!" on the source test, which holds
	// for every packet but those the client makes (at its output hook)
	// and the router's own.
	"addrtype-src-neg-dst": "ports4:rso tcp-flags4:rso icmp-types4:rso lengths4:rso hop-limits4:rso fragments4:rso ah4:rso client24:rs mark4:rso burst4:rso local-out4:rso router-local4:oi",
	// multiport and tcp flags: no fragment test (the lone fragment with
	// a TCP header to 8022 and SYN, the one of zeros); ! --ports loses
	// its "!"; --tcp-flags NONE NONE becomes a bare counter.
	"multiport-fragment":      "fragments4:ro",
	"multiport-ports-negated": "ports4:rso tcp-flags4:rso fragments4:rso",
	"syn-negated-fragment":    "fragments4:ro",
	"tcpflags-none-bare":      "ports4:rso icmp-types4:rso lengths4:rso hop-limits4:rso fragments4:ro ah4:rso client24:rs mark4:rso burst4:rso local-out4:rso router-local4:oi",
	// ah spi without the fragment test: the fragment class's lone AH
	// fragment whose data reads as SPI 500 (lab.FragAHSPI).
	"ah-no-fragment-test": "fragments4:ro",
}

// ruleKnownWrongNotShown are the whole-rule cases of the known-wrong
// files whose wrong text the lab's packets cannot tell from xt, with the
// reason: TestLabRulesIptablesTranslate checks that they agree on every
// class (so that a class added that shows them makes it fail until they
// move to ruleKnownWrongDivergences). compile's TestKnownWrongTranslations
// shows each sending other bytes than the correct text.
var ruleKnownWrongNotShown = map[string]string{
	"addrtype-src-dst": "the text drops --dst-type BROADCAST, which only a packet whose source is local to its input " +
		"interface would show (its broadcast looped back reaches the input hook with both tests true); the lab has none",
	"length-meta":     "meta length is skb->len, which equals the IP length on every packet but BIG TCP super-packets and jumbograms; the lab has no such class",
	"length-meta-neg": "meta length is skb->len, which equals the IP length on every packet but BIG TCP super-packets and jumbograms; the lab has no such class",
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
	{"port-zero-fragment6", lab.IPv6, "-p tcp --dport 0", "", "fragments6:rso"},
	// A non-first ICMPv6 fragment's transport header, for nft, is its IPv6
	// header: "icmpv6 type != echo-request" reads 0x60 there and holds,
	// where ip6tables' icmp6 match never looks at such a fragment.
	{"icmpv6-negated-fragment6", lab.IPv6, "-p icmpv6 ! --icmpv6-type 128", "", "fragments6:rso"},
	// nft's "icmp type" reads a non-first IPv4 fragment's data as the ICMP
	// header: iptables-translate's "icmp type echo-request" counts the
	// lone fragment whose data is an echo request, the icmp match does not
	// look at it.
	{"icmp-type-fragment", lab.IPv4, "-p icmp --icmp-type 8", "", "fragments4:ro"},
	// --icmp-type any needs the ICMP header, which a non-first fragment
	// does not have for the icmp match; iptables-translate's "ip protocol
	// icmp" counts the fragment.
	{"icmp-any-fragment", lab.IPv4, "-p icmp --icmp-type any", "", "fragments4:ro"},
	// ip6tables -p ah never matches (ip6tables' -p reads past AH); its
	// translation matches the AH packets.
	{"ah6", lab.IPv6, "-p ah", "", "ah6:rso"},
	// The kernel refuses a tcp match after ! -p tcp (iptables-legacy:
	// "Invalid argument"; ctmatch refuses it too); iptables-translate
	// drops the "!" and counts TCP packets to port 22, which ! -p tcp
	// (whatever else the words say) excludes: compared with ! -p tcp, it
	// diverges wherever a packet is not TCP.
	{"negated-protocol-port", lab.IPv4, "! -p tcp --dport 22", "! -p tcp", "ports4:rso icmp-types4:rso lengths4:rso hop-limits4:rso fragments4:ro ah4:rso client24:rs mark4:rso burst4:rso local-out4:rso router-local4:oi"},
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
	refused := map[string]string{} // the cases whose text nft refuses, with the error the file records
	for _, kw := range append(readKnownWrong(t), readKnownWrongFile(t, knownWrongMatchesFile)...) {
		if !wholeWords(t, kw.words, lab.IPv4) {
			continue
		}
		if kw.loads != "loads" {
			// nft refuses the text: shown below, no packets to count.
			refused[kw.name] = kw.loads
			all = append(all, known{name: kw.name, words: kw.words, fam: lab.IPv4, printed: kw.printed})
			continue
		}
		want, ok := ruleKnownWrongDivergences[kw.name]
		if _, unshown := ruleKnownWrongNotShown[kw.name]; unshown {
			if ok {
				t.Errorf("%s: listed both as diverging and as not shown", kw.name)
			}
			ok = true
		}
		if !ok {
			t.Errorf("%s: a whole-rule case of %s that neither ruleKnownWrongDivergences nor ruleKnownWrongNotShown lists", kw.name, kw.file)
		}
		all = append(all, known{name: kw.name, words: kw.words, want: want, fam: lab.IPv4, printed: kw.printed})
	}
	if n := len(all) - len(refused); n != len(ruleKnownWrongDivergences)+len(ruleKnownWrongNotShown) {
		t.Errorf("ruleKnownWrongDivergences and ruleKnownWrongNotShown list %d cases, the known-wrong files have %d whole-rule ones whose text loads",
			len(ruleKnownWrongDivergences)+len(ruleKnownWrongNotShown), n)
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
			if want, ok := refused[kw.name]; ok {
				var complaint string
				for _, x := range texts {
					var rerr *lab.RefusedError
					if err := l.TryText(lab.Points[0], table, x); errors.As(err, &rerr) {
						complaint = rerr.Complaint()
					} else if err != nil {
						t.Fatalf("%s: %v", kw.name, err)
					}
				}
				if complaint != want {
					t.Errorf("%s: nft says %q to %q; the file records %q", kw.name, complaint, texts, want)
				}
				continue
			}
			cs = append(cs, lab.Case{Name: "iptables-translate " + kw.name, Words: words, Family: f, Translation: textPieces(texts)})
			if kw.xt == "" {
				cs = append(cs, lab.Case{Name: "ctmatch " + kw.name, Words: kw.words, Family: f})
			}
		}
		rep, err := ruleDifferential(t, table, cs, append(lab.RuleScenario(nil, f), lab.LocalScenario(f)...), lab.AllPoints)
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
			if _, ok := refused[kw.name]; ok {
				continue
			}
			got := ruleDivergenceString(rep, "iptables-translate "+kw.name)
			if got != kw.want {
				t.Errorf("%s (%s): iptables-translate's text diverges from xt at %q, want %q", kw.name, kw.words, got, kw.want)
			}
		}
	}
	t.Logf("iptables-translate's whole-rule known wrong translations: %d cases, in %v", len(all), time.Since(start).Round(time.Millisecond))
}

// pointLetters are the letters ruleDivergenceString writes for the lab's
// points.
var pointLetters = map[string]string{"router": "r", "server": "s", "client-out": "o", "router-in": "i"}

// ruleDivergenceString is divergenceString for whole rules, at the points
// of the report: "CLASS:PTS …", where PTS are the letters of pointLetters
// (r the router's forward hook, s the server's input hook, o the client's
// output hook, i the router's input hook).
func ruleDivergenceString(rep *lab.Report, name string) string {
	var out []string
	for _, cl := range rep.Classes {
		pts := ""
		for _, pt := range rep.Points {
			if slices.ContainsFunc(rep.Divergences, func(d lab.Divergence) bool {
				return d.Case == name && d.Class == cl.Name && d.Point == pt.Name
			}) {
				pts += pointLetters[pt.Name]
			}
		}
		if pts != "" {
			out = append(out, cl.Name+":"+pts)
		}
	}
	return strings.Join(out, " ")
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
	for name, why := range ruleKnownWrongNotShown {
		if seen[name] || why == "" {
			t.Errorf("%s: listed twice or without a reason", name)
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
