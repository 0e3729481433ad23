package expr

import (
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// ExthdrTest is what an Exthdr match tests of an IPv6 extension header.
type ExthdrTest uint8

// Tests of the IPv6 fragment header.
const (
	FragMissing  ExthdrTest = iota + 1 // the packet has no fragment header: nft "exthdr frag missing"
	FragExists                         // it has one: nft "exthdr frag exists"
	FragFirst                          // it has one whose offset is 0: nft "frag frag-off 0"
	FragNotFirst                       // it has one whose offset is not 0: nft "frag frag-off != 0"
)

// Exthdr is a test of the IPv6 fragment header (nft's exthdr expression,
// which finds the header with ipv6_find_hdr and stops the rule when a field
// is read of a header the packet does not have).
type Exthdr struct {
	Test ExthdrTest
}

func (Exthdr) isMatch() {}

// String returns the nft text of the match, e.g. "frag frag-off 0".
func (x Exthdr) String() string { return string(x.appendText(nil)) }

func (x Exthdr) appendText(b []byte) []byte {
	switch x.Test {
	case FragMissing:
		return append(b, "exthdr frag missing"...)
	case FragExists:
		return append(b, "exthdr frag exists"...)
	case FragFirst:
		return append(b, "frag frag-off 0"...)
	case FragNotFirst:
		return append(b, "frag frag-off != 0"...)
	}
	return appendInvalid(b, "exthdr test "+strconv.FormatUint(uint64(x.Test), 10))
}

const nexthdrFragment = 44 // NEXTHDR_FRAGMENT

func checkExthdr(f Family, x Exthdr) error {
	if x.Test < FragMissing || x.Test > FragNotFirst {
		return &fieldError{"unknown exthdr test " + strconv.FormatUint(uint64(x.Test), 10)}
	}
	if f == FamilyIP {
		return &fieldError{"an IPv6 extension header in an ip table (nft refuses it)"}
	}
	return nil
}

// lowerExthdr appends what nft 1.0.6 sends: exthdr with DREG, TYPE, OFFSET,
// LEN, OP and FLAGS (always); for exists and missing, a 1-byte load with
// NFT_EXTHDR_F_PRESENT and cmp eq 1|0; for the offset, a 2-byte load at
// offset 2, bitwise & 0xfff8 (the 13 bits of the offset, with
// NFTA_BITWISE_OP) and cmp eq|neq 0.
func lowerExthdr(ae *nfnl.Encoder, x Exthdr) {
	at := ae.BeginExpr("exthdr")
	ae.U32(attrExthdrDreg, reg1)
	ae.U8(attrExthdrType, nexthdrFragment)
	flags := uint32(0)
	switch x.Test {
	case FragMissing, FragExists:
		ae.U32(attrExthdrOffset, 0)
		ae.U32(attrExthdrLen, 1)
		flags = exthdrPresent
	default:
		ae.U32(attrExthdrOffset, 2)
		ae.U32(attrExthdrLen, 2)
	}
	ae.U32(attrExthdrOp, exthdrOpIPv6)
	ae.U32(attrExthdrFlags, flags)
	ae.EndExpr(at)
	switch x.Test {
	case FragMissing:
		putCmp(ae, cmpEq, []byte{0})
	case FragExists:
		putCmp(ae, cmpEq, []byte{1})
	case FragFirst, FragNotFirst:
		putBitwise(ae, []byte{0xff, 0xf8}, true)
		op := uint32(cmpEq)
		if x.Test == FragNotFirst {
			op = cmpNeq
		}
		putCmp(ae, op, []byte{0, 0})
	}
}

// exthdr reads an exthdr load of the fragment header and its test.
func (p *raiser) exthdr() (Match, error) {
	i := p.i
	e := &p.es[i]
	p.i++
	if e.has(attrExthdrSreg) || !e.has(attrExthdrDreg) || !e.has(attrExthdrType) || !e.has(attrExthdrOffset) || !e.has(attrExthdrLen) {
		return nil, p.fail(i, "an exthdr that loads nothing")
	}
	if e.u[attrExthdrType] != nexthdrFragment || e.u[attrExthdrOp] != exthdrOpIPv6 {
		return nil, p.fail(i, "the only exthdr ctmatch reads is of the IPv6 fragment header")
	}
	for _, a := range e.attrs {
		if a.Type != attrExthdrDreg && a.Type != attrExthdrType && a.Type != attrExthdrOffset && a.Type != attrExthdrLen && a.Type != attrExthdrFlags && a.Type != attrExthdrOp {
			return nil, p.fail(i, "exthdr with attribute %d", a.Type)
		}
	}
	if p.f == FamilyIP {
		return nil, p.fail(i, "an IPv6 extension header in an ip table")
	}
	slot := regSlot(e.u[attrExthdrDreg])
	if slot < 0 {
		return nil, p.fail(i, "exthdr loads into register %d", e.u[attrExthdrDreg])
	}
	off, size, flags := e.u[attrExthdrOffset], e.u[attrExthdrLen], e.u[attrExthdrFlags]
	switch {
	case off == 0 && size == 1 && flags == exthdrPresent:
		j, err := p.cmp(i, slot)
		if err != nil {
			return nil, err
		}
		c := &p.es[j]
		v := c.data[attrCmpData].value
		switch {
		case c.u[attrCmpOp] == cmpEq && len(v) == 1 && v[0] == 0:
			return Exthdr{Test: FragMissing}, nil
		case c.u[attrCmpOp] == cmpEq && len(v) == 1 && v[0] == 1:
			return Exthdr{Test: FragExists}, nil
		}
		return nil, p.fail(j, "a presence test other than eq 0 or eq 1")
	case off == 2 && size == 2 && flags == 0:
		mask, err := p.bitwise(slot, 2)
		if err != nil {
			return nil, err
		}
		if mask == nil || mask[0] != 0xff || mask[1] != 0xf8 {
			return nil, p.fail(i, "a fragment offset read without its mask 0xfff8")
		}
		j, err := p.cmp(i, slot)
		if err != nil {
			return nil, err
		}
		c := &p.es[j]
		v := c.data[attrCmpData].value
		if len(v) != 2 || v[0] != 0 || v[1] != 0 {
			return nil, p.fail(j, "a fragment offset compared with other than 0")
		}
		switch c.u[attrCmpOp] {
		case cmpEq:
			return Exthdr{Test: FragFirst}, nil
		case cmpNeq:
			return Exthdr{Test: FragNotFirst}, nil
		}
		return nil, p.fail(j, "a fragment offset tested other than for eq or neq 0")
	}
	return nil, p.fail(i, "an exthdr load of the fragment header ctmatch does not read")
}

func (x Exthdr) appendJSON(b []byte) []byte {
	frag := []byte(`{"exthdr":{"name":"frag"}}`)
	off := []byte(`{"exthdr":{"name":"frag","field":"frag-off"}}`)
	switch x.Test {
	case FragMissing:
		return appendJSONMatch(b, "==", frag, []byte("false"))
	case FragExists:
		return appendJSONMatch(b, "==", frag, []byte("true"))
	case FragFirst:
		return appendJSONMatch(b, "==", off, []byte("0"))
	case FragNotFirst:
		return appendJSONMatch(b, "!=", off, []byte("0"))
	}
	return appendJSONInvalid(b, "exthdr test "+strconv.FormatUint(uint64(x.Test), 10))
}
