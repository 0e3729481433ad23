package compile

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles -p and the tcp and udp matches. The kernel facts
// (docs/semantics.md, "Protocols and ports", gives the source lines):
//
//   - iptables' -p compares the IPv4 header's protocol field, on every
//     fragment (ip_packet_match); nft's meta l4proto reads the same field
//     for every IPv4 packet, fragments included (nft_set_pktinfo_ipv4).
//   - ip6tables' -p compares the header after the extension headers
//     (ipv6_find_hdr, which skips AH); meta l4proto reads the same but stops
//     at AH (IP6_FH_F_AUTH).
//   - xt_tcpudp's tcp and udp matches never match a fragment other than the
//     first (fragoff != 0), compare inclusive ranges, and negate each option
//     on its own. nft's payload of the transport header does NOT stop on
//     such a fragment: it reads the fragment's first bytes as the ports
//     (checked on Linux 6.18 with crafted fragments: "tcp dport 22" counts a
//     non-first IPv4 fragment whose bytes 2-3 are 22, and a non-first IPv6
//     fragment whose IPv6 header bytes 2-3 are 0; "-p tcp --dport 22" counts
//     neither). So for IPv4 every tcp or udp match adds
//     "ip frag-off & 0x1fff == 0", the kernel's fragoff test itself, and for
//     IPv6 the rule becomes two, "exthdr frag missing …" and
//     "frag frag-off 0 …", which no packet passes both of.
//
// These matches test the packet, not its conntrack, so they hold or fail
// alike in every piece: every nft rule of the iptables rule starts with them.

// packetVariants are the variants of a rule's packet matches that together
// match what the rule's words match, one at most per packet: each
// alternative (one, until a multiport --ports splits them), after each
// fragment test when the rule has one (see fragmentTests), fragment test
// first. They are kept apart rather than joined, so that compile copies
// each variant once, into the rule's matches.
type packetVariants struct {
	frags []expr.Match   // the fragment tests; nil when the rule needs none
	alts  [][]expr.Match // the alternatives
}

// len returns the number of variants.
func (v packetVariants) len() int {
	return max(1, len(v.frags)) * len(v.alts)
}

// size returns the number of matches of variant i.
func (v packetVariants) size(i int) int {
	n := len(v.alts[i%len(v.alts)])
	if v.frags != nil {
		n++
	}
	return n
}

// appendTo appends the matches of variant i to out: the variants of the
// first fragment test, each alternative in order, then those of the next.
func (v packetVariants) appendTo(out []expr.Match, i int) []expr.Match {
	if v.frags != nil {
		out = append(out, v.frags[i/len(v.alts)])
	}
	return append(out, v.alts[i%len(v.alts)]...)
}

// packetMatches compiles -p and the tcp and udp matches of r, in the order
// the kernel checks them: -p, then each match as written. It returns the
// variants of them that together match what the rule's words match, one at
// most per packet: one, or for IPv6 port matches two (see fragmentTests).
func packetMatches(r *parse.Rule, fam parse.Family) (packetVariants, error) {
	// Sized once for what most rules compile to: the addresses,
	// interfaces, -p and -f, and a few tests per match.
	// (The first alternative's slice and its matches are allocated
	// together when they fit.)
	room := &struct {
		alts [1][]expr.Match
		ms   [16]expr.Match
	}{}
	out := room.ms[:0]
	if n := 6 + 4*len(r.Matches); n > len(room.ms) {
		out = make([]expr.Match, 0, n)
	}
	out = append(out, addresses(r)...)
	out = append(out, interfaces(r)...)
	if pr := r.Protocol; pr != nil {
		m, ok, err := protocol(pr, fam)
		if err != nil {
			return packetVariants{}, err
		}
		if ok {
			out = append(out, m)
		}
	}
	if f := r.Fragment; f != nil {
		if fam == parse.IPv6 {
			return packetVariants{}, fmt.Errorf("col %d: -f is not supported in IPv6: ip6tables matches fragments with -m frag", f.Pos()+1)
		}
		out = append(out, fragment(f))
	}
	// alts are the alternatives so far: one, until a multiport --ports
	// splits each in two (see multiport).
	room.alts[0] = out
	alts := room.alts[:]
	add := func(ms ...expr.Match) {
		for i := range alts {
			alts[i] = append(alts[i], ms...)
		}
	}
	hasPorts, hasICMP := false, false
	for _, m := range r.Matches {
		if pm, ok := m.(*parse.Ports); ok {
			var buf [4]expr.Match
			ms, err := appendPorts(buf[:0], pm)
			if err != nil {
				return packetVariants{}, err
			}
			add(ms...)
			hasPorts = true
		}
		if mp, ok := m.(*parse.Multiport); ok {
			alts = forkAlternatives(alts, multiport(mp))
			hasPorts = true
		}
		if hm, ok := m.(*parse.HL); ok {
			add(hl(hm))
		}
		if pm, ok := m.(*parse.Pkttype); ok {
			add(pkttype(pm))
		}
		if om, ok := m.(*parse.Owner); ok {
			ms, err := owner(om)
			if err != nil {
				return packetVariants{}, err
			}
			add(ms...)
		}
		if am, ok := m.(*parse.Addrtype); ok {
			as, err := addrtype(am, fam)
			if err != nil {
				return packetVariants{}, err
			}
			alts = forkAlternatives(alts, as)
		}
		if isExtMatch(m) {
			ms, frag, err := extMatch(m, r, fam)
			if err != nil {
				return packetVariants{}, err
			}
			add(ms...)
			hasPorts = hasPorts || frag
		}
		if im, ok := m.(*parse.ICMP); ok {
			if hasICMP {
				return packetVariants{}, errICMPTwice(im)
			}
			hasICMP = true
			ms, err := icmp(im)
			if err != nil {
				return packetVariants{}, err
			}
			add(ms...)
			hasPorts = true
		}
	}
	for _, a := range alts {
		keepInequalitiesApart(a)
	}
	if !hasPorts {
		return packetVariants{alts: alts}, nil
	}
	return packetVariants{frags: fragmentTests(fam), alts: alts}, nil
}

// fragmentTests are the tests, one of which a packet must pass for a tcp or
// udp match to look at it: it is not a fragment other than the first (the
// kernel's fragoff is 0). For IPv4 "ip frag-off & 0x1fff == 0" (ipt_do_table:
// fragoff = ntohs(ip->frag_off) & IP_OFFSET). For IPv6 (ip6_packet_match:
// ipv6_find_hdr's fragment offset) either "exthdr frag missing" or
// "frag frag-off 0": nft has no one expression for it.
func fragmentTests(fam parse.Family) []expr.Match {
	if fam == parse.IPv6 {
		return ipv6FragmentTests
	}
	return ipv4FragmentTests
}

// The fragment tests, made once: every rule with ports shares them.
var (
	ipv4FragmentTests = []expr.Match{firstFragment()}
	ipv6FragmentTests = []expr.Match{expr.Exthdr{Test: expr.FragMissing}, expr.Exthdr{Test: expr.FragFirst}}
)

// firstFragment is "ip frag-off & 0x1fff == 0": the packet is not a
// fragment other than the first, as xt_tcpudp requires (par->fragoff, which
// ipt_do_table sets to ntohs(ip->frag_off) & IP_OFFSET).
func firstFragment() expr.Match {
	return expr.Payload{Field: expr.FieldIPFragOff, Mask: 0x1fff, Op: expr.OpEq, Lo: 0}
}

// protoAH is IPPROTO_AH, the IPv6 extension header that ip6tables skips and
// nft's meta l4proto does not.
const protoAH = 51

// protocol compiles -p PROTO to "meta l4proto PROTO" and ! -p PROTO to
// "meta l4proto != PROTO"; -p all (0) to nothing (ok false).
//
// ip6tables' -p ah never matches (ipv6_find_hdr skips AH: ip6tables warns
// "never matched protocol"): it compiles to the never-match rule. Its
// negation would need the header after AH, which nft's meta l4proto does not
// give: refused.
func protocol(pr *parse.Protocol, fam parse.Family) (m expr.Match, ok bool, err error) {
	if pr.Num == 0 {
		return nil, false, nil
	}
	if fam == parse.IPv6 && pr.Num == protoAH {
		if pr.Negated {
			return nil, false, fmt.Errorf("col %d: ! -p ah in ip6tables matches packets by the header after AH, which nft's meta l4proto does not read", pr.Pos()+1)
		}
		return neverNoCt(), true, nil
	}
	op := expr.OpEq
	if pr.Negated {
		op = expr.OpNeq
	}
	return expr.L4Proto{Op: op, Proto: pr.Num}, true, nil
}

// neverNoCt is a match that no packet passes and that reads no conntrack
// state: "meta mark & 0x00000000 != 0x00000000". A rule with a ct
// expression has the kernel track connections, and so reassemble IPv6
// fragments, in its namespace (nf_ct_netns_get), which ip6tables' -p ah,
// which reads no state, does not.
func neverNoCt() expr.Match { return expr.Mark{Op: expr.OpNeq, Value: 0, Mask: 0} }

// appendPorts appends what a tcp or udp match compiles to: its --sport, then its --dport (see
// port). A match with no option, or with only options that hold for every
// port, still fails on a fragment other than the first (xt_tcpudp checks
// fragoff before any option): "tcp dport 0-65535", whose payload load
// does the same.
func appendPorts(out []expr.Match, m *parse.Ports) ([]expr.Match, error) {
	start := len(out)
	for _, k := range []parse.PortKind{parse.SrcPort, parse.DstPort} {
		if o := m.Option(k); o != nil && (o.Negated || !o.All()) {
			out = append(out, port(o))
		}
	}
	if f := m.Flags; f != nil {
		fm, err := tcpFlags(f)
		if err != nil {
			return nil, err
		}
		out = append(out, fm...)
	}
	if len(out) == start {
		out = append(out, expr.Payload{Field: expr.FieldTHDport, Op: expr.OpRange, Lo: 0, Hi: math.MaxUint16})
	}
	return out, nil
}

// port compiles one port option: --dport 22 is "tcp dport 22", ! --dport 22
// "tcp dport != 22", --dport 1:1024 "tcp dport 1-1024", ! --dport 1:1024
// "tcp dport != 1-1024" (xt_tcpudp's port_match: (lo <= port <= hi) ^ invert).
// --sport is the same with "sport".
func port(o *parse.PortOption) expr.Match {
	f := expr.FieldTHDport
	if o.Kind == parse.SrcPort {
		f = expr.FieldTHSport
	}
	p := expr.Payload{Field: f, Lo: uint32(o.Lo)}
	switch {
	case o.Lo == o.Hi && !o.Negated:
		p.Op = expr.OpEq
	case o.Lo == o.Hi:
		p.Op = expr.OpNeq
	case !o.Negated:
		p.Op, p.Hi = expr.OpRange, uint32(o.Hi)
	default:
		p.Op, p.Hi = expr.OpNotRange, uint32(o.Hi)
	}
	return p
}

// splitPacketMatches takes the matches that -p and the tcp and udp matches
// compile to off the front of every piece (after meta nfproto), where
// compile puts them. They must be the same in every piece.
//
// A multiport --ports is two alternatives (joinEitherVariants): either
// holds the index in the prefix of the source port test of each.
func splitPacketMatches(pieces []expr.Rule) (pre []expr.Match, rest []expr.Rule, either map[int]bool, err error) {
	pieces, err = joinFragmentVariants(pieces)
	if err != nil {
		return nil, nil, nil, err
	}
	var at []int
	for from := 0; ; {
		joined, k, ok := joinEitherVariants(pieces, from)
		if !ok {
			if joined, ok := joinAddrtypeVariants(pieces); ok {
				pieces = joined // a list of address types (addrtype)
				continue
			}
			break
		}
		pieces, from = joined, k+1
		at = append(at, k)
	}
	prefixOf := func(r expr.Rule) (start, end int) {
		if len(r.Matches) > 0 {
			if _, ok := r.Matches[0].(expr.Nfproto); ok {
				start = 1
			}
		}
		end = start
		for end < len(r.Matches) {
			switch r.Matches[end].(type) {
			case expr.L4Proto, expr.Payload, expr.Exthdr, expr.IfName, expr.IPAddr, expr.FibType, expr.PktType, expr.SkID, expr.Lookup, expr.IPRange, expr.EtherSaddr, expr.IPsec:
				end++
				continue
			}
			break
		}
		return start, end
	}
	s0, e0 := prefixOf(pieces[0])
	pre = pieces[0].Matches[s0:e0]
	rest = make([]expr.Rule, len(pieces))
	for i, p := range pieces {
		s, e := prefixOf(p)
		if !expr.EqualMatches(p.Matches[s:e], pre) {
			return nil, nil, nil, fmt.Errorf("%w: the pieces test different protocols or ports", ErrNotUnderstood)
		}
		r := p
		r.Matches = append(slices.Clone(p.Matches[:s]), p.Matches[e:]...)
		rest[i] = r
	}
	for _, k := range at {
		if k < s0 || k >= e0 {
			return nil, nil, nil, fmt.Errorf("%w: the pieces test different protocols or ports", ErrNotUnderstood)
		}
		if either == nil {
			either = map[int]bool{}
		}
		either[k-s0] = true
	}
	return pre, rest, either, nil
}

// packetWords returns the iptables words of the matches packetMatches
// compiles to: "-p tcp -m tcp --sport 1024:65535 ! --dport 22".
//
// A port test of a lookup, of a protocol other than tcp and udp, or at an
// index of either (the source port half of a --ports) is a multiport match.
func packetWords(pre []expr.Match, either map[int]bool) (string, error) {
	if len(pre) == 0 {
		return "", nil
	}
	whole := len(pre)
	pre, frag, err := dropFragmentTests(pre)
	if err != nil {
		return "", err
	}
	words, pre, err := leadingWords(pre, frag)
	if err != nil {
		return "", err
	}
	if len(pre) == 0 {
		if frag {
			return "", fmt.Errorf("%w: a fragment test without a port match", ErrNotUnderstood)
		}
		return strings.Join(words, " "), nil
	}
	l, ok := pre[0].(expr.L4Proto)
	if !ok {
		return "", fmt.Errorf("%w: %v without a protocol test before it", ErrNotUnderstood, pre[0])
	}
	if l.Op == expr.OpNeq {
		words = append(words, "!")
	}
	words = append(words, "-p", parse.ProtocolName(l.Proto))
	var fw []string
	if fw, pre = appendFragmentWords(nil, pre[1:]); len(fw) > 0 {
		words = append(words, fw...)
	}
	if l.Op == expr.OpEq && (l.Proto == parse.ProtoICMP || l.Proto == parse.ProtoICMPv6) {
		words, err = appendICMPWords(words, l.Proto, pre)
	} else {
		// The index in the whole prefix of pre[0], the first match after
		// the protocol test.
		words, err = appendPortWords(words, l, pre, either, whole-len(pre))
	}
	if err != nil {
		return "", err
	}
	return strings.Join(words, " "), nil
}

// dropFragmentTests takes off the front of pre the fragment tests that
// packetMatches puts before a rule's matches: IPv6's "exthdr frag missing"
// (the other half of the rule has "frag frag-off 0", which
// joinFragmentVariants leaves out) and the first-fragment test of a port
// match (frag: a rule with ports has -p; without -p the test is ! -f).
func dropFragmentTests(pre []expr.Match) (rest []expr.Match, frag bool, err error) {
	if x, ok := pre[0].(expr.Exthdr); ok && x.Test == expr.FragMissing {
		pre = pre[1:]
		if len(pre) == 0 {
			return nil, false, fmt.Errorf("%w: a fragment test alone", ErrNotUnderstood)
		}
	}
	if pre[0] == firstFragment() && slices.ContainsFunc(pre, isL4Proto) {
		pre = pre[1:]
		frag = true
		if len(pre) == 0 {
			return nil, false, fmt.Errorf("%w: a fragment test alone", ErrNotUnderstood)
		}
	}
	return pre, frag, nil
}

// leadingWords returns the words of the matches before the protocol test:
// addresses, interfaces, -f, the small matches and ip6tables' -m ah (which
// has no -p), and the matches it did not read, from the protocol test on.
func leadingWords(pre []expr.Match, frag bool) ([]string, []expr.Match, error) {
	var words []string
	for len(pre) > 0 {
		a, ok := pre[0].(expr.IPAddr)
		if !ok {
			break
		}
		w, err := addressWords(a)
		if err != nil {
			return nil, nil, err
		}
		words = append(words, w...)
		pre = pre[1:]
	}
	for len(pre) > 0 {
		f, ok := pre[0].(expr.IfName)
		if !ok {
			break
		}
		words = append(words, ifaceWords(f)...)
		pre = pre[1:]
	}
	words, pre = appendFragmentWords(words, pre)
	var err error
	for len(pre) > 0 {
		n := len(pre)
		if words, pre, err = appendSimpleWords(words, pre); err != nil {
			return nil, nil, err
		}
		words, pre = appendMatchWords(words, pre)
		if len(pre) == n {
			break
		}
	}
	for !frag && isAHStart(pre) {
		// ip6tables' -m ah: meta l4proto ah and the AH fields, no -p.
		w, n, err := ahWords(pre[1:])
		if err != nil {
			return nil, nil, err
		}
		words = append(words, w...)
		if words, pre, err = appendSimpleWords(words, pre[1+n:]); err != nil {
			return nil, nil, err
		}
	}
	return words, pre, nil
}

// appendICMPWords appends the words of the matches after -p icmp or -p
// icmpv6: the ICMP type tests (--icmp-type, --icmpv6-type) among the small
// matches.
func appendICMPWords(words []string, proto uint8, rest []expr.Match) ([]string, error) {
	for len(rest) > 0 {
		if w, n, err := simpleWords(rest); n > 0 {
			if err != nil {
				return nil, err
			}
			words = append(words, w...)
			rest = rest[n:]
			continue
		}
		if isAddrtype(rest[0]) || isPkttype(rest[0]) || isOwner(rest[0]) {
			words, rest = appendMatchWords(words, rest)
			continue
		}
		w, n, err := icmpWords(proto, rest)
		if err != nil {
			return nil, err
		}
		words = append(words, w...)
		rest = rest[n:]
	}
	return words, nil
}

// appendPortWords appends the words of the matches after the protocol test
// l: the tcp, udp, sctp and dccp matches' ports and tcp flags, -m ah's
// fields, multiport lists and the small matches among them. first is the
// index of rest[0] in the whole prefix, by which either names the source
// port halves of --ports.
func appendPortWords(words []string, l expr.L4Proto, rest []expr.Match, either map[int]bool, first int) ([]string, error) {
	var module string
	switch {
	case l.Op == expr.OpEq && l.Proto == parse.ProtoTCP:
		module = "tcp"
	case l.Op == expr.OpEq && l.Proto == parse.ProtoUDP:
		module = "udp"
	case l.Op == expr.OpEq && (l.Proto == parse.ProtoSCTP || l.Proto == parse.ProtoDCCP):
		module = parse.ProtocolName(l.Proto) // the sctp and dccp matches' ports
	}
	var have map[expr.Field]bool
	for i := 0; i < len(rest); i++ {
		m := rest[i]
		if w, n, err := simpleWords(rest[i:]); n > 0 {
			if err != nil {
				return nil, err
			}
			words = append(words, w...)
			i += n - 1
			have = nil // a port after it starts a tcp or udp match of its own
			continue
		}
		if isAddrtype(m) || isPkttype(m) || isOwner(m) {
			var after []expr.Match
			words, after = appendMatchWords(words, rest[i:])
			i = len(rest) - len(after) - 1 // the loop steps past the last one
			have = nil
			continue
		}
		p, ok := m.(expr.Payload)
		if ok && p.Field == expr.FieldAHSPI && l.Op == expr.OpEq && l.Proto == expr.ProtoAH {
			w, n, err := ahWords(rest[i:])
			if err != nil {
				return nil, err
			}
			words = append(words, w...)
			i += n - 1
			continue
		}
		if _, isLookup := m.(expr.Lookup); isLookup || either[first+i] || module == "" {
			w, err := multiportWords(m, either[first+i])
			if err != nil {
				return nil, fmt.Errorf("%w (after %v)", err, l)
			}
			words = append(words, w...)
			have = nil
			continue
		}
		if !ok {
			return nil, fmt.Errorf("%w: %v after %v", ErrNotUnderstood, m, l)
		}
		if have == nil || have[p.Field] || have[expr.FieldTCPFlags] {
			// iptables-save prints --tcp-flags after the ports: a port
			// after it is another tcp match's.
			words = append(words, "-m", module)
			have = map[expr.Field]bool{}
		}
		have[p.Field] = true
		if p.Field == expr.FieldTCPFlags {
			w, err := tcpFlagsWords(p, module)
			if err != nil {
				return nil, err
			}
			words = append(words, w...)
			continue
		}
		words = append(words, portWords(p)...)
	}
	return words, nil
}

// portWords returns the --sport or --dport words of a port test.
func portWords(p expr.Payload) []string {
	opt := "--dport"
	if p.Field == expr.FieldTHSport {
		opt = "--sport"
	}
	val := strconv.FormatUint(uint64(p.Lo), 10)
	if p.Op == expr.OpRange || p.Op == expr.OpNotRange {
		val += ":" + strconv.FormatUint(uint64(p.Hi), 10)
	}
	if p.Op == expr.OpNeq || p.Op == expr.OpNotRange {
		return []string{"!", opt, val}
	}
	return []string{opt, val}
}

// joinFragmentVariants undoes the IPv6 split of fragmentTests: when the
// first half of the pieces starts with "exthdr frag missing" (after meta
// nfproto) and the second half is the same with "frag frag-off 0", it
// returns the first half. Otherwise it returns the pieces as they are.
func joinFragmentVariants(pieces []expr.Rule) ([]expr.Rule, error) {
	at := func(r expr.Rule) int {
		if len(r.Matches) > 0 {
			if _, ok := r.Matches[0].(expr.Nfproto); ok {
				return 1
			}
		}
		return 0
	}
	i := at(pieces[0])
	if len(pieces[0].Matches) <= i {
		return pieces, nil
	}
	if _, ok := pieces[0].Matches[i].(expr.Exthdr); !ok {
		return pieces, nil
	}
	n := len(pieces) / 2
	if len(pieces)%2 != 0 || pieces[0].Matches[i] != (expr.Exthdr{Test: expr.FragMissing}) {
		return nil, errHalf
	}
	for k := range n {
		a, b := pieces[k], pieces[n+k]
		j := at(b)
		if len(a.Matches) != len(b.Matches) || at(a) != j || a.Matches[j] != (expr.Exthdr{Test: expr.FragMissing}) ||
			b.Matches[j] != (expr.Exthdr{Test: expr.FragFirst}) ||
			!expr.EqualMatches(a.Matches[:j], b.Matches[:j]) || !expr.EqualMatches(a.Matches[j+1:], b.Matches[j+1:]) {
			return nil, errHalf
		}
	}
	return pieces[:n], nil
}

// errHalf says that rules hold one of the two halves of an ip6tables port
// or ICMPv6 match and not the other.
var errHalf = fmt.Errorf("%w: an ip6tables port or ICMPv6 match is two nft rules, one with \"exthdr frag missing\" and one with \"frag frag-off 0\" and otherwise the same; these rules are not such a pair (one half is missing, or the two differ)", ErrNotUnderstood)
