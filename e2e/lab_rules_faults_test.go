package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// The whole-rule lab catches wrong translations: each of these nft texts
// gets a detail of the xt rule wrong, and must diverge from iptables-legacy
// on some class of the whole-rule traffic, where ctmatch's translation of
// the same words, run beside it, agrees everywhere.
func TestLabRulesCatchesWrongTranslations(t *testing.T) {
	faults := []struct {
		words, wrong, why string
	}{
		{"-i r+", `iifname "r0"`, "a wildcard taken as one name: the server's replies enter by r1"},
		{"-o r+", `oifname "r1"`, "a wildcard taken as one name: replies leave by r0"},
		{"-p tcp ! --dport 22", "tcp dport != 22", "no fragment test: non-first fragments match"},
		{"-m ttl --ttl-lt 5", "ip ttl <= 5", "< taken as <=: the datagram sent with TTL 6 reads 5"},
		{"-p icmp --icmp-type 3", "icmp type 3 icmp code 0", "a type with every code taken as code 0"},
		{"-s 10.1.0.0/24", "ip saddr 10.0.0.0/8", "a prefix too short: the server's replies and the second client match"},
		{"-p udp --sport 1024:65535", "udp sport 1025-65535", "a range without its first port"},
		{"-m comment --comment x", "meta l4proto udp", "a comment that filters"},
	}
	var cs []lab.Case
	for _, f := range faults {
		cs = append(cs,
			lab.Case{Name: "wrong " + f.words, Words: f.words, Family: lab.IPv4, Translation: textPieces([]string{f.wrong + " counter"})},
			lab.Case{Name: "ctmatch " + f.words, Words: f.words, Family: lab.IPv4})
	}
	l := lab.NewStateless(t)
	rep, err := l.Differential(expr.FamilyIP, cs, lab.RuleScenario(casePorts(cs), lab.IPv4))
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
	for _, f := range faults {
		if !rep.Diverged("wrong " + f.words) {
			t.Errorf("%s as %q (%s): the lab found no divergence", f.words, f.wrong, f.why)
		}
	}
}
