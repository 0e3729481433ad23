package nftexport

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/nftables"
	nftexpr "github.com/google/nftables/expr"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
)

// This file exports rules to the expression types of github.com/google/nftables
// v0.3.0, for Go programs that already build their rules with that library.
//
// v0.3.0 encodes some ct expressions wrongly (Error says which and
// how), so the export covers exactly the keys it encodes correctly:
// ct state, ct status, ct expiration, ct direction and ct original protocol,
// with meta nfproto, counter and the verdicts around them. The expressions
// composed here are those of expr.Rule.Lower, one for one; the kernel holds
// the same bytes for a rule whichever of the two loaded it (the e2e tests
// check it, case by case).

// exportReg1 is NFT_REG_1, the register every load, bitwise, byteorder and compare
// of a ctmatch rule uses (as nft does).
const exportReg1 = 1

// Why each refused key cannot go through google/nftables v0.3.0.
const (
	exportReasonDirection = "google/nftables v0.3.0 sends the ct direction attribute as 4 bytes where the kernel reads 1: " +
		"the kernel logs \"attribute type 3 has an invalid length\" for the rule and reads the reply direction as original"
	exportReasonNoDirection = "google/nftables v0.3.0 sends no direction attribute for ct keys 19-22 " +
		"(ct original|reply ip|ip6 saddr|daddr), and the kernel refuses the rule (EINVAL)"
)

// An Error says that a rule cannot be exported to google/nftables
// v0.3.0 expressions because that library would send the kernel something
// other than what the rule means. Such rules load correctly through
// ctmatch's own loader (firewall.Dial and Apply, or the ctmatch add rule
// command), which encodes every key itself: Hint says so.
type Error struct {
	Rule   int        // the index in Rule.Rules of the nft rule at fault, from 0
	Match  int        // the index of the match in that rule's Matches, from 0
	Option string     // the iptables option the match comes from, e.g. "--ctreplsrcport"
	Text   string     // the nft text of the match, e.g. "ct reply proto-src 80"
	Key    expr.CtKey // the ct key v0.3.0 mis-encodes
	Dir    expr.Dir   // the direction the key reads
	Reason string     // what v0.3.0 gets wrong
	Hint   string     // what to do instead: load the rule with ctmatch's own loader
}

// ErrNoChain: AddTo was given no chain, or a chain without its table.
var ErrNoChain = errors.New("nftexport: AddTo needs a chain with its table")

// A FamilyError says that AddTo was given a chain whose table is of
// another family than the one the rules were compiled for
// (ctmatch.Options.Table): an nft rule holds the family's own loads
// (meta nfproto only in inet tables), so it cannot move between families.
type FamilyError struct {
	Rule   expr.Family          // the table family the rules were compiled for
	Table  string               // the chain's table
	Family nftables.TableFamily // the table's family
}

// Error names both families as nft does: "the rules are for an ip table,
// not for table fw of family inet".
func (e *FamilyError) Error() string {
	return fmt.Sprintf("nftexport: the rules are for an %v table, not for table %s of family %s",
		e.Rule, e.Table, familyName(e.Family))
}

// familyName returns nft's name of a table family: "ip", "ip6", "inet",
// "arp", "bridge", "netdev", or "family N" for another value.
func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyARP:
		return "arp"
	case nftables.TableFamilyBridge:
		return "bridge"
	case nftables.TableFamilyNetdev:
		return "netdev"
	}
	return fmt.Sprintf("family %d", f)
}

// hintOwnLoader is the Hint of every Error.
// exportReasonLookup is why a lookup in an anonymous set is refused.
const exportReasonLookup = "the lookup names an anonymous set that must go to the kernel in the rule's own transaction, " +
	"which a list of google/nftables expressions cannot carry (and google/nftables v0.3.0's Conn.AddSet numbers sets with a counter " +
	"shared by the whole process, set while it encodes)"

const hintOwnLoader = "load the rule with ctmatch's own loader instead (firewall.Dial and Apply, or ctmatch add rule)"

// Error gives the facts: the option, its nft text, and what v0.3.0 gets
// wrong. The advice is in Hint.
func (e *Error) Error() string {
	return fmt.Sprintf("cannot export %s (%s, nft rule %d) to google/nftables expressions: %s",
		e.Option, e.Text, e.Rule+1, e.Reason)
}

// Exprs returns, for each nft rule of r, its expressions as
// github.com/google/nftables/expr (v0.3.0) values, ready for an
// nftables.Rule in a table of family r.Table. They are the expressions
// r.Wire encodes, composed from Ct, Meta, Payload, Exthdr, Bitwise, Cmp,
// Range, Byteorder, Counter, Immediate, Reject, NAT, Masq, Redir and
// Verdict; every value is a fresh slice.
//
// Only keys that v0.3.0 encodes correctly are exported: ct state, ct status,
// ct expiration, ct direction and ct original protocol (which v0.3.0 sends
// without a direction: the kernel ignores the direction of that key and
// lists the rule the same). A rule with any other key fails with an
// *Error that names it:
//
//   - ports (--ctorigsrcport, --ctorigdstport, --ctreplsrcport,
//     --ctrepldstport): v0.3.0 sends their direction as 4 bytes, which the
//     kernel reads as one (reply becomes original) and logs as invalid;
//   - addresses (--ctorigsrc, --ctorigdst, --ctreplsrc, --ctrepldst): v0.3.0
//     sends no direction for the family-specific address keys, and the kernel
//     refuses the rule;
//   - a masquerade with ports (-j MASQUERADE --to-ports): v0.3.0's Masq then
//     sends no flags at all, so the kernel maps no port and --random is lost.
//
// Load such rules with ctmatch's own loader. A rule that cannot be encoded
// at all fails as Wire does, with an *expr.InvalidRuleError.
func Exprs(r *ctmatch.Rule) ([][]nftexpr.Any, error) {
	out := make([][]nftexpr.Any, len(r.Rules))
	for i, nr := range r.Rules {
		if _, err := nr.Lower(r.Table); err != nil {
			return nil, err
		}
		var exprs []nftexpr.Any
		for j := 0; j < len(nr.Matches); j++ {
			m := nr.Matches[j]
			if j+1 < len(nr.Matches) {
				if both, ok := portPair(m, nr.Matches[j+1]); ok {
					exprs = append(exprs, both...)
					j++
					continue
				}
			}
			var err error
			if exprs, err = exportMatch(exprs, m); err != nil {
				var ee *Error
				if errors.As(err, &ee) {
					ee.Rule, ee.Match = i, j
				}
				return nil, err
			}
		}
		if nr.Counter {
			exprs = append(exprs, &nftexpr.Counter{})
		}
		for _, st := range nr.Stmts {
			var why string
			if exprs, why = exportStmt(exprs, st); why != "" {
				return nil, &Error{Rule: i, Match: -1, Option: "-j " + r.Source.Target.Name, Text: nr.StmtsText(), Reason: why, Hint: hintOwnLoader}
			}
		}
		if v := exportVerdict(nr.Verdict); v != nil {
			exprs = append(exprs, v)
		}
		out[i] = exprs
	}
	return out, nil
}

// AddTo exports r (see Exprs) and queues its nft rules at the end of chain
// with conn.AddRule, in order. It never flushes conn: the rules reach the
// kernel with the caller's next conn.Flush, together with whatever else the
// caller queued. It queues nothing when any rule cannot be exported, or when
// chain's table is not of family r.Table. The rules carry no ctmatch group
// record in their userdata, so ctmatch lists them as separate nft rules;
// a rule's comment (-m comment) is in its userdata as nft writes it.
//
// Mind v0.3.0's limits on one Flush: with default socket buffers it fails
// from about 136 rules (ENOBUFS, although the batch was committed) and from
// about 407 (EMSGSIZE). ctmatch's own loader has neither limit.
func AddTo(r *ctmatch.Rule, conn *nftables.Conn, chain *nftables.Chain) ([]*nftables.Rule, error) {
	if chain == nil || chain.Table == nil {
		return nil, ErrNoChain
	}
	if chain.Table.Family != nftables.TableFamily(r.Table) {
		return nil, &FamilyError{Rule: r.Table, Table: chain.Table.Name, Family: chain.Table.Family}
	}
	all, err := Exprs(r)
	if err != nil {
		return nil, err
	}
	uds := make([][]byte, len(all))
	for i, nr := range r.Rules {
		if nr.Comment != "" {
			if uds[i], err = expr.CommentUserData(nr.Comment); err != nil {
				return nil, err
			}
		}
	}
	out := make([]*nftables.Rule, len(all))
	for i, exprs := range all {
		out[i] = conn.AddRule(&nftables.Rule{Table: chain.Table, Chain: chain, Exprs: exprs, UserData: uds[i]})
	}
	return out, nil
}

// exportMatch appends the expressions of m, which Lower accepted.
func exportMatch(exprs []nftexpr.Any, m expr.Match) ([]nftexpr.Any, error) {
	switch m := m.(type) {
	case expr.Nfproto:
		return append(exprs,
			&nftexpr.Meta{Key: nftexpr.MetaKeyNFPROTO, Register: exportReg1},
			&nftexpr.Cmp{Op: nftexpr.CmpOpEq, Register: exportReg1, Data: []byte{byte(m.Family)}},
		), nil
	case expr.Ct:
		return exportCt(exprs, m)
	case expr.L4Proto:
		op := nftexpr.CmpOpEq
		if m.Op == expr.OpNeq {
			op = nftexpr.CmpOpNeq
		}
		return append(exprs,
			&nftexpr.Meta{Key: nftexpr.MetaKeyL4PROTO, Register: exportReg1},
			&nftexpr.Cmp{Op: op, Register: exportReg1, Data: []byte{m.Proto}},
		), nil
	case expr.Payload:
		return exportPayload(exprs, m)
	case expr.Exthdr:
		return exportExthdr(exprs, m), nil
	case expr.IfName:
		return exportIfName(exprs, m), nil
	case expr.IPAddr:
		return exportIPAddr(exprs, m), nil
	case expr.FibType:
		return exportFibType(exprs, m), nil
	case expr.PktType:
		return exportPktType(exprs, m), nil
	case expr.SkID:
		return exportSkID(exprs, m)
	case expr.Mark:
		return exportMark(exprs, m), nil
	case expr.Limit:
		return append(exprs, &nftexpr.Limit{Type: nftexpr.LimitTypePkts, Rate: m.Rate, Unit: nftexpr.LimitTime(m.Unit), Burst: m.Burst}), nil
	case expr.Lookup:
		return nil, &Error{Option: "-m multiport", Text: m.String(), Reason: exportReasonLookup, Hint: hintOwnLoader}
	case expr.IPRange:
		return exportIPRange(exprs, m), nil
	case expr.EtherSaddr:
		return exportEtherSaddr(exprs, m), nil
	case expr.IPsec:
		return exportIPsec(exprs, m), nil
	}
	return nil, fmt.Errorf("nftexport: cannot export a match of type %T", m)
}

// exportPayload appends a payload load of the field and its test, each field
// with a load of its own (nft merges adjacent equalities into one load; the
// meaning is the same).
func exportPayload(exprs []nftexpr.Any, p expr.Payload) ([]nftexpr.Any, error) {
	b, off, n, ok := p.Field.Layout()
	if !ok {
		return nil, fmt.Errorf("nftexport: cannot export payload field %d", p.Field)
	}
	base, size := nftexpr.PayloadBase(b), int(n)
	exprs = append(exprs, &nftexpr.Payload{DestRegister: exportReg1, Base: base, Offset: off, Len: uint32(size)})
	if p.Mask != 0 {
		exprs = append(exprs, &nftexpr.Bitwise{SourceRegister: exportReg1, DestRegister: exportReg1, Len: uint32(size),
			Mask: exportValue(p.Mask, size, false), Xor: make([]byte, size)})
	}
	switch p.Op {
	case expr.OpEq, expr.OpNeq:
		op := nftexpr.CmpOpEq
		if p.Op == expr.OpNeq {
			op = nftexpr.CmpOpNeq
		}
		return append(exprs, &nftexpr.Cmp{Op: op, Register: exportReg1, Data: exportValue(p.Lo, size, false)}), nil
	case expr.OpLt:
		return append(exprs, &nftexpr.Cmp{Op: nftexpr.CmpOpLt, Register: exportReg1, Data: exportValue(p.Lo, size, false)}), nil
	case expr.OpGt:
		return append(exprs, &nftexpr.Cmp{Op: nftexpr.CmpOpGt, Register: exportReg1, Data: exportValue(p.Lo, size, false)}), nil
	case expr.OpRange:
		return append(exprs,
			&nftexpr.Cmp{Op: nftexpr.CmpOpGte, Register: exportReg1, Data: exportValue(p.Lo, size, false)},
			&nftexpr.Cmp{Op: nftexpr.CmpOpLte, Register: exportReg1, Data: exportValue(p.Hi, size, false)}), nil
	}
	return append(exprs, &nftexpr.Range{Op: nftexpr.CmpOpNeq, Register: exportReg1,
		FromData: exportValue(p.Lo, size, false), ToData: exportValue(p.Hi, size, false)}), nil
}

// portPair exports "tcp sport A tcp dport B" (in either order) as nft and
// ctmatch's loader send it: one load of both ports, one cmp; and the same
// for "icmp type T icmp code C".
func portPair(a, b expr.Match) ([]nftexpr.Any, bool) {
	p, ok1 := a.(expr.Payload)
	q, ok2 := b.(expr.Payload)
	if !ok1 || !ok2 || p.Op != expr.OpEq || q.Op != expr.OpEq || p.Mask != 0 || q.Mask != 0 {
		return nil, false
	}
	if p.Field == expr.FieldICMPCode && q.Field == expr.FieldICMPType {
		p, q = q, p
	}
	if p.Field == expr.FieldICMPType && q.Field == expr.FieldICMPCode {
		// "icmp type 3 icmp code 3": one 2-byte load, as nft sends it.
		return []nftexpr.Any{
			&nftexpr.Payload{DestRegister: exportReg1, Base: nftexpr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
			&nftexpr.Cmp{Op: nftexpr.CmpOpEq, Register: exportReg1, Data: []byte{byte(p.Lo), byte(q.Lo)}},
		}, true
	}
	if p.Field == expr.FieldTHDport && q.Field == expr.FieldICMPCode {
		p, q = q, p
	}
	if p.Field == expr.FieldICMPCode && q.Field == expr.FieldTHDport {
		// "ah hdrlength 4 ah reserved 0": bytes 1-3 of the transport
		// header in one 3-byte load, as nft sends it.
		return []nftexpr.Any{
			&nftexpr.Payload{DestRegister: exportReg1, Base: nftexpr.PayloadBaseTransportHeader, Offset: 1, Len: 3},
			&nftexpr.Cmp{Op: nftexpr.CmpOpEq, Register: exportReg1, Data: append([]byte{byte(p.Lo)}, exportValue(q.Lo, 2, false)...)},
		}, true
	}
	if p.Field == expr.FieldTHDport && q.Field == expr.FieldTHSport {
		p, q = q, p
	}
	if p.Field != expr.FieldTHSport || q.Field != expr.FieldTHDport {
		return nil, false
	}
	return []nftexpr.Any{
		&nftexpr.Payload{DestRegister: exportReg1, Base: nftexpr.PayloadBaseTransportHeader, Offset: 0, Len: 4},
		&nftexpr.Cmp{Op: nftexpr.CmpOpEq, Register: exportReg1, Data: append(exportValue(p.Lo, 2, false), exportValue(q.Lo, 2, false)...)},
	}, true
}

// exportExthdr appends a load of the IPv6 fragment header and its test.
func exportExthdr(exprs []nftexpr.Any, x expr.Exthdr) []nftexpr.Any {
	const fragment = 44 // NEXTHDR_FRAGMENT
	switch x.Test {
	case expr.FragMissing, expr.FragExists:
		v := byte(0)
		if x.Test == expr.FragExists {
			v = 1
		}
		return append(exprs,
			&nftexpr.Exthdr{DestRegister: exportReg1, Type: fragment, Offset: 0, Len: 1, Flags: 1, Op: nftexpr.ExthdrOpIpv6},
			&nftexpr.Cmp{Op: nftexpr.CmpOpEq, Register: exportReg1, Data: []byte{v}})
	}
	op := nftexpr.CmpOpEq
	if x.Test == expr.FragNotFirst {
		op = nftexpr.CmpOpNeq
	}
	return append(exprs,
		&nftexpr.Exthdr{DestRegister: exportReg1, Type: fragment, Offset: 2, Len: 2, Op: nftexpr.ExthdrOpIpv6},
		&nftexpr.Bitwise{SourceRegister: exportReg1, DestRegister: exportReg1, Len: 2, Mask: []byte{0xff, 0xf8}, Xor: make([]byte, 2)},
		&nftexpr.Cmp{Op: op, Register: exportReg1, Data: make([]byte, 2)})
}

// exportKeys are the ct keys Exprs exports: their google/nftables key, the
// bytes they load, and whether the value is kept in host byte order.
var exportKeys = map[expr.CtKey]struct {
	key  nftexpr.CtKey
	size int
	host bool
}{
	expr.CtState:      {nftexpr.CtKeySTATE, 4, true},
	expr.CtStatus:     {nftexpr.CtKeySTATUS, 4, true},
	expr.CtDirection:  {nftexpr.CtKeyDIRECTION, 1, false},
	expr.CtExpiration: {nftexpr.CtKeyEXPIRATION, 4, true},
	expr.CtProtocol:   {nftexpr.CtKeyPROTOCOL, 1, false},
}

func exportCt(exprs []nftexpr.Any, c expr.Ct) ([]nftexpr.Any, error) {
	k, ok := exportKeys[c.Key]
	if !ok {
		return nil, exportRefuse(c)
	}
	exprs = append(exprs, &nftexpr.Ct{Register: exportReg1, Key: k.key})
	switch c.Op {
	case expr.OpAny, expr.OpNone:
		op := nftexpr.CmpOpNeq
		if c.Op == expr.OpNone {
			op = nftexpr.CmpOpEq
		}
		return append(exprs,
			&nftexpr.Bitwise{SourceRegister: exportReg1, DestRegister: exportReg1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, c.Mask), Xor: make([]byte, 4)},
			&nftexpr.Cmp{Op: op, Register: exportReg1, Data: make([]byte, 4)},
		), nil
	case expr.OpEq, expr.OpNeq:
		op := nftexpr.CmpOpEq
		if c.Op == expr.OpNeq {
			op = nftexpr.CmpOpNeq
		}
		return append(exprs, &nftexpr.Cmp{Op: op, Register: exportReg1, Data: exportValue(c.Lo, k.size, k.host)}), nil
	case expr.OpRange, expr.OpNotRange:
		// Ranges compare with memcmp: a value kept in host order goes
		// through byteorder hton first, and the bounds are big endian.
		if k.host {
			exprs = append(exprs, &nftexpr.Byteorder{SourceRegister: exportReg1, DestRegister: exportReg1,
				Op: nftexpr.ByteorderHton, Len: uint32(k.size), Size: uint32(k.size)})
		}
		lo, hi := exportValue(c.Lo, k.size, false), exportValue(c.Hi, k.size, false)
		if c.Op == expr.OpRange {
			return append(exprs,
				&nftexpr.Cmp{Op: nftexpr.CmpOpGte, Register: exportReg1, Data: lo},
				&nftexpr.Cmp{Op: nftexpr.CmpOpLte, Register: exportReg1, Data: hi},
			), nil
		}
		// NFT_RANGE_NEQ is 1, as NFT_CMP_NEQ.
		return append(exprs, &nftexpr.Range{Op: nftexpr.CmpOpNeq, Register: exportReg1, FromData: lo, ToData: hi}), nil
	}
	return nil, fmt.Errorf("nftexport: cannot export operator %d", c.Op)
}

// exportValue encodes v in size bytes: big endian, or in host order (4-byte keys).
func exportValue(v uint32, size int, host bool) []byte {
	if host {
		return binary.NativeEndian.AppendUint32(nil, v)
	}
	return binary.BigEndian.AppendUint32(nil, v)[4-size:]
}

// exportRefuse returns the *Error for a ct match whose key Exprs does not
// export.
func exportRefuse(c expr.Ct) *Error {
	e := &Error{Text: c.String(), Key: c.Key, Dir: c.Dir, Option: exportOption(c), Hint: hintOwnLoader}
	switch c.Key {
	case expr.CtProtoSrc, expr.CtProtoDst:
		e.Reason = exportReasonDirection
	case expr.CtSrcIP, expr.CtDstIP, expr.CtSrcIP6, expr.CtDstIP6:
		e.Reason = exportReasonNoDirection
	default:
		e.Reason = fmt.Sprintf("ctmatch does not export ct key %d", c.Key)
	}
	return e
}

// exportOption names the iptables option a ct match of a refused key comes from.
func exportOption(c expr.Ct) string {
	dir := "orig"
	if c.Dir == expr.DirReply {
		dir = "repl"
	}
	switch c.Key {
	case expr.CtProtoSrc:
		return "--ct" + dir + "srcport"
	case expr.CtProtoDst:
		return "--ct" + dir + "dstport"
	case expr.CtSrcIP, expr.CtSrcIP6:
		return "--ct" + dir + "src"
	case expr.CtDstIP, expr.CtDstIP6:
		return "--ct" + dir + "dst"
	}
	return fmt.Sprintf("ct key %d", c.Key)
}

// exportVerdict returns the verdict expression of v, or nil for none.
func exportVerdict(v expr.Verdict) nftexpr.Any {
	switch v.Kind {
	case expr.VerdictAccept:
		return &nftexpr.Verdict{Kind: nftexpr.VerdictAccept}
	case expr.VerdictDrop:
		return &nftexpr.Verdict{Kind: nftexpr.VerdictDrop}
	case expr.VerdictReturn:
		return &nftexpr.Verdict{Kind: nftexpr.VerdictReturn}
	case expr.VerdictJump:
		return &nftexpr.Verdict{Kind: nftexpr.VerdictJump, Chain: v.Chain}
	case expr.VerdictGoto:
		return &nftexpr.Verdict{Kind: nftexpr.VerdictGoto, Chain: v.Chain}
	}
	return nil
}

// exportIfName is meta iifname or oifname and its cmp: the name padded to
// IFNAMSIZ bytes, or the prefix alone.
func exportIfName(exprs []nftexpr.Any, m expr.IfName) []nftexpr.Any {
	key := nftexpr.MetaKeyIIFNAME
	if m.Out {
		key = nftexpr.MetaKeyOIFNAME
	}
	op := nftexpr.CmpOpEq
	if m.Op == expr.OpNeq {
		op = nftexpr.CmpOpNeq
	}
	data := []byte(m.Name)
	if !m.Prefix {
		data = make([]byte, expr.IfNameSize)
		copy(data, m.Name)
	}
	return append(exprs,
		&nftexpr.Meta{Key: key, Register: exportReg1},
		&nftexpr.Cmp{Op: op, Register: exportReg1, Data: data},
	)
}

// exportMark appends meta mark or ct mark (v0.3.0 sends ct mark without a
// direction, as it must), the mask's bitwise unless it is all ones (the
// kernel takes a bitwise without NFTA_BITWISE_OP for & MASK ^ XOR), and the
// compare, in host byte order.
func exportMark(exprs []nftexpr.Any, m expr.Mark) []nftexpr.Any {
	if m.Ct {
		exprs = append(exprs, &nftexpr.Ct{Register: exportReg1, Key: nftexpr.CtKeyMARK})
	} else {
		exprs = append(exprs, &nftexpr.Meta{Key: nftexpr.MetaKeyMARK, Register: exportReg1})
	}
	if m.Mask != 0xffffffff {
		exprs = append(exprs, &nftexpr.Bitwise{SourceRegister: exportReg1, DestRegister: exportReg1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, m.Mask), Xor: make([]byte, 4)})
	}
	op := nftexpr.CmpOpEq
	if m.Op == expr.OpNeq {
		op = nftexpr.CmpOpNeq
	}
	return append(exprs, &nftexpr.Cmp{Op: op, Register: exportReg1, Data: binary.NativeEndian.AppendUint32(nil, m.Value)})
}
