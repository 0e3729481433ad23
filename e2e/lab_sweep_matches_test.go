package e2e

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/internal/lab"
	"github.com/ctmatch/ctmatch/parse"
)

// The sweep's matches besides conntrack: a frame may hold one of the other
// match options ctmatch translates, its values chosen against the classes
// the sweep's lab sends (lab.Scenario, lab.SweepRuleScenario,
// lab.SweepMatchScenario and the local classes at the client's output and
// the router's input hook):
//
//   - --tcp-flags and --syn: the TCP class's handshake, data, FINs and the
//     invalid class's stray segments;
//   - multiport: lists of the ports of the lab's flows and ranges round
//     them;
//   - mark and connmark: the mark class's marks (lab.MarkClass,
//     lab.CtMarkClass), set before the rules;
//   - addrtype and pkttype: the server's own address at its input hook,
//     the router-local class's broadcasts and multicasts at the router's
//     (addrtype in IPv4 words only: ctmatch refuses ip6tables' addrtype);
//   - length: the lengths of the handshake's, the flows' and the errors'
//     packets;
//   - iprange: ranges round the lab's hosts;
//   - mac: the client's, the second client's and the server's link-layer
//     addresses, at the router;
//   - ah: the AH class's SPI (lab.SweepMatchScenario);
//   - policy: no packet of the lab has a security path, so --pol none
//     matches every packet and --pol ipsec none (both are compared);
//   - owner: the local-out class's sockets of another user and group, at
//     the client's output hook, the one point of the lab owner may be used
//     at;
//   - -f: in the lab with conntrack the router and the server reassemble
//     fragments before their filter hooks, so -f matches no packet and
//     ! -f every one (both are compared; the whole-rule lab, without
//     conntrack, splits them). ip6tables has no -f: the IPv6 words leave
//     it out.
//
// limit is left out: xt_limit refills its credits per jiffy and nft's
// limit per nanosecond, so the two count a burst differently by design
// (ruleFormsNotCompared; e2e/limitmark_kernel_test.go compares the
// rates).

// optionKinds names the options option draws, one of them each time.
var optionKinds = []string{"tcp-flags", "multiport", "mark", "connmark", "addrtype", "pkttype", "length",
	"iprange", "mac", "ah", "policy", "owner", "fragment"}

// The values option draws from.
var (
	genTCPFlags = []string{"--tcp-flags SYN,ACK SYN", "--tcp-flags ALL ACK", "--tcp-flags FIN,ACK FIN,ACK",
		"--tcp-flags SYN,RST RST", "--tcp-flags ACK,PSH ACK,PSH", "--tcp-flags SYN,ACK SYN,ACK", "--tcp-flags FIN NONE", "--syn"}
	genMarks      = []string{"0x2a", "0x2a00/0xff00", "0", "0x2a/0xf", "0x0/0xffff0000", "0x2a00", "0x2a/0x2a"}
	genConnmarks  = []string{"0x7", "0x7/0xf", "0", "0x1/0x1", "0x6/0x6", "0x8/0x8"}
	genAddrTypes  = []string{"LOCAL", "UNICAST", "BROADCAST", "MULTICAST", "LOCAL,BROADCAST", "UNICAST,MULTICAST"}
	genPktTypes   = []string{"unicast", "broadcast", "multicast"}
	genLengths    = []string{"0:60", "52", "60", "60:84", "28:100", "100:65535", "40:48", "1000:1500", "0:65535"}
	genSrcRanges  = []alt{{"10.1.0.1-10.1.0.9", "fd00:1::1-fd00:1::9"}, {"10.1.0.2-10.3.0.2", "fd00:1::2-fd00:3::2"}, {"10.2.0.2-10.2.0.2", "fd00:2::2-fd00:2::2"}, {"10.1.0.3-10.1.255.255", "fd00:1::3-fd00:1::ffff"}}
	genDstRanges  = []alt{{"10.2.0.0-10.2.0.5", "fd00:2::-fd00:2::5"}, {"10.9.0.1-10.9.0.1", "fd00:9::1-fd00:9::1"}, {"10.1.0.1-10.2.0.1", "fd00:1::1-fd00:2::1"}, {"10.2.0.3-10.2.0.255", "fd00:2::3-fd00:2::ff"}}
	genMACs       = []string{"02:00:00:00:01:02", "02:00:00:00:03:02", "02:00:00:00:02:02", "02:00:00:00:01:01"}
	genSPIs       = []string{"13092807", "5", "13092800:13092900", "0:100", "13092808:4294967295"}
	genOwnerUsers = []string{"1000", "0"}
)

// option draws one match option of the whole rule: its words, whether
// they hold the rule's -p, and whether the rule may use -i (owner runs at
// the output hook only, where iptables refuses -i).
func (g *sweepGen) option(kind string) (out []alt, proto, noIn bool) {
	neg := func(p float64) string {
		if g.chance(p) {
			return "! "
		}
		return ""
	}
	switch kind {
	case "tcp-flags":
		out = append(out, same("-p tcp"), same(neg(0.3)+pick(g, genTCPFlags)))
		if g.chance(0.3) {
			p := g.ports()
			n := neg(0.3)
			out = append(out, alt{n + "--dport " + p[0], n + "--dport " + p[1]})
		}
		return out, true, false
	case "multiport":
		opt := pick(g, []string{"--dports", "--sports", "--ports"})
		var list [2][]string
		for range 2 + g.r.IntN(3) {
			p := g.ports()
			if !multiportRange(p[0]) || !multiportRange(p[1]) {
				continue
			}
			for i := range p {
				list[i] = append(list[i], p[i])
			}
		}
		if list[0] == nil {
			list = [2][]string{{"8001"}, {"8001"}}
		}
		n := neg(0.35)
		out = append(out, same("-p "+pick(g, []string{"tcp", "udp"})),
			alt{"-m multiport " + n + opt + " " + strings.Join(list[0], ","), "-m multiport " + n + opt + " " + strings.Join(list[1], ",")})
		return out, true, false
	case "mark":
		return []alt{same("-m mark " + neg(0.35) + "--mark " + pick(g, genMarks))}, false, false
	case "connmark":
		return []alt{same("-m connmark " + neg(0.35) + "--mark " + pick(g, genConnmarks))}, false, false
	case "addrtype":
		var w []string
		switch g.r.IntN(3) {
		case 0:
			w = []string{neg(0.3) + "--src-type " + pick(g, genAddrTypes)}
		case 1:
			w = []string{neg(0.3) + "--dst-type " + pick(g, genAddrTypes)}
		default:
			w = []string{neg(0.3) + "--src-type " + pick(g, genAddrTypes), neg(0.3) + "--dst-type " + pick(g, genAddrTypes)}
		}
		// ctmatch translates ip6tables' addrtype for no type (nft's fib
		// looks IPv6 routes up otherwise): the IPv6 words leave it out.
		return []alt{{"-m addrtype " + strings.Join(w, " "), ""}}, false, false
	case "pkttype":
		return []alt{same("-m pkttype " + neg(0.35) + "--pkt-type " + pick(g, genPktTypes))}, false, false
	case "length":
		return []alt{same("-m length " + neg(0.35) + "--length " + pick(g, genLengths))}, false, false
	case "iprange":
		var w [2][]string
		add := func(opt string, a alt) {
			n := neg(0.35)
			for i := range a {
				w[i] = append(w[i], n+opt+" "+a[i])
			}
		}
		switch g.r.IntN(3) {
		case 0:
			add("--src-range", pick(g, genSrcRanges))
		case 1:
			add("--dst-range", pick(g, genDstRanges))
		default:
			add("--src-range", pick(g, genSrcRanges))
			add("--dst-range", pick(g, genDstRanges))
		}
		return []alt{{"-m iprange " + strings.Join(w[0], " "), "-m iprange " + strings.Join(w[1], " ")}}, false, false
	case "mac":
		return []alt{same("-m mac " + neg(0.35) + "--mac-source " + pick(g, genMACs))}, false, false
	case "ah":
		// iptables' ah match needs -p ah; ip6tables' finds the header
		// itself (and its -p ah would stop at no AH header: a known
		// difference, docs/semantics.md).
		spi := "-m ah " + neg(0.35) + "--ahspi " + pick(g, genSPIs)
		return []alt{{"-p ah " + spi, spi}}, true, false
	case "policy":
		return []alt{same("-m policy --dir " + pick(g, []string{"in", "out"}) + " --pol " + pick(g, []string{"none", "ipsec"}))}, false, false
	case "owner":
		opt := pick(g, []string{"--uid-owner", "--gid-owner"})
		// ctmatch refuses a negated id (xt_owner matches packets without
		// a socket then, where nft's meta skuid stops the rule).
		return []alt{same("-m owner " + opt + " " + pick(g, genOwnerUsers))}, false, true
	case "fragment":
		return []alt{{neg(0.4) + "-f", ""}}, false, false
	}
	panic("no option kind " + kind)
}

// multiportRange reports whether multiport takes a port or range of the
// sweep: its ranges have both ends, the first below the second.
func multiportRange(s string) bool {
	lo, hi, ok := strings.Cut(s, ":")
	if !ok {
		return true
	}
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	return errA == nil && errB == nil && a < b
}

// steeredOptions are the frames of the rules after steeredFrames, one
// each: every form of sweepOptionForms, so that every run has them.
func steeredOptions() [][]alt {
	return [][]alt{
		{same("-p tcp"), same("--tcp-flags SYN,ACK SYN")}, {same("-p tcp"), same("! --tcp-flags SYN,RST RST")},
		{same("-p tcp"), same("--syn")}, {same("-p tcp"), same("! --syn")},
		{same("-p tcp"), same("-m multiport --dports 8001,8004:8007")}, {same("-p udp"), same("-m multiport ! --sports 40002,40004")},
		{same("-p tcp"), same("-m multiport --ports 8001,40001")},
		{same("-m mark --mark 0x2a")}, {same("-m mark ! --mark 0x2a00/0xff00")},
		{same("-m connmark --mark 0x7")}, {same("-m connmark ! --mark 0x7/0xf")},
		{{"-m addrtype --dst-type LOCAL", ""}}, {{"-m addrtype ! --src-type UNICAST", ""}},
		{same("-m pkttype --pkt-type broadcast")}, {same("-m pkttype ! --pkt-type unicast")},
		{same("-m length --length 60:84")}, {same("-m length ! --length 0:60")},
		{{"-m iprange --src-range 10.1.0.1-10.1.0.9", "-m iprange --src-range fd00:1::1-fd00:1::9"}},
		{{"-m iprange ! --dst-range 10.2.0.0-10.2.0.5", "-m iprange ! --dst-range fd00:2::-fd00:2::5"}},
		{same("-m mac --mac-source 02:00:00:00:01:02")}, {same("-m mac ! --mac-source 02:00:00:00:01:02")},
		{{"-p ah -m ah --ahspi 13092807", "-m ah --ahspi 13092807"}}, {{"-p ah -m ah ! --ahspi 5", "-m ah ! --ahspi 5"}},
		{same("-m policy --dir in --pol none")}, {same("-m policy --dir out --pol ipsec")},
		{same("-m owner --uid-owner 1000")}, {same("-m owner --gid-owner 1000")},
		{{"-f", ""}}, {{"! -f", ""}},
	}
}

// sweepOptionForms are the forms (ruleForms) of the other matches a run
// must hold. (--syn is printed as the --tcp-flags it stands for.)
var sweepOptionForms = []string{"tcp --tcp-flags", "! tcp --tcp-flags",
	"multiport --dports", "multiport --dports range", "! multiport --sports", "multiport --ports",
	"mark --mark", "! mark --mark", "connmark --mark", "! connmark --mark",
	"addrtype --dst-type", "! addrtype --src-type", "pkttype --pkt-type", "! pkttype --pkt-type",
	"length --length", "! length --length", "iprange --src-range", "! iprange --dst-range",
	"mac --mac-source", "! mac --mac-source", "ah --ahspi", "! ah --ahspi",
	"policy --dir", "policy --pol", "owner --uid-owner", "owner --gid-owner", "-f", "! -f"}

// casePoints returns where a sweep rule runs in the lab with
// lab.AllPoints: the router's forward and the server's input hook (the
// forward hook alone with -o, where iptables refuses it in INPUT); a rule
// with owner at the client's output hook alone (iptables refuses owner
// elsewhere); a rule with addrtype or pkttype at the router's input hook
// too, which the router-local class's broadcasts and multicasts reach, and
// one with addrtype without -i at the client's output hook too, where the
// packets' source is of type LOCAL.
func casePoints(words string) []string {
	f := strings.Fields(words)
	if slices.Contains(f, "owner") {
		return []string{lab.ClientOut.Name}
	}
	out := []string{lab.Points[0].Name}
	if !slices.Contains(f, "-o") {
		out = append(out, lab.Points[1].Name)
		if slices.Contains(f, "addrtype") || slices.Contains(f, "pkttype") {
			out = append(out, lab.RouterIn.Name)
		}
	}
	if slices.Contains(f, "addrtype") && !slices.Contains(f, "-i") {
		out = append(out, lab.ClientOut.Name)
	}
	return out
}

// neverMatches reports whether a sweep rule's words hold an option that no
// packet of the sweep's lab matches: -f (the lab with conntrack reassembles
// fragments before the filter hooks) or --pol ipsec (no packet has a
// security path or an IPsec route).
func neverMatches(words string) bool {
	f := strings.Fields(words)
	for i, w := range f {
		if w == "-f" && (i == 0 || f[i-1] != "!") || w == "--pol" && i+1 < len(f) && f[i+1] == "ipsec" {
			return true
		}
	}
	return false
}

// steeredPartners are the conntrack matches of the steered rules of the
// other matches, in turn: broad ones, which most of the lab's packets of
// each class match, so that the option decides what the rule counts.
var steeredPartners = []genMatch{
	{opts: []genOpt{{parse.OptDir, false, same("ORIGINAL")}}},
	{opts: []genOpt{{parse.OptState, false, same("NEW,ESTABLISHED")}}},
}

// isOwner reports whether a frame holds -m owner.
func isOwner(fr []alt) bool {
	for _, w := range fr {
		if strings.Contains(w[0], "-m owner") {
			return true
		}
	}
	return false
}

// readsExpire reports whether a conntrack match of the rule has
// --ctexpire. Such a rule gets no owner: at the client's output hook the
// client's own conntracks, whose timeouts the lab does not set, would be
// read.
func (r genRule) readsExpire() bool {
	for _, m := range r {
		for _, o := range m.opts {
			if o.kind == parse.OptExpire {
				return true
			}
		}
	}
	return false
}
