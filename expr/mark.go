package expr

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds the mark tests, "meta mark & MASK == VALUE" (the
// packet's mark, skb->mark) and "ct mark & MASK == VALUE" (its conntrack's
// mark). Both keys are 4 bytes in host byte order; nft sends the load, a
// bitwise & MASK ^ 0 unless the mask is all ones, and a cmp eq or neq of
// the value (nft_meta.c, nft_ct.c, nft_bitwise.c, nft_cmp.c). ct mark, as
// every ct key but state, stops the rule (NFT_BREAK) when the packet has no
// conntrack, whatever the comparison.

// Keys of the marks.
const (
	metaMark = 3 // NFT_META_MARK
	ctMark   = 3 // NFT_CT_MARK
)

// Mark is "meta mark & Mask == Value" (Ct false) or "ct mark & Mask ==
// Value" (Ct true), or != with OpNeq. A Mask of all ones is the plain
// "meta mark Value".
type Mark struct {
	Ct    bool
	Op    Op // OpEq or OpNeq
	Value uint32
	Mask  uint32
}

func (Mark) isMatch() {}

// String returns the nft text of the match, e.g. "ct mark & 0x000000ff ==
// 0x00000001".
func (m Mark) String() string { return string(m.appendText(nil)) }

func (m Mark) key() string {
	if m.Ct {
		return "ct mark"
	}
	return "meta mark"
}

// appendHex32 writes v as nft lists a mark: "0x%08x".
func appendHex32(b []byte, v uint32) []byte {
	s := strconv.FormatUint(uint64(v), 16)
	b = append(b, "0x"...)
	for range 8 - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// appendText writes the match as nft 1.0.6 lists it: "meta mark
// 0x00000001", "meta mark != 0x00000001", "meta mark & 0x000000ff ==
// 0x00000001".
func (m Mark) appendText(b []byte) []byte {
	b = append(append(b, m.key()...), ' ')
	if m.Op != OpEq && m.Op != OpNeq {
		return appendInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	if m.Mask != math.MaxUint32 {
		b = append(appendHex32(append(b, "& "...), m.Mask), ' ')
		if m.Op == OpEq {
			b = append(b, "== "...)
		}
	}
	if m.Op == OpNeq {
		b = append(b, "!= "...)
	}
	return appendHex32(b, m.Value)
}

func checkMark(m Mark) error {
	if m.Op != OpEq && m.Op != OpNeq {
		return errOperator(m.Op, m.key())
	}
	return nil
}

func lowerMark(ae *nfnl.Encoder, m Mark) {
	if m.Ct {
		at := ae.BeginExpr("ct")
		ae.U32(attrCtKey, ctMark)
		ae.U32(attrCtDreg, reg1)
		ae.EndExpr(at)
	} else {
		at := ae.BeginExpr("meta")
		ae.U32(attrMetaKey, metaMark)
		ae.U32(attrMetaDreg, reg1)
		ae.EndExpr(at)
	}
	var v [4]byte
	if m.Mask != math.MaxUint32 {
		binary.NativeEndian.PutUint32(v[:], m.Mask)
		putBitwise(ae, v[:], true)
	}
	op := uint32(cmpEq)
	if m.Op == OpNeq {
		op = cmpNeq
	}
	binary.NativeEndian.PutUint32(v[:], m.Value)
	putCmp(ae, op, v[:])
}

// mark reads a load of meta mark or ct mark (at index i, into register
// slot), an optional bitwise & MASK ^ 0, and a cmp eq or neq of 4 bytes.
func (p *raiser) mark(i, slot int, ct bool) (Match, error) {
	m := Mark{Ct: ct, Mask: math.MaxUint32}
	if slot < 0 || slot+1 > 16 {
		return nil, p.fail(i, "%s loads into no register that holds it", m.key())
	}
	mask, err := p.bitwise(slot, 4)
	if err != nil {
		return nil, err
	}
	if mask != nil {
		m.Mask = binary.NativeEndian.Uint32(mask)
	}
	j, err := p.cmp(i, slot)
	if err != nil {
		return nil, err
	}
	e := &p.es[j]
	switch e.u[attrCmpOp] {
	case cmpEq:
		m.Op = OpEq
	case cmpNeq:
		m.Op = OpNeq
	default:
		return nil, p.fail(j, "%s is tested only for equality or inequality", m.key())
	}
	v := e.data[attrCmpData].value
	if len(v) != 4 {
		return nil, p.fail(j, "compares %d bytes of %s, which has 4", len(v), m.key())
	}
	m.Value = binary.NativeEndian.Uint32(v)
	return m, nil
}

func (m Mark) appendJSON(b []byte) []byte {
	if m.Op != OpEq && m.Op != OpNeq {
		return appendJSONInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	kind := "meta"
	if m.Ct {
		kind = "ct"
	}
	left := appendJSONKeyed(nil, kind, "mark", "")
	if m.Mask != math.MaxUint32 {
		left = appendJSONAnd(nil, left, appendJSONUint(nil, m.Mask))
	}
	op, _ := jsonOp(m.Op)
	return appendJSONMatch(b, op, left, appendJSONUint(nil, m.Value))
}
