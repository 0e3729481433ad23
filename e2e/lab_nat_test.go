package e2e

import (
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// The ports of the NAT flow cases, apart from the effect probes' and the
// lab's classes'.
const (
	natSNAT, natMasq        = 9601, 9603 // the server's listening ports
	natDNAT                 = 9700       // DNAT's range is natDNAT..natDNAT+2
	natDNATOut              = 9710       // a destination port outside it
	natRedir                = 9800       // REDIRECT's range is natRedir..natRedir+2
	natRedirOut             = 9810
	natSrcPorts, natSrcLast = 20300, 20310 // SNAT's and MASQUERADE's port range
	natFrom                 = 52000        // the client's source ports outside every range
)

// natSpread is what a case says of the addresses its xt run maps to: any,
// exactly one, or at least two.
type natSpread uint8

const (
	spreadAny natSpread = iota
	spreadOne
	spreadMany
)

// natFlowCase is a NAT flow case and what its xt run must show.
type natFlowCase struct {
	lab.NATCase
	spread natSpread
}

// natFlowCases are the NAT flow cases of both families: SNAT and DNAT to
// an address range, with and without --persistent; port ranges whose
// flows' ports are inside (kept) or outside (chosen at random); address
// and port ranges together; --random and --random-fully; MASQUERADE and
// REDIRECT port ranges.
func natFlowCases() []natFlowCase {
	var cs []natFlowCase
	for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
		a, n := f.Addrs(), f.NATAddrs()
		name := func(s string) string { return fmt.Sprintf("%s%d", s, f) }
		rng := func(lo, hi netip.Addr) string {
			if f == lab.IPv6 {
				return "[" + lo.String() + "-" + hi.String() + "]"
			}
			return lo.String() + "-" + hi.String()
		}
		one := func(x netip.Addr) string {
			if f == lab.IPv6 {
				return "[" + x.String() + "]"
			}
			return x.String()
		}
		vipNet := "10.9.0.0/24"
		if f == lab.IPv6 {
			vipNet = "fd00:9::/64"
		}
		snatPool, dnatPool := [2]netip.Addr{n.SNAT[0], n.SNAT[3]}, [2]netip.Addr{n.DNAT[0], n.DNAT[3]}
		srcPorts := [2]uint16{natSrcPorts, natSrcLast}
		dnatPorts := [2]uint16{natDNAT, natDNAT + 2}
		redirPorts := [2]uint16{natRedir, natRedir + 2}
		// Flows to the server's five addresses (its own and the DNAT
		// pool's), each from a source port of its own starting at from.
		toServers := func(from uint16) []lab.NATFlow {
			var fl []lab.NATFlow
			for i, to := range append([]netip.Addr{a.Server}, n.DNAT[:]...) {
				fl = append(fl, lab.NATFlow{From: from + uint16(i), To: to, Port: natSNAT})
			}
			return fl
		}
		// Flows from one source port to the server's five addresses.
		toOnePort := func(from uint16) []lab.NATFlow {
			fl := toServers(from)
			for i := range fl {
				fl[i].From = from
			}
			return fl
		}
		// Flows from one source port after another to one destination.
		fromPorts := func(from uint16, k int, to netip.Addr, port uint16) []lab.NATFlow {
			var fl []lab.NATFlow
			for i := range k {
				fl = append(fl, lab.NATFlow{From: from + uint16(i), To: to, Port: port})
			}
			return fl
		}
		// Flows to each of the four virtual addresses.
		toVIPs := func(from uint16, port uint16) []lab.NATFlow {
			var fl []lab.NATFlow
			for i, v := range n.VIPs {
				fl = append(fl, lab.NATFlow{From: from + uint16(i), To: v, Port: port})
			}
			return fl
		}
		// Flows to the ports of a range, one each.
		toPorts := func(from uint16, to netip.Addr, ports [2]uint16) []lab.NATFlow {
			var fl []lab.NATFlow
			for p := ports[0]; p <= ports[1]; p++ {
				fl = append(fl, lab.NATFlow{From: from + p - ports[0], To: to, Port: p})
			}
			return fl
		}
		snat := func(to string) string {
			return fmt.Sprintf("-t nat -A POSTROUTING -p udp --dport %d -j SNAT --to-source %s", natSNAT, to)
		}
		dnat := func(to string) string {
			return fmt.Sprintf("-t nat -A PREROUTING -p udp -d %s -j DNAT --to-destination %s", vipNet, to)
		}
		masq := fmt.Sprintf("-t nat -A POSTROUTING -o r1 -p udp --dport %d -j MASQUERADE --to-ports %d-%d", natMasq, natSrcPorts, natSrcLast)
		redir := fmt.Sprintf("-t nat -A PREROUTING -p udp --dport %d:%d -j REDIRECT --to-ports %d-%d", natRedir, natRedirOut, natRedir, natRedir+2)
		dnatListen := []uint16{natDNAT, natDNAT + 1, natDNAT + 2}
		redirListen := []uint16{natRedir, natRedir + 1, natRedir + 2}
		cs = append(cs,
			// SNAT to an address range: the address is a hash of
			// the source and the destination (one of the source
			// alone with --persistent); the source port is kept.
			natFlowCase{lab.NATCase{Name: name("snat addresses"), Family: f,
				Words: snat(rng(n.SNAT[0], n.SNAT[3])), Flows: toServers(natFrom), Listen: []uint16{natSNAT},
				Addrs: snatPool}, spreadMany},
			natFlowCase{lab.NATCase{Name: name("snat addresses persistent"), Family: f,
				Words: snat(rng(n.SNAT[0], n.SNAT[3])) + " --persistent", Flows: toServers(natFrom + 10), Listen: []uint16{natSNAT},
				Addrs: snatPool}, spreadOne},
			// SNAT to a port range: a source port inside it is kept,
			// one outside it replaced at random.
			natFlowCase{lab.NATCase{Name: name("snat ports inside"), Family: f,
				Words: snat(one(a.RouterS) + fmt.Sprintf(":%d-%d", natSrcPorts, natSrcLast)), Flows: fromPorts(natSrcPorts, 4, a.Server, natSNAT),
				Listen: []uint16{natSNAT}, Ports: srcPorts}, spreadAny},
			natFlowCase{lab.NATCase{Name: name("snat ports outside"), Family: f,
				Words: snat(one(a.RouterS) + fmt.Sprintf(":%d-%d", natSrcPorts, natSrcLast)), Flows: fromPorts(natFrom+20, 4, a.Server, natSNAT),
				Listen: []uint16{natSNAT}, Ports: srcPorts, RandomPorts: true}, spreadAny},
			natFlowCase{lab.NATCase{Name: name("snat addresses and ports"), Family: f,
				Words: snat(rng(n.SNAT[0], n.SNAT[3]) + fmt.Sprintf(":%d-%d", natSrcPorts, natSrcLast)), Flows: toServers(natFrom + 30),
				Listen: []uint16{natSNAT}, Addrs: snatPool, Ports: srcPorts, RandomPorts: true}, spreadMany},
			natFlowCase{lab.NATCase{Name: name("snat addresses and ports persistent"), Family: f,
				Words: snat(rng(n.SNAT[0], n.SNAT[3])+fmt.Sprintf(":%d-%d", natSrcPorts, natSrcLast)) + " --persistent", Flows: toServers(natFrom + 40),
				Listen: []uint16{natSNAT}, Addrs: snatPool, Ports: srcPorts, RandomPorts: true}, spreadOne},
			// --random and --random-fully choose the port at random
			// even for a source port inside the range; the address is
			// hashed as without them.
			natFlowCase{lab.NATCase{Name: name("snat random"), Family: f,
				Words: snat(rng(n.SNAT[0], n.SNAT[3])+fmt.Sprintf(":%d-%d", natSrcPorts, natSrcLast)) + " --random", Flows: toServers(natSrcPorts),
				Listen: []uint16{natSNAT}, Addrs: snatPool, Ports: srcPorts, RandomPorts: true}, spreadMany},
			natFlowCase{lab.NATCase{Name: name("snat random-fully"), Family: f,
				Words: snat(rng(n.SNAT[0], n.SNAT[3])+fmt.Sprintf(":%d-%d", natSrcPorts, natSrcLast)) + " --random-fully", Flows: toServers(natSrcPorts),
				Listen: []uint16{natSNAT}, Addrs: snatPool, Ports: srcPorts, RandomPorts: true}, spreadMany},
			// One source port to five destinations: without --random
			// the first flow's mapping is reused for the others
			// (get_unique_tuple's find_appropriate_src: same source
			// address and port), so all five get one address; with
			// --random (or --random-fully) that step is skipped and
			// each flow's address is hashed with its destination.
			natFlowCase{lab.NATCase{Name: name("snat one source port"), Family: f,
				Words: snat(rng(n.SNAT[0], n.SNAT[3])), Flows: toOnePort(natFrom + 160), Listen: []uint16{natSNAT},
				Addrs: snatPool}, spreadOne},
			natFlowCase{lab.NATCase{Name: name("snat one source port random"), Family: f,
				Words: snat(rng(n.SNAT[0], n.SNAT[3])) + " --random", Flows: toOnePort(natFrom + 161), Listen: []uint16{natSNAT},
				Addrs: snatPool, Ports: [2]uint16{1024, 65535}, RandomPorts: true}, spreadMany},
			natFlowCase{lab.NATCase{Name: name("snat one source port random-fully"), Family: f,
				Words: snat(rng(n.SNAT[0], n.SNAT[3])) + " --random-fully", Flows: toOnePort(natFrom + 162), Listen: []uint16{natSNAT},
				Addrs: snatPool, Ports: [2]uint16{1024, 65535}, RandomPorts: true}, spreadMany},
			// --random without ports: a port of 1024-65535.
			natFlowCase{lab.NATCase{Name: name("snat random without ports"), Family: f,
				Words: snat(one(a.RouterS)) + " --random", Flows: fromPorts(natFrom+50, 3, a.Server, natSNAT),
				Listen: []uint16{natSNAT}, Ports: [2]uint16{1024, 65535}, RandomPorts: true}, spreadAny},
			// DNAT to an address range: hashed as SNAT's is.
			natFlowCase{lab.NATCase{Name: name("dnat addresses"), Family: f,
				Words: dnat(rng(n.DNAT[0], n.DNAT[3])), Flows: toVIPs(natFrom+60, natDNAT), Listen: dnatListen,
				Dst: true, Addrs: dnatPool}, spreadMany},
			natFlowCase{lab.NATCase{Name: name("dnat addresses persistent"), Family: f,
				Words: dnat(rng(n.DNAT[0], n.DNAT[3])) + " --persistent", Flows: toVIPs(natFrom+70, natDNAT), Listen: dnatListen,
				Dst: true, Addrs: dnatPool}, spreadOne},
			// DNAT to a port range: a destination port inside it is
			// kept, one outside it replaced at random.
			natFlowCase{lab.NATCase{Name: name("dnat ports inside"), Family: f,
				Words: dnat(one(a.Server) + fmt.Sprintf(":%d-%d", natDNAT, natDNAT+2)), Flows: toPorts(natFrom+80, n.VIPs[0], dnatPorts),
				Listen: dnatListen, Dst: true, Ports: dnatPorts}, spreadAny},
			natFlowCase{lab.NATCase{Name: name("dnat ports outside"), Family: f,
				Words: dnat(one(a.Server) + fmt.Sprintf(":%d-%d", natDNAT, natDNAT+2)), Flows: fromPorts(natFrom+90, 3, n.VIPs[0], natDNATOut),
				Listen: dnatListen, Dst: true, Ports: dnatPorts, RandomPorts: true}, spreadAny},
			natFlowCase{lab.NATCase{Name: name("dnat addresses and ports random"), Family: f,
				Words: dnat(rng(n.DNAT[0], n.DNAT[3])+fmt.Sprintf(":%d-%d", natDNAT, natDNAT+2)) + " --random", Flows: toVIPs(natFrom+100, natDNAT),
				Listen: dnatListen, Dst: true, Addrs: dnatPool, Ports: dnatPorts, RandomPorts: true}, spreadMany},
			natFlowCase{lab.NATCase{Name: name("dnat addresses and ports persistent"), Family: f,
				Words: dnat(rng(n.DNAT[0], n.DNAT[3])+fmt.Sprintf(":%d-%d", natDNAT, natDNAT+2)) + " --persistent", Flows: toVIPs(natFrom+110, natDNATOut),
				Listen: dnatListen, Dst: true, Addrs: dnatPool, Ports: dnatPorts, RandomPorts: true}, spreadOne},
			// MASQUERADE --to-ports: as SNAT's ports, to the address
			// of r1.
			natFlowCase{lab.NATCase{Name: name("masquerade ports inside"), Family: f,
				Words: masq, Flows: fromPorts(natSrcPorts, 3, a.Server, natMasq), Listen: []uint16{natMasq},
				Addrs: [2]netip.Addr{a.RouterS, a.RouterS}, Ports: srcPorts}, spreadAny},
			natFlowCase{lab.NATCase{Name: name("masquerade ports outside"), Family: f,
				Words: masq, Flows: fromPorts(natFrom+120, 3, a.Server, natMasq), Listen: []uint16{natMasq},
				Addrs: [2]netip.Addr{a.RouterS, a.RouterS}, Ports: srcPorts, RandomPorts: true}, spreadAny},
			natFlowCase{lab.NATCase{Name: name("masquerade ports random"), Family: f,
				Words: masq + " --random", Flows: fromPorts(natSrcPorts+5, 3, a.Server, natMasq), Listen: []uint16{natMasq},
				Addrs: [2]netip.Addr{a.RouterS, a.RouterS}, Ports: srcPorts, RandomPorts: true}, spreadAny},
			natFlowCase{lab.NATCase{Name: name("masquerade ports random-fully"), Family: f,
				Words: masq + " --random-fully", Flows: fromPorts(natSrcPorts+5, 3, a.Server, natMasq), Listen: []uint16{natMasq},
				Addrs: [2]netip.Addr{a.RouterS, a.RouterS}, Ports: srcPorts, RandomPorts: true}, spreadAny},
			// REDIRECT --to-ports: to the router's address on r0.
			natFlowCase{lab.NATCase{Name: name("redirect ports inside"), Family: f,
				Words: redir, Flows: toPorts(natFrom+130, a.Server, redirPorts), Listen: redirListen, OnRouter: true,
				Dst: true, Addrs: [2]netip.Addr{a.RouterC, a.RouterC}, Ports: redirPorts}, spreadAny},
			natFlowCase{lab.NATCase{Name: name("redirect ports outside"), Family: f,
				Words: redir, Flows: fromPorts(natFrom+140, 3, a.Server, natRedirOut), Listen: redirListen, OnRouter: true,
				Dst: true, Addrs: [2]netip.Addr{a.RouterC, a.RouterC}, Ports: redirPorts, RandomPorts: true}, spreadAny},
			natFlowCase{lab.NATCase{Name: name("redirect ports random"), Family: f,
				Words: redir + " --random", Flows: toPorts(natFrom+150, a.Server, redirPorts), Listen: redirListen, OnRouter: true,
				Dst: true, Addrs: [2]netip.Addr{a.RouterC, a.RouterC}, Ports: redirPorts, RandomPorts: true}, spreadAny},
		)
	}
	return cs
}

// natLab is the lab with the NAT pools.
func natLab(t *testing.T, tools ...string) *lab.Lab {
	t.Helper()
	for _, tool := range append([]string{"iptables-legacy", "ip6tables-legacy"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed")
		}
	}
	l := lab.New(t)
	if err := l.AddNATAddresses(); err != nil {
		t.Fatal(err)
	}
	return l
}

// xtFlowProblems checks what the xt run of a case shows and returns what
// is wrong: every flow arrived, mapped (its rewritten side is not what the
// client sent) into the case's range, and over as many addresses as the
// case says.
func xtFlowProblems(c natFlowCase, xt []lab.NATSeen) []string {
	var out []string
	for i, s := range xt {
		if !s.Arrived() {
			out = append(out, fmt.Sprintf("flow %d: nothing arrived under xt", i))
			continue
		}
		fl := c.Flows[i]
		orig := netip.AddrPortFrom(c.Family.Addrs().Client, fl.From)
		if c.Dst {
			orig = netip.AddrPortFrom(fl.To, fl.Port)
		}
		if c.Mapped(s) == orig {
			out = append(out, fmt.Sprintf("flow %d: the xt rule left %s as it was", i, orig))
		}
	}
	for _, o := range c.Outside(xt) {
		out = append(out, "xt: "+o)
	}
	switch addrs := c.MappedAddrs(xt); {
	case c.spread == spreadOne && len(addrs) != 1:
		out = append(out, fmt.Sprintf("xt maps the flows to %v, want one address", addrs))
	case c.spread == spreadMany && len(addrs) < 2:
		out = append(out, fmt.Sprintf("xt maps the flows to %v, want several addresses (else the case cannot show the hash)", addrs))
	}
	return out
}

// TestLabNATFlows runs every NAT flow case with the kernel's xt target
// (iptables-legacy) and with ctmatch's nft rules in an ip (ip6) and an
// inet table, and compares what the receiver saw of each flow: the
// addresses exactly (nf_nat hashes them without a random seed), the ports
// exactly where the kernel keeps them and as "inside the range" where it
// chooses at random, in which case every port must be inside it in each
// run.
func TestLabNATFlows(t *testing.T) {
	l := natLab(t)
	flows, compared := 0, 0
	for _, c := range natFlowCases() {
		var xt []lab.NATSeen
		n := 0
		diffs := secondRun(t, c.Name, func() []string {
			var err error
			if xt, err = l.NATFlows(c.NATCase, lab.XtLegacy()); err != nil {
				t.Fatal(err)
			}
			diffs := xtFlowProblems(c, xt)
			table := expr.FamilyIP
			if c.Family == lab.IPv6 {
				table = expr.FamilyIP6
			}
			n = 0
			for _, tf := range []expr.Family{table, expr.FamilyInet} {
				in := lab.CtmatchEffect(tf)
				ct, err := l.NATFlows(c.NATCase, in)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range c.Outside(ct) {
					diffs = append(diffs, in.Name+": "+o)
				}
				diffs = append(diffs, lab.CompareNATFlows(c.NATCase, xt, ct, "xt", in.Name)...)
				n += len(ct)
			}
			return diffs
		})
		for _, d := range diffs {
			t.Errorf("%s: %s", c.Name, d)
		}
		compared += n
		flows += len(xt)
		if testing.Verbose() {
			t.Logf("%s: xt maps to %v", c.Name, c.MappedAddrs(xt))
			for _, d := range c.Describe(xt) {
				t.Logf("%s: %s", c.Name, d)
			}
		}
	}
	t.Logf("%d NAT flow cases, %d flows, %d flows of ctmatch's rules compared with xt's", len(natFlowCases()), flows, compared)
}

// natFault changes ctmatch's NAT statement of a case.
type natFault struct {
	name   string
	cas    string // the case's name
	change func(expr.Stmt) expr.Stmt
}

// natFlag returns the change of a NAT statement that sets (on) or clears
// flag.
func natFlag(on bool, flag expr.NATFlags) func(expr.Stmt) expr.Stmt {
	return func(s expr.Stmt) expr.Stmt {
		n := s.(expr.NAT)
		if on {
			n.Flags |= flag
		} else {
			n.Flags &^= flag
		}
		return n
	}
}

// natAddrShorter is the change of a NAT statement whose address range
// ends one address sooner.
func natAddrShorter(s expr.Stmt) expr.Stmt {
	n := s.(expr.NAT)
	n.AddrMax = n.AddrMax.Prev()
	return n
}

// The observer can fail: ctmatch's translation without --persistent, with
// a shorter address range, with the port range shifted, each gives flows
// that differ from xt's.
func TestLabNATFlowsCanFail(t *testing.T) {
	l := natLab(t)
	faults := []natFault{
		{"persistent dropped", "snat addresses persistent4", natFlag(false, expr.NATPersistent)},
		{"persistent dropped", "dnat addresses persistent6", natFlag(false, expr.NATPersistent)},
		{"persistent added", "dnat addresses4", natFlag(true, expr.NATPersistent)},
		{"random dropped", "snat one source port random6", natFlag(false, expr.NATRandom)},
		{"random-fully dropped", "snat one source port random-fully4", natFlag(false, expr.NATFullyRandom)},
		{"random added", "snat one source port4", natFlag(true, expr.NATRandom)},
		{"address range one shorter", "snat addresses6", natAddrShorter},
		{"address range one shorter", "dnat addresses and ports random4", natAddrShorter},
		{"dnat ports shifted", "dnat ports inside6", func(s expr.Stmt) expr.Stmt {
			n := s.(expr.NAT)
			n.Ports.Min++
			n.Ports.Max++
			return n
		}},
		{"redirect ports shifted", "redirect ports inside4", func(s expr.Stmt) expr.Stmt {
			r := s.(expr.Redirect)
			r.Ports.Min++
			r.Ports.Max++
			return r
		}},
		{"masquerade ports widened", "masquerade ports outside6", func(s expr.Stmt) expr.Stmt {
			m := s.(expr.Masquerade)
			m.Ports.Max = 65535
			m.Ports.Min = natSrcLast + 1
			return m
		}},
	}
	cases := natFlowCases()
	for _, fl := range faults {
		i := slices.IndexFunc(cases, func(c natFlowCase) bool { return c.Name == fl.cas })
		if i < 0 {
			t.Fatalf("%s: no case %q", fl.name, fl.cas)
		}
		c := cases[i]
		table := expr.FamilyIP
		if c.Family == lab.IPv6 {
			table = expr.FamilyIP6
		}
		faulty := lab.NativeRules(fl.name, table, func(ec lab.EffectCase) ([]expr.Rule, error) {
			r, err := ctmatch.Translate(ec.Words, ctmatch.Options{IPv6: ec.Family == lab.IPv6})
			if err != nil {
				return nil, err
			}
			for i := range r.Rules {
				for k, s := range r.Rules[i].Stmts {
					r.Rules[i].Stmts[k] = fl.change(s)
				}
			}
			return r.Rules, nil
		})
		var bad []lab.NATSeen
		d := secondRun(t, fl.name, func() []string {
			xt, err := l.NATFlows(c.NATCase, lab.XtLegacy())
			if err != nil {
				t.Fatal(err)
			}
			if bad, err = l.NATFlows(c.NATCase, faulty); err != nil {
				t.Fatal(err)
			}
			return append(lab.CompareNATFlows(c.NATCase, xt, bad, "xt", fl.name), c.Outside(bad)...)
		})
		if len(d) == 0 {
			t.Errorf("%s on %s: no difference seen: %v", fl.name, c.Name, c.Describe(bad))
			continue
		}
		t.Logf("%s on %s: caught: %s", fl.name, c.Name, strings.Join(d, "; "))
	}
}

// natTranslateText is iptables-translate's (ip6tables-translate's) text
// of a case's rule: the body of its "nft 'add rule FAMILY TABLE CHAIN
// BODY'" line.
func natTranslateText(c lab.EffectCase) (string, error) {
	tool := "iptables-translate"
	if c.Family == lab.IPv6 {
		tool = "ip6tables-translate"
	}
	out, err := exec.Command(tool, strings.Fields(c.Words)...).Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v", tool, c.Words, err)
	}
	line := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(out)), "nft '"), "'")
	f := strings.SplitN(line, " ", 6)
	if len(f) != 6 || f[0] != "add" || f[1] != "rule" {
		return "", fmt.Errorf("%s: unexpected output %q", tool, out)
	}
	return f[5], nil
}

// natTranslateWrong are the NAT flow cases whose iptables-translate text
// does not do what the xt target does, with what the differences must
// say. ip6tables-translate 1.8.9 writes an IPv6 address range with ports
// as [A-B]:P-Q, which nft 1.0.6 refuses ("syntax error, unexpected '['":
// its grammar reads [A]-[B]:P-Q); without ports (A-B) or with one
// address ([A]:P-Q) its text loads and maps as xt does.
var natTranslateWrong = map[string]string{
	"snat addresses and ports6":            natRangeRefused,
	"snat addresses and ports persistent6": natRangeRefused,
	"snat random6":                         natRangeRefused,
	"snat random-fully6":                   natRangeRefused,
	"dnat addresses and ports random6":     natRangeRefused,
	"dnat addresses and ports persistent6": natRangeRefused,
}

const natRangeRefused = "syntax error, unexpected '['"

// TestLabNATFlowsIptablesTranslate loads iptables-translate's texts for
// the NAT flow cases with nft in place of ctmatch's rules and compares
// their flows with xt's as TestLabNATFlows does; a case that differs must
// be one of natTranslateWrong, and each of those must differ.
func TestLabNATFlowsIptablesTranslate(t *testing.T) {
	l := natLab(t, "iptables-translate", "ip6tables-translate")
	compared := 0
	for _, c := range natFlowCases() {
		xt, err := l.NATFlows(c.NATCase, lab.XtLegacy())
		if err != nil {
			t.Fatal(err)
		}
		table := expr.FamilyIP
		if c.Family == lab.IPv6 {
			table = expr.FamilyIP6
		}
		var diffs []string
		tr, err := l.NATFlows(c.NATCase, lab.NftText("iptables-translate", table, natTranslateText))
		if err != nil {
			diffs = append(diffs, err.Error())
		} else {
			diffs = append(lab.CompareNATFlows(c.NATCase, xt, tr, "xt", "iptables-translate"), c.Outside(tr)...)
			compared += len(tr)
		}
		want, wrong := natTranslateWrong[c.Name]
		switch {
		case wrong && !strings.Contains(strings.Join(diffs, "\n"), want):
			t.Errorf("%s: listed as wrong (%s), but iptables-translate's text differs from xt by %q", c.Name, want, diffs)
		case !wrong:
			for _, d := range diffs {
				t.Errorf("%s: %s", c.Name, d)
			}
		default:
			t.Logf("%s: known wrong (%s)", c.Name, want)
		}
	}
	t.Logf("%d flows of iptables-translate's rules compared with xt's", compared)
}
