package parse

import "strings"

// This file reads the limit match ("-m limit [--limit RATE] [--limit-burst
// N]"), as iptables 1.8.9 reads it (extensions/libxt_limit.c): --limit is a
// number of packets, per second unless followed by "/" and a prefix of
// second, minute, hour or day in any case, which iptables keeps as the
// average time between packets in units of 1/10000 s (avg =
// XT_LIMIT_SCALE·unit/N, truncated; avg 0, a rate above 10000/s, is "Rate too
// fast"); --limit-burst is a number 0-10000. Both are optional (3/hour and
// 5), neither is invertible, each at most once. iptables-save prints the
// rate from avg (print_rate: "3/hour", "7/min", "2/sec") and the burst when
// it is not 5.

// The limit match's defaults (libxt_limit.c's XT_LIMIT_AVG, XT_LIMIT_BURST).
const (
	LimitDefaultBurst = 5
	// LimitScale is XT_LIMIT_SCALE: avg counts 1/10000 s.
	LimitScale = 10000
	limitScale = LimitScale
)

// LimitDefaultAvg is avg of the default rate, 3/hour.
const LimitDefaultAvg = limitScale * 60 * 60 / 3

// limitUnits are the units of a rate, in print_rate's order, with their
// length in 1/10000 s.
var limitUnits = [...]struct {
	name, long string
	mult       uint32
}{
	{"day", "day", limitScale * 24 * 60 * 60},
	{"hour", "hour", limitScale * 60 * 60},
	{"min", "minute", limitScale * 60},
	{"sec", "second", limitScale},
}

// Limit is "-m limit [--limit RATE] [--limit-burst N]".
type Limit struct {
	Module  string      `json:"module"`   // "limit"
	Flag    Pos         `json:"pos"`      // the -m word
	NamePos Pos         `json:"name_pos"` // the match name
	Rate    *LimitRate  `json:"rate"`     // nil when not given: 3/hour
	Burst   *LimitBurst `json:"burst"`    // nil when not given: 5
	end     Pos
}

func (*Limit) isMatch() {}

// Pos returns the position of -m.
func (m *Limit) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Limit) End() Pos { return m.end }

// Avg returns the average time between packets iptables gives the kernel,
// in 1/10000 s (xt_rateinfo's avg): the rate's, or the default 3/hour's.
func (m *Limit) Avg() uint32 {
	if m.Rate != nil {
		return m.Rate.Avg
	}
	return LimitDefaultAvg
}

// BurstN returns the burst iptables gives the kernel: --limit-burst's, or 5.
func (m *Limit) BurstN() uint32 {
	if m.Burst != nil {
		return m.Burst.N
	}
	return LimitDefaultBurst
}

// LimitRate is "--limit RATE".
type LimitRate struct {
	Flag  Pos    `json:"pos"`
	Value Word   `json:"value"`
	Avg   uint32 `json:"avg"` // 1/10000 s between packets, as iptables computes it
}

// LimitBurst is "--limit-burst N".
type LimitBurst struct {
	Flag  Pos    `json:"pos"`
	Value Word   `json:"value"`
	N     uint32 `json:"n"`
}

// The options of the limit match.
const (
	limitOptRate  = 1
	limitOptBurst = 2
)

var limitSpecs = []optSpec{
	{long: "limit", what: "a rate such as 3/hour", limit: limitOptRate},
	{long: "limit-burst", what: "a number 0-10000", limit: limitOptBurst},
}

// LimitRateText returns the rate of avg as iptables-save prints it
// (print_rate): the largest unit whose count of packets divides closely
// enough, "3/hour", "7/min", "10000/sec".
func LimitRateText(avg uint32) string {
	n, unit := LimitRateUnit(avg)
	return uitoa(uint64(n)) + "/" + unit
}

// LimitRateUnit returns the number of packets and the unit ("day", "hour",
// "min", "sec") iptables-save prints for avg. avg must not be 0.
func LimitRateUnit(avg uint32) (uint32, string) {
	i := 1
	for ; i < len(limitUnits); i++ {
		u := limitUnits[i].mult
		if avg > u || u/avg < u%avg {
			break
		}
	}
	u := limitUnits[i-1]
	return u.mult / avg, u.name
}

// limitAvgOf returns the avg parse_rate computes for n packets per unit.
func limitAvgOf(n uint32, unit string) uint32 {
	for _, u := range limitUnits {
		if u.name == unit {
			return u.mult / n
		}
	}
	return 0
}

// LimitUnitSeconds returns the length in seconds of a unit LimitRateUnit
// gives.
func LimitUnitSeconds(unit string) uint64 {
	for _, u := range limitUnits {
		if u.name == unit {
			return uint64(u.mult / limitScale)
		}
	}
	return 0
}

// The kernel's credit arithmetic (net/netfilter/xt_limit.c): a jiffy brings
// CREDITS_PER_JIFFY credits, the power of two below 2³²/(HZ·86400), so that
// HZ·CREDITS_PER_JIFFY is 32000 on kernels with HZ 250 (128 a jiffy) or 1000
// (32 a jiffy), the configurations ctmatch computes for.
const (
	// XTLimitCreditsPerSecond is HZ·CREDITS_PER_JIFFY.
	XTLimitCreditsPerSecond = 32000
	// XTLimitMaxCreditsPerJiffy is the most credits one jiffy brings among
	// those configurations (HZ 250).
	XTLimitMaxCreditsPerJiffy = 128
)

// XTLimitCredits is xt_limit.c's user2credits: a time in 1/10000 s as
// credits, in 32-bit arithmetic, dividing first when multiplying would
// overflow.
func XTLimitCredits(user uint32) uint32 {
	if user > 0xFFFFFFFF/XTLimitCreditsPerSecond {
		return (user / limitScale) * XTLimitCreditsPerSecond
	}
	return user * XTLimitCreditsPerSecond / limitScale
}

// XTLimitBucket returns what limit_mt_check gives a rule: the cost of a
// packet (user2credits(avg)) and the bucket's depth, the credits it starts
// with and never exceeds (user2credits(avg·burst), avg·burst in 32 bits);
// ok is false when the kernel refuses the rule with ERANGE (burst 0, or a
// depth below the cost).
func XTLimitBucket(avg, burst uint32) (cost, depth uint32, ok bool) {
	cost, depth = XTLimitCredits(avg), XTLimitCredits(avg*burst)
	return cost, depth, burst != 0 && depth >= cost
}

// limitMatch reads -m limit.
func (p *parser) limitMatch(w, v word) error {
	m := &Limit{Module: "limit", Flag: w.pos, NamePos: v.pos, end: v.end}
	p.rule.Matches = append(p.rule.Matches, m)
	p.lastLimit = m
	return nil
}

// limitSpecExact returns the limit option named name exactly: getopt takes
// "--limit" as itself, not as an abbreviation of --limit-burst.
func (p *parser) limitSpecExact(name string) *optSpec {
	if p.lastLimit == nil {
		return nil
	}
	for i := range limitSpecs {
		if limitSpecs[i].long == name {
			return &limitSpecs[i]
		}
	}
	return nil
}

// limitSpecsLoaded returns the limit match's options when one was loaded.
func (p *parser) limitSpecsLoaded() []optSpec {
	if p.lastLimit == nil {
		return nil
	}
	return limitSpecs
}

// limitOption reads --limit or --limit-burst of the last limit match.
func (p *parser) limitOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastLimit
	name := "--" + spec.long
	if neg != nil {
		return p.errorf(*neg, "limit: option \"%s\" cannot be inverted", name)
	}
	if (spec.limit == limitOptRate && m.Rate != nil) || (spec.limit == limitOptBurst && m.Burst != nil) {
		return p.errorf(w, "limit: option \"%s\" can only be used once", name)
	}
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	if spec.limit == limitOptBurst {
		n, ok := parseCNumber(v.val, 10000)
		if !ok {
			e := p.errorf(v, "limit: bad value %q for option \"--limit-burst\", or out of range (0-10000)", v.val)
			e.Hint = "expected a number 0-10000 (decimal, 0x hex or leading-0 octal)"
			return e
		}
		m.Burst = &LimitBurst{Flag: w.pos, Value: Word{Text: v.val, At: v.pos}, N: uint32(n)}
	} else {
		avg, err := p.limitRate(v)
		if err != nil {
			return err
		}
		m.Rate = &LimitRate{Flag: w.pos, Value: Word{Text: v.val, At: v.pos}, Avg: avg}
		if back := limitAvgOf(LimitRateUnit(avg)); back != avg && p.unsupported == nil {
			// iptables-save's own text of such a rule restores another one.
			p.unsupported = p.unsupportedf(v, "limit: iptables-save prints --limit %s as %s, which reads back as another rate (%d/10000 s between packets, not %d): ctmatch's canonical text, iptables-save's, cannot say it", v.val, LimitRateText(avg), back, avg)
			p.unsupported.Hint = "write --limit " + LimitRateText(avg) + ", the rate iptables-save gives back"
		}
	}
	if v.end > m.end {
		m.end = v.end
	}
	return nil
}

// limitRate reads a rate as libxt_limit.c's parse_rate does: N, or N/UNIT
// where UNIT is a non-empty prefix of second, minute, hour or day in any
// case; avg = 10000·unit/N. iptables reads N with atoi, which skips leading
// blanks, takes a sign and stops at the first other byte; ctmatch takes
// decimal digits only.
func (p *parser) limitRate(v word) (uint32, error) {
	num, unit, hasUnit := strings.Cut(v.val, "/")
	mult := uint32(limitScale)
	if hasUnit {
		mult = 0
		for _, u := range limitUnits {
			if unit != "" && len(unit) <= len(u.long) && strings.EqualFold(unit, u.long[:len(unit)]) {
				mult = u.mult
				break
			}
		}
		if mult == 0 {
			e := p.itemError(v, len(num)+1, unit, "limit: bad rate %q: unknown unit %q", v.val, unit)
			e.Hint = "expected N, N/second, N/minute, N/hour or N/day (any prefix of the unit: 3/s, 3/min, 3/h)"
			return 0, e
		}
	}
	bad := num == ""
	var r uint64
	for i := 0; i < len(num) && !bad; i++ {
		c := num[i]
		if c < '0' || c > '9' {
			bad = true
			break
		}
		if r <= uint64(mult) {
			r = r*10 + uint64(c-'0')
		}
	}
	if bad || r == 0 {
		e := p.itemError(v, 0, num, "limit: bad rate %q: expected a number of packets above 0", v.val)
		e.Hint = "expected N, N/second, N/minute, N/hour or N/day"
		return 0, e
	}
	if r > uint64(mult) {
		e := p.itemError(v, 0, num, "limit: rate too fast %q: at most 10000/second", v.val)
		e.Hint = "iptables keeps the time between packets in 1/10000 s"
		return 0, e
	}
	return mult / uint32(r), nil
}

// checkLimit checks what the kernel checks of a limit match when iptables
// loads it (limit_mt_check): a burst of 0, or one whose bucket overflows the
// kernel's 32-bit credits, is refused with ERANGE ("Numerical result out of
// range"). iptables-nft 1.8.9 loads such a rule all the same, as nft's own
// limit (which takes a burst of 0 as 5): valid iptables that xt_limit gives
// no meaning to, so ctmatch refuses it as unsupported.
func (p *parser) checkLimit(m *Limit) {
	if _, _, ok := XTLimitBucket(m.Avg(), m.BurstN()); ok || p.unsupported != nil {
		return
	}
	at, word := m.NamePos, m.Module
	switch {
	case m.Burst != nil:
		at, word = m.Burst.Value.At, m.Burst.Value.Text
	case m.Rate != nil:
		at, word = m.Rate.Value.At, m.Rate.Value.Text
	}
	end := min(int(at)+len(word), len(p.text))
	e := &Error{Pos: at, Word: p.text[at:end], Text: p.text, Kind: Unsupported,
		Msg: "limit: rate " + LimitRateText(m.Avg()) + " with burst " + uitoa(uint64(m.BurstN())) + " overflows xt_limit's 32-bit credits: the kernel refuses it (Numerical result out of range), and only iptables-nft loads it, as nft's limit"}
	e.Hint = "use a smaller burst or a faster rate"
	if m.BurstN() == 0 {
		e.Msg = "limit: the kernel's xt_limit refuses a burst of 0 (Numerical result out of range); iptables-nft loads it, as nft's limit, which takes a burst of 0 as 5"
		e.Hint = "write the burst you mean, from 1"
	}
	p.unsupported = e
}

// limit prints the match as iptables-save does: "-m limit --limit 3/hour
// --limit-burst 10", the rate always, the burst when it is not 5.
func (p *printer) limit(m *Limit) {
	p.word("-m")
	p.word("limit")
	p.word("--limit")
	p.word(LimitRateText(m.Avg()))
	if n := m.BurstN(); n != LimitDefaultBurst {
		p.word("--limit-burst")
		p.word(uitoa(uint64(n)))
	}
}

// String returns the match in canonical iptables-save form.
func (m *Limit) String() string {
	var p printer
	p.limit(m)
	return p.b.String()
}
