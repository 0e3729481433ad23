package expr

import "github.com/ctmatch/ctmatch/internal/nfnl"

// Notrack is nft's notrack statement (nft_ct.c nft_notrack_eval): a packet
// not yet seen by conntrack is marked untracked (IP_CT_UNTRACKED), as
// xt_CT's --notrack and NOTRACK do. It has no attributes, and nft sends it
// without NFTA_EXPR_DATA.
type Notrack struct{}

func (Notrack) isStmt() {}

func init() { schemas["notrack"] = map[uint16]attrKind{} }

func (Notrack) lower(ae *nfnl.Encoder) {
	at := ae.Nest(nfnl.AttrListElem)
	ae.String(nfnl.AttrExprName, "notrack")
	ae.End(at)
}

// appendJSON writes {"notrack": null}.
func (Notrack) appendJSON(b []byte) []byte { return append(b, `{"notrack":null}`...) }
