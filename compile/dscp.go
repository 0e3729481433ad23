package compile

import (
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles DSCP to nft's ip dscp set / ip6 dscp set
// (docs/semantics.md, "DSCP"): xt_DSCP's dscp_tg rewrites the DSCP bits of
// the IPv4 TOS byte through ipv4_change_dsfield (the checksum updated), and
// dscp_tg6 those of the IPv6 traffic class through ipv6_change_dsfield,
// keeping the ECN bits, as nft's two-byte header write with its mask does.
// DSCP registers in the mangle table only.

func init() {
	targetPlaces["DSCP"] = targetPlace{"mangle", builtinChains, "xt_DSCP"}
}

// dscpStmts returns the statement of a DSCP target.
func dscpStmts(t *parse.Target, fam parse.Family) []expr.Stmt {
	f := familyTable(fam)
	return []expr.Stmt{expr.SetDSCP{Family: f, DSCP: t.DSCP()}}
}
