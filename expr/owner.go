package expr

import (
	"strconv"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds nft's "meta skuid" and "meta skgid": the user or group
// (the fsuid or fsgid of the file behind the packet's socket, in the
// initial user namespace) of a packet a local socket sent. The load stops
// the rule (NFT_BREAK) when the packet has no full socket of this network
// namespace, or the socket has no file (nft_meta.c
// nft_meta_get_eval_skugid).

// Meta keys of the socket's owner.
const (
	metaSkuid = 10 // NFT_META_SKUID
	metaSkgid = 11 // NFT_META_SKGID
)

// skidKey is the keyInfo of both: 4 bytes in host order.
var skidKey = keyInfo{size: 4, host: true}

// SkID is nft's "meta skuid 1000", "meta skgid 100-200",
// "meta skuid != 0": the socket's user (or group, with GID) compared with
// Lo (OpEq, OpNeq) or the inclusive range Lo-Hi (OpRange, OpNotRange).
type SkID struct {
	GID    bool // skgid; skuid when false
	Op     Op
	Lo, Hi uint32
}

func (SkID) isMatch() {}

// String returns the nft text of the match.
func (m SkID) String() string { return string(m.appendText(nil)) }

func (m SkID) key() string {
	if m.GID {
		return "skgid"
	}
	return "skuid"
}

func (m SkID) appendText(b []byte) []byte {
	b = append(append(append(b, "meta "...), m.key()...), ' ')
	switch m.Op {
	case OpEq:
		return strconv.AppendUint(b, uint64(m.Lo), 10)
	case OpNeq:
		return strconv.AppendUint(append(b, "!= "...), uint64(m.Lo), 10)
	case OpRange:
		return strconv.AppendUint(append(strconv.AppendUint(b, uint64(m.Lo), 10), '-'), uint64(m.Hi), 10)
	case OpNotRange:
		return strconv.AppendUint(append(strconv.AppendUint(append(b, "!= "...), uint64(m.Lo), 10), '-'), uint64(m.Hi), 10)
	}
	return appendInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
}

func checkSkID(m SkID) error {
	switch m.Op {
	case OpEq, OpNeq:
	case OpRange, OpNotRange:
		if m.Lo > m.Hi {
			return &fieldError{"a reversed range (nft refuses it)"}
		}
	default:
		return errOperator(m.Op, "meta "+m.key())
	}
	return nil
}

// lowerSkID appends the meta load and its test as nft 1.0.6 sends them: an
// equality in host order, a range after byteorder hton (as ct expiration).
func lowerSkID(ae *nfnl.Encoder, m SkID) {
	at := ae.BeginExpr("meta")
	key := uint32(metaSkuid)
	if m.GID {
		key = metaSkgid
	}
	ae.U32(attrMetaKey, key)
	ae.U32(attrMetaDreg, reg1)
	ae.EndExpr(at)
	lowerValue(ae, Ct{Op: m.Op, Lo: m.Lo, Hi: m.Hi}, skidKey)
}

// skID reads a load of meta skuid or skgid and its tests.
func (p *raiser) skID(i int) (Match, error) {
	e := &p.es[i]
	m := SkID{GID: e.u[attrMetaKey] == metaSkgid}
	if !e.has(attrMetaDreg) || e.has(attrMetaSreg) {
		return nil, p.fail(i, "meta %s that loads nothing", m.key())
	}
	slot := regSlot(e.u[attrMetaDreg])
	if slot < 0 || slot > 15 {
		return nil, p.fail(i, "meta loads into register %d", e.u[attrMetaDreg])
	}
	var c Ct
	if err := p.value(i, slot, skidKey, &c); err != nil {
		return nil, err
	}
	m.Op, m.Lo = c.Op, c.Lo
	if c.Op == OpRange || c.Op == OpNotRange {
		m.Hi = c.Hi
	}
	return m, nil
}

func (m SkID) appendJSON(b []byte) []byte {
	op, ok := jsonOp(m.Op)
	if !ok || m.Op == OpLt || m.Op == OpGt {
		return appendJSONInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	return appendJSONMatch(b, op, appendJSONKeyed(nil, "meta", m.key(), ""), appendJSONValue(nil, m.Op, m.Lo, m.Hi, appendJSONUint))
}
