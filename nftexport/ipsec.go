package nftexport

import (
	nftexpr "github.com/google/nftables/expr"

	"github.com/ctmatch/ctmatch/expr"
)

// The keys google/nftables v0.3.0 has no names for: NFT_META_SECPATH and
// NFT_RT_XFRM (nf_tables.h).
const (
	metaKeySecpath nftexpr.MetaKey = 25
	rtKeyXfrm      nftexpr.RtKey   = 4
)

// exportIPsec is "meta secpath exists|missing" or "rt ipsec
// exists|missing": the load and a cmp eq of one byte, as ctmatch's own
// encoding sends them.
func exportIPsec(exprs []nftexpr.Any, m expr.IPsec) []nftexpr.Any {
	var load nftexpr.Any = &nftexpr.Meta{Key: metaKeySecpath, Register: exportReg1}
	if m.Out {
		load = &nftexpr.Rt{Key: rtKeyXfrm, Register: exportReg1}
	}
	var v byte
	if m.Exists {
		v = 1
	}
	return append(exprs, load, &nftexpr.Cmp{Op: nftexpr.CmpOpEq, Register: exportReg1, Data: []byte{v}})
}
