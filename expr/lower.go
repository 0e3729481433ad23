package expr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file lowers the IR to nf_tables wire expressions: the bytes nft 1.0.6
// sends for the rule's nft text (see text.go), attribute for attribute,
// padding included. What nft 1.0.6 sends, and so what Lower sends:
//
//   - Every load goes to register 1 (NFT_REG_1, the first 16-byte register,
//     which holds the 16 bytes of an IPv6 address too), and every bitwise,
//     byteorder, cmp and range reads and writes register 1.
//   - ct: NFTA_CT_KEY, NFTA_CT_DREG, then NFTA_CT_DIRECTION as one byte for
//     ports, addresses (keys 19-22) and the protocol (always original).
//   - Flag tests: bitwise (4 bytes, the mask in host order, xor 0) and
//     cmp neq 0 (any bit) or cmp eq 0 (no bit).
//   - bitwise: NFTA_BITWISE_SREG, _DREG, [_OP], _LEN, _MASK, _XOR, where
//     NFTA_BITWISE_OP (0, NFT_BITWISE_BOOL) is there exactly when the nft
//     text spells the mask with "&" (see putBitwise).
//   - Values of 1 and 2 bytes (direction, protocol, ports; ports big endian):
//     cmp eq|neq; a range is cmp gte + cmp lte; a negated range is range neq.
//   - Expiration (4 bytes, host order): cmp eq|neq in host order; a range is
//     byteorder hton + cmp gte + cmp lte, a negated range byteorder hton +
//     range neq, in big endian.
//   - Addresses: an exact address is one cmp of the whole address; a prefix
//     whose length is a multiple of 8 (but not 0) a shorter cmp of its bytes;
//     any other prefix, /0 included, and any other mask bitwise (the whole
//     address) + cmp of the whole address.
//   - meta nfproto: meta (NFTA_META_KEY, NFTA_META_DREG) + cmp eq of 1 byte;
//     meta l4proto the same, with cmp eq or neq.
//   - payload (NFTA_PAYLOAD_DREG, _BASE, _OFFSET, _LEN), then the value
//     tests of ct ports; equalities of adjacent fields of one header share
//     one load and one cmp (see lowerPayloads).
//   - meta mark and ct mark: load, bitwise & MASK ^ 0 (with
//     NFTA_BITWISE_OP) unless the mask is all ones, cmp eq|neq of 4 bytes in
//     host order; limit: rate, unit, burst, type, flags (mark.go, limit.go).
//   - counter: an empty NFTA_EXPR_DATA (no packets, no bytes).
//   - Verdicts: immediate to register 0 (NFT_REG_VERDICT) of
//     NFTA_DATA_VERDICT with the code, and the chain for jump and goto.
//
// Every nested attribute carries NLA_F_NESTED, as libnftnl sets it.

// Lower encodes r as the expressions of an nf_tables rule in a table of
// family f: the payload of the rule's NFTA_RULE_EXPRESSIONS attribute, a list
// of NFTA_LIST_ELEM, each an NFTA_EXPR_NAME and an NFTA_EXPR_DATA. The bytes
// are those nft 1.0.6 sends for the nft text of r (r.String()). Values kept
// in host byte order (state and status masks, expiration) are encoded in the
// byte order of the running machine, as the kernel reads them.
//
// Lower refuses, with an *InvalidRuleError, what the text renderer writes as
// "(invalid …)" and what nft refuses in that family: an unknown key or
// operator, a value too large for its key, a reversed range, an address of
// the wrong family or with a zone, an unknown direction, a jump or goto
// without a chain, meta nfproto outside inet tables, IPv4 address keys in ip6
// tables and IPv6 address keys in ip tables, a chain name of more than 255
// bytes or with a NUL byte. A rule with no matches, no counter and no verdict
// encodes as an empty list (the kernel takes it; nft has no text for it).
func (r Rule) Lower(f Family) ([]byte, error) {
	switch f {
	case FamilyIP, FamilyIP6, FamilyInet:
	default:
		return nil, &InvalidRuleError{Family: f, Match: -1, Reason: "unknown table family"}
	}
	// The expressions are written into a pooled scratch buffer and
	// returned as one allocation of their exact size. The encoder itself
	// lives on the stack: appending to a slice held in a heap object would
	// cost a GC write barrier on every append.
	buf := bufPool.Get().(*[]byte)
	ae := nfnl.Encoder{B: (*buf)[:0]}
	err := r.lower(&ae, f)
	var out []byte
	if err == nil {
		out = append(make([]byte, 0, len(ae.B)), ae.B...)
	}
	*buf = ae.B[:0]
	bufPool.Put(buf)
	return out, err
}

// AppendLower is Lower appending the expressions to b (nothing, on an
// error): a caller that lowers several rules into one buffer.
func (r Rule) AppendLower(b []byte, f Family) ([]byte, error) {
	switch f {
	case FamilyIP, FamilyIP6, FamilyInet:
	default:
		return b, &InvalidRuleError{Family: f, Match: -1, Reason: "unknown table family"}
	}
	ae := nfnl.Encoder{B: b}
	if err := r.lower(&ae, f); err != nil {
		return b, err
	}
	return ae.B, nil
}

func (r Rule) lower(ae *nfnl.Encoder, f Family) error {
	return r.lowerSets(ae, f, &setAlloc{next: 1})
}

func (r Rule) lowerSets(ae *nfnl.Encoder, f Family, sets *setAlloc) error {
	for i, m := range r.Matches {
		if err := checkMatch(f, m); err != nil {
			return &InvalidRuleError{Family: f, Match: i, Text: string(appendMatch(nil, m)), Reason: err.Error()}
		}
	}
	for i := 0; i < len(r.Matches); i++ {
		if _, ok := r.Matches[i].(Payload); ok {
			i += lowerPayloads(ae, r.Matches[i:]) - 1
			continue
		}
		if l, ok := r.Matches[i].(Lookup); ok {
			proto := transportProto(r.Matches, i)
			sets.sets = append(sets.sets, lookupSet(l, proto, sets.next))
			lowerLookup(ae, l, sets.next)
			sets.next++
			continue
		}
		lowerMatch(ae, r.Matches[i])
	}
	if r.Counter {
		ae.EndExpr(ae.BeginExpr("counter"))
	}
	nf := netFamily(r.Matches, f)
	for i, s := range r.Stmts {
		if err := checkStmt(s, nf); err != nil {
			return &InvalidRuleError{Family: f, Match: -1, Text: string(appendStmt(nil, s, f == FamilyInet)), Reason: "statement " + strconv.Itoa(i+1) + ": " + err.Error()}
		}
		lowerStmt(ae, s, f)
	}
	if err := checkVerdict(r.Verdict); err != nil {
		return &InvalidRuleError{Family: f, Match: -1, Text: r.Verdict.String(), Reason: err.Error()}
	}
	lowerVerdict(ae, r.Verdict)
	if len(ae.B) > 1<<16-1 {
		// Only an attribute above 64 KiB fails, and none of these can.
		return &InvalidRuleError{Family: f, Match: -1, Reason: "expressions of more than 64 KiB"}
	}
	return nil
}

// An InvalidRuleError says why Lower cannot encode a rule.
type InvalidRuleError struct {
	Family Family // the table family the rule was lowered for
	Match  int    // the index in Rule.Matches of the match at fault, or -1
	Text   string // the nft text of the part at fault, if any
	Reason string
}

func (e *InvalidRuleError) Error() string {
	s := "cannot encode rule for an " + e.Family.String() + " table"
	if e.Match >= 0 {
		s += ": match " + strconv.FormatUint(uint64(e.Match+1), 10)
	}
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	return s + ": " + e.Reason
}

// keyInfo is what the wire encoding needs to know of a ct key.
type keyInfo struct {
	size  int  // bytes the key loads
	dir   bool // NFTA_CT_DIRECTION is sent
	flags bool // a flag key: OpAny and OpNone
	host  bool // a 4-byte value in host order (ranges go through byteorder)
	addr  bool // an address key
	v4    bool // an IPv4 address key
}

// keyInfos is indexed by CtKey: an array rather than a map, since every
// match of every rule looks its key up. A key without a size is one ctmatch
// does not know.
var keyInfos = [...]keyInfo{
	CtState:      {size: 4, flags: true},
	CtStatus:     {size: 4, flags: true},
	CtDirection:  {size: 1},
	CtExpiration: {size: 4, host: true},
	CtProtocol:   {size: 1, dir: true},
	CtProtoSrc:   {size: 2, dir: true},
	CtProtoDst:   {size: 2, dir: true},
	CtSrcIP:      {size: 4, dir: true, addr: true, v4: true},
	CtDstIP:      {size: 4, dir: true, addr: true, v4: true},
	CtSrcIP6:     {size: 16, dir: true, addr: true},
	CtDstIP6:     {size: 16, dir: true, addr: true},
}

// keyInfoOf returns what the wire encoding needs to know of key k, or false
// when ctmatch does not know the key.
func keyInfoOf(k CtKey) (keyInfo, bool) {
	if int(k) >= len(keyInfos) || keyInfos[k].size == 0 {
		return keyInfo{}, false
	}
	return keyInfos[k], true
}

// checkMatch reports what makes m impossible to encode in a table of family f.
func checkMatch(f Family, m Match) error {
	switch m := m.(type) {
	case Nfproto:
		if m.Family != FamilyIP && m.Family != FamilyIP6 {
			return fmt.Errorf("meta nfproto of family %v", m.Family)
		}
		if f != FamilyInet {
			return fmt.Errorf("meta nfproto in an %v table (nft takes it only in inet tables)", f)
		}
		return nil
	case Ct:
		return checkCt(f, m)
	case L4Proto:
		return checkL4Proto(m)
	case Payload:
		return checkPayload(f, m)
	case Exthdr:
		return checkExthdr(f, m)
	case IfName:
		return checkIfName(m)
	case IPAddr:
		return checkIPAddr(f, m)
	case FibType:
		return checkFibType(m)
	case PktType:
		return checkPktType(m)
	case SkID:
		return checkSkID(m)
	case Mark:
		return checkMark(m)
	case Limit:
		return checkLimit(m)
	case Lookup:
		return checkLookup(f, m)
	case IPRange:
		return checkIPRange(f, m)
	case EtherSaddr:
		return checkEtherSaddr(m)
	case IPsec:
		return nil
	}
	return fmt.Errorf("match of type %T", m)
}

func checkCt(f Family, c Ct) error {
	k, ok := keyInfoOf(c.Key)
	if !ok {
		return fmt.Errorf("unknown ct key %d", c.Key)
	}
	if k.dir && c.Key != CtProtocol && c.Dir != DirOriginal && c.Dir != DirReply {
		return fmt.Errorf("unknown direction %d", c.Dir)
	}
	switch {
	case k.flags:
		if c.Op != OpAny && c.Op != OpNone {
			return fmt.Errorf("operator %d on a flag key", c.Op)
		}
	case k.addr:
		if c.Op != OpEq && c.Op != OpNeq {
			return fmt.Errorf("operator %d on an address key", c.Op)
		}
		fam := "IPv6"
		if k.v4 {
			fam = "IPv4"
		}
		if !addrOf(c.Addr, k.v4) || !addrOf(c.AddrMask, k.v4) {
			return fmt.Errorf("address %v mask %v is not an %s address without a zone", c.Addr, c.AddrMask, fam)
		}
		if k.v4 && f == FamilyIP6 || !k.v4 && f == FamilyIP {
			return fmt.Errorf("%s address key in an %v table (nft refuses it)", fam, f)
		}
	default:
		switch c.Op {
		case OpEq, OpNeq, OpRange, OpNotRange:
		default:
			return fmt.Errorf("operator %d on a value key", c.Op)
		}
		max := uint64(1)<<(8*k.size) - 1
		if uint64(c.Lo) > max {
			return fmt.Errorf("value %d above %d", c.Lo, max)
		}
		if c.Op == OpRange || c.Op == OpNotRange {
			if uint64(c.Hi) > max {
				return fmt.Errorf("value %d above %d", c.Hi, max)
			}
			if c.Lo > c.Hi {
				return fmt.Errorf("reversed range %d-%d", c.Lo, c.Hi)
			}
		}
	}
	return nil
}

func checkVerdict(v Verdict) error {
	switch v.Kind {
	case VerdictNone, VerdictAccept, VerdictDrop, VerdictReturn:
		return nil
	case VerdictJump, VerdictGoto:
		if v.Chain == "" {
			if v.Kind == VerdictJump {
				return errors.New("jump without a chain")
			}
			return errors.New("goto without a chain")
		}
		if len(v.Chain) > 255 {
			return fmt.Errorf("chain name of %d bytes (at most 255)", len(v.Chain))
		}
		for i := 0; i < len(v.Chain); i++ {
			if v.Chain[i] == 0 {
				return fmt.Errorf("chain name %q holds a NUL byte", v.Chain)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown verdict %d", v.Kind)
}

// bufPool holds the scratch buffers of Lower and Rule.WriteText.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func putCt(e *nfnl.Encoder, key CtKey, dir *Dir) {
	at := e.BeginExpr("ct")
	e.U32(attrCtKey, uint32(key))
	e.U32(attrCtDreg, reg1)
	if dir != nil {
		e.U8(attrCtDirection, uint8(*dir))
	}
	e.EndExpr(at)
}

func putCmp(e *nfnl.Encoder, op uint32, value []byte) {
	at := e.BeginExpr("cmp")
	e.U32(attrCmpSreg, reg1)
	e.U32(attrCmpOp, op)
	e.Value(attrCmpData, value)
	e.EndExpr(at)
}

// putBitwise appends reg 1 = (reg 1 & mask) ^ 0. nft 1.0.6 sends
// NFTA_BITWISE_OP (NFT_BITWISE_BOOL, 0) when the text has an explicit "&"
// ("ct state & 0x30 != 0", "ct original ip saddr & 255.0.255.0 == 10.0.5.0"),
// and leaves it out when the bitwise comes from a flag list or a prefix
// ("ct state new", "10.16.0.0/12"); op says which.
func putBitwise(e *nfnl.Encoder, mask []byte, op bool) {
	putBitwiseReg(e, reg1, mask, op)
}

// putBitwiseReg is putBitwise on register reg: reg = (reg & mask) ^ 0.
func putBitwiseReg(e *nfnl.Encoder, reg uint32, mask []byte, op bool) {
	at := e.BeginExpr("bitwise")
	e.U32(attrBitwiseSreg, reg)
	e.U32(attrBitwiseDreg, reg)
	if op {
		e.U32(attrBitwiseOp, bitwiseMaskXor)
	}
	e.U32(attrBitwiseLen, uint32(len(mask)))
	e.Value(attrBitwiseMask, mask)
	var zero [16]byte
	e.Value(attrBitwiseXor, zero[:len(mask)])
	e.EndExpr(at)
}

func putByteorderHton(e *nfnl.Encoder, size int) {
	at := e.BeginExpr("byteorder")
	e.U32(attrByteorderSreg, reg1)
	e.U32(attrByteorderDreg, reg1)
	e.U32(attrByteorderOp, byteorderHton)
	e.U32(attrByteorderLen, uint32(size))
	e.U32(attrByteorderSize, uint32(size))
	e.EndExpr(at)
}

func putRange(e *nfnl.Encoder, op uint32, from, to []byte) {
	at := e.BeginExpr("range")
	e.U32(attrRangeSreg, reg1)
	e.U32(attrRangeOp, op)
	e.Value(attrRangeFromData, from)
	e.Value(attrRangeToData, to)
	e.EndExpr(at)
}

// lowerMatch appends the expressions of a match that checkMatch accepted.
func lowerMatch(ae *nfnl.Encoder, m Match) {
	switch m := m.(type) {
	case Nfproto:
		at := ae.BeginExpr("meta")
		ae.U32(attrMetaKey, metaNfproto)
		ae.U32(attrMetaDreg, reg1)
		ae.EndExpr(at)
		putCmp(ae, cmpEq, []byte{byte(m.Family)})
	case Ct:
		lowerCt(ae, m)
	case L4Proto:
		lowerL4Proto(ae, m)
	case Exthdr:
		lowerExthdr(ae, m)
	case IfName:
		lowerIfName(ae, m)
	case IPAddr:
		lowerIPAddr(ae, m)
	case FibType:
		lowerFibType(ae, m)
	case PktType:
		lowerPktType(ae, m)
	case SkID:
		lowerSkID(ae, m)
	case Mark:
		lowerMark(ae, m)
	case Limit:
		lowerLimit(ae, m)
	case IPRange:
		lowerIPRange(ae, m)
	case EtherSaddr:
		lowerEtherSaddr(ae, m)
	case IPsec:
		lowerIPsec(ae, m)
	}
}

func lowerCt(ae *nfnl.Encoder, c Ct) {
	k, _ := keyInfoOf(c.Key)
	var dir *Dir
	if k.dir {
		d := c.Dir
		if c.Key == CtProtocol {
			// The protocol is the same in both tuples: nft sends original.
			d = DirOriginal
		}
		dir = &d
	}
	putCt(ae, c.Key, dir)
	switch {
	case k.flags:
		// The text names the bits when it can (stateNames, statusNames),
		// and writes "& 0xMASK" otherwise.
		names := stateNames
		if c.Key == CtStatus {
			names = statusNames
		}
		var named uint32
		for _, n := range names {
			named |= n.bit
		}
		explicit := c.Mask == 0 || c.Mask&^named != 0
		putBitwise(ae, binary.NativeEndian.AppendUint32(nil, c.Mask), explicit)
		op := uint32(cmpNeq)
		if c.Op == OpNone {
			op = cmpEq
		}
		putCmp(ae, op, make([]byte, 4))
	case k.addr:
		lowerAddr(ae, c)
	default:
		lowerValue(ae, c, k)
	}
}

// value encodes v in size bytes: big endian, or in host order (only for
// 4-byte keys).
func value(v uint32, size int, host bool) []byte {
	if host {
		return binary.NativeEndian.AppendUint32(nil, v)
	}
	return binary.BigEndian.AppendUint32(nil, v)[4-size:]
}

func lowerValue(ae *nfnl.Encoder, c Ct, k keyInfo) {
	switch c.Op {
	case OpEq, OpNeq:
		op := uint32(cmpEq)
		if c.Op == OpNeq {
			op = cmpNeq
		}
		putCmp(ae, op, value(c.Lo, k.size, k.host))
	case OpRange, OpNotRange:
		if k.host {
			putByteorderHton(ae, k.size)
		}
		lo, hi := value(c.Lo, k.size, false), value(c.Hi, k.size, false)
		if c.Op == OpRange {
			putCmp(ae, cmpGte, lo)
			putCmp(ae, cmpLte, hi)
		} else {
			putRange(ae, rangeNeq, lo, hi)
		}
	}
}

func lowerAddr(ae *nfnl.Encoder, c Ct) {
	op := uint32(cmpEq)
	if c.Op == OpNeq {
		op = cmpNeq
	}
	addr, mask := c.Addr.AsSlice(), c.AddrMask.AsSlice()
	n := leadingOnes(c.AddrMask)
	if prefixMasked(c.AddrMask, n) && prefixMasked(c.Addr, n) {
		switch {
		case n == c.AddrMask.BitLen():
			putCmp(ae, op, addr)
			return
		case n > 0 && n%8 == 0:
			putCmp(ae, op, addr[:n/8])
			return
		}
		// A prefix that is not a whole number of bytes, or /0.
		putBitwise(ae, mask, false)
		putCmp(ae, op, addr)
		return
	}
	// "& MASK == ADDR": any other mask, or an address with bits outside its
	// mask.
	putBitwise(ae, mask, true)
	putCmp(ae, op, addr)
}

func lowerVerdict(ae *nfnl.Encoder, v Verdict) {
	var code int32
	switch v.Kind {
	case VerdictNone:
		return
	case VerdictAccept:
		code = codeAccept
	case VerdictDrop:
		code = codeDrop
	case VerdictReturn:
		code = codeReturn
	case VerdictJump:
		code = codeJump
	case VerdictGoto:
		code = codeGoto
	}
	at := ae.BeginExpr("immediate")
	ae.U32(attrImmediateDreg, regVerdict)
	data := ae.Nest(attrImmediateData)
	vd := ae.Nest(nfnl.AttrDataVerdict)
	ae.U32(attrVerdictCode, uint32(code))
	if v.Kind == VerdictJump || v.Kind == VerdictGoto {
		ae.String(attrVerdictChain, v.Chain)
	}
	ae.End(vd)
	ae.End(data)
	ae.EndExpr(at)
}
