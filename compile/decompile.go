package compile

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// Listed is an nft rule as read back from the kernel: its IR and, when it
// carries one, its group record.
type Listed struct {
	Rule    expr.Rule
	Group   expr.Group
	Grouped bool // the rule carries a ctmatch group record
}

// Decompiled is one iptables rule rebuilt from nft rules: the First..First+Count-1
// rules of the list, or an error saying why they are not a rule ctmatch
// understands (Count is then 1).
type Decompiled struct {
	Rule   *parse.Rule // the rule, in canonical form; nil with Err
	Family parse.Family
	First  int
	Count  int
	Err    error
	// Both says the rule is for both families (a rule of an inet table
	// without meta nfproto: DecompileBoth); Family is then IPv4.
	Both bool
}

// Chain decompiles the rules of a chain, in order, grouping the pieces of one
// iptables rule into one Decompiled by their group record (its words are
// used when they compile back to exactly those rules). Only a whole group
// (every piece, in order, each with the same id and count) is one
// Decompiled; a rule without a record, or a piece of a group that is not
// whole, is one of its own, whatever its shape: two rules that one
// iptables rule could have compiled to are not taken for its pieces, since
// nothing says they are (two rules written by hand, each with its own
// comment, look the same). Every rule of the list is in exactly one
// Decompiled.
func Chain(rules []Listed, table expr.Family) []Decompiled {
	var out []Decompiled
	for i := 0; i < len(rules); {
		d := decompileAt(rules, i, table)
		out = append(out, d)
		i += d.Count
	}
	return out
}

func decompileAt(rules []Listed, i int, table expr.Family) Decompiled {
	if d, ok := decompileBothAt(rules, i, table); ok {
		return d
	}
	if g := rules[i].Group; rules[i].Grouped && g.Index == 0 && i+g.Count <= len(rules) {
		group := rules[i : i+g.Count]
		whole := true
		for k, l := range group {
			whole = whole && l.Grouped && l.Group.ID == g.ID && l.Group.Index == k && l.Group.Count == g.Count
		}
		if whole {
			pieces := rulesOf(group)
			fam := parse.IPv4
			if g.IPv6 {
				fam = parse.IPv6
			}
			if g.Words != "" {
				if r, err := parse.ParseText(g.Words, parse.Options{Family: fam}); err == nil && compilesTo(r, fam, table, wordsComment(r, pieces)) {
					return Decompiled{Rule: r, Family: fam, First: i, Count: g.Count}
				}
			}
			if r, fam, err := Decompile(pieces, table); err == nil {
				return Decompiled{Rule: r, Family: fam, First: i, Count: g.Count}
			}
		}
	}
	r, fam, err := Decompile([]expr.Rule{rules[i].Rule}, table)
	return Decompiled{Rule: r, Family: fam, First: i, Count: 1, Err: err}
}

func rulesOf(ls []Listed) []expr.Rule {
	out := make([]expr.Rule, len(ls))
	for i, l := range ls {
		out[i] = l.Rule
	}
	return out
}

// ErrNotUnderstood says that nft rules are not ones an iptables conntrack rule
// compiles to.
var ErrNotUnderstood = errors.New("not a rule ctmatch understands")

// Decompile returns the iptables rule that compiles to exactly the nft rules
// given (one rule, or the pieces of one), and the family of its words. Counters
// are not compared: every piece either has one or none. The pieces' comment
// is the rule's -m comment, unless no -m comment can say it (see
// bareComment): then the words leave it out.
func Decompile(pieces []expr.Rule, table expr.Family) (*parse.Rule, parse.Family, error) {
	if len(pieces) == 0 {
		return nil, 0, fmt.Errorf("%w: no rules", ErrNotUnderstood)
	}
	pieces = bareComment(pieces)
	var cands []string
	fam, err := familyOf(pieces[0], table)
	if err != nil {
		return nil, 0, err
	}
	pieces0 := pieces
	pre, pieces, either, err := splitPacketMatches(pieces)
	if err != nil {
		return nil, 0, err
	}
	packet, err := packetWords(pre, either)
	if err != nil {
		return nil, 0, err
	}
	suffix, pieces, err := splitSuffix(pieces)
	if err != nil {
		return nil, 0, err
	}
	if len(pieces) == 1 {
		w, err := pieceWords(pieces[0], fam)
		if err != nil {
			return nil, 0, err
		}
		// "! --ctstate SNAT" alone also matches packets without a conntrack;
		// a match that needs one keeps those out.
		cands = append(cands, w, w+" -m conntrack ! --ctstatus NONE")
	} else {
		cands = groupCandidates(pieces, fam)
		cands = append(cands, factoredCandidates(pieces, fam)...)
	}
	target, err := stmtWords(pieces[0], fam)
	if err != nil {
		return nil, 0, err
	}
	comment := commentWords(pieces0[0].Comment)
	for _, c := range cands {
		words := strings.TrimSpace(packet + " " + c + " " + suffix + " " + comment + " " + target)
		r, err := parse.ParseText(words, parse.Options{Family: fam})
		if err != nil {
			continue
		}
		if compilesTo(r, fam, table, pieces0) {
			return r, fam, nil
		}
	}
	return nil, 0, fmt.Errorf("%w: no iptables rule compiles to %s", ErrNotUnderstood, describe(pieces0))
}

func describe(pieces []expr.Rule) string {
	var s []string
	for _, p := range pieces {
		s = append(s, strconv.Quote(p.String()))
	}
	return strings.Join(s, " + ")
}

// compilesTo reports whether r compiles to exactly want, counters aside.
func compilesTo(r *parse.Rule, fam parse.Family, table expr.Family, want []expr.Rule) bool {
	got, err := Rule(r, Options{Table: table, Family: fam, Counter: len(want) > 0 && want[0].Counter, Chain: StmtChain(want)})
	if err != nil || len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].String() != want[i].String() {
			return false
		}
	}
	return true
}

// familyOf returns the family of an iptables rule that can compile to r.
func familyOf(r expr.Rule, table expr.Family) (parse.Family, error) {
	switch table {
	case expr.FamilyIP:
		return parse.IPv4, nil
	case expr.FamilyIP6:
		return parse.IPv6, nil
	}
	if len(r.Matches) > 0 {
		if n, ok := r.Matches[0].(expr.Nfproto); ok {
			if n.Family == expr.FamilyIP6 {
				return parse.IPv6, nil
			}
			return parse.IPv4, nil
		}
	}
	return 0, fmt.Errorf("%w: a rule in an inet table without meta nfproto first matches both families, an iptables rule one", ErrNotUnderstood)
}

func targetWords(v expr.Verdict) (string, error) {
	switch v.Kind {
	case expr.VerdictNone:
		return "", nil
	case expr.VerdictAccept:
		return "-j ACCEPT", nil
	case expr.VerdictDrop:
		return "-j DROP", nil
	case expr.VerdictReturn:
		return "-j RETURN", nil
	case expr.VerdictJump:
		return "-j " + parse.Quote(v.Chain), nil
	case expr.VerdictGoto:
		return "-g " + parse.Quote(v.Chain), nil
	}
	return "", fmt.Errorf("%w: verdict %v", ErrNotUnderstood, v)
}

// matchSet builds the conntrack matches of one iptables rule, putting each
// option in the first match that does not have it yet.
type matchSet struct {
	matches [][]string                  // the option words of each match
	kinds   []map[parse.OptionKind]bool // the options each match has
}

func (s *matchSet) add(k parse.OptionKind, negated bool, value string, alone bool) {
	words := []string{"--" + k.String(), value}
	if negated {
		words = append([]string{"!"}, words...)
	}
	if !alone {
		for i, m := range s.kinds {
			if !m[k] && !m[parse.OptState] {
				m[k] = true
				s.matches[i] = append(s.matches[i], words...)
				return
			}
		}
	}
	s.matches = append(s.matches, words)
	s.kinds = append(s.kinds, map[parse.OptionKind]bool{k: true})
	if alone {
		s.kinds[len(s.kinds)-1][parse.OptState] = true // nothing else joins it
	}
}

func (s *matchSet) String() string {
	var b []string
	for _, m := range s.matches {
		b = append(b, "-m conntrack")
		b = append(b, m...)
	}
	return strings.Join(b, " ")
}

// pieceWords returns the conntrack matches of an iptables rule that compiles to
// exactly the one nft rule r: the state test and each NAT test in a match of
// their own, the other options in as few matches as they fit.
func pieceWords(r expr.Rule, fam parse.Family) (string, error) {
	var s matchSet
	for _, m := range r.Matches {
		switch m := m.(type) {
		case expr.Nfproto:
			continue
		case expr.Ct:
			if err := s.addCt(m, fam); err != nil {
				return "", err
			}
		default:
			return "", fmt.Errorf("%w: match %v", ErrNotUnderstood, m)
		}
	}
	return s.String(), nil
}

func (s *matchSet) addCt(c expr.Ct, fam parse.Family) error {
	bad := func() error {
		return fmt.Errorf("%w: %q has no iptables conntrack equivalent", ErrNotUnderstood, c.String())
	}
	switch c.Key {
	case expr.CtState:
		states, ok := xtStates(c.Mask)
		if !ok || (c.Op != expr.OpAny && c.Op != expr.OpNone) {
			return bad()
		}
		s.add(parse.OptState, c.Op == expr.OpNone, states, true)
	case expr.CtStatus:
		if c.Op != expr.OpAny && c.Op != expr.OpNone {
			return bad()
		}
		nat := c.Mask & uint32(expr.StatusSNAT|expr.StatusDNAT)
		plain := c.Mask & uint32(expr.StatusExpected|expr.StatusSeenReply|expr.StatusAssured|expr.StatusConfirmed)
		if nat|plain != c.Mask {
			return bad()
		}
		if c.Op == expr.OpAny {
			switch {
			case nat != 0 && plain != 0:
				return bad() // an OR across --ctstate and --ctstatus
			case nat != 0:
				s.add(parse.OptState, false, natNames(nat), true)
			default:
				s.add(parse.OptStatus, false, parse.Status(plain).String(), false)
			}
			return nil
		}
		if nat != 0 {
			s.add(parse.OptState, true, natNames(nat), true)
		}
		if plain != 0 {
			s.add(parse.OptStatus, true, parse.Status(plain).String(), false)
		}
	case expr.CtDirection:
		if c.Lo > 1 || (c.Op != expr.OpEq && c.Op != expr.OpNeq) {
			return bad()
		}
		reply := (c.Lo == 1) == (c.Op == expr.OpEq)
		dir := parse.DirOriginal
		if reply {
			dir = parse.DirReply
		}
		s.add(parse.OptDir, false, dir.String(), false)
	case expr.CtProtocol:
		if c.Op != expr.OpEq && c.Op != expr.OpNeq || c.Lo == 0 || c.Lo > 255 {
			return bad()
		}
		s.add(parse.OptProto, c.Op == expr.OpNeq, strconv.Itoa(int(c.Lo)), false)
	case expr.CtProtoSrc, expr.CtProtoDst:
		k := portOption(c.Key, c.Dir)
		switch c.Op {
		case expr.OpEq, expr.OpNeq:
			s.add(k, c.Op == expr.OpNeq, strconv.Itoa(int(c.Lo)), false)
		case expr.OpRange, expr.OpNotRange:
			s.add(k, c.Op == expr.OpNotRange, fmt.Sprintf("%d:%d", c.Lo, c.Hi), false)
		default:
			return bad()
		}
	case expr.CtSrcIP, expr.CtDstIP, expr.CtSrcIP6, expr.CtDstIP6:
		v6 := c.Key == expr.CtSrcIP6 || c.Key == expr.CtDstIP6
		if v6 != (fam == parse.IPv6) || (c.Op != expr.OpEq && c.Op != expr.OpNeq) {
			return bad()
		}
		a := parse.Addr{Addr: c.Addr, Mask: c.AddrMask}
		s.add(addrOption(c.Key, c.Dir), c.Op == expr.OpNeq, a.String(), false)
	case expr.CtExpiration:
		if c.Op != expr.OpRange && c.Op != expr.OpNotRange || c.Lo%1000 != 0 {
			return bad()
		}
		hi := uint64(c.Hi)
		if hi == math.MaxUint32 {
			hi = maxExpireSecond*1000 + 999
		}
		if hi%1000 != 999 {
			return bad()
		}
		s.add(parse.OptExpire, c.Op == expr.OpNotRange, fmt.Sprintf("%d:%d", c.Lo/1000, hi/1000), false)
	default:
		return bad()
	}
	return nil
}

// xtStates names nft state bits as --ctstate states.
func xtStates(mask uint32) (string, bool) {
	names := []struct {
		bit  expr.State
		name string
	}{
		{expr.StateInvalid, "INVALID"}, {expr.StateNew, "NEW"}, {expr.StateRelated, "RELATED"},
		{expr.StateEstablished, "ESTABLISHED"}, {expr.StateUntracked, "UNTRACKED"},
	}
	var out []string
	rest := mask
	for _, n := range names {
		if mask&uint32(n.bit) != 0 {
			out = append(out, n.name)
			rest &^= uint32(n.bit)
		}
	}
	return strings.Join(out, ","), rest == 0 && mask != 0
}

func natNames(n uint32) string {
	var out []string
	if n&uint32(expr.StatusSNAT) != 0 {
		out = append(out, "SNAT")
	}
	if n&uint32(expr.StatusDNAT) != 0 {
		out = append(out, "DNAT")
	}
	return strings.Join(out, ",")
}

func portOption(k expr.CtKey, d expr.Dir) parse.OptionKind {
	switch {
	case k == expr.CtProtoSrc && d == expr.DirReply:
		return parse.OptReplSrcPort
	case k == expr.CtProtoSrc:
		return parse.OptOrigSrcPort
	case d == expr.DirReply:
		return parse.OptReplDstPort
	}
	return parse.OptOrigDstPort
}

func addrOption(k expr.CtKey, d expr.Dir) parse.OptionKind {
	src := k == expr.CtSrcIP || k == expr.CtSrcIP6
	switch {
	case src && d == expr.DirReply:
		return parse.OptReplSrc
	case src:
		return parse.OptOrigSrc
	case d == expr.DirReply:
		return parse.OptReplDst
	}
	return parse.OptOrigDst
}

// groupCandidates guesses the single conntrack match whose decomposition the
// pieces are (design.md's A, B, C): R from the state tests, N from the NAT
// status tests, O from the other options of the last piece. Each candidate is
// checked by compiling it.
func groupCandidates(pieces []expr.Rule, fam parse.Family) []string {
	last := pieces[len(pieces)-1]
	var o matchSet
	var statusNone uint32
	natAny, natNone := uint32(0), uint32(0)
	var skip bool
	for _, m := range last.Matches {
		c, ok := m.(expr.Ct)
		if !ok || c.Key == expr.CtState {
			continue
		}
		if c.Key == expr.CtStatus {
			nat := c.Mask & uint32(expr.StatusSNAT|expr.StatusDNAT)
			if c.Op == expr.OpAny && nat == c.Mask && natAny == 0 {
				natAny = nat
				continue
			}
			if c.Op == expr.OpNone {
				natNone |= nat
				statusNone |= c.Mask &^ nat
				continue
			}
		}
		if err := o.addCt(c, fam); err != nil {
			skip = true
		}
	}
	if skip || len(o.matches) > 1 {
		return nil
	}
	var other []string
	if len(o.matches) == 1 {
		other = o.matches[0]
	}
	if statusNone != 0 {
		other = append(other, "!", "--ctstatus", parse.Status(statusNone).String())
	}
	// Positive: R is the union of the state sets, N the NAT test.
	var real uint32
	for _, p := range pieces {
		for _, m := range p.Matches {
			if c, ok := m.(expr.Ct); ok && c.Key == expr.CtState && c.Op == expr.OpAny {
				real |= c.Mask
			}
		}
	}
	var cands []string
	nats := []uint32{natAny}
	if natAny == 0 {
		// A C piece that could never match was dropped: its NAT states
		// are not in the rules any more.
		nats = append(nats, uint32(expr.StatusSNAT), uint32(expr.StatusDNAT), uint32(expr.StatusSNAT|expr.StatusDNAT))
	}
	for _, n := range nats {
		if states := joinStates(real, n); states != "" {
			cands = append(cands, strings.Join(append([]string{"-m conntrack --ctstate", states}, other...), " "))
		}
	}
	// Negated: A holds NB∖R, B tests ! R∖NB and ! N.
	var aSet, bNeg uint32
	for i, p := range pieces {
		for _, m := range p.Matches {
			if c, ok := m.(expr.Ct); ok && c.Key == expr.CtState {
				if i == 0 && c.Op == expr.OpAny && len(pieces) == 2 {
					aSet = c.Mask
				}
				if c.Op == expr.OpNone {
					bNeg |= c.Mask
				}
			}
		}
	}
	// (With an option that needs a conntrack, B tests ! R∪NB instead, and
	// A holds NB∖R: R is what B excludes beyond A.)
	for _, negReal := range []uint32{(nb &^ aSet) | bNeg, bNeg &^ aSet} {
		if states := joinStates(negReal, natNone); states != "" {
			cands = append(cands, strings.Join(append([]string{"-m conntrack ! --ctstate", states}, other...), " "))
		}
	}
	if len(other) == 0 {
		// An option that holds for every packet with a conntrack compiles
		// to no match of its own (only "has a conntrack"): it is written
		// ! --ctstatus NONE.
		for _, c := range slices.Clone(cands) {
			cands = append(cands, c+" ! --ctstatus NONE")
		}
	}
	return cands
}

func joinStates(real, nat uint32) string {
	var parts []string
	if real != 0 {
		s, ok := xtStates(real)
		if !ok {
			return ""
		}
		parts = append(parts, s)
	}
	if nat != 0 {
		parts = append(parts, natNames(nat))
	}
	return strings.Join(parts, ",")
}

// factoredCandidates handles the pieces of several matches whose conditions
// common to every piece come from a match of their own (such as
// "--ctstate NEW,DNAT -m conntrack ! --ctstate SNAT"): the rest is decompiled
// as a group and the common conditions as one rule, and the two are joined.
func factoredCandidates(pieces []expr.Rule, fam parse.Family) []string {
	var common []expr.Match
	for _, m := range pieces[0].Matches {
		c, ok := m.(expr.Ct)
		if !ok || c.Key == expr.CtState {
			continue
		}
		inAll := true
		for _, p := range pieces[1:] {
			inAll = inAll && slices.ContainsFunc(p.Matches, func(x expr.Match) bool { return expr.Equal(x, m) })
		}
		if inAll {
			common = append(common, c)
		}
	}
	if len(common) == 0 {
		return nil
	}
	rest := make([]expr.Rule, len(pieces))
	for i, p := range pieces {
		r := p
		r.Matches = slices.DeleteFunc(slices.Clone(p.Matches), func(m expr.Match) bool {
			return slices.ContainsFunc(common, func(x expr.Match) bool { return expr.Equal(x, m) })
		})
		rest[i] = r
	}
	shared, err := pieceWords(expr.Rule{Matches: common}, fam)
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range groupCandidates(rest, fam) {
		out = append(out, c+" "+shared)
	}
	return out
}
