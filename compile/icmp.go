package compile

import (
	"fmt"
	"math"
	"strconv"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles the icmp and icmp6 matches. The kernel facts
// (docs/semantics.md, "ICMP and ICMPv6 types", gives the source lines):
//
//   - ip_tables.c's icmp_match and ip6_tables.c's icmp6_match never match a
//     fragment other than the first (par->fragoff != 0), like xt_tcpudp: the
//     same fragment tests as the port matches come first (fragmentTests).
//   - icmp_type_code_match: (test_type == 0xFF || type == test_type &&
//     min_code <= code <= max_code) ^ invert; icmp6_type_code_match has no
//     0xFF case (ip6tables has no "any").
//   - Both read the 8-byte ICMP header and drop the packet (hotdrop) when it
//     is shorter; nft's payload stops the rule instead. The rule then does
//     not match either way, but xt also drops the packet: a documented
//     difference for malformed packets only.

// icmp compiles an icmp or icmp6 match: --icmp-type 8 is "icmp type 8",
// ! --icmp-type 8 "icmp type != 8", --icmp-type 3/3 "icmp type 3 icmp code
// 3" (nft merges them into one 2-byte load), ! --icmp-type 3/3 the same
// 2-byte load compared with !=, which nft spells "th sport != 771", and
// --icmp-type any "icmp type 0-255" (it still needs the header: the payload
// load stops the rule without one), ! --icmp-type any "icmp type != 0-255",
// which no packet passes.
func icmp(m *parse.ICMP) ([]expr.Match, error) {
	o := m.Option
	typ := expr.Payload{Field: expr.FieldICMPType, Lo: uint32(o.Type)}
	switch {
	case !m.V6() && o.Type == math.MaxUint8:
		typ.Lo, typ.Hi, typ.Op = 0, math.MaxUint8, expr.OpRange
		if o.Negated {
			typ.Op = expr.OpNotRange
		}
		return []expr.Match{typ}, nil
	case o.AnyCode():
		typ.Op = expr.OpEq
		if o.Negated {
			typ.Op = expr.OpNeq
		}
		return []expr.Match{typ}, nil
	case o.CodeMin != o.CodeMax:
		return nil, fmt.Errorf("col %d: a range of ICMP codes", o.Pos()+1)
	case o.Negated:
		return []expr.Match{expr.Payload{Field: expr.FieldTHSport, Op: expr.OpNeq, Lo: uint32(o.Type)<<8 | uint32(o.CodeMin)}}, nil
	}
	typ.Op = expr.OpEq
	return []expr.Match{typ, expr.Payload{Field: expr.FieldICMPCode, Op: expr.OpEq, Lo: uint32(o.CodeMin)}}, nil
}

// errICMPTwice refuses a second icmp match in one rule: nft 1.0.6 merges
// the loads of "icmp type 3 icmp code 3 icmp type 8" in an order that is
// not the fields' (it sends a 2-byte load compared with 03 08), so no text
// of ctmatch's would load as the bytes it sends.
func errICMPTwice(m *parse.ICMP) error {
	return fmt.Errorf("col %d: a second %s match in one rule: nft 1.0.6 merges the header loads of several icmp matches in a way ctmatch does not reproduce", m.Pos()+1, m.Module)
}

// icmpWords returns the iptables words of the matches icmp compiles to,
// after "-p icmp" (proto 1) or "-p ipv6-icmp" (58): "-m icmp ! --icmp-type
// 3/3". It returns the number of matches it read.
func icmpWords(proto uint8, ms []expr.Match) ([]string, int, error) {
	module, opt := "icmp", "--icmp-type"
	if proto == parse.ProtoICMPv6 {
		module, opt = "icmp6", "--icmpv6-type"
	}
	p, ok := ms[0].(expr.Payload)
	if !ok || p.Mask != 0 {
		return nil, 0, fmt.Errorf("%w: %v after -p %s", ErrNotUnderstood, ms[0], parse.ProtocolName(proto))
	}
	words := []string{"-m", module}
	num := func(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
	switch {
	case p.Field == expr.FieldICMPType && (p.Op == expr.OpRange || p.Op == expr.OpNotRange) && p.Lo == 0 && p.Hi == math.MaxUint8 && module == "icmp":
		if p.Op == expr.OpNotRange {
			words = append(words, "!")
		}
		return append(words, opt, "any"), 1, nil
	case p.Field == expr.FieldICMPType && p.Op == expr.OpEq && len(ms) > 1 && isCode(ms[1]):
		return append(words, opt, num(p.Lo)+"/"+num(ms[1].(expr.Payload).Lo)), 2, nil
	case p.Field == expr.FieldICMPType && (p.Op == expr.OpEq || p.Op == expr.OpNeq):
		if p.Op == expr.OpNeq {
			words = append(words, "!")
		}
		if module == "icmp" && p.Lo == math.MaxUint8 {
			// iptables' type 255 is "any": ctmatch never writes this.
			return nil, 0, fmt.Errorf("%w: %v is no icmp match (type 255 is any type)", ErrNotUnderstood, p)
		}
		return append(words, opt, num(p.Lo)), 1, nil
	case p.Field == expr.FieldTHSport && p.Op == expr.OpNeq && !(module == "icmp" && p.Lo>>8 == math.MaxUint8):
		return append(words, "!", opt, num(p.Lo>>8)+"/"+num(p.Lo&0xff)), 1, nil
	}
	return nil, 0, fmt.Errorf("%w: %v after -p %s", ErrNotUnderstood, p, parse.ProtocolName(proto))
}

func isCode(m expr.Match) bool {
	p, ok := m.(expr.Payload)
	return ok && p.Field == expr.FieldICMPCode && p.Op == expr.OpEq && p.Mask == 0
}
