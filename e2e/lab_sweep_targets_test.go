package e2e

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// The random sweep of targets: a seeded generator (the sweep's seed,
// CTMATCH_LAB_SEED) of rules in the router, each a target with its options
// drawn (REJECT and its --reject-with forms, MARK, CONNMARK, DSCP, NFLOG,
// LOG, CT --notrack and NOTRACK, DNAT, SNAT, MASQUERADE, REDIRECT), in a
// chain of its table where the kernel takes it (filter FORWARD, mangle
// PREROUTING, FORWARD or POSTROUTING, raw PREROUTING, nat PREROUTING or
// POSTROUTING), behind a conntrack match drawn against the rule's probes
// (their states, protocols, addresses and ports) and sometimes a whole-rule
// word. Each case's probes (lab.Probe: datagrams to listeners of the
// server, a second datagram of the same flow, a TCP SYN, an echo request)
// run once under the kernel's xt target (iptables-legacy) and once under
// ctmatch's rules, and their effects are compared probe by probe
// (lab.Effects with the router's observer: what the client got back, what
// the listener saw, the mark and TOS byte the packet left the router with,
// the NFLOG records, the router's conntrack and its mark).
//
// LOG writes to the kernel log, which records nothing for a network
// namespace other than the host's unless the host-wide sysctl
// net.netfilter.nf_log_all_netns is 1, which a test must not change: the
// sweep draws it, and its effects show only that the rule lets every probe
// through unchanged, as xt's does.
const sweepTargets = 40

// targetForm is one target the sweep draws, with where it goes and the
// probes that show what it does.
type targetForm struct {
	kind   string
	table  string // "" for filter
	chains []string
	// pre are words the target needs before the conntrack match (-p for
	// tcp-reset and the NAT targets' ports).
	pre func(f lab.Family) string
	// target draws the target's words; steered, words that change what
	// the probes show.
	target func(g *sweepGen, f lab.Family, steered bool) string
	probes func(f lab.Family, base uint16) []lab.Probe
}

// The probes' ports: the server's listeners, and those of the NAT forms
// (effTCP… in lab_targets_test.go).
const (
	tgtUDP, tgtUDP2 = 9001, 9002
	tgtSrcBase      = 51000 // the first case's first source port; 10 per case
)

// plainProbes are the probes of the targets that leave the packet's
// addresses alone: a datagram to a listener, a second datagram of its flow
// (ESTABLISHED), a datagram of another flow to another listener, a TCP SYN
// to a listener, an echo request.
func plainProbes(f lab.Family, base uint16) []lab.Probe {
	a := f.Addrs()
	return []lab.Probe{
		{Kind: lab.ProbeUDP, To: a.Server, Port: tgtUDP, From: base, Listen: tgtUDP},
		{Kind: lab.ProbeUDP, To: a.Server, Port: tgtUDP, From: base, Listen: tgtUDP},
		{Kind: lab.ProbeUDP, To: a.Server, Port: tgtUDP2, From: base + 5, Listen: tgtUDP2},
		{Kind: lab.ProbeTCP, To: a.Server, Port: tgtUDP, From: base + 2, Listen: tgtUDP},
		{Kind: lab.ProbeEcho, To: a.Server, From: base + 3},
	}
}

func sweepTargetForms() []targetForm {
	none := func(lab.Family) string { return "" }
	mangle := []string{"PREROUTING", "FORWARD", "POSTROUTING"}
	// markOpt draws a mark operation; steered, one that changes a mark of
	// 0 (the probes' packets and conntracks have no mark).
	markOpt := func(g *sweepGen, steered bool) string {
		v := pick(g, []string{"0x1", "0x2a", "0xff00", "0x80000000"})
		op := g.r.IntN(5)
		if steered && op == 2 {
			op = 3
		}
		switch op {
		case 0:
			return "--set-mark " + v
		case 1:
			return "--set-xmark " + v + "/" + pick(g, []string{"0xff", "0xffffffff", "0xf0f0"})
		case 2:
			return "--and-mark " + v
		case 3:
			return "--or-mark " + v
		}
		return "--xor-mark " + v
	}
	return []targetForm{
		// REJECT takes the client's packets only (-i r0): rejecting the
		// server's answer would leave the probe unanswered, which costs
		// the lab's IOTimeout each time.
		{kind: "REJECT", chains: []string{"FORWARD"}, pre: func(lab.Family) string { return "-i r0" }, probes: plainProbes,
			target: func(g *sweepGen, f lab.Family, _ bool) string {
				withs := []string{"", "icmp-net-unreachable", "icmp-host-unreachable", "icmp-proto-unreachable",
					"icmp-port-unreachable", "icmp-net-prohibited", "icmp-host-prohibited", "icmp-admin-prohibited"}
				if f == lab.IPv6 {
					withs = []string{"", "icmp6-no-route", "icmp6-adm-prohibited", "icmp6-addr-unreachable",
						"icmp6-port-unreachable", "icmp6-policy-fail", "icmp6-reject-route"}
				}
				if w := pick(g, withs); w != "" {
					return "-j REJECT --reject-with " + w
				}
				return "-j REJECT"
			}},
		{kind: "REJECT tcp-reset", chains: []string{"FORWARD"}, pre: func(lab.Family) string { return "-i r0 -p tcp" }, probes: plainProbes,
			target: func(*sweepGen, lab.Family, bool) string { return "-j REJECT --reject-with tcp-reset" }},
		{kind: "MARK", table: "mangle", chains: mangle, pre: none, probes: plainProbes,
			target: func(g *sweepGen, _ lab.Family, steered bool) string { return "-j MARK " + markOpt(g, steered) }},
		{kind: "CONNMARK", table: "mangle", chains: []string{"PREROUTING", "FORWARD"}, pre: none, probes: plainProbes,
			target: func(g *sweepGen, _ lab.Family, steered bool) string {
				switch g.r.IntN(4) {
				case 0, 1:
					if steered {
						break // saving or restoring a mark of 0 changes nothing
					}
					if g.chance(0.5) {
						return "-j CONNMARK --restore-mark" + pick(g, []string{"", " --ctmask 0xff"})
					}
					return "-j CONNMARK --save-mark" + pick(g, []string{"", " --nfmask 0xff", " --nfmask 0 --ctmask 0xff00"})
				}
				return "-j CONNMARK " + markOpt(g, steered)
			}},
		{kind: "DSCP", table: "mangle", chains: []string{"FORWARD", "POSTROUTING"}, pre: none, probes: plainProbes,
			target: func(g *sweepGen, _ lab.Family, steered bool) string {
				if g.chance(0.3) {
					return "-j DSCP --set-dscp-class " + pick(g, []string{"EF", "af41", "CS1"})
				}
				if steered {
					// DSCP 0 leaves the probes' TOS byte of 0 alone.
					return fmt.Sprintf("-j DSCP --set-dscp %d", pick(g, []int{10, 46, 63}))
				}
				return fmt.Sprintf("-j DSCP --set-dscp %d", pick(g, []int{0, 10, 46, 63}))
			}},
		{kind: "NFLOG", chains: []string{"FORWARD"}, pre: none, probes: plainProbes,
			target: func(g *sweepGen, _ lab.Family, _ bool) string {
				s := fmt.Sprintf("-j NFLOG --nflog-group %d", lab.NFLOGGroup)
				if g.chance(0.6) {
					s += " --nflog-prefix " + pick(g, []string{"sweep", "ct-sweep:"})
				}
				if g.chance(0.4) {
					s += fmt.Sprintf(" --nflog-size %d", pick(g, []int{0, 20, 64}))
				}
				return s
			}},
		{kind: "LOG", chains: []string{"FORWARD"}, pre: none, probes: plainProbes,
			target: func(g *sweepGen, _ lab.Family, _ bool) string {
				return "-j LOG" + pick(g, []string{"", " --log-prefix sweep", " --log-level 6"})
			}},
		{kind: "CT --notrack", table: "raw", chains: []string{"PREROUTING"}, pre: none, probes: plainProbes,
			target: func(g *sweepGen, _ lab.Family, _ bool) string { return "-j CT --notrack" }},
		{kind: "NOTRACK", table: "raw", chains: []string{"PREROUTING"}, pre: none, probes: plainProbes,
			target: func(g *sweepGen, _ lab.Family, _ bool) string { return "-j NOTRACK" }},
		// DNAT to another port of the server, not from the VIP: a probe
		// to the VIP that the rule leaves alone has no route, and the
		// router's "no route" errors are rate-limited by the host-wide
		// net.ipv4.route.error_cost and error_burst (ip_error), which
		// the lab cannot set: a run of such probes gets some errors and
		// not others. The server's port unreachables are not limited
		// (the lab sets its icmp_ratelimit to 0).
		{kind: "DNAT", table: "nat", chains: []string{"PREROUTING"}, pre: func(f lab.Family) string {
			return fmt.Sprintf("-p udp -d %s --dport %d", f.Addrs().Server, effDNAT)
		}, probes: func(f lab.Family, base uint16) []lab.Probe {
			a := f.Addrs()
			return []lab.Probe{
				{Kind: lab.ProbeUDP, To: a.Server, Port: effDNAT, From: base, Listen: effDNATTo},
				{Kind: lab.ProbeUDP, To: a.Server, Port: effDNAT, From: base + 5, Listen: effDNATTo},
			}
		}, target: func(g *sweepGen, f lab.Family, _ bool) string {
			to := portsOf(f, f.Addrs().Server.String(), fmt.Sprint(effDNATTo))
			return "-j DNAT --to-destination " + to + pick(g, []string{"", " --persistent", " --random"})
		}},
		{kind: "SNAT", table: "nat", chains: []string{"POSTROUTING"}, pre: func(lab.Family) string {
			return fmt.Sprintf("-p udp --dport %d", effSNAT)
		}, probes: func(f lab.Family, base uint16) []lab.Probe {
			a := f.Addrs()
			return []lab.Probe{
				{Kind: lab.ProbeUDP, To: a.Server, Port: effSNAT, From: base, Listen: effSNAT, Ports: [2]uint16{20100, 20110}},
				{Kind: lab.ProbeUDP, To: a.Server, Port: effSNAT, From: base + 5, Listen: effSNAT, Ports: [2]uint16{20100, 20110}},
			}
		}, target: func(g *sweepGen, f lab.Family, _ bool) string {
			to := f.Addrs().RouterS.String()
			if g.chance(0.5) {
				to = portsOf(f, to, "20100-20110")
			}
			return "-j SNAT --to-source " + to + pick(g, []string{"", " --random", " --persistent"})
		}},
		{kind: "MASQUERADE", table: "nat", chains: []string{"POSTROUTING"}, pre: func(lab.Family) string {
			return "-o r1 -p udp"
		}, probes: func(f lab.Family, base uint16) []lab.Probe {
			a := f.Addrs()
			return []lab.Probe{
				{Kind: lab.ProbeUDP, To: a.Server, Port: effMasq, From: base, Listen: effMasq, Ports: [2]uint16{21000, 21010}},
				{Kind: lab.ProbeUDP, To: a.Server, Port: effMasq, From: base + 5, Listen: effMasq, Ports: [2]uint16{21000, 21010}},
			}
		}, target: func(g *sweepGen, _ lab.Family, _ bool) string {
			return "-j MASQUERADE" + pick(g, []string{"", " --to-ports 21000-21010", " --to-ports 21000-21010 --random-fully"})
		}},
		{kind: "REDIRECT", table: "nat", chains: []string{"PREROUTING"}, pre: func(lab.Family) string {
			return fmt.Sprintf("-p udp --dport %d", effRedir)
		}, probes: func(f lab.Family, base uint16) []lab.Probe {
			a := f.Addrs()
			return []lab.Probe{
				{Kind: lab.ProbeUDP, To: a.Server, Port: effRedir, From: base, Listen: effRedTo, OnRouter: true},
				{Kind: lab.ProbeUDP, To: a.Server, Port: effRedir, From: base + 5, Listen: effRedTo, OnRouter: true},
			}
		}, target: func(*sweepGen, lab.Family, bool) string { return fmt.Sprintf("-j REDIRECT --to-ports %d", effRedTo) }},
	}
}

// targetCT draws the conntrack match of a target case: one or two options
// whose values are the probes' (their states, protocols, addresses and
// ports) or near them, so that the match takes some of the probes and not
// others.
func (g *sweepGen) targetCT(f lab.Family, probes []lab.Probe) string {
	a := f.Addrs()
	neg := func() string {
		if g.chance(0.3) {
			return "! "
		}
		return ""
	}
	p := pick(g, probes)
	opts := []func() string{
		func() string {
			return neg() + "--ctstate " + g.subset([]string{"INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT"}, 0.35, 0)
		},
		func() string {
			return neg() + "--ctproto " + pick(g, []string{"udp", "tcp", map[lab.Family]string{lab.IPv4: "icmp", lab.IPv6: "ipv6-icmp"}[f]})
		},
		func() string {
			return neg() + "--ctorigsrc " + pick(g, []string{a.Client.String(), a.Client2.String(), prefixOf(a.Client, f)})
		},
		func() string {
			return neg() + "--ctorigdst " + pick(g, []string{a.Server.String(), a.VIP.String(), prefixOf(a.Server, f)})
		},
		func() string {
			if p.Kind == lab.ProbeEcho {
				return neg() + fmt.Sprintf("--ctorigsrcport %d", p.From)
			}
			return neg() + pick(g, []string{fmt.Sprintf("--ctorigsrcport %d", p.From), fmt.Sprintf("--ctorigsrcport %d:%d", p.From, p.From+3)})
		},
		func() string {
			return neg() + pick(g, []string{fmt.Sprintf("--ctorigdstport %d", max(p.Port, 1)), "--ctorigdstport 9000:9100", fmt.Sprintf("--ctrepldstport %d", p.From)})
		},
		func() string {
			return neg() + "--ctreplsrc " + pick(g, []string{a.Server.String(), a.RouterC.String(), a.VIP.String()})
		},
		func() string {
			return neg() + "--ctstatus " + g.subset([]string{"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"}, 0.4, 0)
		},
		func() string { return "--ctdir " + pick(g, []string{"ORIGINAL", "REPLY"}) },
	}
	n := 1 + g.r.IntN(2)
	var out []string
	used := map[int]bool{}
	for len(out) < n {
		i := g.r.IntN(len(opts))
		if used[i] {
			continue
		}
		used[i] = true
		out = append(out, opts[i]())
	}
	return "-m conntrack " + strings.Join(out, " ")
}

// prefixOf is the lab link's prefix of an address.
func prefixOf(a interface{ String() string }, f lab.Family) string {
	s := a.String()
	if f == lab.IPv6 {
		return s[:strings.LastIndex(s, ":")+1] + "/64"
	}
	return s[:strings.LastIndex(s, ".")+1] + "0/24"
}

// sweptTarget is one generated target case and its form.
type sweptTarget struct {
	lab.EffectCase
	kind string
}

// sweepTargetCases draws n target cases: first two of each form (IPv4 and
// IPv6) with -m conntrack --ctstate NEW, which every probe's first packet
// matches (--ctstate INVALID in the raw table, before conntrack: every
// packet there), so that each target is seen acting;
// then forms, chains, options, conntrack matches and whole-rule words
// drawn; IPv4 and IPv6 in turn.
func sweepTargetCases(seed uint64, n int) []sweptTarget {
	g := &sweepGen{r: rand.New(rand.NewPCG(seed^0x7461_7267_6574_73, seed))}
	forms := sweepTargetForms()
	var out []sweptTarget
	for i := range n {
		f := lab.IPv4
		if i%2 == 1 {
			f = lab.IPv6
		}
		var form targetForm
		ct := "-m conntrack --ctstate NEW"
		if i < 2*len(forms) {
			form = forms[i/2]
			if form.table == "raw" {
				// The raw table's PREROUTING runs before conntrack: no
				// packet has a conntrack there, which xt_conntrack and
				// nft's ct state both read as INVALID.
				ct = "-m conntrack --ctstate INVALID"
			}
		} else {
			form = pick(g, forms)
		}
		base := uint16(tgtSrcBase + 10*i)
		probes := form.probes(f, base)
		if i >= 2*len(forms) {
			ct = g.targetCT(f, probes)
		}
		words := []string{}
		if form.table != "" {
			words = append(words, "-t", form.table)
		}
		words = append(words, "-A", pick(g, form.chains))
		if pre := form.pre(f); pre != "" {
			words = append(words, pre)
		}
		if i >= 2*len(forms) && form.pre(f) == "" && g.chance(0.3) {
			// A whole-rule word beside the conntrack match.
			words = append(words, pick(g, []alt{same("-p udp"), same("! -p tcp"), same("-m length --length 0:60"),
				{"-m iprange --dst-range 10.2.0.2-10.2.0.2", "-m iprange --dst-range fd00:2::2-fd00:2::2"}}).in(f))
		}
		tgt := form.target(g, f, i < 2*len(forms))
		words = append(words, ct, tgt)
		w := strings.Join(words, " ")
		if strings.Contains(tgt, "--random") && !strings.Contains(tgt, "-2") {
			// A random source port without a range of its own: any
			// port compares equal.
			for k := range probes {
				probes[k].Ports = [2]uint16{1, 65535}
			}
		}
		out = append(out, sweptTarget{EffectCase: lab.EffectCase{Name: fmt.Sprintf("#%d %s %s", i, f, form.kind), Family: f, Words: w,
			Router: true, Probes: probes, Observe: true}, kind: form.kind})
	}
	return out
}

// sweepTargetLab makes the lab of the target sweep: the lab with
// conntrack, whose client drops the RSTs its kernel sends in answer to the
// SYN-ACKs of the TCP probes (which come from a raw socket). A RST would
// cross the router at a moment of its own, after the client saw the
// SYN-ACK, and a rule under test that logs or marks it would show it with
// one probe or with the next.
func sweepTargetLab(t *testing.T) *lab.Lab {
	t.Helper()
	l := lab.New(t)
	rule := fmt.Sprintf("table inet sweeprst {\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\ttcp sport %d-%d tcp flags rst drop\n\t}\n}\n",
		tgtSrcBase, tgtSrcBase+10*sweepTargets)
	if _, err := l.Run(l.Client, rule, "nft", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	return l
}

// The target generator is deterministic, draws rules ctmatch translates,
// and every default run holds each form. (No kernel needed.)
func TestLabSweepTargetsGenerator(t *testing.T) {
	a, b, c := sweepTargetCases(7, sweepTargets), sweepTargetCases(7, sweepTargets), sweepTargetCases(8, sweepTargets)
	words := func(cs []sweptTarget) []string {
		var out []string
		for _, x := range cs {
			out = append(out, x.Words)
		}
		return out
	}
	if !slices.Equal(words(a), words(b)) {
		t.Error("seed 7 drew different target cases twice")
	}
	if slices.Equal(words(a), words(c)) {
		t.Error("seeds 7 and 8 drew the same target cases")
	}
	for seed := range uint64(50) {
		kinds := map[string]int{}
		for _, x := range sweepTargetCases(seed, 200) {
			if _, err := ctmatch.Translate(x.Words, ctmatch.Options{IPv6: x.Family == lab.IPv6}); err != nil {
				t.Errorf("seed %d, %s: %q: %v", seed, x.Name, x.Words, err)
			}
			kinds[x.kind]++
		}
		for _, form := range sweepTargetForms() {
			if kinds[form.kind] < 2 {
				t.Errorf("seed %d: %d cases of %s", seed, kinds[form.kind], form.kind)
			}
		}
	}
}

// TestLabSweepTargets runs the target sweep: sweepTargets cases, each under
// xt (iptables-legacy) and under ctmatch's rules in an ip (ip6) table and,
// for every other case, an inet table; their effects must be the same probe
// by probe. Each form must be seen changing what a probe does (against the
// same probes without a rule), LOG aside (see above).
func TestLabSweepTargets(t *testing.T) {
	for _, tool := range []string{"iptables-legacy", "ip6tables-legacy"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed")
		}
	}
	seed, _ := sweepConfig(t)
	start := time.Now()
	cases := sweepTargetCases(seed, sweepTargets)
	replay := fmt.Sprintf("CTMATCH_LAB_SEED=%d go test ./e2e -run 'TestLabSweepTargets$'", seed)
	t.Logf("seed %d, %d target cases; replay with %s", seed, len(cases), replay)
	l := sweepTargetLab(t)
	acted := map[string]int{}
	compared, split := 0, 0
	for i, c := range cases {
		tables := []expr.Family{expr.FamilyIP}
		if c.Family == lab.IPv6 {
			tables[0] = expr.FamilyIP6
		}
		if i%2 == 0 {
			tables = append(tables, expr.FamilyInet)
		}
		var ins []lab.Installer
		for _, tf := range tables {
			ins = append(ins, lab.CtmatchEffect(tf))
		}
		base, xt, diffs, n := effectDiffs(t, l, c.EffectCase, ins...)
		if d := len(lab.CompareEffects(base, xt, "no rule", "xt")); d > 0 {
			acted[c.kind]++
			if d < len(xt) {
				// The rule changed some probes and not others: its
				// conntrack match (or target) told them apart.
				split++
			}
		}
		for _, d := range diffs {
			t.Errorf("DIVERGENCE seed %d, %s: %q: %s\nreplay with %s", seed, c.Name, c.Words, d, replay)
		}
		compared += n
		if testing.Verbose() {
			for _, e := range xt {
				t.Logf("%s (%s): %s", c.Name, c.Words, e)
			}
		}
	}
	var summary []string
	for _, form := range sweepTargetForms() {
		summary = append(summary, fmt.Sprintf("%s:%d", form.kind, acted[form.kind]))
		if acted[form.kind] == 0 && form.kind != "LOG" {
			t.Errorf("seed %d: no %s case changed what a probe does", seed, form.kind)
		}
	}
	if split == 0 {
		t.Errorf("seed %d: no case changed what some of its probes do and not the others: the conntrack matches drawn miss the probes", seed)
	}
	t.Logf("target sweep, seed %d: %d cases, %d probe effects of ctmatch's rules compared with xt's; cases that changed what a probe does, by form: %s; %d that changed some of their probes and not others; in %v",
		seed, len(cases), compared, strings.Join(summary, " "), split, time.Since(start).Round(time.Millisecond))
}

// The target sweep catches a wrong target: each fault changes one detail
// of ctmatch's translation of a steered case (the mark, connmark, DSCP
// value one bit off, another NFLOG prefix, the notrack left out), and the
// effects under it must differ from xt's on some probe, where the case's
// own translation agrees (TestLabSweepTargets).
func TestLabSweepTargetsCatchFaults(t *testing.T) {
	for _, tool := range []string{"iptables-legacy", "ip6tables-legacy"} {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed")
		}
	}
	flipMark := func(s expr.Stmt) expr.Stmt {
		m, ok := s.(expr.SetMark)
		if !ok {
			return s
		}
		if m.Src != 0 && !m.Bitwise {
			m.Bitwise, m.And = true, 0xffffffff
		}
		m.Xor ^= 1
		return m
	}
	faults := []struct {
		name, kind string
		family     lab.Family
		change     func([]expr.Stmt) []expr.Stmt
	}{
		{"the mark one bit off", "MARK", lab.IPv4, func(ss []expr.Stmt) []expr.Stmt {
			for i := range ss {
				ss[i] = flipMark(ss[i])
			}
			return ss
		}},
		{"the connmark one bit off", "CONNMARK", lab.IPv6, func(ss []expr.Stmt) []expr.Stmt {
			for i := range ss {
				ss[i] = flipMark(ss[i])
			}
			return ss
		}},
		{"the DSCP one bit off", "DSCP", lab.IPv4, func(ss []expr.Stmt) []expr.Stmt {
			for i, s := range ss {
				if d, ok := s.(expr.SetDSCP); ok {
					d.DSCP ^= 1
					ss[i] = d
				}
			}
			return ss
		}},
		{"another NFLOG prefix", "NFLOG", lab.IPv6, func(ss []expr.Stmt) []expr.Stmt {
			for i, s := range ss {
				if l, ok := s.(expr.LogGroup); ok {
					l.Prefix += "x"
					ss[i] = l
				}
			}
			return ss
		}},
		{"the notrack left out", "CT --notrack", lab.IPv4, func(ss []expr.Stmt) []expr.Stmt {
			return slices.DeleteFunc(ss, func(s expr.Stmt) bool { _, ok := s.(expr.Notrack); return ok })
		}},
	}
	cases := sweepTargetCases(sweepSeed, 2*len(sweepTargetForms()))
	l := sweepTargetLab(t)
	for _, fl := range faults {
		var c sweptTarget
		for _, x := range cases {
			if x.kind == fl.kind && x.Family == fl.family {
				c = x
				break
			}
		}
		if c.Name == "" {
			t.Fatalf("%s: no steered %s case", fl.name, fl.kind)
		}
		table := expr.FamilyIP
		if c.Family == lab.IPv6 {
			table = expr.FamilyIP6
		}
		faulty := lab.NativeRules(fl.name, table, func(ec lab.EffectCase) ([]expr.Rule, error) {
			r, err := ctmatch.Translate(ec.Words, ctmatch.Options{Table: table, IPv6: ec.Family == lab.IPv6})
			if err != nil {
				return nil, err
			}
			for i := range r.Rules {
				r.Rules[i].Stmts = fl.change(r.Rules[i].Stmts)
			}
			return r.Rules, nil
		})
		_, _, d, _ := effectDiffs(t, l, c.EffectCase, faulty)
		if len(d) == 0 {
			t.Errorf("%s on %s (%s): no difference seen", fl.name, c.Name, c.Words)
			continue
		}
		t.Logf("%s on %s (%s): caught: %s", fl.name, c.Name, c.Words, d[0])
	}
}
