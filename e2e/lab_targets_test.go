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

// The ports of the effect probes, apart from the lab's own classes'.
const (
	effTCP, effTCPSrc   = 9001, 50001
	effUDP, effUDPSrc   = 9001, 50002
	effEchoID           = 50003
	effDNAT, effDNATTo  = 9101, 9102
	effDNATSrc          = 50101
	effSNAT, effSNATSrc = 9201, 50201
	effMasq, effMasqSrc = 9301, 50301
	effRedir, effRedTo  = 9401, 9402
	effRedirSrc         = 50401
	effRedirKeep        = 9403 // REDIRECT without --to-ports keeps the port
	effRedirKeepSrc     = 50402
)

// rejectProbes are a TCP SYN and a datagram to a listening port of the
// server, and an echo request: the server answers each itself when no rule
// stops it.
func rejectProbes(f lab.Family) []lab.Probe {
	a := f.Addrs()
	return []lab.Probe{
		{Kind: lab.ProbeTCP, To: a.Server, Port: effTCP, From: effTCPSrc, Listen: effTCP},
		{Kind: lab.ProbeUDP, To: a.Server, Port: effUDP, From: effUDPSrc, Listen: effUDP},
		{Kind: lab.ProbeEcho, To: a.Server, From: effEchoID},
	}
}

// effectCases are the REJECT and NAT cases of the effect observer, in both
// families: every --reject-with, at the router's forward hook and the
// server's input hook; DNAT, SNAT, MASQUERADE and REDIRECT with ports, port
// ranges and their flags at the router, and REDIRECT without ports.
func effectCases() []lab.EffectCase {
	var cs []lab.EffectCase
	for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
		a := f.Addrs()
		withs := []string{"", "icmp-net-unreachable", "icmp-host-unreachable", "icmp-proto-unreachable",
			"icmp-port-unreachable", "icmp-net-prohibited", "icmp-host-prohibited", "icmp-admin-prohibited"}
		if f == lab.IPv6 {
			withs = []string{"", "icmp6-no-route", "icmp6-adm-prohibited", "icmp6-addr-unreachable",
				"icmp6-port-unreachable", "icmp6-policy-fail", "icmp6-reject-route"}
		}
		for _, w := range withs {
			words := "-A FORWARD -j REJECT"
			if w != "" {
				words += " --reject-with " + w
			}
			probes := rejectProbes(f)
			if w == "" {
				// An ICMP error gets no answer from REJECT in either form
				// (nf_send_unreach and icmp_send refuse to answer one).
				probes = append(probes, lab.Probe{Kind: lab.ProbeError, To: a.Server, Port: effUDP, From: effUDPSrc + 10})
			}
			cs = append(cs, lab.EffectCase{Name: fmt.Sprintf("reject%d %s", f, w), Family: f, Words: words, Router: true, Probes: probes})
		}
		cs = append(cs,
			lab.EffectCase{Name: fmt.Sprintf("reject%d tcp-reset", f), Family: f, Words: "-A FORWARD -p tcp -j REJECT --reject-with tcp-reset", Router: true, Probes: rejectProbes(f)},
			lab.EffectCase{Name: fmt.Sprintf("reject%d input tcp-reset", f), Family: f, Words: "-A INPUT -p tcp --dport 9001 -j REJECT --reject-with tcp-reset", Probes: rejectProbes(f)},
			lab.EffectCase{Name: fmt.Sprintf("reject%d input udp", f), Family: f, Words: "-A INPUT -p udp -j REJECT", Probes: rejectProbes(f)},
		)

		// NAT at the router: the listener sees the source, the client the
		// reply's source (the reverse mapping).
		dnat := lab.Probe{Kind: lab.ProbeUDP, To: a.VIP, Port: effDNAT, From: effDNATSrc, Listen: effDNATTo}
		srv := netip.AddrPortFrom(a.Server, effDNATTo).String()
		if f == lab.IPv6 {
			srv = "[" + a.Server.String() + "]:" + fmt.Sprint(effDNATTo)
		}
		cs = append(cs,
			lab.EffectCase{Name: fmt.Sprintf("dnat%d", f), Family: f, Router: true,
				Words:  fmt.Sprintf("-t nat -A PREROUTING -p udp -d %s --dport %d -j DNAT --to-destination %s", a.VIP, effDNAT, srv),
				Probes: []lab.Probe{dnat, {Kind: lab.ProbeUDP, To: a.Server, Port: effDNATTo, From: effDNATSrc + 1, Listen: effDNATTo}}},
			lab.EffectCase{Name: fmt.Sprintf("dnat%d persistent random", f), Family: f, Router: true,
				Words:  fmt.Sprintf("-t nat -A PREROUTING -p udp --dport %d -j DNAT --to-destination %s --persistent --random", effDNAT, srv),
				Probes: []lab.Probe{dnat}},
		)
		// kube-proxy's session affinity rule: -m recent --set fills a list
		// no rule reads, and the translation leaves it out.
		allOnes := "255.255.255.255"
		if f == lab.IPv6 {
			allOnes = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
		}
		cs = append(cs,
			lab.EffectCase{Name: fmt.Sprintf("dnat%d recent set", f), Family: f, Router: true,
				Words: fmt.Sprintf("-t nat -A PREROUTING -p udp -d %s -m comment --comment ns/svc:dns -m recent --set --name KUBE-SVC-X --mask %s --rsource --dport %d -j DNAT --to-destination %s",
					a.VIP, allOnes, effDNAT, srv),
				Probes: []lab.Probe{dnat, {Kind: lab.ProbeUDP, To: a.Server, Port: effDNATTo, From: effDNATSrc + 1, Listen: effDNATTo}}},
		)
		snat := lab.Probe{Kind: lab.ProbeUDP, To: a.Server, Port: effSNAT, From: effSNATSrc, Listen: effSNAT, Ports: [2]uint16{20100, 20110}}
		to := a.RouterS.String()
		cs = append(cs,
			lab.EffectCase{Name: fmt.Sprintf("snat%d port", f), Family: f, Router: true,
				Words:  fmt.Sprintf("-t nat -A POSTROUTING -p udp --dport %d -j SNAT --to-source %s", effSNAT, portsOf(f, to, "20100")),
				Probes: []lab.Probe{{Kind: lab.ProbeUDP, To: a.Server, Port: effSNAT, From: effSNATSrc + 3, Listen: effSNAT}}},
			lab.EffectCase{Name: fmt.Sprintf("snat%d range flags", f), Family: f, Router: true,
				Words:  fmt.Sprintf("-t nat -A POSTROUTING -p udp --dport %d -j SNAT --to-source %s --random --random-fully --persistent", effSNAT, portsOf(f, to, "20100-20110")),
				Probes: []lab.Probe{snat, {Kind: lab.ProbeUDP, To: a.Server, Port: effSNAT, From: effSNATSrc + 1, Listen: effSNAT, Ports: [2]uint16{20100, 20110}}}},
			lab.EffectCase{Name: fmt.Sprintf("snat%d address", f), Family: f, Router: true,
				Words:  fmt.Sprintf("-t nat -A POSTROUTING -o r1 -j SNAT --to-source %s", to),
				Probes: []lab.Probe{{Kind: lab.ProbeUDP, To: a.Server, Port: effSNAT, From: effSNATSrc + 2, Listen: effSNAT}}},
		)
		// Four flows into a range of three ports: three get a port of the
		// range each, the fourth none (nf_nat finds no free tuple, and
		// conntrack drops its clash), in both forms.
		var flows []lab.Probe
		for i := range 4 {
			flows = append(flows, lab.Probe{Kind: lab.ProbeUDP, To: a.Server, Port: effSNAT, From: uint16(effSNATSrc + 10 + i), Listen: effSNAT, Ports: [2]uint16{20200, 20202}})
		}
		cs = append(cs, lab.EffectCase{Name: fmt.Sprintf("snat%d range of three, four flows", f), Family: f, Router: true,
			Words:  fmt.Sprintf("-t nat -A POSTROUTING -p udp --dport %d -j SNAT --to-source %s", effSNAT, portsOf(f, to, "20200-20202")),
			Probes: flows})
		masq := lab.Probe{Kind: lab.ProbeUDP, To: a.Server, Port: effMasq, From: effMasqSrc, Listen: effMasq, Ports: [2]uint16{21000, 21010}}
		cs = append(cs,
			lab.EffectCase{Name: fmt.Sprintf("masquerade%d", f), Family: f, Router: true,
				Words:  "-t nat -A POSTROUTING -o r1 -j MASQUERADE",
				Probes: []lab.Probe{{Kind: lab.ProbeUDP, To: a.Server, Port: effMasq, From: effMasqSrc + 1, Listen: effMasq}}},
			lab.EffectCase{Name: fmt.Sprintf("masquerade%d ports", f), Family: f, Router: true,
				Words:  fmt.Sprintf("-t nat -A POSTROUTING -o r1 -p udp -j MASQUERADE --to-ports 21000-21010 --random-fully"),
				Probes: []lab.Probe{masq}},
			lab.EffectCase{Name: fmt.Sprintf("masquerade%d port random", f), Family: f, Router: true,
				Words:  fmt.Sprintf("-t nat -A POSTROUTING -o r1 -p udp -j MASQUERADE --to-ports 21005 --random"),
				Probes: []lab.Probe{{Kind: lab.ProbeUDP, To: a.Server, Port: effMasq, From: effMasqSrc + 2, Listen: effMasq}}},
			lab.EffectCase{Name: fmt.Sprintf("redirect%d", f), Family: f, Router: true,
				Words:  fmt.Sprintf("-t nat -A PREROUTING -p udp --dport %d -j REDIRECT --to-ports %d", effRedir, effRedTo),
				Probes: []lab.Probe{{Kind: lab.ProbeUDP, To: a.Server, Port: effRedir, From: effRedirSrc, Listen: effRedTo, OnRouter: true}}},
			lab.EffectCase{Name: fmt.Sprintf("redirect%d same port", f), Family: f, Router: true,
				Words:  fmt.Sprintf("-t nat -A PREROUTING -p udp --dport %d -j REDIRECT", effRedirKeep),
				Probes: []lab.Probe{{Kind: lab.ProbeUDP, To: a.Server, Port: effRedirKeep, From: effRedirKeepSrc, Listen: effRedirKeep, OnRouter: true}}},
		)
	}
	return cs
}

// portsOf writes ADDR:PORTS as iptables or ip6tables reads it.
func portsOf(f lab.Family, addr, ports string) string {
	if f == lab.IPv6 {
		return "[" + addr + "]:" + ports
	}
	return addr + ":" + ports
}

// none installs nothing: what the probes do without the rule.
var none = lab.Installer{Name: "no rule", Install: func(*lab.Lab, lab.EffectCase) (func() error, error) {
	return func() error { return nil }, nil
}}

// TestLabTargetEffects runs every effect case with the kernel's xt target
// (iptables-legacy) and with ctmatch's nft rules in an ip (ip6) and an inet
// table, and compares what each probe did: what its sender got back and
// what its receiver saw. Each case's rule must change what at least one of
// its probes does (else the probes would show nothing of it).
func TestLabTargetEffects(t *testing.T) {
	for _, tool := range []string{"iptables-legacy", "ip6tables-legacy"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed")
		}
	}
	l := lab.New(t)
	probes, compared := 0, 0
	for _, c := range effectCases() {
		xt, n := compareEffectCase(t, l, c)
		compared += n
		probes += len(xt)
		if testing.Verbose() {
			for _, e := range xt {
				t.Logf("%s: %s", c.Name, e)
			}
		}
	}
	t.Logf("%d effect cases, %d probes, %d probe effects of ctmatch's rules compared with xt's", len(effectCases()), probes, compared)
}

// compareEffectCase runs an effect case with no rule, with xt's target
// (iptables-legacy) and with ctmatch's rules in the case's family's table
// and in an inet table: xt's rule must change what some probe shows, and
// ctmatch's rules must give each probe xt's effect. It returns xt's
// effects and the number of ctmatch's effects compared.
func compareEffectCase(t *testing.T, l *lab.Lab, c lab.EffectCase) (xt []lab.Effect, compared int) {
	t.Helper()
	table := expr.FamilyIP
	if c.Family == lab.IPv6 {
		table = expr.FamilyIP6
	}
	base, xt, diffs, compared := effectDiffs(t, l, c, lab.CtmatchEffect(table), lab.CtmatchEffect(expr.FamilyInet))
	if len(lab.CompareEffects(base, xt, "no rule", "xt")) == 0 {
		t.Errorf("%s: the xt rule changes nothing the probes see: %v", c.Name, xt)
	}
	for _, d := range diffs {
		t.Errorf("%s: %s", c.Name, d)
	}
	return xt, compared
}

// effectDiffs runs an effect case without a rule, with xt's and with each
// of ins, and returns the effects without a rule and with xt's, what the
// effects of ins differ in from xt's and their number, a second run's if
// the first differed (secondRun).
func effectDiffs(t *testing.T, l *lab.Lab, c lab.EffectCase, ins ...lab.Installer) (base, xt []lab.Effect, diffs []string, compared int) {
	t.Helper()
	diffs = secondRun(t, c.Name, func() []string {
		var err error
		if base, err = l.Effects(c, none); err != nil {
			t.Fatal(err)
		}
		if xt, err = l.Effects(c, lab.XtLegacy()); err != nil {
			t.Fatal(err)
		}
		var diffs []string
		compared = 0
		for _, in := range ins {
			got, err := l.Effects(c, in)
			if err != nil {
				t.Fatal(err)
			}
			diffs = append(diffs, lab.CompareEffects(xt, got, "xt", in.Name)...)
			compared += len(got)
		}
		return diffs
	})
	return base, xt, diffs, compared
}

// secondRun runs a comparison of what packets did, which returns what
// differs, and when something does, runs it once more and returns what
// differs then. A probe's one datagram can be lost to the machine's load (a
// queue of the kernel's full while other tests send); a wrong translation
// differs every time (the CanFail tests of the effect lab, the target sweep
// and the NAT flows catch their faults through here).
// The first run's differences are logged, with the drops the kernel's
// backlogs counted meanwhile.
func secondRun(t *testing.T, name string, run func() []string) []string {
	t.Helper()
	drops := lab.BacklogDrops()
	diffs := run()
	if len(diffs) == 0 {
		return nil
	}
	t.Logf("%s: run again, the first run differed (the kernel's backlogs dropped %d packets meanwhile):\n\t%s",
		name, lab.BacklogDrops()-drops, strings.Join(diffs, "\n\t"))
	return run()
}

// The observer can fail: ctmatch's translation with a wrong port (DNAT to
// the next port), a wrong ICMP code and a wrong SNAT port each give effects
// that differ from xt's.
func TestLabTargetEffectsCanFail(t *testing.T) {
	for _, tool := range []string{"iptables-legacy", "ip6tables-legacy"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed")
		}
	}
	l := lab.New(t)
	faulty := func(change func(expr.Stmt) expr.Stmt) func(c lab.EffectCase) ([]expr.Rule, error) {
		return func(c lab.EffectCase) ([]expr.Rule, error) {
			r, err := ctmatch.Translate(c.Words, ctmatch.Options{IPv6: c.Family == lab.IPv6})
			if err != nil {
				return nil, err
			}
			for i := range r.Rules {
				for k, s := range r.Rules[i].Stmts {
					r.Rules[i].Stmts[k] = change(s)
				}
			}
			return r.Rules, nil
		}
	}
	faults := []struct {
		name   string
		family lab.Family
		prefix string // the case the fault is tried on
		change func(expr.Stmt) expr.Stmt
	}{
		{"dnat to the next port", lab.IPv4, "dnat4", func(s expr.Stmt) expr.Stmt {
			n := s.(expr.NAT)
			n.Ports.Min++
			n.Ports.Max++
			return n
		}},
		{"reject with the next code", lab.IPv6, "reject6 icmp6-adm-prohibited", func(s expr.Stmt) expr.Stmt {
			r := s.(expr.Reject)
			r.Code = 0
			return r
		}},
		{"snat to a port outside the range", lab.IPv4, "snat4 port", func(s expr.Stmt) expr.Stmt {
			n := s.(expr.NAT)
			n.Ports = expr.Ports{Min: 30000, Max: 30000}
			return n
		}},
		{"masquerade without its ports", lab.IPv6, "masquerade6 ports", func(s expr.Stmt) expr.Stmt {
			return expr.Masquerade{}
		}},
	}
	for _, fl := range faults {
		var c lab.EffectCase
		for _, x := range effectCases() {
			if x.Name == fl.prefix {
				c = x
			}
		}
		if c.Name == "" {
			t.Fatalf("%s: no case %q", fl.name, fl.prefix)
		}
		table := expr.FamilyIP
		if c.Family == lab.IPv6 {
			table = expr.FamilyIP6
		}
		// Through the comparison TestLabTargetEffects makes, second run
		// included: a difference that comes back is not taken for a loss.
		_, _, d, _ := effectDiffs(t, l, c, lab.NativeRules(fl.name, table, faulty(fl.change)))
		if len(d) == 0 {
			t.Errorf("%s on %s: no difference seen", fl.name, c.Name)
			continue
		}
		t.Logf("%s on %s: caught: %s", fl.name, c.Name, strings.Join(d, "; "))
	}
}

// iptables-translate's texts for the same cases, loaded with nft in place of
// ctmatch's, have the same effects: for these targets it is not wrong.
func TestLabTargetEffectsIptablesTranslate(t *testing.T) {
	for _, tool := range []string{"iptables-legacy", "ip6tables-legacy", "iptables-translate", "ip6tables-translate"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed")
		}
	}
	l := lab.New(t)
	body := func(c lab.EffectCase) (string, error) {
		tool := "iptables-translate"
		if c.Family == lab.IPv6 {
			tool = "ip6tables-translate"
		}
		out, err := exec.Command(tool, strings.Fields(c.Words)...).Output()
		if err != nil {
			return "", fmt.Errorf("%s %s: %v", tool, c.Words, err)
		}
		// nft 'add rule FAMILY TABLE CHAIN BODY'
		line := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(out)), "nft '"), "'")
		f := strings.SplitN(line, " ", 6)
		if len(f) != 6 || f[0] != "add" || f[1] != "rule" {
			return "", fmt.Errorf("%s: unexpected output %q", tool, out)
		}
		return f[5], nil
	}
	compared := 0
	for _, c := range effectCases() {
		if untranslatedByIptables(c) {
			// iptables-translate prints the rule as a comment ("nft #
			// -A …"): there is nothing of its to load (-m recent).
			t.Logf("%s: iptables-translate leaves it untranslated", c.Name)
			continue
		}
		xt, err := l.Effects(c, lab.XtLegacy())
		if err != nil {
			t.Fatal(err)
		}
		table := expr.FamilyIP
		if c.Family == lab.IPv6 {
			table = expr.FamilyIP6
		}
		tr, err := l.Effects(c, lab.NftText("iptables-translate", table, body))
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		for _, d := range lab.CompareEffects(xt, tr, "xt", "iptables-translate") {
			t.Errorf("%s: %s", c.Name, d)
		}
		compared += len(tr)
	}
	t.Logf("%d probe effects of iptables-translate's rules compared with xt's", compared)
}

// untranslatedByIptables reports whether iptables-translate (or
// ip6tables-translate) prints the words of c as a comment, "nft # …",
// which it does for a match it has no translation for.
func untranslatedByIptables(c lab.EffectCase) bool {
	tool := "iptables-translate"
	if c.Family == lab.IPv6 {
		tool = "ip6tables-translate"
	}
	out, err := exec.Command(tool, strings.Fields(c.Words)...).Output()
	return err == nil && strings.HasPrefix(string(out), "nft # ")
}
