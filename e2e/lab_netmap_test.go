package e2e

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// The ports of the NETMAP probes.
const (
	effNetmapPre, effNetmapPreSrc   = 9501, 50501
	effNetmapPost, effNetmapPostSrc = 9502, 50502
	effNetmapIn, effNetmapInSrc     = 9503, 50503
)

// netmapEffectCases are NETMAP's cases of the effect observer, in both
// families: in the router's PREROUTING the destination mapped (a probe to
// the mapped network's twin of the server reaches the server, the reply
// comes back from the address the client sent to; the twin of an address
// nobody has gets nothing; an address outside -d is not mapped), in the
// router's POSTROUTING the source (the server sees the client's host bits
// under the new network, the reply finds its way back), and in the server's
// INPUT the source of what the server receives. The prefixes end inside a
// byte (/30, /126) where they can, so that a mask off by a bit shows.
func netmapEffectCases() []lab.EffectCase {
	var cs []lab.EffectCase
	for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
		a := f.Addrs()
		// twin returns addr with its last byte's low bits (those under
		// a /30 or /126) kept and the bits above them from net.
		twin := func(net string, addr netip.Addr) netip.Addr {
			b := netip.MustParseAddr(net).AsSlice()
			h := addr.AsSlice()
			b[len(b)-1] = b[len(b)-1]&^3 | h[len(h)-1]&3
			t, _ := netip.AddrFromSlice(b)
			return t
		}
		virt, mapped, srcNet, inNet, pre, post := "10.9.0.4", "10.2.0.0", "10.7.0.252", "10.8.0.0/30", "30", "30"
		if f == lab.IPv6 {
			virt, mapped, srcNet, inNet, pre, post = "fd00:9::4", "fd00:2::", "fd00:7::ff00", "fd00:8::/126", "126", "126"
		}
		vServer, vAbsent := twin(virt, a.Server), twin(virt, a.Absent)
		cs = append(cs,
			lab.EffectCase{Name: fmt.Sprintf("netmap%d prerouting", f), Family: f, Router: true,
				Words: fmt.Sprintf("-t nat -A PREROUTING -d %s/%s -p udp --dport %d -j NETMAP --to %s/%s", virt, pre, effNetmapPre, mapped, pre),
				Probes: []lab.Probe{
					{Kind: lab.ProbeUDP, To: vServer, Port: effNetmapPre, From: effNetmapPreSrc, Listen: effNetmapPre},
					{Kind: lab.ProbeUDP, To: vAbsent, Port: effNetmapPre, From: effNetmapPreSrc + 1, Listen: effNetmapPre},
					{Kind: lab.ProbeUDP, To: a.Server, Port: effNetmapPre, From: effNetmapPreSrc + 2, Listen: effNetmapPre},
				}},
			lab.EffectCase{Name: fmt.Sprintf("netmap%d postrouting", f), Family: f, Router: true,
				Words: fmt.Sprintf("-t nat -A POSTROUTING -o r1 -p udp --dport %d -j NETMAP --to %s/%s", effNetmapPost, srcNet, post),
				Probes: []lab.Probe{
					{Kind: lab.ProbeUDP, To: a.Server, Port: effNetmapPost, From: effNetmapPostSrc, Listen: effNetmapPost},
					{Kind: lab.ProbeUDP, To: a.Server, Port: effNetmapPost + 1, From: effNetmapPostSrc + 1, Listen: effNetmapPost + 1},
				}},
			lab.EffectCase{Name: fmt.Sprintf("netmap%d input", f), Family: f,
				Words: fmt.Sprintf("-t nat -A INPUT -p udp --dport %d -j NETMAP --to %s", effNetmapIn, inNet),
				Probes: []lab.Probe{
					{Kind: lab.ProbeUDP, To: a.Server, Port: effNetmapIn, From: effNetmapInSrc, Listen: effNetmapIn},
				}},
		)
	}
	return cs
}

// TestLabNetmapEffects runs every NETMAP case with xt_NETMAP
// (iptables-legacy) and with ctmatch's dnat/snat prefix to in an ip (ip6)
// and an inet table, and compares what each probe did: what the listener
// saw and what came back to the client. Each case's rule must change what
// one of its probes does. A translation that maps the wrong way (snat for
// dnat) cannot even load where the chain is (nft_nat_validate), and one
// with a prefix a bit too long is caught.
func TestLabNetmapEffects(t *testing.T) {
	for _, tool := range []string{"iptables-legacy", "ip6tables-legacy"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed")
		}
	}
	l := lab.New(t)
	probes, compared := 0, 0
	xts := map[string][]lab.Effect{}
	for _, c := range netmapEffectCases() {
		xt, n := compareEffectCase(t, l, c)
		xts[c.Name] = xt
		compared += n
		probes += len(xt)
		for _, e := range xt {
			t.Logf("%s: %s", c.Name, e)
		}
	}
	t.Logf("%d NETMAP cases, %d probes, %d probe effects of ctmatch's rules compared with xt's", len(netmapEffectCases()), probes, compared)

	// The observer can fail: each case with its prefix one bit longer.
	for _, c := range netmapEffectCases() {
		table := expr.FamilyIP
		if c.Family == lab.IPv6 {
			table = expr.FamilyIP6
		}
		longer := lab.NativeRules("prefix a bit longer", table, func(c lab.EffectCase) ([]expr.Rule, error) {
			r, err := ctmatch.Translate(c.Words, ctmatch.Options{Table: table, IPv6: c.Family == lab.IPv6})
			if err != nil {
				return nil, err
			}
			for i := range r.Rules {
				for k, s := range r.Rules[i].Stmts {
					n := s.(expr.Netmap)
					n.Prefix = netip.PrefixFrom(n.Prefix.Addr(), n.Prefix.Bits()+1)
					r.Rules[i].Stmts[k] = n
				}
			}
			return r.Rules, nil
		})
		bad, err := l.Effects(c, longer)
		if err != nil {
			t.Fatal(err)
		}
		d := lab.CompareEffects(xts[c.Name], bad, "xt", longer.Name)
		if len(d) == 0 {
			t.Errorf("%s with its prefix a bit longer: no difference seen: %v", c.Name, bad)
			continue
		}
		t.Logf("%s with its prefix a bit longer: caught: %s", c.Name, strings.Join(d, "; "))

		// The other direction does not load in the chain's hook.
		other := lab.NativeRules("the other direction", table, func(c lab.EffectCase) ([]expr.Rule, error) {
			r, err := ctmatch.Translate(c.Words, ctmatch.Options{Table: table, IPv6: c.Family == lab.IPv6})
			if err != nil {
				return nil, err
			}
			for i := range r.Rules {
				for k, s := range r.Rules[i].Stmts {
					n := s.(expr.Netmap)
					n.Type = expr.SNAT + expr.DNAT - n.Type
					r.Rules[i].Stmts[k] = n
				}
			}
			return r.Rules, nil
		})
		if e, err := l.Effects(c, other); err == nil || !strings.Contains(err.Error(), "load") {
			t.Errorf("%s in the other direction: %v, %v; want the kernel to refuse the rule", c.Name, e, err)
		}
	}
}
