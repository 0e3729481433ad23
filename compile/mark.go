package compile

import (
	"fmt"
	"math"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// This file compiles MARK and CONNMARK to meta mark set and ct mark set, and
// back (docs/semantics.md, "MARK and CONNMARK"):
//
//   - MARK (xt_MARK's mark_tg): mark = (mark & ~mask) ^ value. With mask
//     0xffffffff that is the value ("meta mark set 0x00000001"), else "meta
//     mark set meta mark and ~mask xor value", one bitwise of nft_bitwise's
//     (reg & mask) ^ xor form.
//   - CONNMARK --set-* (xt_CONNMARK's XT_CONNMARK_SET): ctmark = (ctmark &
//     ~ctmask) ^ ctmark value, written only when it changes (and then an
//     IPCT_MARK event), as nft_ct_set_eval does: "ct mark set …".
//   - --save-mark with ctmask 0xffffffff: ctmark = mark & nfmask ("ct mark set
//     meta mark [and NFMASK xor 0]"); with nfmask 0: ctmark = ctmark & ~ctmask.
//   - --restore-mark with nfmask 0xffffffff: mark = ctmark & ctmask ("meta mark
//     set ct mark [and CTMASK xor 0]"). Without a conntrack entry xt_CONNMARK
//     does nothing, and nft's ct load ends the rule before the set.
//
// The other masks keep part of the destination mark and take part of the
// other one; markmix.go compiles them to a bitwise of two registers.

// markStmts returns the statement of a MARK or CONNMARK target.
func markStmts(t *parse.Target) []expr.Stmt {
	const all = math.MaxUint32
	m := t.MarkInfo()
	dst := expr.MarkMeta
	if t.Name == "CONNMARK" {
		dst = expr.MarkCt
	}
	switch m.Mode {
	case parse.MarkSet:
		if m.Mask == all {
			return []expr.Stmt{expr.SetMark{Dst: dst, Xor: m.Value}}
		}
		return []expr.Stmt{expr.SetMark{Dst: dst, Src: dst, Bitwise: true, And: ^m.Mask, Xor: m.Value}}
	case parse.MarkSave:
		switch {
		case m.CtMask == all:
			return []expr.Stmt{copyMark(expr.MarkCt, expr.MarkMeta, m.NfMask)}
		case m.NfMask == 0:
			return []expr.Stmt{expr.SetMark{Dst: expr.MarkCt, Src: expr.MarkCt, Bitwise: true, And: ^m.CtMask}}
		}
		return []expr.Stmt{mixedSave(m)}
	case parse.MarkRestore:
		if m.NfMask == all {
			return []expr.Stmt{copyMark(expr.MarkMeta, expr.MarkCt, m.CtMask)}
		}
		return []expr.Stmt{mixedRestore(m)}
	}
	return nil
}

// copyMark sets dst to src & mask.
func copyMark(dst, src expr.MarkKey, mask uint32) expr.SetMark {
	if mask == math.MaxUint32 {
		return expr.SetMark{Dst: dst, Src: src}
	}
	return expr.SetMark{Dst: dst, Src: src, Bitwise: true, And: mask}
}

// markWords returns the iptables words of a mark set, as iptables-save
// prints them, or false when no MARK or CONNMARK does it.
func markWords(s expr.SetMark) ([]string, bool) {
	xmark := func(target string, value, mask uint32) []string {
		return []string{"-j", target, "--set-xmark", fmt.Sprintf("0x%x/0x%x", value, mask)}
	}
	masks := func(op string, nf, ct uint32) []string {
		return []string{"-j", "CONNMARK", op, "--nfmask", fmt.Sprintf("0x%x", nf), "--ctmask", fmt.Sprintf("0x%x", ct)}
	}
	target := map[expr.MarkKey]string{expr.MarkMeta: "MARK", expr.MarkCt: "CONNMARK"}[s.Dst]
	switch {
	case target == "":
		return nil, false
	case s.Src == 0:
		return xmark(target, s.Xor, math.MaxUint32), true
	case s.Src == s.Dst && s.Bitwise:
		return xmark(target, s.Xor, ^s.And), true
	case s.Src == s.Dst:
		return nil, false // a copy of a mark onto itself: no target writes that
	case s.Bitwise && s.Xor != 0:
		return nil, false
	}
	mask := uint32(math.MaxUint32)
	if s.Bitwise {
		mask = s.And
	}
	if s.Dst == expr.MarkCt {
		return masks("--save-mark", mask, math.MaxUint32), true
	}
	return masks("--restore-mark", math.MaxUint32, mask), true
}
