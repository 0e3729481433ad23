package expr

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds the statements that set the packet's mark (meta mark
// set) and the connection's mark (ct mark set):
//
//   - "meta mark set 0x00000005": an immediate into register 1, then meta
//     set mark (nft_meta_set_eval writes skb->mark);
//   - "meta mark set meta mark and 0xffffff0f xor 0x00000010": a load of
//     the mark, a bitwise (reg & And) ^ Xor, then the set;
//   - "ct mark set meta mark", "meta mark set ct mark and 0x000000ff": the
//     other mark loaded, with or without the bitwise.
//
// nft_ct_set_eval writes ct->mark only when the value differs, and then
// caches an IPCT_MARK event, as xt_CONNMARK does; without a conntrack entry
// (or with a template) it does nothing, and a ct load without one ends the
// rule (NFT_BREAK), after which nothing is set either.

// MarkKey names a mark: the packet's (meta mark) or the connection's (ct
// mark).
type MarkKey uint8

// Mark keys.
const (
	MarkMeta MarkKey = iota + 1 // meta mark: skb->mark (NFT_META_MARK)
	MarkCt                      // ct mark: the conntrack entry's mark (NFT_CT_MARK)
)

func (k MarkKey) String() string {
	switch k {
	case MarkMeta:
		return "meta mark"
	case MarkCt:
		return "ct mark"
	}
	return "mark(" + strconv.Itoa(int(k)) + ")"
}

// SetMark sets the mark Dst to a value: Xor when Src is 0; else the mark
// Src, through (Src & And) ^ Xor when Bitwise.
type SetMark struct {
	Dst     MarkKey
	Src     MarkKey // 0: the constant Xor
	Bitwise bool    // with Src: apply And and Xor
	And     uint32
	Xor     uint32
}

func (SetMark) isStmt() {}

// (metaMark and ctMark, the keys, are in mark.go.)

func (s SetMark) check() error {
	if s.Dst != MarkMeta && s.Dst != MarkCt {
		return errors.New("a mark set of no mark")
	}
	switch s.Src {
	case 0:
		if s.Bitwise || s.And != 0 {
			return errors.New("a constant mark with a bitwise")
		}
	case MarkMeta, MarkCt:
		if !s.Bitwise && (s.And != 0 || s.Xor != 0) {
			return errors.New("a mark copy with a mask but no bitwise")
		}
	default:
		return errors.New("a mark set from no mark")
	}
	return nil
}

func (s SetMark) appendText(b []byte) []byte {
	if err := s.check(); err != nil {
		return appendInvalid(b, err.Error())
	}
	b = append(append(b, s.Dst.String()...), " set "...)
	if s.Src == 0 {
		return appendHex32(b, s.Xor)
	}
	b = append(b, s.Src.String()...)
	if s.Bitwise {
		b = appendHex32(append(b, " and "...), s.And)
		b = appendHex32(append(b, " xor "...), s.Xor)
	}
	return b
}

// lower encodes s as nft 1.0.6 does.
func (s SetMark) lower(ae *nfnl.Encoder) {
	if s.Src == 0 {
		at := ae.BeginExpr("immediate")
		ae.U32(attrImmediateDreg, reg1)
		ae.Value(attrImmediateData, binary.NativeEndian.AppendUint32(nil, s.Xor))
		ae.EndExpr(at)
	} else {
		markLoad(ae, s.Src, reg1, true)
		if s.Bitwise {
			at := ae.BeginExpr("bitwise")
			ae.U32(attrBitwiseSreg, reg1)
			ae.U32(attrBitwiseDreg, reg1)
			ae.U32(attrBitwiseOp, bitwiseMaskXor)
			ae.U32(attrBitwiseLen, 4)
			ae.Value(attrBitwiseMask, binary.NativeEndian.AppendUint32(nil, s.And))
			ae.Value(attrBitwiseXor, binary.NativeEndian.AppendUint32(nil, s.Xor))
			ae.EndExpr(at)
		}
	}
	markLoad(ae, s.Dst, reg1, false)
}

// markLoad writes a load of the mark k into register 1, or (set) a set of
// it from register 1.
func markLoad(ae *nfnl.Encoder, k MarkKey, reg uint32, load bool) {
	name, key, dreg, sreg := "meta", uint16(attrMetaKey), uint16(attrMetaDreg), uint16(attrMetaSreg)
	kv := uint32(metaMark)
	if k != MarkMeta {
		name, key, dreg, sreg, kv = "ct", attrCtKey, attrCtDreg, attrCtSreg, ctMark
	}
	at := ae.BeginExpr(name)
	ae.U32(key, kv)
	if load {
		ae.U32(dreg, reg)
	} else {
		ae.U32(sreg, reg)
	}
	ae.EndExpr(at)
}

// markExpr reports which mark expression i loads (set false) or sets (set
// true) through register 1; 0 when it is not one.
func (p *raiser) markExpr(i int) (k MarkKey, set bool) {
	if i >= len(p.es) {
		return 0, false
	}
	e := &p.es[i]
	if e.u == nil || e.bad != "" || len(e.extra) > 0 {
		return 0, false
	}
	var dregA, sregA uint16
	switch e.name {
	case "meta":
		if e.u[attrMetaKey] != metaMark {
			return 0, false
		}
		k, dregA, sregA = MarkMeta, attrMetaDreg, attrMetaSreg
	case "ct":
		if e.u[attrCtKey] != ctMark || e.has(attrCtDirection) {
			return 0, false
		}
		k, dregA, sregA = MarkCt, attrCtDreg, attrCtSreg
	default:
		return 0, false
	}
	switch {
	case e.has(sregA) && !e.has(dregA) && regSlot(e.u[sregA]) == 0:
		return k, true
	case e.has(dregA) && !e.has(sregA) && regSlot(e.u[dregA]) == 0:
		return k, false
	}
	return 0, false
}

// markStmt reads a mark set starting at expression i: its statement and
// how many expressions it takes, or 0 when none starts there.
func (p *raiser) markStmt(i int) (Stmt, int, error) {
	e := &p.es[i]
	s := SetMark{}
	n := 0
	switch {
	case e.name == "immediate" && e.u != nil && e.u[attrImmediateDreg] == reg1:
		dst, set := p.markExpr(i + 1)
		if dst == 0 || !set {
			return nil, 0, nil
		}
		d := e.data[attrImmediateData]
		if d.verdict || len(d.value) != 4 {
			return nil, 0, p.fail(i, "a mark set from %d bytes", len(d.value))
		}
		s.Dst, s.Xor = dst, binary.NativeEndian.Uint32(d.value)
		return s, 2, nil
	default:
		src, set := p.markExpr(i)
		if src == 0 || set {
			return nil, 0, nil
		}
		// A load, maybe with a bitwise, then a cmp is the mark match
		// (mark.go), not a statement.
		if next := i + 1; next < len(p.es) && (p.es[next].name == "cmp" ||
			p.es[next].name == "bitwise" && next+1 < len(p.es) && p.es[next+1].name == "cmp") {
			return nil, 0, nil
		}
		s.Src = src
		n = 1
		if i+1 < len(p.es) && p.es[i+1].name == "bitwise" {
			b := &p.es[i+1]
			want := 5
			if b.has(attrBitwiseOp) {
				want = 6
			}
			if b.u == nil || b.bad != "" || len(b.extra) > 0 || len(b.u)+len(b.data)+len(b.str) != want {
				return nil, 0, p.fail(i+1, "a bitwise of a mark with attributes ctmatch does not expect")
			}
			mask, xor := b.data[attrBitwiseMask], b.data[attrBitwiseXor]
			if b.u[attrBitwiseSreg] != reg1 || b.u[attrBitwiseDreg] != reg1 || b.u[attrBitwiseLen] != 4 ||
				(b.has(attrBitwiseOp) && b.u[attrBitwiseOp] != bitwiseMaskXor) ||
				mask.verdict || xor.verdict || len(mask.value) != 4 || len(xor.value) != 4 {
				return nil, 0, p.fail(i+1, "a bitwise of a mark that is not (reg 1 & mask) ^ xor of 4 bytes")
			}
			s.Bitwise, s.And, s.Xor = true, binary.NativeEndian.Uint32(mask.value), binary.NativeEndian.Uint32(xor.value)
			n = 2
		}
		dst, set := p.markExpr(i + n)
		if dst == 0 || !set {
			if n == 1 {
				return nil, 0, nil // a mark load for a match
			}
			return nil, 0, p.fail(i+n, "a mark loaded and changed but not set")
		}
		s.Dst = dst
		return s, n + 1, nil
	}
}

// appendMarkKeyJSON writes a mark as nft's JSON names it: {"ct": {"key":
// "mark"}} or {"meta": {"key": "mark"}}.
func appendMarkKeyJSON(b []byte, k MarkKey) []byte {
	if k == MarkCt {
		return appendJSONKeyed(b, "ct", "mark", "")
	}
	return appendJSONKeyed(b, "meta", "mark", "")
}

// appendJSON writes {"mangle": {"key": DST, "value": …}}, the value a
// number, the source mark, or {"^": [{"&": [SRC, AND]}, XOR]} as the
// text's "SRC and AND xor XOR".
func (s SetMark) appendJSON(b []byte) []byte {
	if err := s.check(); err != nil {
		return appendJSONInvalid(b, err.Error())
	}
	b = append(appendMarkKeyJSON(append(b, `{"mangle":{"key":`...), s.Dst), `,"value":`...)
	switch {
	case s.Src == 0:
		b = appendJSONUint(b, s.Xor)
	case s.Bitwise:
		and := appendJSONAnd(nil, appendMarkKeyJSON(nil, s.Src), appendJSONUint(nil, s.And))
		b = append(append(append(b, `{"^":[`...), and...), ',')
		b = append(appendJSONUint(b, s.Xor), "]}"...)
	default:
		b = appendMarkKeyJSON(b, s.Src)
	}
	return append(b, "}}"...)
}
