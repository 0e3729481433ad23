package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// The marks the lab sets before the rules reach both sides alike: the
// mark class's datagrams are marked in prerouting (mangle priority) in the
// router and the server, and its conntrack gets a ct mark; an xt rule
// (-m mark, -m connmark, run by iptables-legacy) and a hand-written nft
// rule (meta mark, ct mark) at the same hook count the same packets. The
// lab's own chain keeps its bits in the packet's priority, never in its
// mark, so the order in which the kernel runs the two sides at one
// priority (the later registered first: the lab's chain, here) changes
// nothing. These are the packets -m mark and -m connmark need.
func TestLabMarksBeforeRules(t *testing.T) {
	type markCase struct {
		words, nft string
		want       string // mark class: xt/nft at the router, at the server
	}
	cases := []markCase{
		{"-m mark --mark " + lab.MarkClass, "meta mark " + lab.MarkClass + " counter", "r1/1 s1/1"},
		{"-m mark --mark " + lab.MarkClassReply, "meta mark " + lab.MarkClassReply + " counter", "r1/1 s0/0"},
		{"-m mark ! --mark 0", "meta mark != 0 counter", "r2/2 s1/1"},
		{"-m connmark --mark " + lab.CtMarkClass, "ct mark " + lab.CtMarkClass + " counter", "r2/2 s1/1"},
	}
	var lc []lab.Case
	for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
		for _, c := range cases {
			lc = append(lc, lab.Case{Name: f.String() + " " + c.words, Words: c.words, Family: f, Translation: textPieces([]string{"meta nfproto " + f.String() + " " + c.nft})})
		}
	}
	l := lab.New(t)
	rep, err := l.Differential(expr.FamilyInet, lc, []lab.Phase{
		{Name: "udp4", Run: func(l *lab.Lab) (lab.Class, error) { return l.UDP(lab.IPv4) }},
		{Name: "mark4", Run: func(l *lab.Lab) (lab.Class, error) { return l.Mark(lab.IPv4) }},
		{Name: "udp6", Run: func(l *lab.Lab) (lab.Class, error) { return l.UDP(lab.IPv6) }},
		{Name: "mark6", Run: func(l *lab.Lab) (lab.Class, error) { return l.Mark(lab.IPv6) }},
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Format(&b)
	t.Log("\n" + b.String())
	for _, d := range rep.Divergences {
		t.Errorf("divergence: %s", d)
	}
	for i, c := range lc {
		for p, cl := range rep.Classes {
			if cl.Family != c.Family {
				continue
			}
			var got []string
			for q, pt := range lab.Points {
				n := rep.Counts[p][q][i]
				got = append(got, fmt.Sprintf("%c%d/%d", pt.Name[0], n.XT, n.NFT))
			}
			want := "r0/0 s0/0"
			if strings.HasPrefix(cl.Name, "mark") {
				want = cases[i%len(cases)].want
			}
			if g := strings.Join(got, " "); g != want {
				t.Errorf("%s, class %s: counted %s, want %s", c.Name, cl.Name, g, want)
			}
		}
	}
}
