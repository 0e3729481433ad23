package compile

import (
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles CONNMARK's --save-mark and --restore-mark with masks
// that keep part of the destination mark while taking part of the other
// (docs/semantics.md, "MARK and CONNMARK"), and back. xt_CONNMARK
// (connmark_tg_shift, with iptables 1.8.9's shift of 0 bits) computes
//
//	save:    ctmark = (ctmark & ~ctmask) ^ (mark & nfmask)
//	restore: mark   = (mark & ~nfmask) ^ (ctmark & ctmask)
//
// and, without a conntrack entry, changes neither. The nft rule is that
// formula as written, "ct mark set ct mark & ~CTMASK ^ meta mark & NFMASK"
// and "meta mark set meta mark & ~NFMASK ^ ct mark & CTMASK": the two marks
// loaded into two registers and joined by NFT_BITWISE_XOR of the two
// (Linux 6.13). Its ct load ends the rule without a conntrack entry, so
// the rule then changes nothing either. Only nft 1.1.2 and later read the
// text (ctmatch.Rule.Caveats says so).

// mixedSave returns the statement of --save-mark with ctmask other than
// 0xffffffff and nfmask other than 0.
func mixedSave(m parse.MarkInfo) expr.CombineMarks {
	return expr.CombineMarks{Dst: expr.MarkCt, Left: expr.MarkTerm{Key: expr.MarkCt, Mask: ^m.CtMask},
		Op: expr.BitXor, Right: expr.MarkTerm{Key: expr.MarkMeta, Mask: m.NfMask}}
}

// mixedRestore returns the statement of --restore-mark with nfmask other
// than 0xffffffff.
func mixedRestore(m parse.MarkInfo) expr.CombineMarks {
	return expr.CombineMarks{Dst: expr.MarkMeta, Left: expr.MarkTerm{Key: expr.MarkMeta, Mask: ^m.NfMask},
		Op: expr.BitXor, Right: expr.MarkTerm{Key: expr.MarkCt, Mask: m.CtMask}}
}

// combinedMarkWords returns the CONNMARK words of a statement that
// combines both marks, as iptables-save prints them, or false when no
// CONNMARK does what it does: the destination mark masked, xor the other
// mark masked.
func combinedMarkWords(s expr.CombineMarks) ([]string, bool) {
	if s.Op != expr.BitXor || s.Left.Key != s.Dst || s.Right.Key == s.Dst {
		return nil, false
	}
	op, nf, ct := "--restore-mark", ^s.Left.Mask, s.Right.Mask
	if s.Dst == expr.MarkCt {
		op, nf, ct = "--save-mark", s.Right.Mask, ^s.Left.Mask
	}
	return []string{"-j", "CONNMARK", op, "--nfmask", fmt.Sprintf("0x%x", nf), "--ctmask", fmt.Sprintf("0x%x", ct)}, true
}
