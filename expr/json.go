package expr

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// This file renders the IR as libnftables' JSON (nft -j, libnftables-json(5)):
// a rule's statements as the array of its "expr", each match as
// {"match": {"op": …, "left": …, "right": …}}, each statement as nft 1.0.6
// lists it. Every match and statement type has an appendJSON method next to
// its appendText (TestEveryMatchHasJSON fails for one that has not), and the JSON says exactly what the text says: nft
// 1.0.6 reads both into the same bytes (compile's JSON oracle checks it for
// every golden rule). Times are strings in milliseconds ("28000ms"), which
// nft reads exactly, although nft 1.0.6 lists them in whole seconds.
//
// As the text, the JSON cannot fail: a malformed IR gives an
// {"invalid": "…"} statement, which nft refuses.

// jsonMatch is what every Match implements: its JSON expression.
type jsonMatch interface {
	appendJSON(b []byte) []byte
}

// AppendJSON appends to b the JSON array of r's statements (the value of a
// rule's "expr"): the matches, then {"counter": null}, then the verdict.
// The comment is not a statement: see AppendJSONRule.
func (r Rule) AppendJSON(b []byte) []byte { return r.appendJSON(b, nil) }

// AppendJSONCounted is AppendJSON with the counter's values, as nft lists
// them and loads them back: {"counter": {"packets": P, "bytes": B}}.
func (r Rule) AppendJSONCounted(b []byte, packets, bytes uint64) []byte {
	c := strconv.AppendUint([]byte(`{"counter":{"packets":`), packets, 10)
	c = append(strconv.AppendUint(append(c, `,"bytes":`...), bytes, 10), "}}"...)
	return r.appendJSON(b, c)
}

// appendJSON writes the statements, the counter as counter (when r.Counter;
// nil: without values).
func (r Rule) appendJSON(b []byte, counter []byte) []byte {
	if counter == nil {
		counter = []byte(`{"counter":null}`)
	}
	b = append(b, '[')
	first := true
	sep := func(b []byte) []byte {
		if !first {
			b = append(b, ',')
		}
		first = false
		return b
	}
	for i, m := range r.Matches {
		switch m := m.(type) {
		case L4Proto:
			if impliedBy(r.Matches, i) {
				continue
			}
		case Payload:
			b = m.appendJSONIn(sep(b), transportProto(r.Matches, i))
			continue
		case Lookup:
			b = m.appendJSONIn(sep(b), transportProto(r.Matches, i))
			continue
		}
		b = sep(b)
		if jm, ok := m.(jsonMatch); ok && m != nil {
			b = jm.appendJSON(b)
		} else {
			b = appendJSONInvalid(b, fmt.Sprintf("match %T", m))
		}
	}
	if r.Counter {
		b = append(sep(b), counter...)
	}
	if len(r.Stmts) > 0 {
		inet := netFamily(r.Matches, FamilyInet) != 0
		for _, s := range r.Stmts {
			b = appendJSONStmt(sep(b), s, inet)
		}
	}
	if r.Verdict.Kind != VerdictNone {
		b = r.Verdict.appendJSON(sep(b))
	}
	return append(b, ']')
}

// JSON returns the JSON array of r's statements, as AppendJSON writes it.
func (r Rule) JSON() string { return string(r.AppendJSON(nil)) }

// AppendJSONRule appends to b r as a libnftables JSON rule object, the
// value of {"add": {"rule": …}}: {"family": …, "table": …, "chain": …,
// "expr": […]}, with "index" when index ≥ 0 (nft's index: the rule goes
// after the chain's rule at that position) and "comment" when r has one.
func (r Rule) AppendJSONRule(b []byte, family Family, table, chain string, index int) []byte {
	b = append(b, `{"family":`...)
	b = appendJSONString(b, family.String())
	b = appendJSONString(append(b, `,"table":`...), table)
	b = appendJSONString(append(b, `,"chain":`...), chain)
	if index >= 0 {
		b = strconv.AppendInt(append(b, `,"index":`...), int64(index), 10)
	}
	b = r.AppendJSON(append(b, `,"expr":`...))
	if r.Comment != "" {
		b = appendJSONString(append(b, `,"comment":`...), r.Comment)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil {
		// Marshal of a string cannot fail; invalid UTF-8 becomes U+FFFD.
		return append(b, `""`...)
	}
	return append(b, q...)
}

func appendJSONInvalid(b []byte, what string) []byte {
	return append(appendJSONString(append(b, `{"invalid":`...), what), '}')
}

// appendJSONMatch appends {"match": {"op": op, "left": left, "right": right}},
// left and right being JSON already.
func appendJSONMatch(b []byte, op string, left, right []byte) []byte {
	b = append(b, `{"match":{"op":`...)
	b = appendJSONString(b, op)
	b = append(append(b, `,"left":`...), left...)
	b = append(append(b, `,"right":`...), right...)
	return append(b, "}}"...)
}

// jsonOp is the JSON operator of an Op and whether it is one; ranges are
// "==" and "!=" with a {"range": […]} on the right.
func jsonOp(op Op) (string, bool) {
	switch op {
	case OpEq, OpRange:
		return "==", true
	case OpNeq, OpNotRange:
		return "!=", true
	case OpLt:
		return "<", true
	case OpGt:
		return ">", true
	}
	return "", false
}

// appendJSONValue appends the right side of a numeric comparison: Lo, or
// {"range": [Lo, Hi]}, each written by val.
func appendJSONValue(b []byte, op Op, lo, hi uint32, val func([]byte, uint32) []byte) []byte {
	if op == OpRange || op == OpNotRange {
		b = val(append(b, `{"range":[`...), lo)
		return append(val(append(b, ','), hi), "]}"...)
	}
	return val(b, lo)
}

func appendJSONUint(b []byte, v uint32) []byte { return strconv.AppendUint(b, uint64(v), 10) }

// appendJSONMillis writes a time as nft reads it exactly: "28000ms".
func appendJSONMillis(b []byte, v uint32) []byte {
	return append(append(b, '"'), append(appendMillis(nil, v), '"')...)
}

// appendJSONKeyed writes {"KIND": {"key": KEY}} with "dir" when dir != "".
func appendJSONKeyed(b []byte, kind, key, dir string) []byte {
	b = appendJSONString(append(b, '{'), kind)
	b = appendJSONString(append(b, `:{"key":`...), key)
	if dir != "" {
		b = appendJSONString(append(b, `,"dir":`...), dir)
	}
	return append(b, "}}"...)
}

// appendJSONAnd writes {"&": [left, mask]}.
func appendJSONAnd(b []byte, left, mask []byte) []byte {
	b = append(append(b, `{"&":[`...), left...)
	return append(append(append(b, ','), mask...), "]}"...)
}

func (v Verdict) appendJSON(b []byte) []byte {
	switch v.Kind {
	case VerdictAccept:
		return append(b, `{"accept":null}`...)
	case VerdictDrop:
		return append(b, `{"drop":null}`...)
	case VerdictReturn:
		return append(b, `{"return":null}`...)
	case VerdictJump, VerdictGoto:
		word := "jump"
		if v.Kind == VerdictGoto {
			word = "goto"
		}
		if v.Chain == "" {
			return appendJSONInvalid(b, word+" without a chain")
		}
		b = append(append(append(b, `{"`...), word...), `":{"target":`...)
		return append(appendJSONString(b, v.Chain), "}}"...)
	}
	return appendJSONInvalid(b, "verdict "+strconv.FormatUint(uint64(v.Kind), 10))
}

func (n Nfproto) appendJSON(b []byte) []byte {
	var right string
	switch n.Family {
	case FamilyIP:
		right = `"ipv4"`
	case FamilyIP6:
		right = `"ipv6"`
	default:
		return appendJSONInvalid(b, "family "+strconv.FormatUint(uint64(n.Family), 10))
	}
	return appendJSONMatch(b, "==", appendJSONKeyed(nil, "meta", "nfproto", ""), []byte(right))
}

func (c Ct) appendJSON(b []byte) []byte {
	switch c.Key {
	case CtState:
		return appendJSONFlags(b, "state", c.Op, c.Mask, stateNames)
	case CtStatus:
		return appendJSONFlags(b, "status", c.Op, c.Mask, statusNames)
	case CtDirection:
		val := appendJSONUint
		if c.Op == OpEq || c.Op == OpNeq {
			val = func(b []byte, v uint32) []byte {
				switch Dir(v) {
				case DirOriginal:
					return append(b, `"original"`...)
				case DirReply:
					return append(b, `"reply"`...)
				}
				return appendJSONUint(b, v)
			}
		}
		return c.appendJSONValue(b, "direction", "", val)
	case CtExpiration:
		return c.appendJSONValue(b, "expiration", "", appendJSONMillis)
	case CtProtocol:
		return c.appendJSONValue(b, "protocol", "original", appendJSONUint)
	case CtProtoSrc, CtProtoDst:
		key := "proto-dst"
		if c.Key == CtProtoSrc {
			key = "proto-src"
		}
		dir, ok := jsonDir(c.Dir)
		if !ok {
			return appendJSONInvalid(b, "dir "+strconv.FormatUint(uint64(c.Dir), 10))
		}
		return c.appendJSONValue(b, key, dir, appendJSONUint)
	case CtSrcIP, CtDstIP, CtSrcIP6, CtDstIP6:
		dir, ok := jsonDir(c.Dir)
		if !ok {
			return appendJSONInvalid(b, "dir "+strconv.FormatUint(uint64(c.Dir), 10))
		}
		return c.appendJSONAddr(b, dir)
	}
	return appendJSONInvalid(b, "ct key "+strconv.FormatUint(uint64(c.Key), 10))
}

func jsonDir(d Dir) (string, bool) {
	switch d {
	case DirOriginal:
		return "original", true
	case DirReply:
		return "reply", true
	}
	return "", false
}

// appendJSONFlags writes a flag test as the text does: the names with op
// "in" (nft's implicit flag test) or "!" (its negation) when every bit has
// one, otherwise the explicit "& MASK != 0" or "== 0".
func appendJSONFlags(b []byte, key string, op Op, mask uint32, names []flagName) []byte {
	if op != OpAny && op != OpNone {
		return appendJSONInvalid(b, "op "+strconv.FormatUint(uint64(op), 10))
	}
	left := appendJSONKeyed(nil, "ct", key, "")
	var named uint32
	for _, n := range names {
		named |= n.bit
	}
	if mask == 0 || mask&^named != 0 {
		cmp := "!="
		if op == OpNone {
			cmp = "=="
		}
		return appendJSONMatch(b, cmp, appendJSONAnd(nil, left, appendJSONUint(nil, mask)), []byte("0"))
	}
	var set []string
	for _, n := range names {
		if mask&n.bit != 0 {
			set = append(set, n.name)
		}
	}
	var right []byte
	if len(set) == 1 {
		right = appendJSONString(nil, set[0])
	} else {
		right = append(right, '[')
		for i, n := range set {
			if i > 0 {
				right = append(right, ',')
			}
			right = appendJSONString(right, n)
		}
		right = append(right, ']')
	}
	cmp := "in"
	if op == OpNone {
		cmp = "!"
	}
	return appendJSONMatch(b, cmp, left, right)
}

// appendJSONValue writes a comparison of a numeric ct key.
func (c Ct) appendJSONValue(b []byte, key, dir string, val func([]byte, uint32) []byte) []byte {
	op, ok := jsonOp(c.Op)
	if !ok || c.Op == OpLt || c.Op == OpGt {
		return appendJSONInvalid(b, "op "+strconv.FormatUint(uint64(c.Op), 10))
	}
	return appendJSONMatch(b, op, appendJSONKeyed(nil, "ct", key, dir), appendJSONValue(nil, c.Op, c.Lo, c.Hi, val))
}

// appendJSONAddr writes an address match of a ct key (dir "original" or
// "reply") or, with dir "", of the network header, as the text does: an
// address, a prefix, or "& MASK == ADDR".
func (c Ct) appendJSONAddr(b []byte, dir string) []byte {
	v4 := c.Key == CtSrcIP || c.Key == CtDstIP
	field := "saddr"
	if c.Key == CtDstIP || c.Key == CtDstIP6 {
		field = "daddr"
	}
	proto := "ip6"
	if v4 {
		proto = "ip"
	}
	var left []byte
	if dir != "" {
		left = appendJSONKeyed(nil, "ct", proto+" "+field, dir)
	} else {
		left = appendJSONString(append(left, `{"payload":{"protocol":`...), proto)
		left = append(appendJSONString(append(left, `,"field":`...), field), "}}"...)
	}
	op, ok := jsonOp(c.Op)
	if !ok || c.Op != OpEq && c.Op != OpNeq {
		return appendJSONInvalid(b, "op "+strconv.FormatUint(uint64(c.Op), 10))
	}
	if !addrOf(c.Addr, v4) || !addrOf(c.AddrMask, v4) {
		return appendJSONInvalid(b, "address "+c.Addr.String()+" mask "+c.AddrMask.String())
	}
	if n := leadingOnes(c.AddrMask); prefixMasked(c.AddrMask, n) && prefixMasked(c.Addr, n) {
		var right []byte
		if n == c.AddrMask.BitLen() {
			right = appendJSONString(nil, c.Addr.String())
		} else {
			right = appendJSONString(append(right, `{"prefix":{"addr":`...), c.Addr.String())
			right = append(strconv.AppendInt(append(right, `,"len":`...), int64(n), 10), "}}"...)
		}
		return appendJSONMatch(b, op, left, right)
	}
	return appendJSONMatch(b, op, appendJSONAnd(nil, left, appendJSONString(nil, c.AddrMask.String())), appendJSONString(nil, c.Addr.String()))
}
