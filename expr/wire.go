package expr

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
)

// This file holds the netlink numbers of nf_tables expressions
// (include/uapi/linux/netfilter/nf_tables.h) and the decoder that splits the
// payload of an NFTA_RULE_EXPRESSIONS attribute into expressions, shared by
// the debug renderer and Raise. Lower encodes with the same numbers.

// Attributes of the expression list and of data registers.
const (
	attrListElem = 1 // NFTA_LIST_ELEM

	attrExprName = 1 // NFTA_EXPR_NAME
	attrExprData = 2 // NFTA_EXPR_DATA

	attrDataValue   = 1 // NFTA_DATA_VALUE
	attrDataVerdict = 2 // NFTA_DATA_VERDICT

	attrVerdictCode    = 1 // NFTA_VERDICT_CODE
	attrVerdictChain   = 2 // NFTA_VERDICT_CHAIN
	attrVerdictChainID = 3 // NFTA_VERDICT_CHAIN_ID
)

// Attributes of the expressions ctmatch reads and writes, and of a few more
// that the debug renderer spells.
const (
	attrCtDreg      = 1 // NFTA_CT_DREG
	attrCtKey       = 2 // NFTA_CT_KEY
	attrCtDirection = 3 // NFTA_CT_DIRECTION
	attrCtSreg      = 4 // NFTA_CT_SREG

	attrMetaDreg = 1 // NFTA_META_DREG
	attrMetaKey  = 2 // NFTA_META_KEY
	attrMetaSreg = 3 // NFTA_META_SREG

	attrCmpSreg = 1 // NFTA_CMP_SREG
	attrCmpOp   = 2 // NFTA_CMP_OP
	attrCmpData = 3 // NFTA_CMP_DATA

	attrBitwiseSreg  = 1 // NFTA_BITWISE_SREG
	attrBitwiseDreg  = 2 // NFTA_BITWISE_DREG
	attrBitwiseLen   = 3 // NFTA_BITWISE_LEN
	attrBitwiseMask  = 4 // NFTA_BITWISE_MASK
	attrBitwiseXor   = 5 // NFTA_BITWISE_XOR
	attrBitwiseOp    = 6 // NFTA_BITWISE_OP
	attrBitwiseData  = 7 // NFTA_BITWISE_DATA
	attrBitwiseSreg2 = 8 // NFTA_BITWISE_SREG2

	attrByteorderSreg = 1 // NFTA_BYTEORDER_SREG
	attrByteorderDreg = 2 // NFTA_BYTEORDER_DREG
	attrByteorderOp   = 3 // NFTA_BYTEORDER_OP
	attrByteorderLen  = 4 // NFTA_BYTEORDER_LEN
	attrByteorderSize = 5 // NFTA_BYTEORDER_SIZE

	attrRangeSreg     = 1 // NFTA_RANGE_SREG
	attrRangeOp       = 2 // NFTA_RANGE_OP
	attrRangeFromData = 3 // NFTA_RANGE_FROM_DATA
	attrRangeToData   = 4 // NFTA_RANGE_TO_DATA

	attrCounterBytes   = 1 // NFTA_COUNTER_BYTES
	attrCounterPackets = 2 // NFTA_COUNTER_PACKETS
	attrCounterPad     = 3 // NFTA_COUNTER_PAD

	attrImmediateDreg = 1 // NFTA_IMMEDIATE_DREG
	attrImmediateData = 2 // NFTA_IMMEDIATE_DATA

	attrPayloadDreg       = 1 // NFTA_PAYLOAD_DREG
	attrPayloadBase       = 2 // NFTA_PAYLOAD_BASE
	attrPayloadOffset     = 3 // NFTA_PAYLOAD_OFFSET
	attrPayloadLen        = 4 // NFTA_PAYLOAD_LEN
	attrPayloadSreg       = 5 // NFTA_PAYLOAD_SREG
	attrPayloadCsumType   = 6 // NFTA_PAYLOAD_CSUM_TYPE
	attrPayloadCsumOffset = 7 // NFTA_PAYLOAD_CSUM_OFFSET
	attrPayloadCsumFlags  = 8 // NFTA_PAYLOAD_CSUM_FLAGS

	attrLookupSet   = 1 // NFTA_LOOKUP_SET
	attrLookupSreg  = 2 // NFTA_LOOKUP_SREG
	attrLookupDreg  = 3 // NFTA_LOOKUP_DREG
	attrLookupSetID = 4 // NFTA_LOOKUP_SET_ID
	attrLookupFlags = 5 // NFTA_LOOKUP_FLAGS
)

// Values of expression attributes.
const (
	regVerdict = 0 // NFT_REG_VERDICT
	reg1       = 1 // NFT_REG_1: the first 16-byte register, which nft uses for every load here

	cmpEq  = 0 // NFT_CMP_EQ
	cmpNeq = 1 // NFT_CMP_NEQ
	cmpLt  = 2 // NFT_CMP_LT
	cmpLte = 3 // NFT_CMP_LTE
	cmpGt  = 4 // NFT_CMP_GT
	cmpGte = 5 // NFT_CMP_GTE

	rangeEq  = 0 // NFT_RANGE_EQ
	rangeNeq = 1 // NFT_RANGE_NEQ

	byteorderNtoh = 0 // NFT_BYTEORDER_NTOH
	byteorderHton = 1 // NFT_BYTEORDER_HTON

	bitwiseMaskXor = 0 // NFT_BITWISE_MASK_XOR (NFT_BITWISE_BOOL before Linux 6.13)
	bitwiseLshift  = 1 // NFT_BITWISE_LSHIFT
	bitwiseRshift  = 2 // NFT_BITWISE_RSHIFT
	bitwiseAnd     = 3 // NFT_BITWISE_AND
	bitwiseOr      = 4 // NFT_BITWISE_OR
	bitwiseXor     = 5 // NFT_BITWISE_XOR

	metaNfproto = 15 // NFT_META_NFPROTO
)

// Verdict codes (NF_* and NFT_*), as the signed 32-bit values the kernel
// sends.
const (
	codeDrop     int32 = 0  // NF_DROP
	codeAccept   int32 = 1  // NF_ACCEPT
	codeStolen   int32 = 2  // NF_STOLEN
	codeQueue    int32 = 3  // NF_QUEUE
	codeRepeat   int32 = 4  // NF_REPEAT
	codeStop     int32 = 5  // NF_STOP
	codeContinue int32 = -1 // NFT_CONTINUE
	codeBreak    int32 = -2 // NFT_BREAK
	codeJump     int32 = -3 // NFT_JUMP
	codeGoto     int32 = -4 // NFT_GOTO
	codeReturn   int32 = -5 // NFT_RETURN
)

// attrKind says how the payload of an attribute is read.
type attrKind uint8

const (
	kindU8     attrKind = iota + 1 // one byte
	kindU32                        // big-endian 32 bits
	kindU64                        // big-endian 64 bits
	kindData                       // nested NFTA_DATA_VALUE or NFTA_DATA_VERDICT
	kindString                     // NUL-terminated string
	kindAny                        // not read (padding)
)

// schemas are the attributes of each expression that ctmatch decodes; any
// other attribute is kept raw.
var schemas = map[string]map[uint16]attrKind{
	"ct": {
		attrCtDreg: kindU32, attrCtKey: kindU32, attrCtDirection: kindU8, attrCtSreg: kindU32,
	},
	"meta": {
		attrMetaDreg: kindU32, attrMetaKey: kindU32, attrMetaSreg: kindU32,
	},
	"cmp": {
		attrCmpSreg: kindU32, attrCmpOp: kindU32, attrCmpData: kindData,
	},
	"bitwise": {
		attrBitwiseSreg: kindU32, attrBitwiseDreg: kindU32, attrBitwiseLen: kindU32,
		attrBitwiseMask: kindData, attrBitwiseXor: kindData, attrBitwiseOp: kindU32,
		attrBitwiseData: kindData, attrBitwiseSreg2: kindU32,
	},
	"byteorder": {
		attrByteorderSreg: kindU32, attrByteorderDreg: kindU32, attrByteorderOp: kindU32,
		attrByteorderLen: kindU32, attrByteorderSize: kindU32,
	},
	"range": {
		attrRangeSreg: kindU32, attrRangeOp: kindU32, attrRangeFromData: kindData, attrRangeToData: kindData,
	},
	"counter": {
		attrCounterBytes: kindU64, attrCounterPackets: kindU64, attrCounterPad: kindAny,
	},
	"immediate": {
		attrImmediateDreg: kindU32, attrImmediateData: kindData,
	},
	"payload": {
		attrPayloadDreg: kindU32, attrPayloadBase: kindU32, attrPayloadOffset: kindU32,
		attrPayloadLen: kindU32, attrPayloadSreg: kindU32, attrPayloadCsumType: kindU32,
		attrPayloadCsumOffset: kindU32, attrPayloadCsumFlags: kindU32,
	},
	"lookup": {
		attrLookupSet: kindString, attrLookupSreg: kindU32, attrLookupDreg: kindU32,
		attrLookupSetID: kindU32, attrLookupFlags: kindU32,
	},
}

// dataReg is a decoded NFTA_*_DATA attribute: a value, or a verdict.
type dataReg struct {
	verdict  bool
	value    []byte // a value: the bytes of NFTA_DATA_VALUE
	code     int32  // a verdict: NFTA_VERDICT_CODE
	chain    string // a verdict: NFTA_VERDICT_CHAIN, if hasChain
	hasChain bool
	chainID  bool // a verdict with NFTA_VERDICT_CHAIN_ID
}

// wireAttr is one attribute of an expression's NFTA_EXPR_DATA, its type
// without the nested and byte order flags.
type wireAttr struct {
	typ  uint16
	data []byte
}

// wireExpr is one expression of a rule as it came off the wire.
type wireExpr struct {
	name    string
	hasData bool       // NFTA_EXPR_DATA was present
	attrs   []wireAttr // the attributes of NFTA_EXPR_DATA, in wire order
	bad     string     // why the expression is malformed, or ""

	// Decoded by decode, for expressions with a schema and no fault.
	u     map[uint16]uint64
	data  map[uint16]dataReg
	str   map[uint16]string
	extra []uint16 // attribute types outside the schema, or repeated
}

// has reports whether the expression carries attribute typ (decoded).
func (e *wireExpr) has(typ uint16) bool {
	if _, ok := e.u[typ]; ok {
		return true
	}
	if _, ok := e.data[typ]; ok {
		return true
	}
	_, ok := e.str[typ]
	return ok
}

// splitExprs splits the payload of NFTA_RULE_EXPRESSIONS into expressions.
// It fails only when the list itself cannot be read; a malformed expression
// inside it is returned with its fault in bad.
func splitExprs(b []byte) ([]wireExpr, error) {
	elems, err := attributes(b)
	if err != nil {
		return nil, fmt.Errorf("expression list: %w", err)
	}
	out := make([]wireExpr, 0, len(elems))
	for i, el := range elems {
		if el.typ != attrListElem {
			return nil, fmt.Errorf("expression list: attribute %d of type %d, want NFTA_LIST_ELEM", i+1, el.typ)
		}
		out = append(out, parseExpr(el.data))
	}
	return out, nil
}

// parseExpr reads one NFTA_LIST_ELEM payload.
func parseExpr(b []byte) wireExpr {
	var e wireExpr
	attrs, err := attributes(b)
	if err != nil {
		e.bad = err.Error()
		return e
	}
	hasName := false
	for _, a := range attrs {
		switch {
		case a.typ == attrExprName && !hasName:
			name, ok := cString(a.data)
			if !ok {
				e.bad = "expression name is not a string"
				return e
			}
			e.name, hasName = name, true
		case a.typ == attrExprData && !e.hasData:
			e.hasData = true
			e.attrs, err = attributes(a.data)
			if err != nil {
				e.bad = "expression data: " + err.Error()
				return e
			}
		default:
			e.bad = fmt.Sprintf("unexpected attribute %d in a list element", a.typ)
			return e
		}
	}
	if !hasName {
		e.bad = "expression without a name"
		return e
	}
	e.decode()
	return e
}

// decode reads the attributes of an expression that has a schema.
func (e *wireExpr) decode() {
	schema, ok := schemas[e.name]
	if !ok {
		return
	}
	e.u = make(map[uint16]uint64)
	e.data = make(map[uint16]dataReg)
	e.str = make(map[uint16]string)
	seen := make(map[uint16]bool)
	for _, a := range e.attrs {
		kind, ok := schema[a.typ]
		if !ok || seen[a.typ] {
			e.extra = append(e.extra, a.typ)
			continue
		}
		seen[a.typ] = true
		switch kind {
		case kindU8:
			if len(a.data) != 1 {
				e.bad = fmt.Sprintf("attribute %d: %d bytes, want 1", a.typ, len(a.data))
				return
			}
			e.u[a.typ] = uint64(a.data[0])
		case kindU32:
			if len(a.data) != 4 {
				e.bad = fmt.Sprintf("attribute %d: %d bytes, want 4", a.typ, len(a.data))
				return
			}
			e.u[a.typ] = uint64(binary.BigEndian.Uint32(a.data))
		case kindU64:
			if len(a.data) != 8 {
				e.bad = fmt.Sprintf("attribute %d: %d bytes, want 8", a.typ, len(a.data))
				return
			}
			e.u[a.typ] = binary.BigEndian.Uint64(a.data)
		case kindString:
			str, ok := cString(a.data)
			if !ok {
				e.bad = fmt.Sprintf("attribute %d is not a string", a.typ)
				return
			}
			e.str[a.typ] = str
		case kindData:
			d, err := parseData(a.data)
			if err != nil {
				e.bad = fmt.Sprintf("attribute %d: %v", a.typ, err)
				return
			}
			e.data[a.typ] = d
		}
	}
}

// parseData reads a nested data register attribute.
func parseData(b []byte) (dataReg, error) {
	attrs, err := attributes(b)
	if err != nil {
		return dataReg{}, err
	}
	if len(attrs) != 1 {
		return dataReg{}, fmt.Errorf("data with %d attributes, want 1", len(attrs))
	}
	switch a := attrs[0]; a.typ {
	case attrDataValue:
		if len(a.data) == 0 || len(a.data) > 64 {
			return dataReg{}, fmt.Errorf("value of %d bytes", len(a.data))
		}
		return dataReg{value: a.data}, nil
	case attrDataVerdict:
		vattrs, err := attributes(a.data)
		if err != nil {
			return dataReg{}, fmt.Errorf("verdict: %w", err)
		}
		d := dataReg{verdict: true}
		hasCode := false
		for _, v := range vattrs {
			switch {
			case v.typ == attrVerdictCode && !hasCode && len(v.data) == 4:
				d.code, hasCode = int32(binary.BigEndian.Uint32(v.data)), true
			case v.typ == attrVerdictChain && !d.hasChain:
				name, ok := cString(v.data)
				if !ok {
					return dataReg{}, errors.New("verdict chain is not a string")
				}
				d.chain, d.hasChain = name, true
			case v.typ == attrVerdictChainID && !d.chainID && len(v.data) == 4:
				d.chainID = true
			default:
				return dataReg{}, fmt.Errorf("verdict attribute %d of %d bytes", v.typ, len(v.data))
			}
		}
		if !hasCode {
			return dataReg{}, errors.New("verdict without a code")
		}
		return d, nil
	default:
		return dataReg{}, fmt.Errorf("data attribute %d", a.typ)
	}
}

// attributes splits b into netlink attributes, with their types stripped of
// the nested and byte order flags. Every attribute must have a header and
// fit in b.
func attributes(b []byte) ([]wireAttr, error) {
	attrs, err := netlink.UnmarshalAttributes(b)
	if err != nil {
		return nil, err
	}
	out := make([]wireAttr, 0, len(attrs))
	for _, a := range attrs {
		if a.Length < 4 {
			return nil, errors.New("attribute shorter than its header")
		}
		out = append(out, wireAttr{typ: a.Type &^ (netlink.Nested | netlink.NetByteOrder), data: a.Data})
	}
	return out, nil
}

// cString reads a NUL-terminated string attribute payload.
func cString(b []byte) (string, bool) {
	if len(b) == 0 || b[len(b)-1] != 0 {
		return "", false
	}
	s := b[:len(b)-1]
	for _, c := range s {
		if c == 0 {
			return "", false
		}
	}
	return string(s), true
}

// ExprNames returns the name of each expression of an NFTA_RULE_EXPRESSIONS
// payload ("ct", "cmp", "match", …), in order.
// CounterValues returns the packets and bytes of the first counter
// expression in exprs (an NFTA_RULE_EXPRESSIONS payload, as the kernel
// dumps it), and whether there is one.
func CounterValues(exprs []byte) (packets, bytes uint64, ok bool, err error) {
	es, err := splitExprs(exprs)
	if err != nil {
		return 0, 0, false, err
	}
	for _, e := range es {
		if e.name != "counter" {
			continue
		}
		if e.bad != "" {
			return 0, 0, false, fmt.Errorf("counter: %s", e.bad)
		}
		for _, a := range e.attrs {
			if a.typ != attrCounterBytes && a.typ != attrCounterPackets {
				continue
			}
			if len(a.data) != 8 {
				return 0, 0, false, fmt.Errorf("counter: attribute %d of %d bytes, want 8", a.typ, len(a.data))
			}
			v := binary.BigEndian.Uint64(a.data)
			if a.typ == attrCounterBytes {
				bytes = v
			} else {
				packets = v
			}
		}
		return packets, bytes, true, nil
	}
	return 0, 0, false, nil
}

func ExprNames(exprs []byte) ([]string, error) {
	es, err := splitExprs(exprs)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.name
	}
	return names, nil
}
