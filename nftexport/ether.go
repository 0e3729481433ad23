package nftexport

import (
	"encoding/binary"

	nftexpr "github.com/google/nftables/expr"

	"github.com/ctmatch/ctmatch/expr"
)

// exportEtherSaddr is "meta iiftype ether ether saddr ADDR": the device
// type test nft puts before the link-layer load in ip, ip6 and inet tables,
// then the load and its cmp, as ctmatch's own encoding sends them.
func exportEtherSaddr(exprs []nftexpr.Any, m expr.EtherSaddr) []nftexpr.Any {
	op := nftexpr.CmpOpEq
	if m.Op == expr.OpNeq {
		op = nftexpr.CmpOpNeq
	}
	return append(exprs,
		&nftexpr.Meta{Key: nftexpr.MetaKeyIIFTYPE, Register: exportReg1},
		&nftexpr.Cmp{Op: nftexpr.CmpOpEq, Register: exportReg1, Data: binary.NativeEndian.AppendUint16(nil, 1)}, // ARPHRD_ETHER
		&nftexpr.Payload{DestRegister: exportReg1, Base: nftexpr.PayloadBaseLLHeader, Offset: 6, Len: 6},
		&nftexpr.Cmp{Op: op, Register: exportReg1, Data: append([]byte(nil), m.Addr[:]...)})
}
