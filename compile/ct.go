package compile

import (
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles CT --notrack and NOTRACK to nft's notrack statement
// (docs/semantics.md, "CT and NOTRACK"): xt_CT's target with --notrack
// (which attaches no template) and NOTRACK's notrack_tg both mark a packet
// that conntrack has not seen yet as untracked, as nft_notrack_eval does.
// Both register in the raw table only, whose chains are PREROUTING and
// OUTPUT.

func init() {
	targetPlaces["CT"] = targetPlace{"raw", []string{"PREROUTING", "OUTPUT"}, "xt_CT"}
	targetPlaces["NOTRACK"] = targetPlace{"raw", []string{"PREROUTING", "OUTPUT"}, "xt_CT's NOTRACK"}
}

// ctStmts returns the statement of CT --notrack or NOTRACK, or of CT with a
// zone id or without options (ctzone.go).
func ctStmts(t *parse.Target) []expr.Stmt {
	if t.Name == "NOTRACK" || t.Option(parse.OptNotrack) != nil {
		return []expr.Stmt{expr.Notrack{}}
	}
	return []expr.Stmt{ctZoneStmt(t)}
}
