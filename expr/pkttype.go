package expr

import (
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds nft's "meta pkttype": the packet's link-layer type,
// skb->pkt_type, with a looped-back packet (PACKET_LOOPBACK) given the type
// its destination says (nft_meta.c nft_meta_get_eval_pkttype_lo: IPv4
// multicast or broadcast by the destination address, IPv6 multicast).

// metaPkttype is NFT_META_PKTTYPE.
const metaPkttype = 19

// pktTypeNames are nft 1.0.6's names of the packet types (its pkt_type
// datatype, which lists 0 as "host").
var pktTypeNames = []string{"host", "broadcast", "multicast", "other"}

// PktType is nft's "meta pkttype host", "meta pkttype != broadcast": the
// packet's type compared with Type (OpEq or OpNeq), one byte.
type PktType struct {
	Op   Op // OpEq or OpNeq
	Type uint8
}

func (PktType) isMatch() {}

// String returns the nft text of the match.
func (m PktType) String() string { return string(m.appendText(nil)) }

func (m PktType) appendText(b []byte) []byte {
	b = append(b, "meta pkttype "...)
	switch m.Op {
	case OpEq:
	case OpNeq:
		b = append(b, "!= "...)
	default:
		return appendInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	if int(m.Type) < len(pktTypeNames) {
		return append(b, pktTypeNames[m.Type]...)
	}
	return strconv.AppendUint(b, uint64(m.Type), 10)
}

func checkPktType(m PktType) error {
	if m.Op != OpEq && m.Op != OpNeq {
		return errOperator(m.Op, "meta pkttype")
	}
	return nil
}

func lowerPktType(ae *nfnl.Encoder, m PktType) {
	at := ae.BeginExpr("meta")
	ae.U32(attrMetaKey, metaPkttype)
	ae.U32(attrMetaDreg, reg1)
	ae.EndExpr(at)
	op := uint32(cmpEq)
	if m.Op == OpNeq {
		op = cmpNeq
	}
	putCmp(ae, op, []byte{m.Type})
}

// pktType reads a load of meta pkttype and its cmp: one byte, equal or not.
func (p *raiser) pktType(i int) (Match, error) {
	j, op, v, err := p.metaCmp(i, "pkttype", 1)
	if err != nil {
		return nil, err
	}
	var m PktType
	switch op {
	case cmpEq:
		m.Op = OpEq
	case cmpNeq:
		m.Op = OpNeq
	default:
		return nil, p.fail(j, "meta pkttype is tested only for equality or inequality")
	}
	if len(v) != 1 {
		return nil, p.fail(j, "compares %d bytes of meta pkttype, not 1", len(v))
	}
	m.Type = v[0]
	return m, nil
}

func (m PktType) appendJSON(b []byte) []byte {
	if m.Op != OpEq && m.Op != OpNeq {
		return appendJSONInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	op, _ := jsonOp(m.Op)
	right := appendJSONUint(nil, uint32(m.Type))
	if int(m.Type) < len(pktTypeNames) {
		right = appendJSONString(nil, pktTypeNames[m.Type])
	}
	return appendJSONMatch(b, op, appendJSONKeyed(nil, "meta", "pkttype", ""), right)
}
