package expr

import (
	"encoding/binary"
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds nft's "ether saddr" in ip, ip6 and inet tables.

// Meta key and payload base of the Ethernet source address.
const (
	metaIiftype  = 8 // NFT_META_IIFTYPE
	payloadLink  = 0 // NFT_PAYLOAD_LL_HEADER
	arphrdEther  = 1 // ARPHRD_ETHER, the type of an Ethernet device
	etherSrcOff  = 6 // struct ethhdr h_source
	etherAddrLen = 6 // ETH_ALEN
)

// EtherSaddr is nft's "ether saddr 00:11:22:33:44:55" (or "!=", with
// OpNeq) in an ip, ip6 or inet table, where nft 1.0.6 puts "meta iiftype
// ether" before it: the packet came in through an Ethernet device
// (nft_meta.c: in->type, no input device breaks the rule), and the 6 bytes
// at offset 6 of its link-layer header (nft_payload.c, NFT_PAYLOAD_LL_HEADER:
// the rule breaks when the skb has no mac header) equal Addr, or not. The
// iiftype test holds for both operators: "!=" is another address through an
// Ethernet device.
type EtherSaddr struct {
	Op   Op // OpEq or OpNeq
	Addr [etherAddrLen]byte
}

func (EtherSaddr) isMatch() {}

// String returns the nft text of the match, e.g. "ether saddr 00:11:22:33:44:55".
func (m EtherSaddr) String() string { return string(m.appendText(nil)) }

func (m EtherSaddr) appendText(b []byte) []byte {
	b = append(b, "ether saddr "...)
	switch m.Op {
	case OpEq:
	case OpNeq:
		b = append(b, "!= "...)
	default:
		return appendInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	const hex = "0123456789abcdef"
	for i, c := range m.Addr {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return b
}

func checkEtherSaddr(m EtherSaddr) error {
	if m.Op != OpEq && m.Op != OpNeq {
		return errOperator(m.Op, "ether saddr")
	}
	return nil
}

// lowerEtherSaddr appends what nft 1.0.6 sends: meta load iiftype, cmp eq
// ARPHRD_ETHER (two bytes, host order), payload load 6b @ link header + 6,
// cmp.
func lowerEtherSaddr(ae *nfnl.Encoder, m EtherSaddr) {
	at := ae.BeginExpr("meta")
	ae.U32(attrMetaKey, metaIiftype)
	ae.U32(attrMetaDreg, reg1)
	ae.EndExpr(at)
	putCmp(ae, cmpEq, hostU16(arphrdEther))
	putPayload(ae, payloadLink, etherSrcOff, etherAddrLen)
	op := uint32(cmpEq)
	if m.Op == OpNeq {
		op = cmpNeq
	}
	putCmp(ae, op, m.Addr[:])
}

// hostU16 returns v as two bytes in the host's order, as the kernel keeps a
// device type (nft_meta.c stores in->type with nft_reg_store16).
func hostU16(v uint16) []byte {
	b := make([]byte, 2)
	binary.NativeEndian.PutUint16(b, v)
	return b
}

// etherSaddr reads meta load iiftype, cmp eq ether, and the payload load of
// the link header's source address with its cmp.
func (p *raiser) etherSaddr(i int) (Match, error) {
	j, op, v, err := p.metaCmp(i, "iiftype", 2)
	if err != nil {
		return nil, err
	}
	if op != cmpEq || len(v) != 2 || binary.NativeEndian.Uint16(v) != arphrdEther {
		return nil, p.fail(j, "meta iiftype is read only before ether saddr, as equal to ether")
	}
	k, err := p.next("payload")
	if err != nil {
		return nil, err
	}
	if k < 0 {
		return nil, p.fail(i, "meta iiftype ether without ether saddr after it")
	}
	e := &p.es[k]
	if err := p.only(k, attrPayloadDreg, attrPayloadBase, attrPayloadOffset, attrPayloadLen); err != nil {
		return nil, err
	}
	if e.u[attrPayloadBase] != payloadLink || e.u[attrPayloadOffset] != etherSrcOff || e.u[attrPayloadLen] != etherAddrLen {
		return nil, p.fail(k, "a link-layer payload other than ether saddr")
	}
	slot := regSlot(e.u[attrPayloadDreg])
	if slot < 0 || slot+2 > 16 {
		return nil, p.fail(k, "payload loads into register %d", e.u[attrPayloadDreg])
	}
	p.i++
	c, err := p.cmp(k, slot)
	if err != nil {
		return nil, err
	}
	d := p.es[c].data[attrCmpData].value
	if len(d) != etherAddrLen {
		return nil, p.fail(c, "compares %d bytes of an Ethernet address", len(d))
	}
	m := EtherSaddr{Addr: [etherAddrLen]byte(d)}
	switch p.es[c].u[attrCmpOp] {
	case cmpEq:
		m.Op = OpEq
	case cmpNeq:
		m.Op = OpNeq
	default:
		return nil, p.fail(c, "ether saddr is tested only for equality or inequality")
	}
	return m, nil
}

// appendJSON writes the match as nft 1.0.6 lists it with -j: the payload
// {"protocol": "ether", "field": "saddr"} and the address as a string (nft
// adds the meta iiftype test itself, as it does for the text).
func (m EtherSaddr) appendJSON(b []byte) []byte {
	op, ok := jsonOp(m.Op)
	if !ok || m.Op != OpEq && m.Op != OpNeq {
		return appendJSONInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	text := m.appendText(nil)
	addr := text[len("ether saddr "):]
	if m.Op == OpNeq {
		addr = addr[len("!= "):]
	}
	return appendJSONMatch(b, op, []byte(`{"payload":{"protocol":"ether","field":"saddr"}}`), appendJSONString(nil, string(addr)))
}
