package nftexport

import (
	nftexpr "github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
)

// exportNetmap returns v0.3.0's expressions for a netmap statement, as
// ctmatch's Lower sends it: the prefix's first and last address into
// registers 1 and 2, then NAT with Prefix (NF_NAT_RANGE_NETMAP, which
// v0.3.0 names NF_NAT_RANGE_PREFIX).
func exportNetmap(exprs []nftexpr.Any, s expr.Netmap) []nftexpr.Any {
	n := &nftexpr.NAT{Type: nftexpr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegAddrMax: 2, Prefix: true}
	if s.Type == expr.DNAT {
		n.Type = nftexpr.NATTypeDestNAT
	}
	if !s.Prefix.Addr().Is4() {
		n.Family = unix.NFPROTO_IPV6
	}
	return append(exprs,
		&nftexpr.Immediate{Register: 1, Data: s.Prefix.Addr().AsSlice()},
		&nftexpr.Immediate{Register: 2, Data: s.Last().AsSlice()},
		n)
}
