package expr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

// This file raises wire expressions back to the IR. It reads three sources
// of bytes for the same meanings: what Lower sends, what nft 1.0.6 sends for
// the nft text of a rule, and what the kernel dumps back after either was
// loaded, which differs from what was sent:
//
//   - attributes come in the kernel's order (ct: DREG, KEY, DIRECTION where
//     nft sends KEY, DREG, DIRECTION; bitwise: OP after LEN where nft sends
//     it before) and nested attributes without NLA_F_NESTED;
//   - "ct original protocol" comes back without its direction;
//   - bitwise always carries NFTA_BITWISE_OP (NFT_BITWISE_MASK_XOR, 0),
//     which nft sends only for an explicit "&" in the text;
//   - counter carries its packets and bytes (and possibly NFTA_COUNTER_PAD).
//
// A rule is read as: matches, then at most one counter, then at most one
// verdict. A match is a load (ct, or meta nfproto) into a register followed
// by the expressions that test that register:
//
//   - ct state|status: bitwise & MASK ^ 0 (4 bytes), cmp neq|eq 0.
//   - ct direction|protocol|proto-src|proto-dst: cmp eq|neq; cmp gte + cmp
//     lte (a range); range eq|neq (a range and a negated range).
//   - ct expiration: the same, where every ordered comparison follows a
//     byteorder hton of 4 bytes (the key is in host order); an equality may
//     follow it or not (and is read in big endian or host order).
//   - ct addresses: cmp eq|neq of the first bytes of the address (a
//     byte-aligned prefix), or of the whole address after bitwise & MASK ^ 0
//     (any mask).
//   - meta nfproto: cmp eq of ipv4 or ipv6 (inet tables only).
//   - meta mark and ct mark: an optional bitwise & MASK ^ 0, cmp eq|neq of
//     4 bytes in host order (mark.go).
//   - limit: a packet limit, not inverted (limit.go).
//
// Registers may be any that hold the value (NFT_REG_1…4 or NFT_REG32_00…15),
// as long as the test reads the register the load wrote. The protocol's
// direction may be original, reply or absent (the protocol is the same in
// both tuples). Everything else — another expression, another key, an
// attribute ctmatch does not know, a comparison that the IR cannot state (cmp
// lt, a reversed range, a value too wide), a match after the counter or the
// verdict, a load nothing tests — is a *NotUnderstoodError.

// Raise decodes exprs, the payload of the NFTA_RULE_EXPRESSIONS attribute of
// a rule in a table of family f, into the IR. Raise(f, b) of b from
// r.Lower(f) gives r back, up to what the wire does not carry: the direction
// of keys that have none and of the protocol comes back DirOriginal, and the
// operands an operator does not use come back zero (Hi of OpEq and OpNeq,
// Mask of value and address keys, Lo and Hi of flag keys, …). Raise of nft's
// bytes or of the kernel's dump for the nft text of r gives the same.
//
// Anything else fails with a *NotUnderstoodError.
func Raise(f Family, exprs []byte) (Rule, error) {
	es, err := splitExprs(exprs)
	if err != nil {
		return Rule{}, &NotUnderstoodError{Index: -1, Reason: err.Error()}
	}
	p := raiser{f: f, es: es}
	if f == FamilyIP || f == FamilyIP6 {
		p.nh = f
	}
	return p.rule()
}

// A NotUnderstoodError says that a rule's expressions are not a rule ctmatch
// understands, at one expression.
type NotUnderstoodError struct {
	Index  int    // of the expression at fault in the list, from 0; -1 when the list cannot be read
	Expr   string // the expression at fault as a libnftnl debug line, e.g. "[ ct load mark => reg 1 ]"
	Reason string
}

func (e *NotUnderstoodError) Error() string {
	if e.Index < 0 {
		return "not a rule ctmatch understands: " + e.Reason
	}
	return "not a rule ctmatch understands: " + e.Expr + " (expression " + strconv.FormatUint(uint64(e.Index+1), 10) + ": " + e.Reason + ")"
}

type raiser struct {
	f  Family
	es []wireExpr
	i  int // the next expression to read
	// sets gives the sets lookups name (RaiseSets), or is nil.
	sets SetSource
	// nh is the family of the network header the rule's loads read: the
	// table's, or in an inet table the one its meta nfproto test named
	// (0 before one). An address and a TTL can sit at the same offset of
	// the two headers (IPv6 saddr and IPv4 ttl at byte 8).
	nh Family
}

func (p *raiser) fail(i int, format string, args ...any) error {
	return &NotUnderstoodError{Index: i, Expr: p.es[i].debugLine(), Reason: fmt.Sprintf(format, args...)}
}

// check fails for expression i when it is malformed or carries an attribute
// that ctmatch does not read.
func (p *raiser) check(i int) error {
	e := &p.es[i]
	if e.bad != "" {
		return p.fail(i, "malformed: %s", e.bad)
	}
	if e.u == nil {
		return p.fail(i, "expression %q is not one ctmatch reads", e.name)
	}
	if len(e.extra) > 0 {
		return p.fail(i, "attribute %d of %s is not one ctmatch reads (or is repeated)", e.extra[0], e.name)
	}
	return nil
}

// loadingStmt raises a statement that begins with a load of its own at
// expression i (a DSCP set, a zone set, a mark set from both marks or from
// one): the statement, the number of expressions it took (0: none of
// these), and what it is, for an error.
func (p *raiser) loadingStmt(i int) (Stmt, int, string, error) {
	for _, k := range []struct {
		raise func(int) (Stmt, int, error)
		what  string
	}{
		{p.dscpStmt, "a DSCP set"},
		{p.ctZoneStmt, "a zone set"},
		{p.combineMarksStmt, "a mark set"},
		{p.markStmt, "a mark set"},
	} {
		if s, n, err := k.raise(i); err != nil || n > 0 {
			return s, n, k.what, err
		}
	}
	return nil, 0, "", nil
}

func (p *raiser) rule() (Rule, error) {
	var r Rule
	counterAt, verdictAt := -1, -1
	var vals map[int][]byte // the values immediates loaded, by register slot, for the next statement
	for p.i < len(p.es) {
		i := p.i
		if err := p.check(i); err != nil {
			return Rule{}, err
		}
		// The statements that begin with a load of their own: each
		// raiser says how many expressions it took (none: not its kind).
		if s, n, what, err := p.loadingStmt(i); err != nil {
			return Rule{}, err
		} else if n > 0 {
			if verdictAt >= 0 || vals != nil {
				return Rule{}, p.fail(i, "%s after the verdict or after immediate values", what)
			}
			r.Stmts = append(r.Stmts, s)
			p.i += n
			continue
		}
		switch name := p.es[i].name; name {
		case "ct", "meta", "payload", "exthdr", "fib", "rt":
			if counterAt >= 0 || verdictAt >= 0 || len(r.Stmts) > 0 || vals != nil {
				return Rule{}, p.fail(i, "a match after the counter or the verdict")
			}
			if name == "fib" {
				m, err := p.fibType(i)
				if err != nil {
					return Rule{}, err
				}
				r.Matches = append(r.Matches, m)
				continue
			}
			if name == "rt" {
				m, err := p.ipsec(i)
				if err != nil {
					return Rule{}, err
				}
				r.Matches = append(r.Matches, m)
				continue
			}
			if name == "exthdr" {
				m, err := p.exthdr()
				if err != nil {
					return Rule{}, err
				}
				r.Matches = append(r.Matches, m)
				continue
			}
			if name == "payload" {
				ms, err := p.payload()
				if err != nil {
					return Rule{}, err
				}
				r.Matches = append(r.Matches, ms...)
				continue
			}
			m, err := p.match()
			if err != nil {
				return Rule{}, err
			}
			r.Matches = append(r.Matches, m)
		case "limit":
			if counterAt >= 0 || verdictAt >= 0 || len(r.Stmts) > 0 || vals != nil {
				return Rule{}, p.fail(i, "a limit after the counter or the verdict")
			}
			m, err := p.limit(i)
			if err != nil {
				return Rule{}, err
			}
			r.Matches = append(r.Matches, m)
		case "reject", "nat", "masq", "redir", "log", "notrack":
			if verdictAt >= 0 {
				return Rule{}, p.fail(i, "a statement after the verdict")
			}
			s, err := p.stmt(i, vals)
			if err != nil {
				return Rule{}, err
			}
			vals = nil
			r.Stmts = append(r.Stmts, s)
			p.i++
		case "counter":
			if len(r.Stmts) > 0 || vals != nil {
				return Rule{}, p.fail(i, "a counter after a statement")
			}
			if counterAt >= 0 || verdictAt >= 0 {
				return Rule{}, p.fail(i, "a counter after the counter or the verdict")
			}
			counterAt = i
			r.Counter = true
			p.i++
		case "immediate":
			if d := p.es[i].data[attrImmediateData]; p.es[i].u[attrImmediateDreg] != regVerdict && !d.verdict && verdictAt < 0 && p.valueFor(i) {
				// A value for the statement that follows.
				slot, v, err := p.immediateValue(i)
				if err != nil {
					return Rule{}, err
				}
				if vals == nil {
					vals = map[int][]byte{}
				}
				vals[slot] = v
				p.i++
				continue
			}
			if verdictAt >= 0 {
				return Rule{}, p.fail(i, "a second verdict")
			}
			v, err := p.verdict(i)
			if err != nil {
				return Rule{}, err
			}
			verdictAt = i
			r.Verdict = v
			p.i++
		default:
			return Rule{}, p.fail(i, "expression %q is not one ctmatch reads", name)
		}
	}
	if vals != nil {
		return Rule{}, p.fail(len(p.es)-1, "an immediate value that no statement reads")
	}
	r.Matches = splitICMPTypeCode(r.Matches)
	return r, nil
}

// valueFor reports whether the immediate at i loads a value for a statement:
// the first expression after the immediates from i on reads registers.
func (p *raiser) valueFor(i int) bool {
	for ; i < len(p.es) && p.es[i].name == "immediate"; i++ {
	}
	if i == len(p.es) {
		return false
	}
	switch p.es[i].name {
	case "nat", "masq", "redir":
		return true
	}
	return false
}

// regSlot returns the 32-bit register a register number names (NFT_REG_1…4
// are NFT_REG32_00, 04, 08, 12), or -1 for the verdict register and numbers
// that name no data register.
func regSlot(r uint64) int {
	switch {
	case r >= 1 && r <= 4:
		return int(r-1) * 4
	case r >= 8 && r <= 23:
		return int(r - 8)
	}
	return -1
}

// next returns the index of the next expression if it is called name and
// well formed, or -1 (with no error) if there is none or it is called
// otherwise.
func (p *raiser) next(name string) (int, error) {
	if p.i >= len(p.es) || p.es[p.i].name != name {
		return -1, nil
	}
	i := p.i
	if err := p.check(i); err != nil {
		return -1, err
	}
	return i, nil
}

// reads fails unless expression i reads attribute typ from register slot.
func (p *raiser) reads(i int, typ uint16, slot int) error {
	e := &p.es[i]
	if !e.has(typ) || regSlot(e.u[typ]) != slot {
		return p.fail(i, "does not read the register the load wrote")
	}
	return nil
}

// only fails unless expression i has exactly the attributes types.
func (p *raiser) only(i int, types ...uint16) error {
	e := &p.es[i]
	n := 0
	for _, t := range types {
		if !e.has(t) {
			return p.fail(i, "%s without attribute %d", e.name, t)
		}
		n++
	}
	if len(e.u)+len(e.data)+len(e.str) != n {
		return p.fail(i, "%s with attributes ctmatch does not expect", e.name)
	}
	return nil
}

// match reads a load and the tests of its register.
func (p *raiser) match() (Match, error) {
	i := p.i
	e := &p.es[i]
	p.i++
	if e.name == "meta" {
		if e.has(attrMetaKey) && e.u[attrMetaKey] == metaL4proto {
			return p.l4proto(i)
		}
		if e.has(attrMetaKey) && (e.u[attrMetaKey] == metaIifname || e.u[attrMetaKey] == metaOifname) {
			return p.ifname(i)
		}
		if e.has(attrMetaKey) && e.u[attrMetaKey] == metaPkttype {
			return p.pktType(i)
		}
		if e.has(attrMetaKey) && (e.u[attrMetaKey] == metaSkuid || e.u[attrMetaKey] == metaSkgid) {
			return p.skID(i)
		}
		if e.has(attrMetaKey) && e.u[attrMetaKey] == metaMark && e.has(attrMetaDreg) && !e.has(attrMetaSreg) {
			return p.mark(i, regSlot(e.u[attrMetaDreg]), false)
		}
		if e.has(attrMetaKey) && e.u[attrMetaKey] == metaIiftype {
			return p.etherSaddr(i)
		}
		if e.has(attrMetaKey) && e.u[attrMetaKey] == metaSecpath {
			return p.ipsec(i)
		}
		return p.nfproto(i)
	}
	if e.has(attrCtSreg) {
		return nil, p.fail(i, "ct set is not a match")
	}
	if !e.has(attrCtKey) || !e.has(attrCtDreg) {
		return nil, p.fail(i, "ct without a key or a destination register")
	}
	if e.u[attrCtKey] == ctMark {
		if e.has(attrCtDirection) {
			return nil, p.fail(i, "a direction on a key that has none")
		}
		return p.mark(i, regSlot(e.u[attrCtDreg]), true)
	}
	key := CtKey(e.u[attrCtKey])
	k, ok := keyInfoOf(key)
	if !ok || e.u[attrCtKey] > 255 {
		return nil, p.fail(i, "ct key %s is not one ctmatch reads", nameOf(ctKeyNames, e.u[attrCtKey]))
	}
	slot := regSlot(e.u[attrCtDreg])
	if slot < 0 || slot+(k.size+3)/4 > 16 {
		return nil, p.fail(i, "ct loads into register %d", e.u[attrCtDreg])
	}
	c := Ct{Key: key}
	hasDir := e.has(attrCtDirection)
	switch {
	case key == CtProtocol:
		if hasDir && e.u[attrCtDirection] > 1 {
			return nil, p.fail(i, "unknown direction %d", e.u[attrCtDirection])
		}
	case k.dir:
		if !hasDir || e.u[attrCtDirection] > 1 {
			return nil, p.fail(i, "ct %s without direction original or reply", nameOf(ctKeyNames, uint64(key)))
		}
		c.Dir = Dir(e.u[attrCtDirection])
	case hasDir:
		return nil, p.fail(i, "a direction on a key that has none")
	}
	if k.addr && (k.v4 && p.f == FamilyIP6 || !k.v4 && p.f == FamilyIP) {
		return nil, p.fail(i, "an address key of the other family in an %v table", p.f)
	}
	var err error
	switch {
	case k.flags:
		err = p.flags(i, slot, &c)
	case k.addr:
		err = p.addr(i, slot, k, &c)
	default:
		err = p.value(i, slot, k, &c)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (p *raiser) nfproto(i int) (Match, error) {
	e := &p.es[i]
	if !e.has(attrMetaKey) || e.u[attrMetaKey] != metaNfproto || !e.has(attrMetaDreg) || e.has(attrMetaSreg) {
		return nil, p.fail(i, "the only meta ctmatch reads is a load of nfproto, l4proto, iifname, oifname, pkttype, skuid, skgid or mark")
	}
	if p.f != FamilyInet {
		return nil, p.fail(i, "meta nfproto in an %v table", p.f)
	}
	j, op, v, err := p.metaCmp(i, "nfproto", 1)
	if err != nil {
		return nil, err
	}
	if op != cmpEq || len(v) != 1 || (Family(v[0]) != FamilyIP && Family(v[0]) != FamilyIP6) {
		return nil, p.fail(j, "meta nfproto is tested only for equality with ipv4 or ipv6")
	}
	p.nh = Family(v[0])
	return Nfproto{Family: Family(v[0])}, nil
}

// metaCmp reads the meta load at index i of the key named key, into a
// register that holds size bytes, and the cmp of that register that must
// follow it: the cmp's index, its operator and its value.
func (p *raiser) metaCmp(i int, key string, size int) (j int, op uint64, v []byte, err error) {
	e := &p.es[i]
	if !e.has(attrMetaDreg) || e.has(attrMetaSreg) {
		return 0, 0, nil, p.fail(i, "meta %s that loads nothing", key)
	}
	slot := regSlot(e.u[attrMetaDreg])
	if slot < 0 || slot+(size+3)/4 > 16 {
		return 0, 0, nil, p.fail(i, "meta loads into register %d", e.u[attrMetaDreg])
	}
	if j, err = p.cmp(i, slot); err != nil {
		return 0, 0, nil, err
	}
	c := &p.es[j]
	return j, c.u[attrCmpOp], c.data[attrCmpData].value, nil
}

// cmp reads the cmp that must follow the load at index load.
func (p *raiser) cmp(load, slot int) (int, error) {
	j, err := p.next("cmp")
	if err != nil {
		return -1, err
	}
	if j < 0 {
		if p.i < len(p.es) {
			return -1, p.fail(p.i, "%s where a cmp of the loaded value belongs", p.es[p.i].name)
		}
		return -1, p.fail(load, "a load without a cmp after it")
	}
	if err := p.only(j, attrCmpSreg, attrCmpOp, attrCmpData); err != nil {
		return -1, err
	}
	if err := p.reads(j, attrCmpSreg, slot); err != nil {
		return -1, err
	}
	if p.es[j].data[attrCmpData].verdict {
		return -1, p.fail(j, "cmp with a verdict")
	}
	p.i++
	return j, nil
}

// bitwise reads an optional bitwise & MASK ^ 0 of size bytes on the
// register, and returns the mask, or nil when there is none.
func (p *raiser) bitwise(slot, size int) ([]byte, error) {
	j, err := p.next("bitwise")
	if err != nil || j < 0 {
		return nil, err
	}
	e := &p.es[j]
	if e.has(attrBitwiseOp) {
		if e.u[attrBitwiseOp] != bitwiseMaskXor {
			return nil, p.fail(j, "a bitwise other than & MASK ^ XOR")
		}
		err = p.only(j, attrBitwiseSreg, attrBitwiseDreg, attrBitwiseLen, attrBitwiseMask, attrBitwiseXor, attrBitwiseOp)
	} else {
		err = p.only(j, attrBitwiseSreg, attrBitwiseDreg, attrBitwiseLen, attrBitwiseMask, attrBitwiseXor)
	}
	if err != nil {
		return nil, err
	}
	if err := p.reads(j, attrBitwiseSreg, slot); err != nil {
		return nil, err
	}
	if err := p.reads(j, attrBitwiseDreg, slot); err != nil {
		return nil, err
	}
	mask, xor := e.data[attrBitwiseMask], e.data[attrBitwiseXor]
	if e.u[attrBitwiseLen] != uint64(size) || mask.verdict || xor.verdict || len(mask.value) != size || len(xor.value) != size {
		return nil, p.fail(j, "a bitwise of other than %d bytes", size)
	}
	if !bytes.Equal(xor.value, make([]byte, size)) {
		return nil, p.fail(j, "a bitwise with a non-zero xor")
	}
	p.i++
	return mask.value, nil
}

func (p *raiser) flags(load, slot int, c *Ct) error {
	mask, err := p.bitwise(slot, 4)
	if err != nil {
		return err
	}
	if mask == nil {
		return p.fail(load, "a flag key without a bitwise mask after it")
	}
	j, err := p.cmp(load, slot)
	if err != nil {
		return err
	}
	e := &p.es[j]
	if !bytes.Equal(e.data[attrCmpData].value, make([]byte, 4)) {
		return p.fail(j, "a flag test compares with 0 only")
	}
	switch e.u[attrCmpOp] {
	case cmpNeq:
		c.Op = OpAny
	case cmpEq:
		c.Op = OpNone
	default:
		return p.fail(j, "a flag test is eq or neq only")
	}
	c.Mask = binary.NativeEndian.Uint32(mask)
	return nil
}

func (p *raiser) addr(load, slot int, k keyInfo, c *Ct) error {
	mask, err := p.bitwise(slot, k.size)
	if err != nil {
		return err
	}
	j, err := p.cmp(load, slot)
	if err != nil {
		return err
	}
	e := &p.es[j]
	switch e.u[attrCmpOp] {
	case cmpEq:
		c.Op = OpEq
	case cmpNeq:
		c.Op = OpNeq
	default:
		return p.fail(j, "an address test is eq or neq only")
	}
	v := e.data[attrCmpData].value
	if mask != nil && len(v) != k.size || len(v) > k.size {
		return p.fail(j, "compares %d bytes of an address of %d", len(v), k.size)
	}
	addr := make([]byte, k.size)
	copy(addr, v)
	if mask == nil {
		// A prefix of whole bytes.
		mask = make([]byte, k.size)
		for i := range v {
			mask[i] = 0xff
		}
	}
	c.Addr = addrFrom(addr)
	c.AddrMask = addrFrom(mask)
	return nil
}

// addrFrom makes an address from 4 or 16 bytes; 16 bytes give an IPv6
// address even when IPv4-mapped.
func addrFrom(b []byte) netip.Addr {
	if len(b) == 4 {
		return netip.AddrFrom4([4]byte(b))
	}
	return netip.AddrFrom16([16]byte(b))
}

func (p *raiser) value(load, slot int, k keyInfo, c *Ct) error {
	ordered := !k.host // values in big endian, where ordered comparisons work
	if k.host {
		if j, err := p.next("byteorder"); err != nil {
			return err
		} else if j >= 0 {
			if err := p.only(j, attrByteorderSreg, attrByteorderDreg, attrByteorderOp, attrByteorderLen, attrByteorderSize); err != nil {
				return err
			}
			if err := p.reads(j, attrByteorderSreg, slot); err != nil {
				return err
			}
			if err := p.reads(j, attrByteorderDreg, slot); err != nil {
				return err
			}
			e := &p.es[j]
			if e.u[attrByteorderOp] != byteorderHton || e.u[attrByteorderLen] != uint64(k.size) || e.u[attrByteorderSize] != uint64(k.size) {
				return p.fail(j, "a byteorder other than hton of %d bytes", k.size)
			}
			ordered = true
			p.i++
		}
	}
	read := func(j int, d dataReg) (uint32, error) {
		if d.verdict || len(d.value) != k.size {
			return 0, p.fail(j, "compares %d bytes of a key of %d", len(d.value), k.size)
		}
		var w [4]byte
		if !ordered {
			return binary.NativeEndian.Uint32(d.value), nil
		}
		copy(w[4-k.size:], d.value)
		return binary.BigEndian.Uint32(w[:]), nil
	}
	if j, err := p.next("range"); err != nil {
		return err
	} else if j >= 0 {
		if err := p.only(j, attrRangeSreg, attrRangeOp, attrRangeFromData, attrRangeToData); err != nil {
			return err
		}
		if err := p.reads(j, attrRangeSreg, slot); err != nil {
			return err
		}
		e := &p.es[j]
		if !ordered {
			return p.fail(j, "a range of a host-order key without byteorder hton before it")
		}
		if c.Op, err = p.rangeOp(j); err != nil {
			return err
		}
		if c.Lo, err = read(j, e.data[attrRangeFromData]); err != nil {
			return err
		}
		if c.Hi, err = read(j, e.data[attrRangeToData]); err != nil {
			return err
		}
		if c.Lo > c.Hi {
			return p.fail(j, "a reversed range")
		}
		p.i++
		return nil
	}
	j, err := p.cmp(load, slot)
	if err != nil {
		return err
	}
	e := &p.es[j]
	if c.Lo, err = read(j, e.data[attrCmpData]); err != nil {
		return err
	}
	switch e.u[attrCmpOp] {
	case cmpEq:
		c.Op = OpEq
		return nil
	case cmpNeq:
		c.Op = OpNeq
		return nil
	case cmpGte:
	default:
		return p.fail(j, "cmp %s is not a comparison the IR states", nameOf(cmpOpNames, e.u[attrCmpOp]))
	}
	if !ordered {
		return p.fail(j, "an ordered comparison of a host-order key without byteorder hton before it")
	}
	if k, err := p.next("cmp"); err != nil {
		return err
	} else if k < 0 || p.es[k].u[attrCmpOp] != cmpLte {
		return p.fail(j, "cmp gte without cmp lte after it")
	}
	hi, err := p.cmp(load, slot)
	if err != nil {
		return err
	}
	e = &p.es[hi]
	if c.Hi, err = read(hi, e.data[attrCmpData]); err != nil {
		return err
	}
	if c.Lo > c.Hi {
		return p.fail(hi, "a reversed range")
	}
	c.Op = OpRange
	return nil
}

func (p *raiser) verdict(i int) (Verdict, error) {
	e := &p.es[i]
	if err := p.only(i, attrImmediateDreg, attrImmediateData); err != nil {
		return Verdict{}, err
	}
	d := e.data[attrImmediateData]
	if e.u[attrImmediateDreg] != regVerdict || !d.verdict {
		return Verdict{}, p.fail(i, "an immediate that sets no verdict")
	}
	if d.chainID {
		return Verdict{}, p.fail(i, "a verdict with a chain id")
	}
	var v Verdict
	switch d.code {
	case codeAccept:
		v.Kind = VerdictAccept
	case codeDrop:
		v.Kind = VerdictDrop
	case codeReturn:
		v.Kind = VerdictReturn
	case codeJump:
		v.Kind = VerdictJump
	case codeGoto:
		v.Kind = VerdictGoto
	default:
		return Verdict{}, p.fail(i, "verdict %s is not one ctmatch reads", verdictName(d.code))
	}
	if v.Kind == VerdictJump || v.Kind == VerdictGoto {
		if !d.hasChain || d.chain == "" {
			return Verdict{}, p.fail(i, "a jump or goto without a chain")
		}
		v.Chain = d.chain
	} else if d.hasChain {
		return Verdict{}, p.fail(i, "a chain on a verdict that takes none")
	}
	return v, nil
}

func (p *raiser) l4proto(i int) (Match, error) {
	j, op, v, err := p.metaCmp(i, "l4proto", 1)
	if err != nil {
		return nil, err
	}
	if len(v) != 1 {
		return nil, p.fail(j, "compares %d bytes of meta l4proto, of 1", len(v))
	}
	switch op {
	case cmpEq:
		return L4Proto{Op: OpEq, Proto: v[0]}, nil
	case cmpNeq:
		return L4Proto{Op: OpNeq, Proto: v[0]}, nil
	}
	return nil, p.fail(j, "meta l4proto is tested only for equality or inequality")
}

// payload reads a payload load and the tests of its register: one field
// with the value tests of ct ports, or several adjacent fields of one header
// compared for equality at once (nft merges "tcp sport 1 tcp dport 4").
func (p *raiser) payload() ([]Match, error) {
	i := p.i
	e := &p.es[i]
	p.i++
	if err := p.only(i, attrPayloadDreg, attrPayloadBase, attrPayloadOffset, attrPayloadLen); err != nil {
		return nil, err
	}
	slot := regSlot(e.u[attrPayloadDreg])
	size := e.u[attrPayloadLen]
	if slot < 0 || size == 0 || size > 16 || slot+int(size+3)/4 > 16 {
		return nil, p.fail(i, "payload loads %d bytes into register %d", size, e.u[attrPayloadDreg])
	}
	base, off := e.u[attrPayloadBase], e.u[attrPayloadOffset]
	if isAddrLoad(p.nh, base, off, size) {
		m, err := p.ipaddr(i, slot, off, size)
		if err != nil {
			return nil, err
		}
		return []Match{m}, nil
	}
	var fields []Field
	var infos []fieldInfo
	for at := off; at < off+size; {
		f, fi, ok := fieldAt(p.nh, base, at, off+size)
		if !ok || at+uint64(fi.size) > off+size {
			return nil, p.fail(i, "payload of %d bytes at %s header + %d is not a field ctmatch reads", size, nameOf(payloadBases, base), off)
		}
		fields = append(fields, f)
		infos = append(infos, fi)
		at += uint64(fi.size)
	}
	if len(fields) == 1 {
		mask, err := p.bitwise(slot, int(size))
		if err != nil {
			return nil, err
		}
		if mask != nil {
			return p.maskedField(i, slot, fields[0], mask)
		}
		if j, err := p.next("lookup"); err != nil {
			return nil, err
		} else if j >= 0 && infos[0].base == payloadTransport && size == 2 {
			m, err := p.lookup(slot, fields[0])
			if err != nil {
				return nil, err
			}
			return []Match{m}, nil
		}
		if m, ok, err := p.orderedField(i, slot, fields[0], infos[0]); ok || err != nil {
			return m, err
		}
		var c Ct
		if err := p.value(i, slot, keyInfo{size: int(size)}, &c); err != nil {
			return nil, err
		}
		return []Match{Payload{Field: fields[0], Op: c.Op, Lo: c.Lo, Hi: c.Hi}}, nil
	}
	j, err := p.cmp(i, slot)
	if err != nil {
		return nil, err
	}
	c := &p.es[j]
	v := c.data[attrCmpData].value
	if c.u[attrCmpOp] != cmpEq || uint64(len(v)) != size {
		return nil, p.fail(j, "a load of several fields is compared for equality of all its bytes only")
	}
	ms := make([]Match, len(fields))
	for k, f := range fields {
		var w [4]byte
		n := infos[k].size
		copy(w[4-n:], v[:n])
		v = v[n:]
		ms[k] = Payload{Field: f, Op: OpEq, Lo: binary.BigEndian.Uint32(w[:])}
	}
	return ms, nil
}

// fieldAt returns the widest field that starts at offset of base and ends
// by end (a 2-byte load at the transport header is "th sport"; a 1-byte
// load there, "icmp type"). A field of the other family's network header
// than nh is none (bytes 4-5 of an IPv4 header are no "ip6 length").
func fieldAt(nh Family, base, offset, end uint64) (Field, fieldInfo, bool) {
	var best Field
	var bestInfo fieldInfo
	for f, fi := range fieldInfos {
		if fi.v4 && nh == FamilyIP6 || fi.v6 && nh == FamilyIP {
			continue
		}
		if fi.size != 0 && uint64(fi.base) == base && uint64(fi.offset) == offset && offset+uint64(fi.size) <= end && fi.size > bestInfo.size {
			best, bestInfo = Field(f), fi
		}
	}
	return best, bestInfo, bestInfo.size != 0
}

// maskedField reads the cmp eq|neq after "payload, bitwise & MASK" of one
// field: "ip frag-off & 0x1fff == 0".
func (p *raiser) maskedField(load, slot int, f Field, mask []byte) ([]Match, error) {
	j, err := p.cmp(load, slot)
	if err != nil {
		return nil, err
	}
	e := &p.es[j]
	v := e.data[attrCmpData].value
	if len(v) != len(mask) {
		return nil, p.fail(j, "compares %d bytes of a field of %d", len(v), len(mask))
	}
	var w, m [4]byte
	copy(w[4-len(v):], v)
	copy(m[4-len(mask):], mask)
	pl := Payload{Field: f, Mask: binary.BigEndian.Uint32(m[:]), Lo: binary.BigEndian.Uint32(w[:])}
	if pl.Mask == 0 {
		return nil, p.fail(j, "a field masked with 0")
	}
	switch e.u[attrCmpOp] {
	case cmpEq:
		pl.Op = OpEq
	case cmpNeq:
		pl.Op = OpNeq
	default:
		return nil, p.fail(j, "a masked field is tested only for equality or inequality")
	}
	return []Match{pl}, nil
}

// rangeOp returns what the range expression at j tests: OpRange for range
// eq, as nft 1.1.2 and later send A-B, OpNotRange for range neq.
func (p *raiser) rangeOp(j int) (Op, error) {
	switch op := p.es[j].u[attrRangeOp]; op {
	case rangeEq:
		return OpRange, nil
	case rangeNeq:
		return OpNotRange, nil
	default:
		return 0, p.fail(j, "unknown range operator %d", op)
	}
}
