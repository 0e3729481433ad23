package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// The classes of locally made and locally delivered packets give the owner,
// addrtype and pkttype matches packets that split: the local-out class's
// sockets of three owners at the client's output hook, and the router-local
// class's unicast, broadcast and multicast datagrams to the router itself
// at its input hook. ctmatch does not read these matches yet; hand-written
// nft rules (meta skuid/skgid, fib daddr type, meta pkttype) stand for
// their translations here, and count what iptables-legacy's xt matches
// count, class by class, at the four points.
func TestLabLocalClasses(t *testing.T) {
	type localCase struct {
		fam        lab.Family
		words, nft string
	}
	cases := []localCase{
		{lab.IPv4, "-m owner --uid-owner 1000", "meta skuid 1000"},
		{lab.IPv4, "-m owner --gid-owner 1000", "meta skgid 1000"},
		{lab.IPv4, "-m owner --uid-owner 0", "meta skuid 0"},
		{lab.IPv4, "-m addrtype --dst-type LOCAL", "fib daddr type local"},
		{lab.IPv4, "-m addrtype --dst-type BROADCAST", "fib daddr type broadcast"},
		{lab.IPv4, "-m addrtype --dst-type MULTICAST", "fib daddr type multicast"},
		{lab.IPv4, "-m addrtype --src-type LOCAL", "fib saddr type local"},
		{lab.IPv4, "-m pkttype --pkt-type broadcast", "meta pkttype broadcast"},
		{lab.IPv4, "-m pkttype --pkt-type multicast", "meta pkttype multicast"},
		{lab.IPv4, "-m pkttype --pkt-type unicast", "meta pkttype host"},
		{lab.IPv6, "-m owner --uid-owner 1000", "meta skuid 1000"},
		{lab.IPv6, "-m owner --gid-owner 1000", "meta skgid 1000"},
		{lab.IPv6, "-m addrtype --dst-type LOCAL", "fib daddr type local"},
		{lab.IPv6, "-m addrtype --dst-type MULTICAST", "fib daddr type multicast"},
		{lab.IPv6, "-m pkttype --pkt-type multicast", "meta pkttype multicast"},
	}
	for _, table := range []expr.Family{expr.FamilyIP, expr.FamilyIP6} {
		fam := lab.IPv4
		if table == expr.FamilyIP6 {
			fam = lab.IPv6
		}
		var lc []lab.Case
		for _, c := range cases {
			if c.fam == fam {
				lc = append(lc, lab.Case{Name: c.words, Words: c.words, Family: fam, Translation: textPieces([]string{c.nft + " counter"})})
			}
		}
		l := lab.NewStateless(t)
		l.Points = lab.AllPoints
		phases := append([]lab.Phase{{Name: "udp" + fam.String(), Run: func(l *lab.Lab) (lab.Class, error) { return l.UDP(fam) }}}, lab.LocalScenario(fam)...)
		rep, err := l.Differential(table, lc, phases)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		rep.Format(&b)
		t.Log("\n" + b.String())
		for _, d := range rep.Divergences {
			t.Errorf("%s table: divergence: %s", table, d)
		}
		for _, u := range rep.Uncovered {
			t.Errorf("%s table: uncovered: %s", table, u)
		}
		for _, r := range rep.Refused {
			t.Logf("%s table: %s", table, r)
		}
	}
}
