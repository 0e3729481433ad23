package nftexport

import (
	"net/netip"

	nftexpr "github.com/google/nftables/expr"

	"github.com/ctmatch/ctmatch/expr"
)

// exportIPAddr is ip/ip6 saddr/daddr: a payload load of the address, or of a
// whole-byte prefix's bytes, an optional bitwise with the mask, and the cmp,
// as ctmatch's own encoding sends them.
func exportIPAddr(exprs []nftexpr.Any, m expr.IPAddr) []nftexpr.Any {
	off := uint32(12)
	switch {
	case m.Addr.Is4() && m.Dst:
		off = 16
	case !m.Addr.Is4() && m.Dst:
		off = 24
	case !m.Addr.Is4():
		off = 8
	}
	op := nftexpr.CmpOpEq
	if m.Op == expr.OpNeq {
		op = nftexpr.CmpOpNeq
	}
	addr, mask := m.Addr.AsSlice(), m.Mask.AsSlice()
	n := ones(mask)
	load := func(size int) *nftexpr.Payload {
		return &nftexpr.Payload{DestRegister: exportReg1, Base: nftexpr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(size)}
	}
	if n > 0 && n%8 == 0 && netip.PrefixFrom(m.Mask, n).Masked().Addr() == m.Mask && netip.PrefixFrom(m.Addr, n).Masked().Addr() == m.Addr {
		return append(exprs, load(n/8), &nftexpr.Cmp{Op: op, Register: exportReg1, Data: addr[:n/8]})
	}
	return append(exprs, load(len(addr)),
		&nftexpr.Bitwise{SourceRegister: exportReg1, DestRegister: exportReg1, Len: uint32(len(mask)), Mask: mask, Xor: make([]byte, len(mask))},
		&nftexpr.Cmp{Op: op, Register: exportReg1, Data: addr})
}

// ones returns the number of leading one bits of mask.
func ones(mask []byte) int {
	n := 0
	for _, b := range mask {
		for bit := byte(0x80); bit != 0 && b&bit != 0; bit >>= 1 {
			n++
		}
		if b != 0xff {
			break
		}
	}
	return n
}

// exportIPRange is ip/ip6 saddr/daddr A-B: a load of the address, then cmp
// gte and cmp lte, or range neq, as ctmatch's own encoding sends them.
func exportIPRange(exprs []nftexpr.Any, m expr.IPRange) []nftexpr.Any {
	off := expr.IPRangeOffset(m)
	lo, hi := m.Lo.AsSlice(), m.Hi.AsSlice()
	exprs = append(exprs, &nftexpr.Payload{DestRegister: exportReg1, Base: nftexpr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(len(lo))})
	if m.Op == expr.OpNotRange {
		return append(exprs, &nftexpr.Range{Op: nftexpr.CmpOpNeq, Register: exportReg1, FromData: lo, ToData: hi})
	}
	return append(exprs,
		&nftexpr.Cmp{Op: nftexpr.CmpOpGte, Register: exportReg1, Data: lo},
		&nftexpr.Cmp{Op: nftexpr.CmpOpLte, Register: exportReg1, Data: hi})
}
