package nftexport

import (
	nftexpr "github.com/google/nftables/expr"

	"github.com/ctmatch/ctmatch/expr"
)

// exportPktType is meta pkttype and its one-byte cmp.
func exportPktType(exprs []nftexpr.Any, m expr.PktType) []nftexpr.Any {
	op := nftexpr.CmpOpEq
	if m.Op == expr.OpNeq {
		op = nftexpr.CmpOpNeq
	}
	return append(exprs, &nftexpr.Meta{Key: nftexpr.MetaKeyPKTTYPE, Register: exportReg1}, &nftexpr.Cmp{Op: op, Register: exportReg1, Data: []byte{m.Type}})
}
