package expr

import (
	"errors"
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// SetDSCP is nft's "ip dscp set N" (Family FamilyIP) or "ip6 dscp set N"
// (FamilyIP6): the packet's DSCP becomes DSCP, its other bits kept. nft
// 1.0.6 loads the header's first two bytes, keeps all but the DSCP bits
// with a bitwise, and writes them back, updating the IPv4 header checksum
// (csum type inet at offset 10), as xt_DSCP's ipv4_change_dsfield and
// ipv6_change_dsfield do. In an inet table the rule's meta nfproto names the
// family.
type SetDSCP struct {
	Family Family
	DSCP   uint8 // 0-63
}

func (SetDSCP) isStmt() {}

const csumInet = 1 // NFT_PAYLOAD_CSUM_INET

// dscpMask returns the bitwise mask and xor of the two bytes nft writes.
func (s SetDSCP) dscpMask() (mask, xor [2]byte) {
	if s.Family == FamilyIP {
		// byte 0: version and IHL, kept; byte 1: DSCP << 2 | ECN.
		return [2]byte{0xff, 0x03}, [2]byte{0, s.DSCP << 2}
	}
	// byte 0: version << 4 | the traffic class' high 4 bits; byte 1: its
	// low 4 bits << 4 | the flow label's high 4 bits.
	return [2]byte{0xf0, 0x3f}, [2]byte{s.DSCP >> 2, s.DSCP << 6}
}

func (s SetDSCP) check(nf Family) error {
	if s.DSCP > 63 {
		return errors.New("a DSCP above 63")
	}
	switch {
	case s.Family != FamilyIP && s.Family != FamilyIP6:
		return errors.New("a DSCP set of no family")
	case nf == 0:
		return errors.New("a DSCP set in a rule of no one family")
	case nf != s.Family:
		return errors.New("a DSCP set of the other family")
	}
	return nil
}

func (s SetDSCP) appendText(b []byte) []byte {
	switch s.Family {
	case FamilyIP:
		b = append(b, "ip dscp set "...)
	case FamilyIP6:
		b = append(b, "ip6 dscp set "...)
	default:
		return appendInvalid(b, "dscp family")
	}
	return strconv.AppendUint(b, uint64(s.DSCP), 10)
}

func (s SetDSCP) lower(ae *nfnl.Encoder) {
	putPayload(ae, payloadNetwork, 0, 2)
	mask, xor := s.dscpMask()
	at := ae.BeginExpr("bitwise")
	ae.U32(attrBitwiseSreg, reg1)
	ae.U32(attrBitwiseDreg, reg1)
	ae.U32(attrBitwiseOp, bitwiseMaskXor)
	ae.U32(attrBitwiseLen, 2)
	ae.Value(attrBitwiseMask, mask[:])
	ae.Value(attrBitwiseXor, xor[:])
	ae.EndExpr(at)
	at = ae.BeginExpr("payload")
	ae.U32(attrPayloadSreg, reg1)
	ae.U32(attrPayloadBase, uint32(payloadNetwork))
	ae.U32(attrPayloadOffset, 0)
	ae.U32(attrPayloadLen, 2)
	if s.Family == FamilyIP {
		ae.U32(attrPayloadCsumType, csumInet)
		ae.U32(attrPayloadCsumOffset, 10)
	}
	ae.EndExpr(at)
}

// dscpStmt reads a DSCP set starting at expression i: a load of the
// network header's first two bytes, the bitwise, the write back; 0
// expressions when none starts there.
func (p *raiser) dscpStmt(i int) (Stmt, int, error) {
	if i+2 >= len(p.es) {
		return nil, 0, nil
	}
	ld, bw, wr := &p.es[i], &p.es[i+1], &p.es[i+2]
	if ld.name != "payload" || bw.name != "bitwise" || wr.name != "payload" || ld.u == nil || wr.u == nil || bw.u == nil ||
		!wr.has(attrPayloadSreg) || !ld.has(attrPayloadDreg) {
		return nil, 0, nil
	}
	nf := p.nhOrTable()
	s := SetDSCP{Family: nf}
	if nf != FamilyIP && nf != FamilyIP6 {
		return nil, 0, p.fail(i+2, "a header write in a rule of no one family")
	}
	if ld.u[attrPayloadBase] != uint64(payloadNetwork) || ld.u[attrPayloadOffset] != 0 || ld.u[attrPayloadLen] != 2 ||
		ld.u[attrPayloadDreg] != reg1 || len(ld.u) != 4 {
		return nil, 0, p.fail(i, "a header load for a write that is not of the DSCP")
	}
	mask, xor := bw.data[attrBitwiseMask], bw.data[attrBitwiseXor]
	if bw.u[attrBitwiseSreg] != reg1 || bw.u[attrBitwiseDreg] != reg1 || bw.u[attrBitwiseLen] != 2 ||
		(bw.has(attrBitwiseOp) && bw.u[attrBitwiseOp] != bitwiseMaskXor) || len(mask.value) != 2 || len(xor.value) != 2 {
		return nil, 0, p.fail(i+1, "a bitwise that does not set the DSCP")
	}
	want, _ := s.dscpMask()
	if [2]byte(mask.value) != want {
		return nil, 0, p.fail(i+1, "a bitwise that changes other header bits than the DSCP")
	}
	x := [2]byte(xor.value)
	if nf == FamilyIP {
		s.DSCP = x[1] >> 2
	} else {
		s.DSCP = x[0]<<2 | x[1]>>6
	}
	if _, wx := s.dscpMask(); wx != x {
		return nil, 0, p.fail(i+1, "a bitwise that changes other header bits than the DSCP")
	}
	csum, csumOff := uint64(0), uint64(0)
	if nf == FamilyIP {
		csum, csumOff = csumInet, 10
	}
	if wr.u[attrPayloadSreg] != reg1 || wr.u[attrPayloadBase] != uint64(payloadNetwork) || wr.u[attrPayloadOffset] != 0 ||
		wr.u[attrPayloadLen] != 2 || wr.u[attrPayloadCsumType] != csum || wr.u[attrPayloadCsumOffset] != csumOff ||
		wr.u[attrPayloadCsumFlags] != 0 {
		return nil, 0, p.fail(i+2, "a header write that is not nft's DSCP set (or without the IPv4 checksum update)")
	}
	return s, 3, nil
}

// appendJSON writes {"mangle": {"key": {"payload": {"protocol": "ip"|"ip6",
// "field": "dscp"}}, "value": N}}.
func (s SetDSCP) appendJSON(b []byte) []byte {
	var proto string
	switch s.Family {
	case FamilyIP:
		proto = "ip"
	case FamilyIP6:
		proto = "ip6"
	default:
		return appendJSONInvalid(b, "dscp family")
	}
	b = appendJSONString(append(b, `{"mangle":{"key":{"payload":{"protocol":`...), proto)
	b = strconv.AppendUint(append(b, `,"field":"dscp"}},"value":`...), uint64(s.DSCP), 10)
	return append(b, "}}"...)
}
