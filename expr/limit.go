package expr

import (
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds nft's packet limit, "limit rate N/UNIT burst B packets"
// (net/netfilter/nft_limit.c): a token bucket of B packets, refilled by N
// packets per UNIT seconds, counted in nanoseconds; a packet that finds no
// whole token stops the rule (NFT_BREAK). It is a statement of the rule,
// but ctmatch keeps it among the matches, where its place in the rule is:
// every test before it decides whether it takes a token.

// Attributes of the limit expression.
const (
	attrLimitRate  = 1 // NFTA_LIMIT_RATE
	attrLimitUnit  = 2 // NFTA_LIMIT_UNIT
	attrLimitBurst = 3 // NFTA_LIMIT_BURST
	attrLimitType  = 4 // NFTA_LIMIT_TYPE
	attrLimitFlags = 5 // NFTA_LIMIT_FLAGS
	attrLimitPad   = 6 // NFTA_LIMIT_PAD

	limitTypePackets = 0 // NFT_LIMIT_PKTS
	limitFlagInv     = 1 // NFT_LIMIT_F_INV
)

// LimitDefaultBurst is the burst nft gives a packet limit written without
// one (and nft lists without one).
const LimitDefaultBurst = 5

// The units nft writes a rate in, with their length in seconds.
var limitUnits = [...]struct {
	name string
	secs uint64
}{
	{"second", 1}, {"minute", 60}, {"hour", 60 * 60}, {"day", 24 * 60 * 60}, {"week", 7 * 24 * 60 * 60},
}

// Limit is "limit rate Rate/Unit burst Burst packets": Rate packets every
// Unit seconds (1, 60, 3600, 86400 or 604800), in a bucket of Burst
// packets.
type Limit struct {
	Rate  uint64
	Unit  uint64 // seconds
	Burst uint32
}

func (Limit) isMatch() {}

// String returns the nft text of the limit, e.g. "limit rate 3/minute
// burst 10 packets".
func (l Limit) String() string { return string(l.appendText(nil)) }

// unitName returns nft's name of a unit in seconds, or "".
func unitName(secs uint64) string {
	for _, u := range limitUnits {
		if u.secs == secs {
			return u.name
		}
	}
	return ""
}

// appendText writes the limit as nft 1.0.6 lists it: the burst only when it
// is not 5.
func (l Limit) appendText(b []byte) []byte {
	if err := checkLimit(l); err != nil {
		return appendInvalid(append(b, "limit "...), err.Error())
	}
	b = strconv.AppendUint(append(b, "limit rate "...), l.Rate, 10)
	b = append(append(b, '/'), unitName(l.Unit)...)
	if l.Burst != LimitDefaultBurst {
		b = strconv.AppendUint(append(b, " burst "...), uint64(l.Burst), 10)
		b = append(b, " packets"...)
	}
	return b
}

func checkLimit(l Limit) error {
	switch {
	case unitName(l.Unit) == "":
		return &fieldError{"a limit per " + strconv.FormatUint(l.Unit, 10) + " seconds, which nft cannot write (second, minute, hour, day or week)"}
	case l.Rate == 0:
		return &fieldError{"a limit rate of 0 (the kernel refuses it)"}
	case l.Burst == 0:
		return &fieldError{"a limit burst of 0 (nft refuses it; the kernel takes it as 5)"}
	case l.Rate+uint64(l.Burst) < l.Rate:
		return &fieldError{"a limit rate and burst whose sum overflows (the kernel refuses it)"}
	}
	return nil
}

// lowerLimit encodes the limit as nft sends it: rate, unit, burst, type
// packets, flags 0.
func lowerLimit(ae *nfnl.Encoder, l Limit) {
	at := ae.BeginExpr("limit")
	ae.U64(attrLimitRate, l.Rate)
	ae.U64(attrLimitUnit, l.Unit)
	ae.U32(attrLimitBurst, l.Burst)
	ae.U32(attrLimitType, limitTypePackets)
	ae.U32(attrLimitFlags, 0)
	ae.EndExpr(at)
}

// limit reads a packet limit, as nft sends it or the kernel dumps it (which
// may add NFTA_LIMIT_PAD). A byte limit, an inverted one ("limit rate
// over") or one without a burst is not what ctmatch writes.
func (p *raiser) limit(i int) (Match, error) {
	e := &p.es[i]
	for _, a := range []uint16{attrLimitRate, attrLimitUnit, attrLimitBurst} {
		if !e.has(a) {
			return nil, p.fail(i, "limit without attribute %d", a)
		}
	}
	if e.u[attrLimitType] != limitTypePackets {
		return nil, p.fail(i, "a limit of bytes")
	}
	if e.u[attrLimitFlags]&limitFlagInv != 0 {
		return nil, p.fail(i, "an inverted limit (limit rate over)")
	}
	if e.u[attrLimitFlags] != 0 {
		return nil, p.fail(i, "limit flags %#x", e.u[attrLimitFlags])
	}
	l := Limit{Rate: e.u[attrLimitRate], Unit: e.u[attrLimitUnit], Burst: uint32(e.u[attrLimitBurst])}
	if err := checkLimit(l); err != nil {
		return nil, p.fail(i, "%v", err)
	}
	p.i++
	return l, nil
}

// debugLimit spells a limit as libnftnl does: "rate 3/minute burst 5 type
// packets flags 0x0 ".
func (e *wireExpr) debugLimit() ([]byte, bool) {
	if !e.has(attrLimitRate) || !e.has(attrLimitUnit) {
		return nil, false
	}
	unit := unitName(e.u[attrLimitUnit])
	if unit == "" {
		unit = "error"
	}
	b := strconv.AppendUint([]byte("rate "), e.u[attrLimitRate], 10)
	b = append(append(b, '/'), unit...)
	b = strconv.AppendUint(append(b, " burst "...), e.u[attrLimitBurst], 10)
	kind := "packets"
	if e.u[attrLimitType] != limitTypePackets {
		kind = "bytes"
	}
	b = append(b, " type "+kind+" flags 0x"...)
	b = strconv.AppendUint(b, e.u[attrLimitFlags], 16)
	return append(b, ' '), true
}

// appendJSON writes {"limit": {"rate": N, "per": UNIT, "burst": B}}, the
// burst always (the text leaves out nft's default of 5).
func (l Limit) appendJSON(b []byte) []byte {
	if err := checkLimit(l); err != nil {
		return appendJSONInvalid(b, "limit: "+err.Error())
	}
	b = strconv.AppendUint(append(b, `{"limit":{"rate":`...), l.Rate, 10)
	b = appendJSONString(append(b, `,"per":`...), unitName(l.Unit))
	b = strconv.AppendUint(append(b, `,"burst":`...), uint64(l.Burst), 10)
	return append(b, "}}"...)
}
