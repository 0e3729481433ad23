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

// This file compiles the mark, connmark and limit matches. The kernel facts
// (docs/semantics.md, "Marks" and "Limits", gives the source lines):
//
//   - xt_mark.c's mark_mt: ((skb->mark & mask) == mark) ^ invert, for every
//     packet. nft_meta.c loads skb->mark for "meta mark"; nft_bitwise.c and
//     nft_cmp.c do the mask and the (in)equality: the same for every packet.
//   - xt_connmark.c's connmark_mt: no conntrack (nf_ct_get gives NULL, for
//     untracked packets too) returns false, before and whatever the invert;
//     otherwise ((ct->mark & mask) == mark) ^ invert. nft_ct.c's "ct mark"
//     stops the rule (NFT_BREAK) when there is no conntrack, for == and !=
//     alike: the same. A rule with a connmark match can therefore only match
//     packets with a conntrack, which the conntrack pieces use (atomCtKey).
//   - xt_limit.c's limit_mt: a token bucket in credits, refilled per jiffy,
//     of depth user2credits(avg·burst), a packet costing user2credits(avg).
//     nft_limit.c: a token bucket in nanoseconds, refilled continuously, of
//     depth burst·(unit/rate), a packet costing unit/rate. The nft burst is
//     xt's whole packets in a full bucket, depth/cost, which is the burst
//     iptables was given unless xt's 32-bit arithmetic rounds it down.
//
// The marks and limits go after every other test of the rule: the marks
// have no side effect, so their place does not matter; a limit takes a
// token from every packet that reaches it, so it must come after exactly
// the tests xt makes before it, which is every test of the rule when
// nothing but limits and comments follow -m limit in the words.

// markMatch compiles a mark or connmark match: "meta mark & 0xff ==
// 0x1", "ct mark != 0x5".
func markMatch(m *parse.Mark) expr.Mark {
	o := m.Option
	op := expr.OpEq
	if o.Negated {
		op = expr.OpNeq
	}
	return expr.Mark{Ct: m.Conn(), Op: op, Value: o.Value, Mask: o.Mask}
}

// The xt_limit facts ctmatch computes with, for kernels with HZ 250 (128
// credits a jiffy) or 1000 (32 a jiffy): HZ·CREDITS_PER_JIFFY is 32000 on
// both (parse.XTLimitCreditsPerSecond).
const (
	// limitRateTolerance bounds how far xt's long-run rate, 32000/cost
	// packets a second, may be from the rate iptables prints: one part in
	// limitRateTolerance.
	limitRateTolerance = 1000
)

// limitMatch compiles a limit match to "limit rate N/UNIT burst B packets"
// with the rate iptables-save prints and B xt's whole packets in a full
// bucket. It refuses a limit whose long-run rate in xt differs from that
// rate by more than one part in 1000 (xt truncates avg and its credits), or
// whose bucket, in xt, fills up within one jiffy (xt then loses the
// credits of the rest of the jiffy, nft none: their rates differ).
func limitMatch(m *parse.Limit) (expr.Limit, error) {
	avg, burst := m.Avg(), m.BurstN()
	cost, depth, ok := parse.XTLimitBucket(avg, burst)
	if !ok {
		return expr.Limit{}, fmt.Errorf("col %d: the kernel's xt_limit refuses rate %s with burst %d", m.Pos()+1, parse.LimitRateText(avg), burst)
	}
	n, unit := parse.LimitRateUnit(avg)
	secs := parse.LimitUnitSeconds(unit)
	// xt: 32000·secs credits per unit of time, cost credits per packet;
	// nft: n packets per unit.
	xt := uint64(parse.XTLimitCreditsPerSecond) * secs
	nft := uint64(cost) * uint64(n)
	diff := max(xt, nft) - min(xt, nft)
	if diff*limitRateTolerance > nft {
		return expr.Limit{}, fmt.Errorf("col %d: -m limit --limit %s is %s packets a second in the kernel's xt_limit, whose 32-bit credits round it (%d credits a packet, 32000 a second), %.4f%% from the rate nft would count; rates per second that divide 2000 (1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100 …), and most per minute or hour, are exact",
			m.Pos()+1, parse.LimitRateText(avg), strconv.FormatFloat(float64(parse.XTLimitCreditsPerSecond)/float64(cost), 'f', 4, 64),
			cost, 100*float64(diff)/float64(nft))
	}
	if int64(depth)-int64(cost) < parse.XTLimitMaxCreditsPerJiffy-1 && (cost%parse.XTLimitMaxCreditsPerJiffy != 0 || depth%parse.XTLimitMaxCreditsPerJiffy != 0) {
		return expr.Limit{}, fmt.Errorf("col %d: with --limit %s --limit-burst %d the kernel's xt_limit bucket (%d credits, %d a packet) fills within one jiffy of %d credits, and xt then passes fewer packets than nft's limit, which refills every nanosecond: raise the burst",
			m.Pos()+1, parse.LimitRateText(avg), burst, depth, cost, parse.XTLimitMaxCreditsPerJiffy)
	}
	return expr.Limit{Rate: uint64(n), Unit: secs, Burst: depth / cost}, nil
}

// suffixMatches compiles the mark, connmark and limit matches of r into the
// matches every nft rule of r ends with: the marks in the order written,
// then the limits in the order written. hasCtKey says whether a connmark
// match is among them. A filtering match after a limit is refused: nft
// would test it before the limit, xt after it.
func suffixMatches(r *parse.Rule) (ms []expr.Match, hasCtKey bool, err error) {
	var limits []expr.Match
	var limitAt parse.Match
	for _, m := range r.Matches {
		switch m := m.(type) {
		case *parse.Comment:
			continue
		case *parse.Limit:
			l, err := limitMatch(m)
			if err != nil {
				return nil, false, err
			}
			limits = append(limits, l)
			if limitAt == nil {
				limitAt = m
			}
			continue
		case *parse.Mark:
			ms = append(ms, markMatch(m))
			hasCtKey = hasCtKey || m.Conn()
		}
		if limitAt != nil {
			return nil, false, fmt.Errorf("col %d: a match after -m limit (col %d) is tested after it in xt, which takes a token from every packet that reaches it; ctmatch puts the limit after every test of the rule: write -m limit last", m.Pos()+1, limitAt.Pos()+1)
		}
	}
	return append(ms, limits...), hasCtKey, nil
}

// hasLimit reports whether ms holds a limit.
func hasLimit(ms []expr.Match) bool {
	for _, m := range ms {
		if _, ok := m.(expr.Limit); ok {
			return true
		}
	}
	return false
}

// suffixWords returns the iptables words of the matches suffixMatches
// compiles to, taken from the end of ms, and the rest of ms.
func suffixWords(ms []expr.Match) ([]string, []expr.Match, error) {
	start := len(ms)
	for start > 0 {
		switch ms[start-1].(type) {
		case expr.Mark, expr.Limit:
			start--
			continue
		}
		break
	}
	var words []string
	for _, m := range ms[start:] {
		switch m := m.(type) {
		case expr.Mark:
			module := "mark"
			if m.Ct {
				module = "connmark"
			}
			words = append(words, "-m", module)
			if m.Op == expr.OpNeq {
				words = append(words, "!")
			}
			words = append(words, "--mark", parse.MarkText(m.Value, m.Mask))
		case expr.Limit:
			w, err := limitWords(m)
			if err != nil {
				return nil, nil, err
			}
			words = append(words, w...)
		}
	}
	return words, ms[:start], nil
}

// limitWords returns the words of an xt limit that compiles to l: the rate
// as iptables prints it, and the smallest burst whose whole packets in xt's
// bucket are l's burst.
func limitWords(l expr.Limit) ([]string, error) {
	unit := ""
	switch l.Unit {
	case 1:
		unit = "sec"
	case 60:
		unit = "min"
	case 3600:
		unit = "hour"
	case 86400:
		unit = "day"
	}
	if unit == "" || l.Rate == 0 || l.Rate > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %v has no iptables limit", ErrNotUnderstood, l)
	}
	text := strconv.FormatUint(l.Rate, 10) + "/" + unit
	scale := uint64(parse.LimitScale) * l.Unit // 1/10000 s in the unit
	if l.Rate > scale {
		return nil, fmt.Errorf("%w: %v is faster than iptables' 10000/second", ErrNotUnderstood, l)
	}
	avg := uint32(scale / l.Rate) // as parse_rate computes it
	for burst := uint32(1); burst <= 10000; burst++ {
		cost, depth, ok := parse.XTLimitBucket(avg, burst)
		if !ok || depth/cost != l.Burst {
			continue
		}
		words := []string{"-m", "limit", "--limit", text}
		if burst != parse.LimitDefaultBurst {
			words = append(words, "--limit-burst", strconv.FormatUint(uint64(burst), 10))
		}
		return words, nil
	}
	return nil, fmt.Errorf("%w: no xt limit of %s has a burst of %d", ErrNotUnderstood, text, l.Burst)
}

// firstLimit returns the position of the rule's first limit match.
func firstLimit(r *parse.Rule) parse.Pos {
	for _, m := range r.Matches {
		if l, ok := m.(*parse.Limit); ok {
			return l.Pos()
		}
	}
	return 0
}

// splitSuffix takes the marks and limits off the end of every piece, which
// must end in the same ones, and returns their words and the pieces
// without them.
func splitSuffix(pieces []expr.Rule) (string, []expr.Rule, error) {
	words, rest, err := suffixWords(pieces[0].Matches)
	if err != nil {
		return "", nil, err
	}
	n := len(pieces[0].Matches) - len(rest)
	if n == 0 {
		return "", pieces, nil
	}
	tail := pieces[0].Matches[len(rest):]
	out := make([]expr.Rule, len(pieces))
	for i, p := range pieces {
		if len(p.Matches) < n || !slices.Equal(p.Matches[len(p.Matches)-n:], tail) {
			return "", nil, fmt.Errorf("%w: the pieces end in different marks or limits", ErrNotUnderstood)
		}
		p.Matches = p.Matches[: len(p.Matches)-n : len(p.Matches)-n]
		out[i] = p
	}
	return strings.Join(words, " "), out, nil
}
