package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
	"github.com/ctmatch/ctmatch/parse"
)

// The random sweep: a seeded generator of valid conntrack matches, each run
// through the same differential check as the fixed case lists, some with
// whole-rule words in front (-p, ports, icmp types, -i/-o, -s/-d, ttl/hl,
// comment, and the other matches ctmatch translates: tcp flags, -f,
// multiport, mark, connmark, addrtype, pkttype, length, iprange, mac, ah,
// policy, owner; lab_sweep_matches_test.go): those rules run through
// iptables-legacy. Its values are drawn from what can split the lab's
// traffic (the lab's states, addresses and prefixes, interfaces, the ports
// of its flows and ranges around them, the remaining lifetimes its packets
// see, its marks, lengths and link-layer addresses), so most matches count
// some of the lab's packets and not others. The lab measures at every
// point (lab.AllPoints): a rule with owner at the client's output hook
// alone (casePoints). The targets have a sweep of their own
// (lab_sweep_targets_test.go).
//
// CTMATCH_LAB_SEED picks the seed (default sweepSeed) and CTMATCH_LAB_SWEEP
// the number of matches (default and least 200, which covers everything
// the test asserts whatever the seed); a failure prints both, and the
// matches, so the run can be replayed.
const (
	sweepSeed    = 20251125
	sweepMatches = 200
)

// sweepConfig reads the seed and the number of matches from the
// environment.
func sweepConfig(t *testing.T) (seed uint64, n int) {
	t.Helper()
	seed, n = sweepSeed, sweepMatches
	if s := os.Getenv("CTMATCH_LAB_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("CTMATCH_LAB_SEED=%q: %v", s, err)
		}
		seed = v
	}
	if s := os.Getenv("CTMATCH_LAB_SWEEP"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < sweepMatches || v > 2000 {
			// Fewer matches may miss an item of the coverage the test
			// asserts (200 covers it for every one of 3,000 seeds tried;
			// TestLabSweepGenerator checks 100 of them). A table of 1000
			// matches runs in about 12 s on two cores, at the lab's four
			// points: 2000 stays well inside the two minutes a
			// differential run may take.
			t.Fatalf("CTMATCH_LAB_SWEEP=%q: want a number from %d to 2000", s, sweepMatches)
		}
		n = v
	}
	return seed, n
}

// alt is a value as written in IPv4 words and in IPv6 words.
type alt [2]string

func same(s string) alt { return alt{s, s} }

func (a alt) in(f lab.Family) string {
	if f == lab.IPv6 {
		return a[1]
	}
	return a[0]
}

// genOpt is one generated option.
type genOpt struct {
	kind parse.OptionKind
	neg  bool
	val  alt
}

// genMatch is one generated -m conntrack (or -m state, with --state only),
// or, when frame is set, the rule's other words: -p, ports, an icmp type,
// -i/-o, -s/-d, -m ttl/hl, -m comment, as IPv4 and IPv6 words.
type genMatch struct {
	state bool
	opts  []genOpt
	frame []alt
}

// genRule is one generated iptables rule: one or two matches.
type genRule []genMatch

// words writes the rule as iptables (IPv4) or ip6tables (IPv6) words.
func (r genRule) words(f lab.Family) string {
	var b strings.Builder
	for i, m := range r {
		if i > 0 {
			b.WriteByte(' ')
		}
		if m.frame != nil {
			// A word of one family only (-f) is empty in the other.
			var ws []string
			for _, w := range m.frame {
				if w.in(f) != "" {
					ws = append(ws, w.in(f))
				}
			}
			b.WriteString(strings.Join(ws, " "))
			continue
		}
		if m.state {
			b.WriteString("-m state")
		} else {
			b.WriteString("-m conntrack")
		}
		for _, o := range m.opts {
			if o.neg {
				b.WriteString(" !")
			}
			if m.state {
				b.WriteString(" --state")
			} else {
				b.WriteString(" --" + o.kind.String())
			}
			b.WriteString(" " + o.val.in(f))
		}
	}
	return b.String()
}

// The values the generator draws from, chosen against the lab's traffic
// (lab.Scenario; see labIPv4 for the addresses and ports).
var (
	genStates = []string{"INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT"}
	// -m state knows the first five.
	genStateStates = genStates[:5]
	genStatuses    = []string{"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"}
	genProtos      = []alt{same("6"), same("17"), {"1", "58"}, same("253"), same("132"), same("tcp"), same("udp"), {"icmp", "ipv6-icmp"}}
	genAddrs       = []alt{
		// The lab's hosts: client, router (both links), server, the VIP.
		{"10.1.0.2", "fd00:1::2"}, {"10.1.0.1", "fd00:1::1"}, {"10.2.0.1", "fd00:2::1"},
		{"10.2.0.2", "fd00:2::2"}, {"10.9.0.1", "fd00:9::1"},
		// Prefixes: the lab, each link, parts of them, host bits written,
		// an outside network, everything.
		{"10.0.0.0/8", "fd00::/8"}, {"10.1.0.0/16", "fd00:1::/32"}, {"10.2.0.0/16", "fd00:2::/32"},
		{"10.2.0.0/20", "fd00:2::/31"}, {"10.1.0.0/24", "fd00:1::/64"}, {"10.2.0.0/24", "fd00:2::/64"},
		{"10.9.0.0/16", "fd00:9::/48"}, {"10.1.2.3/8", "fd00:1::5/64"}, {"10.2.0.3/30", "fd00:2::3/126"},
		{"192.168.0.0/16", "2001:db8::/32"}, {"0.0.0.0/0", "::/0"},
		// Non-contiguous masks: the client and the server; the router
		// and the VIP; the client alone; the even addresses.
		{"10.0.0.2/255.0.255.255", "fd00::2/ff00::ffff"}, {"10.0.0.1/255.0.0.255", "fd00::1/ffff::ffff"},
		{"10.1.0.2/0.255.0.255", "0:1::2/0:ffff::ffff"}, {"10.0.0.0/0.0.0.1", "::/::1"},
	}
	// The ports of the lab's flows (and an ICMP echo's id, type<<8|code
	// of a request and of a reply, the generic tracker's 0).
	genPorts = []alt{
		same("0"), same("4660"), {"2048", "32768"}, {"0", "33024"},
		same("8001"), same("8002"), same("8004"), same("8005"), same("8006"), same("8007"), same("8008"),
		same("8009"), same("8011"), same("8014"), same("8100"), same("20009"),
		same("40001"), same("40002"), same("40004"), same("40005"), same("40006"), same("40007"),
		same("40009"), same("40014"), same("40101"), same("40102"), same("40103"), same("40104"),
	}
	genWidePorts = []string{"1:65535", ":", "1024:4095", "8000:8999", "40000:40999", "50000:65535", "20000:39999"}
	// Remaining lifetimes, in seconds: the expire classes' errors 0.5
	// and 13.5 to 16.5, the other packets just under the timeouts they set
	// (lab.PacketTimeouts), the first packet of a flow 0 on most hosts
	// (what the host's uptime puts there: lab.FirstPacket); and values far
	// away, up to the largest.
	genExpires = []uint32{0, 1, 12, 13, 14, 15, 16, 17, 18, 25, 29, 31, 59, 61, 100, 119, 121, 299, 301,
		599, 601, 1000, 100000, 431999, 432001, 4294967, 4294968, 100000000, 4294967295}
)

// sweepGen draws rules.
// The conntrack matches come from r; the rules' other words (frames)
// from a generator of their own, fr, so that a seed draws the same
// conntrack matches with frames as without.
type sweepGen struct {
	r       *rand.Rand
	fr      *sweepGen
	pending int // the next of steeredFrames to place
}

func newSweepGen(seed uint64) *sweepGen {
	return &sweepGen{r: rand.New(rand.NewPCG(seed, seed^0x6374_6d61_7463_6821)),
		fr: &sweepGen{r: rand.New(rand.NewPCG(seed^0x6672_616d_6573, seed))}}
}

func (g *sweepGen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *sweepGen, s []T) T { return s[g.r.IntN(len(s))] }

// subset draws a non-empty subset of names (all of them with probability
// all), in their order.
func (g *sweepGen) subset(names []string, p, all float64) string {
	if g.chance(all) {
		return strings.Join(names, ",")
	}
	for {
		var out []string
		for _, n := range names {
			if g.chance(p) {
				out = append(out, n)
			}
		}
		if out != nil {
			return strings.Join(out, ",")
		}
	}
}

// ports draws a port or a range around one of the lab's ports.
func (g *sweepGen) ports() alt {
	p := pick(g, genPorts)
	d1, d2 := 1+g.r.IntN(10), 1+g.r.IntN(10)
	form := g.r.IntN(20)
	var out alt
	for i, s := range p {
		v, _ := strconv.Atoi(s)
		lo, hi := max(v-d1, 0), min(v+d2, 65535)
		switch {
		case form < 8:
			out[i] = s
		case form < 11:
			out[i] = fmt.Sprintf("%d:%d", v, hi)
		case form < 14:
			out[i] = fmt.Sprintf("%d:%d", lo, v)
		case form < 16:
			out[i] = fmt.Sprintf("%d:%d", lo, hi)
		case form < 17:
			out[i] = fmt.Sprintf(":%d", v)
		case form < 18:
			out[i] = fmt.Sprintf("%d:", v)
		}
	}
	if form >= 18 {
		return same(pick(g, genWidePorts))
	}
	return out
}

// expire draws a --ctexpire value that the lab can measure without racing
// (lab.ExpireRaces).
func (g *sweepGen) expire() alt {
	for range 1000 {
		a, b := pick(g, genExpires), pick(g, genExpires)
		lo, hi := min(a, b), max(a, b)
		var s string
		switch form := g.r.IntN(20); {
		case form < 6:
			lo, hi, s = a, a, fmt.Sprint(a)
		case form < 14:
			if lo == hi {
				s = fmt.Sprint(lo)
			} else {
				s = fmt.Sprintf("%d:%d", lo, hi)
			}
		case form < 17:
			lo, s = 0, fmt.Sprintf(":%d", hi)
		case form < 19:
			hi, s = 4294967295, fmt.Sprintf("%d:", lo)
		default:
			lo, hi, s = 0, 4294967295, ":"
		}
		if !lab.ExpireRaces(lo, hi) {
			return same(s)
		}
	}
	panic("no expire value found in 1000 draws")
}

func (g *sweepGen) value(k parse.OptionKind) alt {
	switch {
	case k == parse.OptState:
		return same(g.subset(genStates, 0.3, 0.05))
	case k == parse.OptProto:
		return pick(g, genProtos)
	case k.IsAddr():
		return pick(g, genAddrs)
	case k.IsPort():
		return g.ports()
	case k == parse.OptStatus:
		if g.chance(0.15) {
			return same("NONE")
		}
		return same(g.subset(genStatuses, 0.4, 0))
	case k == parse.OptExpire:
		return g.expire()
	case k == parse.OptDir:
		return same(pick(g, []string{"ORIGINAL", "REPLY"}))
	}
	panic(fmt.Sprintf("no values for option %v: teach the sweep the new option", k))
}

// kind draws an option kind; --ctstate, the one whose meaning depends on
// everything else, is drawn three times as often as the others.
func (g *sweepGen) kind() parse.OptionKind {
	kinds := parse.Kinds()
	n := g.r.IntN(len(kinds) + 2)
	if n >= len(kinds) {
		return parse.OptState
	}
	return kinds[n]
}

// steer is an option that a steered rule holds, with a value or, when
// val is empty, a drawn one; more asks for another option beside it.
type steer struct {
	opt  genOpt
	more bool
}

// match draws one match; when force is set, the match is a conntrack match
// holding that option.
func (g *sweepGen) match(force *steer) genMatch {
	if force == nil && g.chance(0.08) {
		return genMatch{state: true, opts: []genOpt{{parse.OptState, g.chance(0.4), same(g.subset(genStateStates, 0.35, 0.05))}}}
	}
	n := 1
	switch x := g.r.IntN(20); {
	case x >= 17:
		n = 3
	case x >= 10:
		n = 2
	}
	var m genMatch
	used := map[parse.OptionKind]bool{}
	if force != nil {
		o := force.opt
		if o.val == (alt{}) {
			o.val = g.value(o.kind)
		}
		m.opts = append(m.opts, o)
		used[o.kind] = true
		if force.more {
			n = max(n, 2)
		}
	}
	for len(m.opts) < n {
		k := g.kind()
		if used[k] {
			continue
		}
		used[k] = true
		m.opts = append(m.opts, genOpt{k, k.Invertible() && g.chance(0.4), g.value(k)})
	}
	g.r.Shuffle(len(m.opts), func(i, j int) { m.opts[i], m.opts[j] = m.opts[j], m.opts[i] })
	return m
}

// steered is what the first rules of a run hold, one each: every option,
// plain and negated; --ctstatus NONE plain and negated; and every state,
// in a plain and in a negated list, next to another option (two lists
// each, INVALID and SNAT in one, UNTRACKED and DNAT in the other). The
// rest of a run draws them often, but not always.
func steered() []steer {
	var out []steer
	for _, k := range parse.Kinds() {
		out = append(out, steer{opt: genOpt{kind: k}})
		if k.Invertible() {
			out = append(out, steer{opt: genOpt{kind: k, neg: true}})
		}
	}
	for _, neg := range []bool{false, true} {
		out = append(out, steer{opt: genOpt{parse.OptStatus, neg, same("NONE")}},
			steer{opt: genOpt{parse.OptState, neg, same("INVALID,NEW,RELATED,SNAT")}, more: true},
			steer{opt: genOpt{parse.OptState, neg, same("ESTABLISHED,UNTRACKED,DNAT")}, more: true})
	}
	return out
}

// rule draws rule number i. The first rules are steered (see steered), so
// that every run covers those forms; everything else about them, and all
// of the later rules, is drawn.
func (g *sweepGen) rule(i int) genRule {
	var force *steer
	if forms := steered(); i < len(forms) {
		force = &forms[i]
	}
	r := genRule{g.match(force)}
	if g.chance(0.28) {
		r = append(r, g.match(nil))
	}
	// The rule's other words, in front: after the steered rules, each of
	// steeredFrames in turn, then drawn ones in a fifth of the rules; but
	// never for a rule with a non-contiguous conntrack mask, which only
	// iptables-nft can carry (the lab patches it there), while whole rules
	// run through iptables-legacy.
	if r.ctMask() || i < len(steered()) {
		return r
	}
	// The steered frames of the other matches (steeredOptions) take the
	// place of the rule's conntrack match with one of steeredPartners, so
	// that the option decides what the rule counts and every run sees it
	// split the traffic; the drawn frames combine them with drawn matches.
	fs := steeredFrames()
	whole := len(fs) - len(steeredOptions())
	if g.pending < whole {
		g.pending++
		return append(genRule{{frame: fs[g.pending-1]}}, r...)
	}
	if g.pending < len(fs) {
		g.pending++
		return genRule{{frame: fs[g.pending-1]}, steeredPartners[(g.pending-1-whole)%len(steeredPartners)]}
	}
	if fr := g.fr.frame(r.readsExpire()); fr != nil && g.fr.chance(0.25) {
		r = append(genRule{{frame: fr}}, r...)
	}
	return r
}

// steeredFrames are the frames of the rules after the steered ones, one
// each: every form of sweepWholeForms, then of sweepOptionForms
// (steeredOptions), so that every run has them.
func steeredFrames() [][]alt {
	return append([][]alt{
		{same("-p tcp"), same("--dport 8001")},
		{same("-p tcp"), same("! --dport 8000:8999")},
		{same("-p udp"), same("--sport 40002")},
		{{"-p icmp", "-p ipv6-icmp"}, {"--icmp-type 8", "--icmpv6-type 128"}},
		{same("! -p tcp")},
		{same("-i r0")}, {same("! -i r+")}, {same("-i eth+")}, {same("-o r1")},
		{{"-s 10.1.0.2", "-s fd00:1::2"}}, {{"! -s 10.1.0.0/24", "! -s fd00:1::/64"}},
		{{"-d 10.2.0.2", "-d fd00:2::2"}}, {{"! -d 10.2.0.0/24", "! -d fd00:2::/64"}},
		{{"-m ttl --ttl-eq 63", "-m hl --hl-eq 63"}},
	}, steeredOptions()...)
}

// ctMask reports whether a conntrack option of the rule has a
// non-contiguous mask.
func (r genRule) ctMask() bool {
	for _, m := range r {
		for _, o := range m.opts {
			for _, v := range o.val {
				if _, mask, ok := strings.Cut(v, "/"); ok && strings.ContainsAny(mask, ".:") {
					return true
				}
			}
		}
	}
	return false
}

// The values of the rules' other words, chosen against the lab's traffic
// (lab.Scenario and lab.SweepRuleScenario: the router's r0, r1 and eth0,
// the server's s0, the hop limits the hop-limit class sends).
var (
	genIfacesIn  = []string{"r0", "r+", "eth0", "eth+", "s0", "+"}
	genIfacesOut = []string{"r1", "r+", "eth0"}
	genICMPTypes = []alt{{"8", "128"}, {"0", "129"}, {"3/3", "1/4"}, {"3", "1"}, {"echo-request", "echo-request"}}
	genHL        = []string{"--%s-eq 63", "--%s-lt 64", "--%s-gt 62", "--%s-eq 1", "--%s-gt 100"}
)

// frame draws the rule's other words; nil when it drew none. A third of
// them hold one of the other matches (option), but owner for a rule that
// reads --ctexpire (genRule.readsExpire); those draw the other words half
// as often, so that their rules still count some of the lab's packets.
func (g *sweepGen) frame(expire bool) []alt {
	var out []alt
	neg := func(p float64) string {
		if g.chance(p) {
			return "! "
		}
		return ""
	}
	var opt []alt
	ownProto, noIn := false, false
	often := 1.0
	if g.chance(0.35) {
		often = 0.5
		kind := pick(g, optionKinds)
		for expire && kind == "owner" {
			kind = pick(g, optionKinds)
		}
		opt, ownProto, noIn = g.option(kind)
	}
	switch x := g.r.IntN(10); {
	case ownProto:
	case x < 2:
		proto := pick(g, []string{"tcp", "udp"})
		out = append(out, same("-p "+proto))
		if g.chance(0.6) {
			opt := pick(g, []string{"--dport", "--sport"})
			p := g.ports()
			n := neg(0.3)
			out = append(out, alt{n + opt + " " + p[0], n + opt + " " + p[1]})
		}
	case x < 3:
		out = append(out, alt{"-p icmp", "-p ipv6-icmp"})
		if g.chance(0.6) {
			ty := pick(g, genICMPTypes)
			n := neg(0.3)
			out = append(out, alt{n + "--icmp-type " + ty[0], n + "--icmpv6-type " + ty[1]})
		}
	case x < 4:
		out = append(out, same("! -p "+pick(g, []string{"tcp", "udp", "253"})))
	}
	if g.chance(0.25*often) && !noIn {
		in := pick(g, genIfacesIn)
		if in == "+" {
			// ! -i + matches nothing, which ctmatch refuses.
			out = append(out, same("-i +"))
		} else {
			out = append(out, same(neg(0.3)+"-i "+in))
		}
	}
	if g.chance(0.12 * often) {
		out = append(out, same(neg(0.3)+"-o "+pick(g, genIfacesOut)))
	}
	if g.chance(0.2 * often) {
		a := pick(g, genAddrs)
		n := neg(0.3)
		if a[0] == "0.0.0.0/0" {
			n = "" // ! -s 0.0.0.0/0 is refused (ctmatch: iptables-nft cannot load it)
		}
		out = append(out, alt{n + "-s " + a[0], n + "-s " + a[1]})
	}
	if g.chance(0.15 * often) {
		a := pick(g, genAddrs)
		n := neg(0.3)
		if a[0] == "0.0.0.0/0" {
			n = "" // ! -d 0.0.0.0/0 is refused (ctmatch: iptables-nft cannot load it)
		}
		out = append(out, alt{n + "-d " + a[0], n + "-d " + a[1]})
	}
	if g.chance(0.15 * often) {
		hl := pick(g, genHL)
		n := ""
		if strings.Contains(hl, "-eq") {
			n = neg(0.3)
		}
		out = append(out, alt{"-m ttl " + n + fmt.Sprintf(hl, "ttl"), "-m hl " + n + fmt.Sprintf(hl, "hl")})
	}
	if g.chance(0.05) {
		out = append(out, same("-m comment --comment sweep"))
	}
	return append(out, opt...)
}

// sweepCoverage names what a run must contain at least once, and says
// which of them the rule has.
func sweepCoverage(r *parse.Rule) map[string]bool {
	have := map[string]bool{}
	forms := ruleForms(r.String())
	if len(forms) > 0 {
		have["whole-rule words with conntrack matches"] = true
	}
	for _, f := range forms {
		if slices.Contains(sweepWholeForms, f) || slices.Contains(sweepOptionForms, f) {
			have[f] = true
		}
	}
	cts := conntrackMatches(r)
	if len(cts) > 1 {
		have["several matches in one rule"] = true
	}
	for _, ct := range cts {
		if ct.Alias() {
			have["-m state"] = true
		}
		for _, o := range ct.Options {
			have[optionForm(o.Kind, o.Negated)] = true
			switch o.Kind {
			case parse.OptState:
				neg := map[bool]string{false: "state ", true: "state ! "}[o.Negated]
				for _, s := range genStates {
					if strings.Contains(","+o.States.String()+",", ","+s+",") {
						have[neg+s] = true
					}
				}
				if len(ct.Options) > 1 {
					if o.States&(parse.StateInvalid|parse.StateUntracked) != 0 {
						have[neg+"INVALID or UNTRACKED, with other options"] = true
					}
					if o.States&(parse.StateSNAT|parse.StateDNAT) != 0 {
						have[neg+"SNAT or DNAT, with other options"] = true
					}
				}
			case parse.OptStatus:
				if o.Statuses == 0 {
					have[optionForm(o.Kind, o.Negated)+" NONE"] = true
				}
			case parse.OptOrigSrc, parse.OptOrigDst, parse.OptReplSrc, parse.OptReplDst:
				if o.Addr.Bits() < 0 {
					have["a non-contiguous mask"] = true
				}
			case parse.OptOrigSrcPort, parse.OptOrigDstPort, parse.OptReplSrcPort, parse.OptReplDstPort:
				if o.Lo < o.Hi {
					have["a port range"] = true
				}
			case parse.OptExpire:
				if o.Lo < o.Hi {
					have["an expire range"] = true
				}
			}
		}
	}
	return have
}

// sweepWholeForms are the whole-rule forms (ruleForms) a run must hold.
var sweepWholeForms = []string{"-p", "! -p", "-i", "! -i", "-i +", "-o", "-s", "! -s", "-d", "! -d",
	"tcp --dport", "udp --sport", "! tcp --dport", "icmp --icmp-type", "ttl --ttl-eq"}

// sweepWant is everything sweepCoverage must find in a run.
func sweepWant() []string {
	want := optionForms()
	for _, neg := range []string{"state ", "state ! "} {
		for _, s := range genStates {
			want = append(want, neg+s)
		}
		want = append(want, neg+"INVALID or UNTRACKED, with other options", neg+"SNAT or DNAT, with other options")
	}
	want = append(want, sweepWholeForms...)
	want = append(want, sweepOptionForms...)
	return append(want, "--ctstatus NONE", "! --ctstatus NONE", "-m state", "several matches in one rule",
		"a non-contiguous mask", "a port range", "an expire range", "whole-rule words with conntrack matches")
}

// sweepRun is one table's share of a sweep.
type sweepRun struct {
	table expr.Family
	cases []lab.Case
}

// sweepCases draws n rules and shares them out: every rule in IPv4 words
// goes to the ip table; rule i with i%4 == 1 also goes, in IPv6 words, to
// the ip6 table; i%4 == 2 in IPv4 words and i%4 == 3 in IPv6 words to the
// inet table. It fails the test on a rule that does not parse (a fault of
// the generator).
func sweepCases(t *testing.T, seed uint64, n int) ([]genRule, []sweepRun, map[string]int) {
	t.Helper()
	g := newSweepGen(seed)
	runs := []sweepRun{{table: expr.FamilyIP}, {table: expr.FamilyIP6}, {table: expr.FamilyInet}}
	add := func(run *sweepRun, i int, r genRule, f lab.Family) {
		w := r.words(f)
		c := lab.Case{Name: fmt.Sprintf("#%d %s", i, f), Words: w, Family: f, Points: casePoints(w), Never: neverMatches(w)}
		if _, err := parseCase(c); err != nil {
			t.Fatalf("seed %d, rule #%d: the generator made %q (%s), which does not parse: %v", seed, i, w, f, err)
		}
		run.cases = append(run.cases, c)
	}
	var rules []genRule
	cov := map[string]int{}
	for i := range n {
		r := g.rule(i)
		rules = append(rules, r)
		add(&runs[0], i, r, lab.IPv4)
		switch i % 4 {
		case 1:
			add(&runs[1], i, r, lab.IPv6)
		case 2:
			add(&runs[2], i, r, lab.IPv4)
		case 3:
			add(&runs[2], i, r, lab.IPv6)
		}
		pr, _ := parseCase(runs[0].cases[i])
		for k := range sweepCoverage(pr) {
			cov[k]++
		}
	}
	return rules, runs, cov
}

// The generator is deterministic: the same seed gives the same rules, and
// another seed others; and every rule it draws in a long run parses, in
// both families. (No kernel needed.)
func TestLabSweepGenerator(t *testing.T) {
	rules, a, _ := sweepCases(t, 7, 300)
	for i, r := range rules {
		for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
			if _, err := parseCase(lab.Case{Words: r.words(f), Family: f}); err != nil {
				t.Errorf("rule #%d, %s: %q: %v", i, f, r.words(f), err)
			}
		}
	}
	_, b, _ := sweepCases(t, 7, 300)
	_, c, _ := sweepCases(t, 8, 300)
	var wa, wb, wc []string
	for i := range a {
		for j := range a[i].cases {
			wa = append(wa, a[i].cases[j].Words)
			wb = append(wb, b[i].cases[j].Words)
		}
		for j := range c[i].cases {
			wc = append(wc, c[i].cases[j].Words)
		}
	}
	if !slices.Equal(wa, wb) {
		t.Error("seed 7 drew different rules twice")
	}
	if slices.Equal(wa, wc) {
		t.Error("seeds 7 and 8 drew the same rules")
	}
	for seed := range uint64(100) {
		_, _, cov := sweepCases(t, seed, sweepMatches)
		for _, w := range sweepWant() {
			if cov[w] == 0 {
				t.Errorf("seed %d, %d rules: no %s", seed, sweepMatches, w)
			}
		}
	}
}

// TestLabSweep runs the random sweep: n matches (200 unless
// CTMATCH_LAB_SWEEP says otherwise) drawn from a seeded generator, all of
// them in an ip table, a quarter in an ip6 table and half in an inet table,
// against the lab's standard traffic; xt_conntrack and ctmatch must count
// the same packets of every class, and no two pieces of one translation may
// match one packet. The run prints, and checks, what it covered.
func TestLabSweep(t *testing.T) {
	seed, n := sweepConfig(t)
	start := time.Now()
	rules, runs, cov := sweepCases(t, seed, n)
	replay := fmt.Sprintf("CTMATCH_LAB_SEED=%d CTMATCH_LAB_SWEEP=%d go test ./e2e -run 'TestLabSweep$'", seed, n)
	t.Logf("seed %d, %d matches; replay with %s", seed, n, replay)

	var missing, covered []string
	for _, w := range sweepWant() {
		if cov[w] == 0 {
			missing = append(missing, w)
		}
		covered = append(covered, fmt.Sprintf("%s:%d", w, cov[w]))
	}
	t.Logf("coverage: %s", strings.Join(covered, " "))
	if len(missing) > 0 {
		t.Errorf("seed %d, %d matches: the run has no %s", seed, n, strings.Join(missing, ", "))
	}
	multi := 0
	for _, r := range rules {
		if len(r) > 1 && r[0].frame == nil || len(r) > 2 {
			multi++
		}
	}

	// ctmatch must translate every match before the lab runs it: a match
	// it refuses is a finding too, named here with its words.
	refused := false
	for _, run := range runs {
		for _, c := range run.cases {
			if _, err := lab.CtmatchRules(c, run.table); err != nil {
				t.Errorf("seed %d, %s table, match %s: %q: %v\nreplay with %s", seed, run.table, c.Name, c.Words, err, replay)
				refused = true
			}
		}
	}
	if refused {
		t.FailNow()
	}

	var summary []string
	// The matches that split the traffic, and all, by family over the
	// three tables: the values are drawn per family, and one table's 50
	// IPv6 matches are too few for their half to say more than chance.
	splitBy, total := map[lab.Family]int{}, map[lab.Family]int{}
	splitForms := map[string]int{}
	for _, run := range runs {
		if len(run.cases) == 0 {
			t.Fatalf("%s table: no case", run.table)
		}
		var fams []lab.Family
		for _, c := range run.cases {
			if !slices.Contains(fams, c.Family) {
				fams = append(fams, c.Family)
			}
		}
		slices.Sort(fams)
		l := lab.New(t)
		l.Points = lab.AllPoints
		rep, err := l.Differential(run.table, run.cases, slices.Concat(lab.Scenario(fams...), lab.SweepRuleScenario(fams...), lab.SweepMatchScenario(fams...)))
		if err != nil {
			t.Fatalf("seed %d, %s table: %v\nreplay with %s", seed, run.table, err, replay)
		}
		var b strings.Builder
		rep.Format(&b)
		t.Log("\n" + b.String())
		byName := map[string]lab.Case{}
		for _, c := range run.cases {
			byName[c.Name] = c
		}
		known := 0
		for _, d := range rep.Divergences {
			if ahDifference(byName[d.Case], d) {
				// ip6tables' -p reads past the AH header, nft's meta
				// l4proto stops at it (docs/semantics.md): the known
				// difference, which ctmatch translates with a warning.
				t.Logf("the known AH difference: %s", d)
				known++
				continue
			}
			t.Errorf("DIVERGENCE seed %d, %s table, match %s: %s\nreplay with %s", seed, run.table, d.Case, d, replay)
		}
		for _, o := range rep.Overlaps {
			t.Errorf("OVERLAP seed %d, %s table, match %s: %s\nreplay with %s", seed, run.table, o.Case, o, replay)
		}
		// A match "splits" the traffic when xt counted some of its
		// family's packets and not all: the others prove less.
		split := len(run.cases) - len(rep.Uncovered)
		uncovered := map[string]bool{}
		for _, u := range rep.Uncovered {
			name, _, _ := strings.Cut(u, " (")
			uncovered[name] = true
		}
		for _, c := range run.cases {
			total[c.Family]++
			if !uncovered[c.Name] {
				splitBy[c.Family]++
				if !c.Never {
					for _, f := range ruleForms(canonical(t, c)) {
						splitForms[f]++
					}
				}
			}
		}
		summary = append(summary, fmt.Sprintf("%s table: %d matches (%d split the traffic), %d classes, %d comparisons, %d divergences (%d the known AH difference), %d overlaps, %v",
			run.table, len(run.cases), split, len(rep.Classes), rep.Comparisons(), len(rep.Divergences), known, len(rep.Overlaps), rep.Elapsed.Round(time.Millisecond)))
	}
	// Each form of the other matches is seen in a rule that split the
	// traffic, but those no packet of the lab matches (neverMatches).
	var formSplits []string
	for _, f := range sweepOptionForms {
		formSplits = append(formSplits, fmt.Sprintf("%s:%d", f, splitForms[f]))
		if splitForms[f] == 0 && !neverMatches(f) {
			t.Errorf("seed %d: no rule with %q split the lab's traffic", seed, f)
		}
	}
	summary = append(summary, "rules that split the traffic, by form of the other matches: "+strings.Join(formSplits, " "))
	for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
		if 2*splitBy[f] < total[f] {
			t.Errorf("%s: only %d of %d matches split the lab's traffic: the generator's values miss it", f, splitBy[f], total[f])
		}
		summary = append(summary, fmt.Sprintf("%s: %d of %d matches split the traffic", f, splitBy[f], total[f]))
	}
	t.Logf("sweep, seed %d: %d matches (%d with two conntrack matches, %d of %d coverage items), in %v\n%s",
		seed, n, multi, len(sweepWant())-len(missing), len(sweepWant()), time.Since(start).Round(time.Millisecond), strings.Join(summary, "\n"))
}
