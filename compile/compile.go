// Package compile turns parsed iptables conntrack rules into nftables rules
// that behave exactly like the kernel's xt_conntrack match, and -p with the
// tcp and udp matches like ip_packet_match and xt_tcpudp (ports.go). It is
// the one place where ctmatch decides what a rule means.
//
// The kernel facts it rests on (net/netfilter/xt_conntrack.c and nft_ct.c):
//
//   - xt_conntrack gives a packet without a conntrack (ct == NULL) the state
//     INVALID, or UNTRACKED when it was marked notrack, and then returns
//     whether --ctstate was given and passed: every other option is ignored.
//   - nft's ct state key works for every packet, but every other ct key stops
//     the rule (NFT_BREAK) when ct == NULL, whatever the comparison.
//   - xt's SNAT and DNAT states are the conntrack status bits IPS_SRC_NAT and
//     IPS_DST_NAT, read only when ct != NULL.
//
// So one iptables rule can need several nft rules. compile makes them
// mutually exclusive, so that a counter or any other statement still runs at
// most once per packet.
//
// The package is pure and deterministic: no I/O, no clock.
package compile

import (
	"fmt"
	"math"
	"slices"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// Options say how to compile a rule.
type Options struct {
	// Table is the family of the nft table the rules go into: ip, ip6 or
	// inet. In an inet table every rule starts with meta nfproto.
	Table expr.Family
	// Family says whether the rule's words are iptables (IPv4) or ip6tables
	// (IPv6) words. It must agree with an ip or ip6 Table.
	Family parse.Family
	// Counter adds a counter to every rule, as iptables counts every rule.
	Counter bool
	// Chain is the chain the rule goes into when the words do not say it
	// (add rule's CHAIN); "" means the words' -A or -I chain. NETMAP's
	// statement depends on it (netmap.go).
	Chain string
}

// The nft state bits that occur exactly when a packet has no conntrack.
const nb = uint32(expr.StateInvalid | expr.StateUntracked)

// everyState is every bit nft's ct state can have.
const everyState = uint32(expr.StateInvalid | expr.StateEstablished | expr.StateRelated | expr.StateNew | expr.StateUntracked)

// trackedStates are the states of a packet that has a conntrack.
const trackedStates = uint32(expr.StateEstablished | expr.StateRelated | expr.StateNew)

// Rule compiles one iptables rule into the nft rules that together match
// exactly the packets it matches, one at most per packet, in canonical order.
func Rule(r *parse.Rule, o Options) ([]expr.Rule, error) {
	if err := checkFamily(o); err != nil {
		return nil, err
	}
	if err := checkSingleAddresses(r); err != nil {
		return nil, err
	}
	if err := r.NftCommentError(); err != nil {
		return nil, err
	}
	verdict, err := verdictOf(r.Target)
	if err != nil {
		return nil, err
	}
	stmts, err := targetStmts(r, o)
	if err != nil {
		return nil, err
	}
	variants, err := packetMatches(r, o.Family)
	if err != nil {
		return nil, err
	}
	var pieces []piece
	nct := 0
	for _, m := range r.Matches {
		switch m.(type) {
		case *parse.Ports, *parse.ICMP, *parse.HL, *parse.Addrtype, *parse.Pkttype, *parse.Owner, *parse.Multiport:
			continue // in packetMatches
		case *parse.Comment:
			continue // the rules' comment (setComment)
		case *parse.Mark, *parse.Limit:
			continue // in suffixMatches
		case *parse.Recent:
			if err := recent(r, m.(*parse.Recent)); err != nil {
				return nil, err
			}
			continue // no expression (recent.go)
		}
		if isExtMatch(m) {
			continue // in packetMatches
		}
		ct, ok := m.(*parse.Conntrack)
		if !ok {
			return nil, fmt.Errorf("col %d: match not supported", m.Pos()+1)
		}
		i := nct
		nct++
		if i == 0 {
			// The product of the empty piece and the first match's pieces
			// is those pieces.
			pieces = viable(decompose(ct, o.Family))
		} else {
			pieces = viable(product(pieces, decompose(ct, o.Family)))
		}
		if len(pieces) > maxPieces {
			return nil, fmt.Errorf("col %d: the rule would become more than %d nft rules: split it", m.Pos()+1, maxPieces)
		}
	}
	if nct == 0 {
		pieces = []piece{{}}
	}
	suffix, hasCtKey, err := suffixMatches(r)
	if err != nil {
		return nil, err
	}
	if hasCtKey {
		// ct mark stops the rule without a conntrack, as connmark_mt
		// returns false: the pieces see only packets that have one.
		for i := range pieces {
			pieces[i].others = append(slices.Clone(pieces[i].others), atom{kind: atomCtKey})
		}
		pieces = viable(pieces)
	}
	// The matches of all the rules share one backing array, each rule's
	// capped at its length, so that appending to one never writes into
	// another.
	// Each variant of the packet matches (two for IPv6 port matches: no
	// fragment header, or the first fragment) goes with every piece.
	size := 0
	for v := range variants.len() {
		for _, p := range pieces {
			size += p.maxMatches(o) + variants.size(v) + len(suffix)
		}
	}
	all := make([]expr.Match, 0, size)
	out := make([]expr.Rule, 0, len(pieces)*variants.len())
	for v := range variants.len() {
		for _, p := range pieces {
			start := len(all)
			if o.Table == expr.FamilyInet {
				all = append(all, nfproto(o.Family))
			}
			all = variants.appendTo(all, v)
			var ok bool
			if all, ok = p.appendMatches(all); !ok {
				all = all[:start]
				continue
			}
			all = append(all, suffix...)
			var ms []expr.Match
			if len(all) > start {
				ms = all[start:len(all):len(all)]
			}
			out = append(out, expr.Rule{Matches: ms, Counter: o.Counter, Stmts: slices.Clone(stmts), Verdict: verdict})
		}
	}
	if len(out) > 1 && hasLimit(suffix) {
		return nil, fmt.Errorf("col %d: the rule becomes %d nft rules, and a limit in each would count its packets apart: xt's one bucket has no nft form in rules of their own", firstLimit(r)+1, len(out))
	}
	if len(out) == 0 {
		// Every piece can never match: keep one rule that never matches, so
		// that listings and counters still show the rule.
		out = append(out, finish(append(variants.appendTo(nil, 0), never()), o, verdict))
		out[0].Stmts = stmts
	}
	setComment(out, r)
	return out, nil
}

func checkFamily(o Options) error {
	switch {
	case o.Table == expr.FamilyIP && o.Family == parse.IPv6:
		return fmt.Errorf("ip6tables words (-6) cannot go into an ip table: use an ip6 or inet table")
	case o.Table == expr.FamilyIP6 && o.Family == parse.IPv4:
		return fmt.Errorf("iptables words cannot go into an ip6 table: use -6 for ip6tables words, or an ip or inet table")
	case o.Table != expr.FamilyIP && o.Table != expr.FamilyIP6 && o.Table != expr.FamilyInet:
		return fmt.Errorf("table family %v: expected ip, ip6 or inet", o.Table)
	}
	return nil
}

func finish(ms []expr.Match, o Options, v expr.Verdict) expr.Rule {
	var all []expr.Match
	if o.Table == expr.FamilyInet {
		all = append(all, nfproto(o.Family))
	}
	all = append(all, ms...)
	return expr.Rule{Matches: all, Counter: o.Counter, Verdict: v}
}

// nfproto is "meta nfproto ipv4|ipv6": an inet table sees both families, an
// iptables rule only one.
func nfproto(f parse.Family) expr.Match {
	if f == parse.IPv6 {
		return expr.Nfproto{Family: expr.FamilyIP6}
	}
	return expr.Nfproto{Family: expr.FamilyIP}
}

// never is a match that no packet passes: "ct status & 0x0 != 0".
func never() expr.Match { return expr.Ct{Key: expr.CtStatus, Op: expr.OpAny, Mask: 0} }

func verdictOf(t *parse.Target) (expr.Verdict, error) {
	if t == nil || t.Kind == parse.TargetExtension {
		return expr.Verdict{}, nil // the target's statements: targetStmts
	}
	if t.Kind == parse.TargetChain {
		if t.Goto {
			return expr.Verdict{Kind: expr.VerdictGoto, Chain: t.Name}, nil
		}
		return expr.Verdict{Kind: expr.VerdictJump, Chain: t.Name}, nil
	}
	switch t.Name {
	case "ACCEPT":
		return expr.Verdict{Kind: expr.VerdictAccept}, nil
	case "DROP":
		return expr.Verdict{Kind: expr.VerdictDrop}, nil
	case "RETURN":
		return expr.Verdict{Kind: expr.VerdictReturn}, nil
	}
	return expr.Verdict{}, fmt.Errorf("col %d: target %s is not supported", t.NamePos+1, t.Name)
}

// atomKind is the role of one condition in a piece.
type atomKind uint8

const (
	atomKey   atomKind = iota // a condition on a ct key other than state
	atomHasCt                 // holds for every packet that has a conntrack
	atomNever                 // holds for no packet
	atomCtKey                 // a test of a ct key other than state that the rule makes elsewhere (ct mark)
)

// atom is one condition of an option.
type atom struct {
	kind atomKind
	ct   expr.Ct // for atomKey
}

// piece is one nft rule in the making: a conjunction of conditions.
type piece struct {
	pos    uint32    // if hasPos, the state must be one of these
	hasPos bool      // there is a test "state is one of pos"
	neg    uint32    // the state must be none of these
	nat    []expr.Ct // the NAT status tests of --ctstate, in match order
	others []atom    // the other options, in match order, each in iptables-save order
}

func (p piece) clone() piece {
	q := p
	q.nat = append([]expr.Ct(nil), p.nat...)
	q.others = append([]atom(nil), p.others...)
	return q
}

// requireStates adds the test "state is one of s".
func (p *piece) requireStates(s uint32) {
	if !p.hasPos {
		p.pos, p.hasPos = s, true
		return
	}
	p.pos &= s
}

// maxPieces bounds how many nft rules one iptables rule may become: each
// conntrack match can multiply them by three.
const maxPieces = 64

// maxMatchPieces is the most pieces one conntrack match becomes (A, B and C
// of decompose).
const maxMatchPieces = 3

// maxExpireSecond is the last whole second nft's 32-bit milliseconds can
// hold entirely: its range is clamped to 2³²−1 ms.
const maxExpireSecond = math.MaxUint32 / 1000

// viable drops the pieces no packet can match.
func viable(ps []piece) []piece {
	out := ps[:0]
	for _, p := range ps {
		if _, ok := p.stateTest(); ok {
			out = append(out, p)
		}
	}
	return out
}

// product returns every conjunction of a piece of a with a piece of b, in
// order: the decompositions of two matches in one rule multiply.
func product(a, b []piece) []piece {
	var out []piece
	for _, x := range a {
		for _, y := range b {
			z := x.clone()
			if y.hasPos {
				z.requireStates(y.pos)
			}
			z.neg |= y.neg
			z.nat = append(z.nat, y.nat...)
			z.others = append(z.others, y.others...)
			out = append(out, z)
		}
	}
	return out
}

// decompose splits one conntrack match into mutually exclusive pieces (see
// the package comment). With R its real states (nft bits), N its NAT status
// bits, NB = invalid|untracked and O its other options:
//
//	--ctstate:   A = state in R∩NB;  B = state in R∖NB, O;  C = state not in R∖NB, status & N != 0, O
//	! --ctstate: A = state in NB∖R;  B = state not in R∪NB, status & N == 0, O
//
// each piece present only when its sets are not empty; without O and N, A
// and B are the single test "state in R" (negated: "state not in R").
func decompose(m *parse.Conntrack, fam parse.Family) []piece {
	// The pieces, their other options and their NAT test are allocated
	// together when the match has few options (most have one or two).
	room := &struct {
		pieces [maxMatchPieces]piece
		others [2]atom
		nat    [1]expr.Ct
	}{}
	others := room.others[:0] // (append moves them when there are more)
	var stateOpt *parse.Option
	for i, k := range optionKinds {
		o := m.Option(k)
		if o == nil {
			continue
		}
		if k == parse.OptState {
			stateOpt = o
			continue
		}
		others = append(others, kindCompilers[i](o, fam))
	}
	out := room.pieces[:0]
	if stateOpt == nil {
		return append(out, piece{others: others})
	}
	r, n := stateBits(stateOpt.States)
	if len(others) == 0 && n == 0 {
		p := piece{}
		if stateOpt.Negated {
			p.neg = r
		} else {
			p.requireStates(r)
		}
		return append(out, p)
	}
	if !stateOpt.Negated {
		if r&nb != 0 {
			p := piece{}
			p.requireStates(r & nb)
			out = append(out, p)
		}
		if r&^nb != 0 {
			p := piece{others: others}
			p.requireStates(r &^ nb)
			out = append(out, p)
		}
		if n != 0 {
			room.nat[0] = natStatus(n, false)
			p := piece{nat: room.nat[:], others: others}
			if r&^nb != 0 {
				p.neg = r &^ nb
			}
			out = append(out, p)
		}
		return out
	}
	if nb&^r != 0 {
		p := piece{}
		p.requireStates(nb &^ r)
		out = append(out, p)
	}
	p := piece{neg: r | nb, others: others}
	if n != 0 {
		room.nat[0] = natStatus(n, true)
		p.nat = room.nat[:]
	}
	return append(out, p)
}

// optionKinds are the conntrack options, in canonical order.
var optionKinds = parse.Kinds()

// kindCompilers are the compilers of optionKinds, in their order (a map
// lookup per option took a twentieth of compiling a rule).
var kindCompilers = func() []func(o *parse.Option, fam parse.Family) atom {
	out := make([]func(o *parse.Option, fam parse.Family) atom, len(optionKinds))
	for i, k := range optionKinds {
		out[i] = compilers[k]
	}
	return out
}()

// stateBits maps xt_conntrack's state bits onto nft's ct state bits (the real
// states) and ct status bits (SNAT and DNAT, which xt derives from the status).
func stateBits(s parse.State) (real, nat uint32) {
	pairs := []struct {
		xt  parse.State
		nft expr.State
	}{
		{parse.StateInvalid, expr.StateInvalid},
		{parse.StateEstablished, expr.StateEstablished},
		{parse.StateRelated, expr.StateRelated},
		{parse.StateNew, expr.StateNew},
		{parse.StateUntracked, expr.StateUntracked},
	}
	for _, p := range pairs {
		if s&p.xt != 0 {
			real |= uint32(p.nft)
		}
	}
	if s&parse.StateSNAT != 0 {
		nat |= uint32(expr.StatusSNAT)
	}
	if s&parse.StateDNAT != 0 {
		nat |= uint32(expr.StatusDNAT)
	}
	return real, nat
}

// natStatus is the test of the virtual states SNAT and DNAT:
// "ct status snat,dnat", negated "ct status ! snat,dnat".
func natStatus(n uint32, negated bool) expr.Ct {
	op := expr.OpAny
	if negated {
		op = expr.OpNone
	}
	return expr.Ct{Key: expr.CtStatus, Op: op, Mask: n}
}

// maxMatches returns how many matches the nft rule of the piece can have at
// most in a table of o.Table: meta nfproto, the state test, the NAT status
// tests and the other options.
func (p piece) maxMatches(o Options) int {
	n := 1 + len(p.nat) + len(p.others)
	if o.Table == expr.FamilyInet {
		n++
	}
	return n
}

// stateTest returns the piece's test of the ct state (with Op 0 when it
// needs none), or false when no packet can pass the piece.
func (p piece) stateTest() (expr.Ct, bool) {
	keyed := len(p.nat) > 0 // the piece reads a ct key other than state, so it needs ct != NULL
	neg := p.neg
	for _, a := range p.others {
		switch a.kind {
		case atomNever:
			return expr.Ct{}, false
		case atomHasCt:
			// Holds for every packet with a conntrack: on its own it is
			// "ct state ! invalid,untracked", next to another ct key nothing.
			neg |= nb
		case atomKey, atomCtKey:
			keyed = true
		}
	}
	// A piece that reads another ct key only ever sees packets with a
	// conntrack: their state is new, established or related, so invalid and
	// untracked need no test there.
	possible := everyState
	if keyed {
		possible = trackedStates
	}
	if p.hasPos {
		allowed := p.pos &^ neg
		if keyed {
			allowed &^= nb
		}
		if allowed&possible == 0 {
			return expr.Ct{}, false
		}
		return expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: allowed}, true
	}
	if keyed {
		neg &^= nb
	}
	if possible&^neg == 0 {
		return expr.Ct{}, false
	}
	if neg != 0 {
		return expr.Ct{Key: expr.CtState, Op: expr.OpNone, Mask: neg}, true
	}
	return expr.Ct{}, true
}

// appendMatches appends the nft matches of the piece in canonical order —
// the state test, the NAT status test, the other options — or returns false
// when no packet can pass it.
func (p piece) appendMatches(out []expr.Match) ([]expr.Match, bool) {
	state, ok := p.stateTest()
	if !ok {
		return out, false
	}
	if state.Op != 0 {
		out = append(out, ctMatch(state))
	}
	var buf [8]expr.Ct
	rest := buf[:0]
	statusNone := -1 // index in rest of the "status & X == 0" test
	addStatus := func(c expr.Ct) {
		if c.Op == expr.OpNone && statusNone >= 0 {
			// Two "none of these bits" tests are one: & (X|Y) == 0.
			rest[statusNone].Mask |= c.Mask
			return
		}
		if c.Op == expr.OpNone {
			statusNone = len(rest)
		}
		rest = append(rest, c)
	}
	for _, c := range p.nat {
		addStatus(c)
	}
	for _, a := range p.others {
		if a.kind != atomKey {
			continue
		}
		if a.ct.Key == expr.CtStatus {
			addStatus(a.ct)
		} else {
			rest = append(rest, a.ct)
		}
	}
	for _, c := range rest {
		out = append(out, ctMatch(c))
	}
	return out, true
}

// compilers is compile's dispatch table: one function per option other than
// --ctstate (which decompose handles), each giving the condition the option
// adds to a piece.
var compilers = map[parse.OptionKind]func(o *parse.Option, fam parse.Family) atom{
	parse.OptProto:       ctProto,
	parse.OptOrigSrc:     ctAddr,
	parse.OptOrigDst:     ctAddr,
	parse.OptReplSrc:     ctAddr,
	parse.OptReplDst:     ctAddr,
	parse.OptOrigSrcPort: ctPort,
	parse.OptOrigDstPort: ctPort,
	parse.OptReplSrcPort: ctPort,
	parse.OptReplDstPort: ctPort,
	parse.OptStatus:      ctStatus,
	parse.OptExpire:      ctExpire,
	parse.OptDir:         ctDir,
}

func key(c expr.Ct) atom { return atom{kind: atomKey, ct: c} }

// always is an option that holds for every packet with a conntrack: "has a
// conntrack", or, negated, nothing.
func always(negated bool) atom {
	if negated {
		return atom{kind: atomNever}
	}
	return atom{kind: atomHasCt}
}

// ctProto compiles --ctproto P to "ct original protocol P"
// (negated: "ct original protocol != P").
func ctProto(o *parse.Option, _ parse.Family) atom {
	return key(expr.Ct{Key: expr.CtProtocol, Dir: expr.DirOriginal, Op: eqOp(o.Negated), Lo: uint32(o.Proto)})
}

// ctAddr compiles --ctorigsrc/--ctorigdst/--ctreplsrc/--ctrepldst A/M to
// "ct original ip saddr A/M" (or ip6, daddr, reply; negated "!="), with the
// address pre-masked and a mask that need not be contiguous:
// "ct original ip saddr & 255.0.255.0 == 10.0.5.0". A /0 mask holds for every
// packet with a conntrack ("ct state ! invalid,untracked" on its own).
func ctAddr(o *parse.Option, fam parse.Family) atom {
	if !o.Addr.Mask.IsValid() || o.Addr.Mask.IsUnspecified() {
		// A zero mask compares nothing: every packet with a conntrack (of
		// the rule's family, the only one it sees) passes.
		return always(o.Negated)
	}
	var k expr.CtKey
	src := o.Kind == parse.OptOrigSrc || o.Kind == parse.OptReplSrc
	switch {
	case fam == parse.IPv6 && src:
		k = expr.CtSrcIP6
	case fam == parse.IPv6:
		k = expr.CtDstIP6
	case src:
		k = expr.CtSrcIP
	default:
		k = expr.CtDstIP
	}
	return key(expr.Ct{Key: k, Dir: dirOf(o.Kind), Op: eqOp(o.Negated), Addr: o.Addr.Masked(), AddrMask: o.Addr.Mask})
}

// ctPort compiles the port options to "ct original proto-dst 22" or a range
// "ct reply proto-src 1000-2000" (negated "!="), with no protocol test: xt
// compares the tuple's raw port field for every protocol (for ICMP, type<<8|code
// and the id). The range 0:65535 holds for every packet with a conntrack.
func ctPort(o *parse.Option, _ parse.Family) atom {
	switch {
	case o.Lo == 0 && o.Hi == math.MaxUint16:
		// Every port: every packet with a conntrack passes.
		return always(o.Negated)
	case o.Lo > o.Hi:
		// A reversed range (iptables 1.8.9 takes it): xt_conntrack's
		// port_match finds no port in it, so that every packet with a
		// conntrack passes only the negated option.
		return always(!o.Negated)
	}
	k := expr.CtProtoSrc
	if o.Kind == parse.OptOrigDstPort || o.Kind == parse.OptReplDstPort {
		k = expr.CtProtoDst
	}
	c := expr.Ct{Key: k, Dir: dirOf(o.Kind), Lo: o.Lo}
	if o.Lo == o.Hi {
		c.Op = eqOp(o.Negated)
	} else {
		c.Op, c.Hi = rangeOp(o.Negated), o.Hi
	}
	return key(c)
}

// ctStatus compiles --ctstatus S to "ct status S" (any of the bits; negated
// "ct status ! S"). NONE is no bit: "--ctstatus NONE" never matches and
// "! --ctstatus NONE" holds for every packet with a conntrack.
func ctStatus(o *parse.Option, _ parse.Family) atom {
	if o.Statuses == 0 {
		if o.Negated {
			return atom{kind: atomHasCt}
		}
		return atom{kind: atomNever}
	}
	op := expr.OpAny
	if o.Negated {
		op = expr.OpNone
	}
	return key(expr.Ct{Key: expr.CtStatus, Op: op, Mask: uint32(o.Statuses)})
}

// ctExpire compiles --ctexpire A:B to "ct expiration A000ms-B999ms" (negated
// "!="): xt compares whole seconds left, nft milliseconds, so second B lasts
// until B·1000+999 ms. nft's value is 32 bits of milliseconds: the bounds are
// clamped to 4294967295 ms, a range that starts above it never matches, and a
// range that covers all of it holds for every packet with a conntrack. So
// does the negation of a reversed range (B below A), which holds no time.
func ctExpire(o *parse.Option, _ parse.Family) atom {
	lo := uint64(o.Lo) * 1000
	hi := uint64(o.Hi)*1000 + 999
	if hi > math.MaxUint32 {
		hi = math.MaxUint32
	}
	switch {
	case o.Lo > o.Hi:
		// A reversed range (iptables 1.8.9 takes it) holds no time.
		return always(!o.Negated)
	case lo == 0 && hi == math.MaxUint32:
		return always(o.Negated)
	case lo > math.MaxUint32:
		return always(!o.Negated)
	}
	return key(expr.Ct{Key: expr.CtExpiration, Op: rangeOp(o.Negated), Lo: uint32(lo), Hi: uint32(hi)})
}

// ctDir compiles --ctdir ORIGINAL|REPLY to "ct direction original|reply".
func ctDir(o *parse.Option, _ parse.Family) atom {
	v := uint32(expr.DirOriginal)
	if o.Dir == parse.DirReply {
		v = uint32(expr.DirReply)
	}
	return key(expr.Ct{Key: expr.CtDirection, Op: expr.OpEq, Lo: v})
}

func dirOf(k parse.OptionKind) expr.Dir {
	switch k {
	case parse.OptReplSrc, parse.OptReplDst, parse.OptReplSrcPort, parse.OptReplDstPort:
		return expr.DirReply
	}
	return expr.DirOriginal
}

func eqOp(negated bool) expr.Op {
	if negated {
		return expr.OpNeq
	}
	return expr.OpEq
}

func rangeOp(negated bool) expr.Op {
	if negated {
		return expr.OpNotRange
	}
	return expr.OpRange
}
