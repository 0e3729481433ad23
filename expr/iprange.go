package expr

import (
	"fmt"
	"net/netip"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds nft's address ranges on the network header:
// "ip saddr 10.0.0.1-10.0.0.9", "ip6 daddr != 2001:db8::1-2001:db8::9".

// IPRange is the packet's source (Dst false) or destination address in the
// inclusive range Lo..Hi (OpRange) or not (OpNotRange). The family is the
// addresses': IPv4 is "ip", IPv6 "ip6". nft 1.0.6 sends a load of the whole
// address and, for OpRange, cmp gte Lo and cmp lte Hi, for OpNotRange one
// range neq Lo Hi: nft_cmp.c and nft_range.c compare the bytes with memcmp,
// in network order, so the order is the addresses' own.
type IPRange struct {
	Dst    bool // daddr; saddr when false
	Op     Op   // OpRange or OpNotRange
	Lo, Hi netip.Addr
}

func (IPRange) isMatch() {}

// String returns the nft text of the match, e.g. "ip saddr 10.0.0.1-10.0.0.9".
func (m IPRange) String() string { return string(m.appendText(nil)) }

func (m IPRange) appendText(b []byte) []byte {
	if m.Lo.Is4() {
		b = append(b, "ip "...)
	} else {
		b = append(b, "ip6 "...)
	}
	if m.Dst {
		b = append(b, "daddr "...)
	} else {
		b = append(b, "saddr "...)
	}
	if m.Op == OpNotRange {
		b = append(b, "!= "...)
	} else if m.Op != OpRange {
		return appendInvalid(b, "op "+fmt.Sprint(uint8(m.Op)))
	}
	return m.Hi.AppendTo(append(m.Lo.AppendTo(b), '-'))
}

// offset returns the address's offset in the network header.
func (m IPRange) offset() uint32 {
	return IPAddr{Dst: m.Dst, Addr: m.Lo}.offset()
}

func checkIPRange(f Family, m IPRange) error {
	if m.Op != OpRange && m.Op != OpNotRange {
		return errOperator(m.Op, "ip saddr A-B")
	}
	v4 := m.Lo.Is4()
	if !m.Lo.IsValid() || !addrOf(m.Lo, v4) || !addrOf(m.Hi, v4) {
		return fmt.Errorf("range %v-%v: not two addresses of one family without a zone", m.Lo, m.Hi)
	}
	if m.Hi.Less(m.Lo) {
		return fmt.Errorf("range %v-%v: reversed (nft refuses it)", m.Lo, m.Hi)
	}
	if v4 && f == FamilyIP6 || !v4 && f == FamilyIP {
		return fmt.Errorf("an %s address range in an %v table (nft refuses it)", map[bool]string{true: "IPv4", false: "IPv6"}[v4], f)
	}
	return nil
}

// lowerIPRange appends what nft 1.0.6 sends for the range.
func lowerIPRange(ae *nfnl.Encoder, m IPRange) {
	lo, hi := m.Lo.AsSlice(), m.Hi.AsSlice()
	putPayload(ae, payloadNetwork, m.offset(), uint32(len(lo)))
	if m.Op == OpNotRange {
		putRange(ae, rangeNeq, lo, hi)
		return
	}
	putCmp(ae, cmpGte, lo)
	putCmp(ae, cmpLte, hi)
}

// iprange reads, after the load of a whole address, the cmp gte and cmp lte
// (nft 1.0.6's A-B) or the range eq (nft 1.1.2's) or range neq of an address
// range. It reports false, and reads
// nothing, when the next expression is neither.
func (p *raiser) iprange(load, slot int, offset, size uint64) (Match, bool, error) {
	v4 := offset == 12 || offset == 16
	full := uint64(16)
	if v4 {
		full = 4
	}
	if size != full || p.i >= len(p.es) {
		return nil, false, nil
	}
	m := IPRange{Dst: offset == 16 || offset == 24}
	read := func(j int, d dataReg) (netip.Addr, error) {
		if d.verdict || uint64(len(d.value)) != full {
			return netip.Addr{}, p.fail(j, "compares %d bytes of an address of %d", len(d.value), full)
		}
		return addrFrom(d.value), nil
	}
	e := &p.es[p.i]
	switch {
	case e.name == "range":
		j, err := p.next("range")
		if err != nil {
			return nil, true, err
		}
		if err := p.only(j, attrRangeSreg, attrRangeOp, attrRangeFromData, attrRangeToData); err != nil {
			return nil, true, err
		}
		if err := p.reads(j, attrRangeSreg, slot); err != nil {
			return nil, true, err
		}
		if m.Op, err = p.rangeOp(j); err != nil {
			return nil, true, err
		}
		if m.Lo, err = read(j, e.data[attrRangeFromData]); err != nil {
			return nil, true, err
		}
		if m.Hi, err = read(j, e.data[attrRangeToData]); err != nil {
			return nil, true, err
		}
		p.i++
	case e.name == "cmp" && e.u[attrCmpOp] == cmpGte:
		j, err := p.cmp(load, slot)
		if err != nil {
			return nil, true, err
		}
		if m.Lo, err = read(j, p.es[j].data[attrCmpData]); err != nil {
			return nil, true, err
		}
		if k, err := p.next("cmp"); err != nil {
			return nil, true, err
		} else if k < 0 || p.es[k].u[attrCmpOp] != cmpLte {
			return nil, true, p.fail(j, "cmp gte without cmp lte after it")
		}
		k, err := p.cmp(load, slot)
		if err != nil {
			return nil, true, err
		}
		if m.Hi, err = read(k, p.es[k].data[attrCmpData]); err != nil {
			return nil, true, err
		}
		m.Op = OpRange
	default:
		return nil, false, nil
	}
	if m.Hi.Less(m.Lo) {
		return nil, true, p.fail(p.i-1, "a reversed address range")
	}
	return m, true, nil
}

// IPRangeOffset returns the offset in the network header of the address m
// tests: 12 or 16 for IPv4's source and destination, 8 or 24 for IPv6's.
func IPRangeOffset(m IPRange) uint32 { return m.offset() }

// appendJSON writes the range as nft 1.0.6 lists it with -j: the address
// field, "==" or "!=", and {"range": [LO, HI]}.
func (m IPRange) appendJSON(b []byte) []byte {
	op, ok := jsonOp(m.Op)
	if !ok || m.Op != OpRange && m.Op != OpNotRange {
		return appendJSONInvalid(b, "op "+fmt.Sprint(uint8(m.Op)))
	}
	proto, field := "ip", "saddr"
	if !m.Lo.Is4() {
		proto = "ip6"
	}
	if m.Dst {
		field = "daddr"
	}
	left := appendJSONString([]byte(`{"payload":{"protocol":`), proto)
	left = append(appendJSONString(append(left, `,"field":`...), field), "}}"...)
	right := appendJSONString([]byte(`{"range":[`), m.Lo.String())
	right = append(appendJSONString(append(right, ','), m.Hi.String()), "]}"...)
	return appendJSONMatch(b, op, left, right)
}
