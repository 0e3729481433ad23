package nftexport

import (
	"fmt"

	nftexpr "github.com/google/nftables/expr"

	"github.com/ctmatch/ctmatch/expr"
)

// exportSkID is meta skuid or skgid and its test: an equality in host
// order, a range after byteorder hton with big-endian bounds, as nft sends
// them.
func exportSkID(exprs []nftexpr.Any, m expr.SkID) ([]nftexpr.Any, error) {
	key := nftexpr.MetaKeySKUID
	if m.GID {
		key = nftexpr.MetaKeySKGID
	}
	exprs = append(exprs, &nftexpr.Meta{Key: key, Register: exportReg1})
	switch m.Op {
	case expr.OpEq, expr.OpNeq:
		op := nftexpr.CmpOpEq
		if m.Op == expr.OpNeq {
			op = nftexpr.CmpOpNeq
		}
		return append(exprs, &nftexpr.Cmp{Op: op, Register: exportReg1, Data: exportValue(m.Lo, 4, true)}), nil
	case expr.OpRange, expr.OpNotRange:
		exprs = append(exprs, &nftexpr.Byteorder{SourceRegister: exportReg1, DestRegister: exportReg1,
			Op: nftexpr.ByteorderHton, Len: 4, Size: 4})
		lo, hi := exportValue(m.Lo, 4, false), exportValue(m.Hi, 4, false)
		if m.Op == expr.OpRange {
			return append(exprs,
				&nftexpr.Cmp{Op: nftexpr.CmpOpGte, Register: exportReg1, Data: lo},
				&nftexpr.Cmp{Op: nftexpr.CmpOpLte, Register: exportReg1, Data: hi},
			), nil
		}
		return append(exprs, &nftexpr.Range{Op: nftexpr.CmpOpNeq, Register: exportReg1, FromData: lo, ToData: hi}), nil
	}
	return nil, fmt.Errorf("nftexport: cannot export operator %d of meta skuid", m.Op)
}
