package expr

import (
	"fmt"
	"net/netip"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds nft's matches on the network header's addresses:
// "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr".

// IPAddr is nft's "ip saddr 10.0.0.0/8", "ip daddr != 10.1.2.3",
// "ip saddr & 255.0.255.0 == 10.0.5.0", "ip6 daddr 2001:db8::/32": the
// packet's source (Dst false) or destination address, under Mask, equals
// Addr (OpEq) or not (OpNeq). The family is the address's: IPv4 is "ip",
// IPv6 "ip6". Addr is pre-masked for a match that can hold; the kernel's
// payload expression loads the address from the network header (nft_payload),
// and nft 1.0.6 loads only the prefix's bytes for a prefix of whole bytes.
type IPAddr struct {
	Dst        bool // daddr; saddr when false
	Op         Op   // OpEq or OpNeq
	Addr, Mask netip.Addr
}

func (IPAddr) isMatch() {}

// String returns the nft text of the match, e.g. "ip saddr 10.0.0.0/8".
func (m IPAddr) String() string { return string(m.appendText(nil)) }

// ct returns the ct address match with the same operands, whose text and
// checks this match shares (after the "ct original" words).
func (m IPAddr) ct() Ct {
	k := CtSrcIP
	switch {
	case m.Dst && m.Addr.Is4():
		k = CtDstIP
	case m.Dst:
		k = CtDstIP6
	case !m.Addr.Is4():
		k = CtSrcIP6
	}
	return Ct{Key: k, Op: m.Op, Addr: m.Addr, AddrMask: m.Mask}
}

func (m IPAddr) appendText(b []byte) []byte {
	// " ip saddr …": the text of the ct match after its direction.
	t := m.ct().appendAddr(nil)
	return append(b, t[1:]...)
}

// offset returns the address's offset in the network header.
func (m IPAddr) offset() uint32 {
	switch {
	case m.Addr.Is4() && m.Dst:
		return 16 // struct iphdr daddr
	case m.Addr.Is4():
		return 12 // saddr
	case m.Dst:
		return 24 // struct ipv6hdr daddr
	}
	return 8 // saddr
}

func checkIPAddr(f Family, m IPAddr) error {
	if m.Op != OpEq && m.Op != OpNeq {
		return errOperator(m.Op, "ip saddr")
	}
	v4 := m.Addr.Is4()
	if !m.Addr.IsValid() || !addrOf(m.Addr, v4) || !addrOf(m.Mask, v4) {
		return fmt.Errorf("address %v mask %v: not two addresses of one family without a zone", m.Addr, m.Mask)
	}
	if v4 && f == FamilyIP6 || !v4 && f == FamilyIP {
		return fmt.Errorf("an %s address in an %v table (nft refuses it)", map[bool]string{true: "IPv4", false: "IPv6"}[v4], f)
	}
	return nil
}

// lowerIPAddr appends what nft 1.0.6 sends: for a prefix of whole bytes (an
// exact address is one) a load of the prefix's bytes and a cmp; for any
// other prefix a load of the address, a bitwise with the prefix mask and a
// cmp; for any other mask, or host bits outside the mask, the same with
// NFTA_BITWISE_OP, as for the text "& MASK == ADDR".
func lowerIPAddr(ae *nfnl.Encoder, m IPAddr) {
	op := uint32(cmpEq)
	if m.Op == OpNeq {
		op = cmpNeq
	}
	addr, mask := m.Addr.AsSlice(), m.Mask.AsSlice()
	n := leadingOnes(m.Mask)
	if prefixMasked(m.Mask, n) && prefixMasked(m.Addr, n) {
		if n > 0 && n%8 == 0 {
			putPayload(ae, payloadNetwork, m.offset(), uint32(n/8))
			putCmp(ae, op, addr[:n/8])
			return
		}
		putPayload(ae, payloadNetwork, m.offset(), uint32(len(addr)))
		putBitwise(ae, mask, false)
		putCmp(ae, op, addr)
		return
	}
	putPayload(ae, payloadNetwork, m.offset(), uint32(len(addr)))
	putBitwise(ae, mask, true)
	putCmp(ae, op, addr)
}

// isAddrLoad reports whether a payload load at the network header's offset
// is that of an address: 12 and 16 are IPv4's, 8 and 24 IPv6's, in a
// network header of family nh. With nh unknown (an inet rule before any
// meta nfproto, which nft itself never sends), a one-byte load at 8 is
// IPv4's ttl, not the first byte of an IPv6 source.
func isAddrLoad(nh Family, base, offset, size uint64) bool {
	if base != uint64(payloadNetwork) || size == 0 {
		return false
	}
	v4 := offset == 12 || offset == 16
	v6 := offset == 8 || offset == 24
	switch nh {
	case FamilyIP:
		return v4 && size <= 4
	case FamilyIP6:
		return v6 && size <= 16
	}
	return v4 && size <= 4 || v6 && size <= 16 && !(offset == 8 && size == 1)
}

// ipaddr reads a payload load of an address, an optional bitwise and the
// cmp: what lowerIPAddr sends, and what the kernel dumps of it.
func (p *raiser) ipaddr(i, slot int, offset, size uint64) (Match, error) {
	v4 := offset == 12 || offset == 16
	if v4 && p.f == FamilyIP6 || !v4 && p.f == FamilyIP {
		return nil, p.fail(i, "an address of the other family in an %v table", p.f)
	}
	if m, ok, err := p.iprange(i, slot, offset, size); ok || err != nil {
		return m, err
	}
	full := 16
	if v4 {
		full = 4
	}
	mask, err := p.bitwise(slot, int(size))
	if err != nil {
		return nil, err
	}
	if mask != nil && int(size) != full {
		return nil, p.fail(i, "a masked address load of %d bytes, of %d", size, full)
	}
	j, err := p.cmp(i, slot)
	if err != nil {
		return nil, err
	}
	e := &p.es[j]
	v := e.data[attrCmpData].value
	if uint64(len(v)) != size {
		return nil, p.fail(j, "compares %d bytes of an address load of %d", len(v), size)
	}
	a, mk := make([]byte, full), make([]byte, full)
	copy(a, v)
	if mask != nil {
		copy(mk, mask)
	} else {
		for k := 0; k < int(size); k++ {
			mk[k] = 0xff
		}
	}
	m := IPAddr{Dst: offset == 16 || offset == 24, Addr: addrFrom(a), Mask: addrFrom(mk)}
	switch e.u[attrCmpOp] {
	case cmpEq:
		m.Op = OpEq
	case cmpNeq:
		m.Op = OpNeq
	default:
		return nil, p.fail(j, "an address is tested only for equality or inequality")
	}
	return m, nil
}

// appendJSON writes the match as the text does, with the network header's
// field on the left: {"payload": {"protocol": "ip", "field": "saddr"}}.
func (m IPAddr) appendJSON(b []byte) []byte { return m.ct().appendJSONAddr(b, "") }
