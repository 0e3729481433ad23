package compile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the multiport match. The kernel facts
// (docs/semantics.md, "Multiport", gives the source lines):
//
//   - multiport_mt (net/netfilter/xt_multiport.c) never matches a fragment
//     other than the first (par->fragoff != 0 returns false, negated or
//     not), as xt_tcpudp: the same fragment tests as the tcp and udp
//     matches (fragmentTests).
//   - ports_match_v1 returns true ^ invert as soon as one item holds, and
//     invert when none does: --sports and --dports test one port against
//     the union of the items (inclusive ranges), ! negates the whole list,
//     and --ports holds when the source port or the destination port is in
//     the list; ! --ports when neither is.
//   - the kernel reads the ports at the transport header of the protocol -p
//     names (tcp, udp, udplite, sctp, dccp: the ports are the first four
//     bytes of each), which checkentry requires without "!".
//
// nft's lookup in an anonymous set tests one field against a list, and nft
// 1.0.6 sends a set of one element as a comparison: a list that merges
// into one port or range is a Payload.

// multiport compiles a multiport match to the alternatives of matches, one
// at most of which a packet passes: one, or two for --ports.
//
// --ports S holds when sport ∈ S or dport ∈ S, an OR of two fields that one
// nft rule cannot say. Its two alternatives are "th sport S" and
// "th sport != S th dport S": no packet passes both (sport ∈ S and
// sport ∉ S), and a packet passes one exactly when sport ∈ S, or sport ∉ S
// and dport ∈ S, which is sport ∈ S or dport ∈ S. ! --ports S, neither,
// is one rule: "th sport != S th dport != S".
func multiport(m *parse.Multiport) [][]expr.Match {
	o := m.Option
	elems := make([]expr.Interval, len(o.Ports))
	for i, r := range o.Ports {
		elems[i] = expr.Interval{Lo: uint32(r.Lo), Hi: uint32(r.Hi)}
	}
	elems = expr.CanonicalIntervals(elems)
	switch o.Kind {
	case parse.MultiSrc:
		return [][]expr.Match{{portIn(expr.FieldTHSport, elems, o.Negated)}}
	case parse.MultiDst:
		return [][]expr.Match{{portIn(expr.FieldTHDport, elems, o.Negated)}}
	}
	if o.Negated {
		return [][]expr.Match{{portIn(expr.FieldTHSport, elems, true), portIn(expr.FieldTHDport, elems, true)}}
	}
	return [][]expr.Match{
		{portIn(expr.FieldTHSport, elems, false)},
		{portIn(expr.FieldTHSport, elems, true), portIn(expr.FieldTHDport, elems, false)},
	}
}

// portIn is the test that field is in elems (canonical, not empty), or not
// with negated: "th dport { 22, 80 }", "th dport != { 22, 80 }"; for one
// port or range, "th dport 22", "th dport != 1-1023".
func portIn(field expr.Field, elems []expr.Interval, negated bool) expr.Match {
	if len(elems) > 1 {
		return expr.Lookup{Field: field, Neg: negated, Elems: elems}
	}
	e := elems[0]
	p := expr.Payload{Field: field, Lo: e.Lo}
	switch {
	case e.Lo == e.Hi && !negated:
		p.Op = expr.OpEq
	case e.Lo == e.Hi:
		p.Op = expr.OpNeq
	case !negated:
		p.Op, p.Hi = expr.OpRange, e.Hi
	default:
		p.Op, p.Hi = expr.OpNotRange, e.Hi
	}
	return p
}

// forkAlternatives appends each of alts to each of ms: the product, in the
// order of ms, then of alts.
func forkAlternatives(ms [][]expr.Match, alts [][]expr.Match) [][]expr.Match {
	out := make([][]expr.Match, 0, len(ms)*len(alts))
	for _, m := range ms {
		for _, a := range alts {
			c := make([]expr.Match, 0, len(m)+len(a))
			out = append(out, append(append(c, m...), a...))
		}
	}
	return out
}

// portTest reads a port test as the multiport match's words: the option
// ("--sports", "--dports"), whether it is negated, and the list.
func portTest(m expr.Match) (opt string, negated bool, list string, ok bool) {
	var field expr.Field
	var elems []expr.Interval
	switch m := m.(type) {
	case expr.Lookup:
		field, negated, elems = m.Field, m.Neg, m.Elems
	case expr.Payload:
		if m.Mask != 0 {
			return "", false, "", false
		}
		field = m.Field
		switch m.Op {
		case expr.OpEq, expr.OpNeq:
			elems = []expr.Interval{{Lo: m.Lo, Hi: m.Lo}}
		case expr.OpRange, expr.OpNotRange:
			elems = []expr.Interval{{Lo: m.Lo, Hi: m.Hi}}
		default:
			return "", false, "", false
		}
		negated = m.Op == expr.OpNeq || m.Op == expr.OpNotRange
	default:
		return "", false, "", false
	}
	switch field {
	case expr.FieldTHSport:
		opt = "--sports"
	case expr.FieldTHDport:
		opt = "--dports"
	default:
		return "", false, "", false
	}
	items := make([]string, len(elems))
	for i, e := range elems {
		items[i] = strconv.FormatUint(uint64(e.Lo), 10)
		if e.Hi != e.Lo {
			items[i] += ":" + strconv.FormatUint(uint64(e.Hi), 10)
		}
	}
	return opt, negated, strings.Join(items, ","), true
}

// multiportWords returns the words of a multiport match for the port test
// m: "-m multiport ! --dports 22,80"; with either, m is the source port
// half of a --ports (see joinEitherVariants): "-m multiport --ports 22,80".
func multiportWords(m expr.Match, either bool) ([]string, error) {
	opt, negated, list, ok := portTest(m)
	if !ok {
		return nil, fmt.Errorf("%w: %v is not a port test", ErrNotUnderstood, m)
	}
	words := []string{"-m", "multiport"}
	if negated {
		words = append(words, "!")
	}
	if either {
		opt = "--ports"
	}
	return append(words, opt, list), nil
}

// samePorts reports whether a and b test the same field against the same
// list, b negated where a is not (negated), or equally (!negated).
func samePorts(a, b expr.Match, field expr.Field, negated bool) bool {
	ao, an, al, ok1 := portTest(a)
	bo, bn, bl, ok2 := portTest(b)
	want := "--sports"
	if field == expr.FieldTHDport {
		want = "--dports"
	}
	return ok1 && ok2 && ao == "--sports" && bo == want && al == bl && !an && bn == negated
}

// joinEitherVariants undoes the split of --ports (multiport): when the
// pieces are two halves, the first with "th sport S" at index k of its
// matches and the second the same with "th sport != S th dport S" there,
// it returns the first half and k, with ok. Several --ports split the
// pieces one after the other, the first outermost: the caller joins again.
func joinEitherVariants(pieces []expr.Rule, from int) (joined []expr.Rule, k int, ok bool) {
	n := len(pieces) / 2
	if n == 0 || len(pieces)%2 != 0 {
		return pieces, 0, false
	}
	a0, b0 := pieces[0].Matches, pieces[n].Matches
	for k = from; k < len(a0) && k+1 < len(b0); k++ {
		if !expr.Equal(a0[k], b0[k]) {
			break
		}
	}
	if k >= len(a0) || k+1 >= len(b0) || !samePorts(a0[k], b0[k], expr.FieldTHSport, true) || !samePorts(a0[k], b0[k+1], expr.FieldTHDport, false) {
		return pieces, 0, false
	}
	for i := range n {
		a, b := pieces[i], pieces[n+i]
		if len(b.Matches) != len(a.Matches)+1 || len(a.Matches) <= k ||
			!expr.EqualMatches(a.Matches[:k], b.Matches[:k]) || !expr.EqualMatches(a.Matches[k+1:], b.Matches[k+2:]) ||
			!expr.Equal(a.Matches[k], a0[k]) || !expr.Equal(b.Matches[k], b0[k]) || !expr.Equal(b.Matches[k+1], b0[k+1]) ||
			a.Counter != b.Counter || a.Verdict != b.Verdict || a.Comment != b.Comment {
			return pieces, 0, false
		}
	}
	return pieces[:n], k, true
}

// keepInequalitiesApart rewrites, in ms, a port inequality followed at once
// by another ("th sport != 53 th dport != 53") as a range of one port
// ("th sport != 53-53 th dport != 53"). nft 1.0.6 merges adjacent payload
// inequalities of one header into one load and one "cmp neq" of both
// fields (checked with nft --debug=netlink: "tcp sport != 1 tcp dport != 4"
// sends "payload load 4b @ transport header + 0", "cmp neq 0x04000100"),
// which holds when either port differs: not what the two tests say. A
// range inequality is sent as "range neq" and is not merged, and means the
// same for one port, so the text, Lower and nft all say both tests.
func keepInequalitiesApart(ms []expr.Match) {
	for i := 0; i+1 < len(ms); i++ {
		a, ok1 := ms[i].(expr.Payload)
		b, ok2 := ms[i+1].(expr.Payload)
		if !ok1 || !ok2 || a.Op != expr.OpNeq || b.Op != expr.OpNeq || a.Mask != 0 || b.Mask != 0 {
			continue
		}
		fa, _, _, _ := a.Field.Layout()
		fb, _, _, _ := b.Field.Layout()
		if fa != fb {
			continue
		}
		a.Op, a.Hi = expr.OpNotRange, a.Lo
		ms[i] = a
	}
}
