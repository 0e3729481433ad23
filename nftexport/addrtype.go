package nftexport

import (
	"encoding/binary"

	nftexpr "github.com/google/nftables/expr"

	"github.com/ctmatch/ctmatch/expr"
)

// exportFibType is fib saddr|daddr [. iif|. oif] type: google/nftables
// v0.3.0 encodes the fib expression's register, flags and result as the
// kernel reads them (in another attribute order than nft), and the cmp
// compares the route type in host byte order, as nft does.
func exportFibType(exprs []nftexpr.Any, m expr.FibType) []nftexpr.Any {
	f := &nftexpr.Fib{Register: exportReg1, ResultADDRTYPE: true, FlagSADDR: m.Src, FlagDADDR: !m.Src,
		FlagIIF: m.Iface == expr.FibIif, FlagOIF: m.Iface == expr.FibOif}
	op := nftexpr.CmpOpEq
	if m.Op == expr.OpNeq {
		op = nftexpr.CmpOpNeq
	}
	return append(exprs, f, &nftexpr.Cmp{Op: op, Register: exportReg1, Data: binary.NativeEndian.AppendUint32(nil, m.Type)})
}
