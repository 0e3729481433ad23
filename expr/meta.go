package expr

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds nft's interface name matches, "meta iifname" and
// "meta oifname".

// Meta keys of the interface names.
const (
	metaIifname = 6 // NFT_META_IIFNAME
	metaOifname = 7 // NFT_META_OIFNAME
)

// IfNameSize is the kernel's IFNAMSIZ: meta iifname and oifname load this
// many bytes, the name padded with zeros.
const IfNameSize = 16

// IfName is nft's "iifname NAME" or "oifname NAME": the packet's input or
// output interface is named Name (Prefix false), or its name starts with
// Name (Prefix true: nft "iifname "eth*""), or not, with OpNeq. The kernel
// loads the name padded with zeros to IFNAMSIZ bytes, "" when the packet
// has no such interface (nft_meta_store_ifname); an exact name compares all
// 16 bytes, a prefix only len(Name) bytes (nft_cmp).
type IfName struct {
	Out    bool // oifname; iifname when false
	Op     Op   // OpEq or OpNeq
	Name   string
	Prefix bool
}

func (IfName) isMatch() {}

// String returns the nft text of the match, e.g. `iifname != "eth*"`.
func (m IfName) String() string { return string(m.appendText(nil)) }

func (m IfName) key() string {
	if m.Out {
		return "oifname"
	}
	return "iifname"
}

func (m IfName) appendText(b []byte) []byte {
	b = append(append(b, m.key()...), ' ')
	switch m.Op {
	case OpEq:
	case OpNeq:
		b = append(b, "!= "...)
	default:
		return appendInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	if strings.ContainsAny(m.Name, `"\`) {
		return appendInvalid(b, "interface name "+strconv.Quote(m.Name)+", which nft cannot write")
	}
	// nft 1.0.6 takes only a final "*" as the wildcard ("a*b*" is the
	// prefix a*b, "eth**" the prefix eth*) and a final "\*" as the
	// character ("eth\*" is the name eth*); any other "*" is itself.
	b = append(b, '"')
	switch {
	case m.Prefix:
		b = append(append(b, m.Name...), '*')
	case strings.HasSuffix(m.Name, "*"):
		b = append(append(b, m.Name[:len(m.Name)-1]...), `\*`...)
	default:
		b = append(b, m.Name...)
	}
	return append(b, '"')
}

func checkIfName(m IfName) error {
	if m.Op != OpEq && m.Op != OpNeq {
		return errOperator(m.Op, "meta "+m.key())
	}
	switch {
	case len(m.Name) >= IfNameSize:
		return &fieldError{"interface name " + strconv.Quote(m.Name) + " longer than 15 bytes"}
	case m.Prefix && m.Name == "":
		return &fieldError{"an empty interface name prefix (nft refuses \"*\")"}
	case strings.ContainsAny(m.Name, `"\`):
		return &fieldError{"a quote or a backslash in interface name " + strconv.Quote(m.Name) + " (nft 1.0.6 cannot write it)"}
	case strings.IndexByte(m.Name, 0) >= 0:
		return &fieldError{"a NUL byte in interface name " + strconv.Quote(m.Name)}
	}
	return nil
}

// value is the cmp's data: the name padded to IFNAMSIZ, or the prefix alone.
func (m IfName) value() []byte {
	if m.Prefix {
		return []byte(m.Name)
	}
	v := make([]byte, IfNameSize)
	copy(v, m.Name)
	return v
}

func lowerIfName(ae *nfnl.Encoder, m IfName) {
	at := ae.BeginExpr("meta")
	key := uint32(metaIifname)
	if m.Out {
		key = metaOifname
	}
	ae.U32(attrMetaKey, key)
	ae.U32(attrMetaDreg, reg1)
	ae.EndExpr(at)
	op := uint32(cmpEq)
	if m.Op == OpNeq {
		op = cmpNeq
	}
	putCmp(ae, op, m.value())
}

// ifname reads a load of meta iifname or oifname and its cmp: 16 bytes, a
// name and zeros, for an exact name; fewer bytes with no zero for a prefix.
// A shorter compare that ends in a zero (iptables-nft's "eth0\0") tests the
// same as the exact name but is not what nft sends for it: not read.
func (p *raiser) ifname(i int) (Match, error) {
	m := IfName{Out: p.es[i].u[attrMetaKey] == metaOifname}
	j, op, v, err := p.metaCmp(i, m.key(), IfNameSize)
	if err != nil {
		return nil, err
	}
	switch op {
	case cmpEq:
		m.Op = OpEq
	case cmpNeq:
		m.Op = OpNeq
	default:
		return nil, p.fail(j, "meta %s is tested only for equality or inequality", m.key())
	}
	n := bytes.IndexByte(v, 0)
	switch {
	case len(v) == IfNameSize && n > 0 && !bytes.ContainsFunc(v[n:], func(r rune) bool { return r != 0 }):
		m.Name = string(v[:n])
	case len(v) > 0 && len(v) < IfNameSize && n < 0:
		m.Name, m.Prefix = string(v), true
	default:
		return nil, p.fail(j, "compares %d bytes of meta %s that are neither a name padded to 16 bytes nor a prefix", len(v), m.key())
	}
	return m, nil
}

// appendJSON writes the match as the text does: a prefix as "eth*", a name
// that ends with "*" as "eth\*".
func (m IfName) appendJSON(b []byte) []byte {
	if m.Op != OpEq && m.Op != OpNeq {
		return appendJSONInvalid(b, "operator "+strconv.FormatUint(uint64(m.Op), 10))
	}
	if strings.ContainsAny(m.Name, `"\`) {
		return appendJSONInvalid(b, "interface name "+strconv.Quote(m.Name)+", which nft cannot write")
	}
	name := m.Name
	switch {
	case m.Prefix:
		name += "*"
	case strings.HasSuffix(name, "*"):
		name = name[:len(name)-1] + `\*`
	}
	op, _ := jsonOp(m.Op)
	return appendJSONMatch(b, op, appendJSONKeyed(nil, "meta", m.key(), ""), appendJSONString(nil, name))
}
