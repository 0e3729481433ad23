package expr

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds the statement that sets a mark from both marks at once,
// "meta mark set meta mark & 0xffffff00 ^ ct mark & 0x000000ff": each mark
// loaded into a register of its own and masked (nft_bitwise's (reg & mask)
// ^ 0), then the two registers combined by one bitwise of two registers
// (NFT_BITWISE_AND, _OR or _XOR with NFTA_BITWISE_SREG2, Linux 6.13), then
// the set. It is what CONNMARK's --save-mark and --restore-mark do with
// masks that keep part of the destination mark.
//
// The text is the one nft 1.1.2 and later read and print ("binop
// expressions with variable right-hand operands", nftables 1.1.2, which
// needs Linux 6.13): & binds tighter than ^ and |, so no parentheses. nft
// 1.0.6 can neither parse the text nor list the rule (its netlink_delinearize
// knows no bitwise with NFTA_BITWISE_SREG2). The bytes are those nftables
// 1.1.2 sends for the text (tests/py/inet/meta.t.payload): the left
// operand in NFT_REG_1, the right one in NFT_REG_2, the combining bitwise
// with SREG, SREG2, DREG, OP and LEN, as libnftnl 1.2.9 orders them.
//
// Without a conntrack entry the ct load ends the rule (NFT_BREAK) before
// the set, as xt_CONNMARK returns without changing either mark.

// BitOp is the operation of a bitwise of two registers.
type BitOp uint8

// The operations.
const (
	BitAnd BitOp = iota + 1 // NFT_BITWISE_AND: &
	BitOr                   // NFT_BITWISE_OR: |
	BitXor                  // NFT_BITWISE_XOR: ^
)

// symbol returns nft's operator, or "".
func (o BitOp) symbol() string {
	switch o {
	case BitAnd:
		return "&"
	case BitOr:
		return "|"
	case BitXor:
		return "^"
	}
	return ""
}

// wire returns the kernel's NFT_BITWISE_* of o.
func (o BitOp) wire() uint32 {
	switch o {
	case BitAnd:
		return bitwiseAnd
	case BitOr:
		return bitwiseOr
	}
	return bitwiseXor
}

// MarkTerm is a mark with a mask, Key & Mask; a Mask of 0xffffffff is the
// mark alone (no bitwise, and no "& MASK" in the text).
type MarkTerm struct {
	Key  MarkKey
	Mask uint32
}

// CombineMarks sets the mark Dst to (Left) Op (Right), where both operands
// are marks read in the same rule. CONNMARK --restore-mark is
// CombineMarks{MarkMeta, {MarkMeta, ^nfmask}, BitXor, {MarkCt, ctmask}},
// --save-mark CombineMarks{MarkCt, {MarkCt, ^ctmask}, BitXor, {MarkMeta,
// nfmask}}.
type CombineMarks struct {
	Dst   MarkKey
	Left  MarkTerm
	Op    BitOp
	Right MarkTerm
}

func (CombineMarks) isStmt() {}

func (s CombineMarks) check() error {
	valid := func(k MarkKey) bool { return k == MarkMeta || k == MarkCt }
	switch {
	case !valid(s.Dst):
		return errors.New("a mark set of no mark")
	case !valid(s.Left.Key) || !valid(s.Right.Key):
		return errors.New("a mark combined from no mark")
	case s.Op.symbol() == "":
		return errors.New("marks combined by no operation")
	}
	return nil
}

// appendText writes "DST set LEFT [& MASK] OP RIGHT [& MASK]".
func (s CombineMarks) appendText(b []byte) []byte {
	if err := s.check(); err != nil {
		return appendInvalid(b, err.Error())
	}
	term := func(b []byte, t MarkTerm) []byte {
		b = append(b, t.Key.String()...)
		if t.Mask != math.MaxUint32 {
			b = appendHex32(append(b, " & "...), t.Mask)
		}
		return b
	}
	b = append(append(b, s.Dst.String()...), " set "...)
	b = term(b, s.Left)
	b = append(append(append(b, ' '), s.Op.symbol()...), ' ')
	return term(b, s.Right)
}

// reg2 is NFT_REG_2, the register nft puts the right operand of a binop
// in (each non-concatenated operand takes a 16-byte register).
const reg2 = 2

// lower encodes s as nftables 1.1.2 does.
func (s CombineMarks) lower(ae *nfnl.Encoder) {
	s.lowerTerm(ae, s.Left, reg1)
	s.lowerTerm(ae, s.Right, reg2)
	at := ae.BeginExpr("bitwise")
	ae.U32(attrBitwiseSreg, reg1)
	ae.U32(attrBitwiseSreg2, reg2)
	ae.U32(attrBitwiseDreg, reg1)
	ae.U32(attrBitwiseOp, s.Op.wire())
	ae.U32(attrBitwiseLen, 4)
	ae.EndExpr(at)
	markLoad(ae, s.Dst, reg1, false)
}

// lowerTerm loads the mark of t into reg and masks it.
func (CombineMarks) lowerTerm(ae *nfnl.Encoder, t MarkTerm, reg uint32) {
	markLoad(ae, t.Key, reg, true)
	if t.Mask != math.MaxUint32 {
		putBitwiseReg(ae, reg, binary.NativeEndian.AppendUint32(nil, t.Mask), true)
	}
}

// markLoadInto reports which mark expression i loads into the 32-bit
// register slot, or 0.
func (p *raiser) markLoadInto(i, slot int) MarkKey {
	if i >= len(p.es) {
		return 0
	}
	e := &p.es[i]
	if e.u == nil || e.bad != "" || len(e.extra) > 0 {
		return 0
	}
	switch {
	case e.name == "meta" && e.u[attrMetaKey] == metaMark && e.has(attrMetaDreg) && !e.has(attrMetaSreg) &&
		regSlot(e.u[attrMetaDreg]) == slot:
		return MarkMeta
	case e.name == "ct" && e.u[attrCtKey] == ctMark && e.has(attrCtDreg) && !e.has(attrCtSreg) && !e.has(attrCtDirection) &&
		regSlot(e.u[attrCtDreg]) == slot:
		return MarkCt
	}
	return 0
}

// maskOf reads expression i as the mask of the register slot, (reg & mask)
// ^ 0 of 4 bytes in place, as nft sends it and as the kernel dumps it:
// the mask and true, or false when i is no such bitwise.
func (p *raiser) maskOf(i, slot int) (uint32, bool) {
	if i >= len(p.es) || p.es[i].name != "bitwise" {
		return 0, false
	}
	b := &p.es[i]
	if b.u == nil || b.bad != "" || len(b.extra) > 0 || b.has(attrBitwiseSreg2) || b.has(attrBitwiseData) {
		return 0, false
	}
	mask, xor := b.data[attrBitwiseMask], b.data[attrBitwiseXor]
	if regSlot(b.u[attrBitwiseSreg]) != slot || regSlot(b.u[attrBitwiseDreg]) != slot || b.u[attrBitwiseLen] != 4 ||
		(b.has(attrBitwiseOp) && b.u[attrBitwiseOp] != bitwiseMaskXor) ||
		mask.verdict || xor.verdict || len(mask.value) != 4 || len(xor.value) != 4 ||
		binary.NativeEndian.Uint32(xor.value) != 0 {
		return 0, false
	}
	return binary.NativeEndian.Uint32(mask.value), true
}

// term reads a mark load into slot, with its mask if one follows, at
// expression i: the term and how many expressions it takes (0: none).
func (p *raiser) term(i, slot int) (MarkTerm, int) {
	k := p.markLoadInto(i, slot)
	if k == 0 {
		return MarkTerm{}, 0
	}
	if m, ok := p.maskOf(i+1, slot); ok {
		return MarkTerm{k, m}, 2
	}
	return MarkTerm{k, math.MaxUint32}, 1
}

// combineMarksStmt reads a CombineMarks starting at expression i: the
// statement and how many expressions it takes, or 0 when none starts
// there. Once the two loads and the bitwise of two registers are seen,
// what does not follow the statement's shape is an error.
func (p *raiser) combineMarksStmt(i int) (Stmt, int, error) {
	left, n := p.term(i, 0)
	if n == 0 {
		return nil, 0, nil
	}
	right, m := p.term(i+n, 4)
	if m == 0 {
		return nil, 0, nil
	}
	j := i + n + m
	if j >= len(p.es) || p.es[j].name != "bitwise" || !p.es[j].has(attrBitwiseSreg2) {
		return nil, 0, nil
	}
	b := &p.es[j]
	if b.u == nil || b.bad != "" || len(b.extra) > 0 || len(b.u)+len(b.data)+len(b.str) != 5 {
		return nil, 0, p.fail(j, "a bitwise of two marks with attributes ctmatch does not expect")
	}
	var op BitOp
	switch b.u[attrBitwiseOp] {
	case bitwiseAnd:
		op = BitAnd
	case bitwiseOr:
		op = BitOr
	case bitwiseXor:
		op = BitXor
	}
	if op == 0 || regSlot(b.u[attrBitwiseSreg]) != 0 || regSlot(b.u[attrBitwiseSreg2]) != 4 ||
		regSlot(b.u[attrBitwiseDreg]) != 0 || b.u[attrBitwiseLen] != 4 {
		return nil, 0, p.fail(j, "a bitwise of two marks that is not reg 1 = reg 1 &, | or ^ reg 2 of 4 bytes")
	}
	dst, set := p.markExpr(j + 1)
	if dst == 0 || !set {
		return nil, 0, p.fail(j, "two marks combined but not set")
	}
	return CombineMarks{Dst: dst, Left: left, Op: op, Right: right}, j + 2 - i, nil
}

// appendJSON writes {"mangle": {"key": DST, "value": {OP: [LEFT, RIGHT]}}},
// each operand the mark or {"&": [MARK, MASK]}, as nft's JSON of the text.
func (s CombineMarks) appendJSON(b []byte) []byte {
	if err := s.check(); err != nil {
		return appendJSONInvalid(b, err.Error())
	}
	term := func(b []byte, t MarkTerm) []byte {
		if t.Mask == math.MaxUint32 {
			return appendMarkKeyJSON(b, t.Key)
		}
		return appendJSONAnd(b, appendMarkKeyJSON(nil, t.Key), appendJSONUint(nil, t.Mask))
	}
	b = append(appendMarkKeyJSON(append(b, `{"mangle":{"key":`...), s.Dst), `,"value":{"`...)
	b = append(append(b, s.Op.symbol()...), `":[`...)
	b = append(term(b, s.Left), ',')
	return append(term(b, s.Right), "]}}}"...)
}

// CombinesMarks reports whether r has a statement that combines both
// marks (CombineMarks), whose text only nft 1.1.2 and later read.
func (r Rule) CombinesMarks() bool {
	for _, s := range r.Stmts {
		if _, ok := s.(CombineMarks); ok {
			return true
		}
	}
	return false
}
