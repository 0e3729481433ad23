package expr

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// Netmap is nft's "snat prefix to P" or "dnat prefix to P" (in an inet
// table "snat ip prefix to P"): the nat expression with
// NF_NAT_RANGE_NETMAP. nft_nat_eval's nft_nat_setup_netmap keeps the
// packet's source (SNAT) or destination (DNAT) address outside the prefix
// and takes P's bits under it: new = (addr & ~mask) | (P & mask), the mask
// ~(min ^ max) of the two addresses the registers hold, which nft 1.0.6
// loads as P's first and last address. That is xt_NETMAP's mapping.
type Netmap struct {
	Type   NATType
	Prefix netip.Prefix // its host bits clear
}

func (Netmap) isStmt() {}

// rangeNetmap is the kernel's NF_NAT_RANGE_NETMAP.
const rangeNetmap = 0x40

// addr is the prefix's address, or the zero Addr without a prefix.
func (n Netmap) addr() netip.Addr {
	if !n.Prefix.IsValid() {
		return netip.Addr{}
	}
	return n.Prefix.Addr()
}

// appendText writes "snat prefix to P"; in an inet rule (inet true)
// "snat ip prefix to P" or "snat ip6 prefix to P".
func (n Netmap) appendText(b []byte, inet bool) []byte {
	b, ok := appendNATTextHead(b, n.Type, n.addr(), inet, " prefix without an address")
	if !ok {
		return b
	}
	b = append(b, " prefix to "...)
	return n.Prefix.AppendTo(b)
}

// check says why n cannot be encoded for packets of family nf (0: not
// known).
func (n Netmap) check(nf Family) error {
	if n.Type != SNAT && n.Type != DNAT {
		return fmt.Errorf("nat type %d", n.Type)
	}
	if !n.Prefix.IsValid() || n.Prefix.Addr().Zone() != "" || n.Prefix.Addr().Is4In6() {
		return errors.New("a netmap without a prefix (or with a zone)")
	}
	if n.Prefix.Masked() != n.Prefix {
		return fmt.Errorf("netmap prefix %s has host bits set", n.Prefix)
	}
	if nf != 0 && (nf == FamilyIP) != n.Prefix.Addr().Is4() {
		return errors.New("netmap to a prefix of the other family")
	}
	return nil
}

// Last returns the last address of n's prefix, which nft sends as the
// range's end.
func (n Netmap) Last() netip.Addr {
	b := n.Prefix.Addr().AsSlice()
	for i := n.Prefix.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// lower encodes n as nft 1.0.6 sends "snat ip prefix to P": the first and
// the last address of P into registers 1 and 2 (both, even for a /32),
// then nat with flags NF_NAT_RANGE_NETMAP.
func (n Netmap) lower(ae *nfnl.Encoder) {
	reg := uint32(reg1)
	min := putImmediate(ae, &reg, n.Prefix.Addr().AsSlice())
	max := putImmediate(ae, &reg, n.Last().AsSlice())
	at := ae.BeginExpr("nat")
	ae.U32(attrNATType, uint32(n.Type))
	fam := FamilyIP
	if !n.Prefix.Addr().Is4() {
		fam = FamilyIP6
	}
	ae.U32(attrNATFamily, uint32(fam))
	ae.U32(attrNATRegAddrMin, min)
	ae.U32(attrNATRegAddrMax, max)
	ae.U32(attrNATFlags, rangeNetmap)
	ae.EndExpr(at)
}

// netmapOf reads a nat expression with NF_NAT_RANGE_NETMAP whose
// addresses are read into n (n.AddrMax invalid when the two are equal or
// there is no last address, which the kernel then takes from the first
// register): the two must be the first and last address of a prefix, with
// no ports and no flag but NETMAP and the MAP_IPS the kernel adds.
func (p *raiser) netmapOf(i int, n NAT) (Stmt, error) {
	e := &p.es[i]
	if e.has(attrNATRegProtoMin) || e.has(attrNATRegProtoMax) {
		return nil, p.fail(i, "a netmap with ports, which nft does not write")
	}
	if w := uint32(e.u[attrNATFlags]) &^ (rangeNetmap | rangeMapIPs); w != 0 {
		return nil, p.fail(i, "netmap flags %#x that ctmatch does not read", w)
	}
	max := n.AddrMax
	if !max.IsValid() {
		max = n.Addr
	}
	lo, hi := n.Addr.AsSlice(), max.AsSlice()
	bits := 0
	for bits < len(lo)*8 && (lo[bits/8]^hi[bits/8])&(0x80>>(bits%8)) == 0 {
		bits++
	}
	for k := bits; k < len(lo)*8; k++ {
		m := byte(0x80 >> (k % 8))
		if lo[k/8]&m != 0 || hi[k/8]&m == 0 {
			return nil, p.fail(i, "a netmap from %s to %s, which is not one prefix's first and last address", n.Addr, max)
		}
	}
	nm := Netmap{Type: n.Type, Prefix: netip.PrefixFrom(n.Addr, bits)}
	if err := nm.check(0); err != nil {
		return nil, p.fail(i, "%v", err)
	}
	return nm, nil
}

// appendJSON writes {"snat": {["family": "ip",] "addr": {"prefix":
// {"addr": A, "len": N}}, "flags": "netmap", "type_flags": "prefix"}}, as
// nft 1.0.6 lists it.
func (n Netmap) appendJSON(b []byte, inet bool) []byte {
	b, ok := appendNATJSONHead(b, n.Type, n.addr(), inet, " prefix without an address")
	if !ok {
		return b
	}
	b = appendJSONString(append(b, `"addr":{"prefix":{"addr":`...), n.Prefix.Addr().String())
	b = strconv.AppendInt(append(b, `,"len":`...), int64(n.Prefix.Bits()), 10)
	return append(b, `}},"flags":"netmap","type_flags":"prefix"}}`...)
}
