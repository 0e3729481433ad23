package expr

import (
	"errors"
	"fmt"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds the netlink numbers of nf_tables expressions
// (include/uapi/linux/netfilter/nf_tables.h) and the decoder that reads the
// expressions of an NFTA_RULE_EXPRESSIONS payload, shared by the debug
// renderer and Raise. Lower encodes with the same numbers. The framing (the
// list, names, data registers) and the attributes themselves are
// internal/nfnl's.

// Attributes of verdicts.
const (
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

	attrExthdrDreg   = 1 // NFTA_EXTHDR_DREG
	attrExthdrType   = 2 // NFTA_EXTHDR_TYPE
	attrExthdrOffset = 3 // NFTA_EXTHDR_OFFSET
	attrExthdrLen    = 4 // NFTA_EXTHDR_LEN
	attrExthdrFlags  = 5 // NFTA_EXTHDR_FLAGS
	attrExthdrOp     = 6 // NFTA_EXTHDR_OP
	attrExthdrSreg   = 7 // NFTA_EXTHDR_SREG

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

	exthdrPresent = 1 // NFT_EXTHDR_F_PRESENT
	exthdrOpIPv6  = 0 // NFT_EXTHDR_OP_IPV6

	metaNfproto = 15 // NFT_META_NFPROTO
	metaL4proto = 16 // NFT_META_L4PROTO
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
	kindU16                        // big-endian 16 bits
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
	"exthdr": {
		attrExthdrDreg: kindU32, attrExthdrType: kindU8, attrExthdrOffset: kindU32, attrExthdrLen: kindU32,
		attrExthdrFlags: kindU32, attrExthdrOp: kindU32, attrExthdrSreg: kindU32,
	},
	"fib": {
		attrFibDreg: kindU32, attrFibResult: kindU32, attrFibFlags: kindU32,
	},
	"limit": {
		attrLimitRate: kindU64, attrLimitUnit: kindU64, attrLimitBurst: kindU32,
		attrLimitType: kindU32, attrLimitFlags: kindU32, attrLimitPad: kindAny,
	},
	"rt": {
		attrRtDreg: kindU32, attrRtKey: kindU32,
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

// wireExpr is one expression of a rule as it came off the wire.
type wireExpr struct {
	name    string
	hasData bool        // NFTA_EXPR_DATA was present
	attrs   []nfnl.Attr // the attributes of NFTA_EXPR_DATA, in wire order
	bad     string      // why the expression is malformed, or ""

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
	elems, err := nfnl.ExprList(b, 0)
	if err != nil {
		return nil, err
	}
	out := make([]wireExpr, len(elems))
	for i, el := range elems {
		x, err := nfnl.ParseExpr(el)
		e := &out[i]
		e.name, e.hasData, e.attrs = x.Name, x.HasData, x.Attrs
		if err != nil {
			e.bad = err.Error()
			continue
		}
		e.decode()
	}
	return out, nil
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
		kind, ok := schema[a.Type]
		if !ok || seen[a.Type] {
			e.extra = append(e.extra, a.Type)
			continue
		}
		seen[a.Type] = true
		switch kind {
		case kindU8, kindU32, kindU64, kindU16:
			var v uint64
			var err error
			switch kind {
			case kindU16:
				var v16 uint16
				v16, err = nfnl.U16(a.Data)
				v = uint64(v16)
			case kindU8:
				var v8 uint8
				v8, err = nfnl.U8(a.Data)
				v = uint64(v8)
			case kindU32:
				var v32 uint32
				v32, err = nfnl.U32(a.Data)
				v = uint64(v32)
			default:
				v, err = nfnl.U64(a.Data)
			}
			if err != nil {
				e.bad = fmt.Sprintf("attribute %d: %v", a.Type, err)
				return
			}
			e.u[a.Type] = v
		case kindString:
			str, ok := nfnl.CString(a.Data)
			if !ok {
				e.bad = fmt.Sprintf("attribute %d is not a string", a.Type)
				return
			}
			e.str[a.Type] = str
		case kindData:
			d, err := parseData(a.Data)
			if err != nil {
				e.bad = fmt.Sprintf("attribute %d: %v", a.Type, err)
				return
			}
			e.data[a.Type] = d
		}
	}
}

// parseData reads a nested data register attribute.
func parseData(b []byte) (dataReg, error) {
	attrs, err := nfnl.SplitAttrs(b, 0)
	if err != nil {
		return dataReg{}, err
	}
	if len(attrs) != 1 {
		return dataReg{}, fmt.Errorf("data with %d attributes, want 1", len(attrs))
	}
	switch a := attrs[0]; a.Type {
	case nfnl.AttrDataValue:
		if len(a.Data) == 0 || len(a.Data) > 64 {
			return dataReg{}, fmt.Errorf("value of %d bytes", len(a.Data))
		}
		return dataReg{value: a.Data}, nil
	case nfnl.AttrDataVerdict:
		vattrs, err := nfnl.SplitAttrs(a.Data, 0)
		if err != nil {
			return dataReg{}, fmt.Errorf("verdict: %w", err)
		}
		d := dataReg{verdict: true}
		hasCode := false
		for _, v := range vattrs {
			switch {
			case v.Type == attrVerdictCode && !hasCode && len(v.Data) == 4:
				code, _ := nfnl.U32(v.Data)
				d.code, hasCode = int32(code), true
			case v.Type == attrVerdictChain && !d.hasChain:
				name, ok := nfnl.CString(v.Data)
				if !ok {
					return dataReg{}, errors.New("verdict chain is not a string")
				}
				d.chain, d.hasChain = name, true
			case v.Type == attrVerdictChainID && !d.chainID && len(v.Data) == 4:
				d.chainID = true
			default:
				return dataReg{}, fmt.Errorf("verdict attribute %d of %d bytes", v.Type, len(v.Data))
			}
		}
		if !hasCode {
			return dataReg{}, errors.New("verdict without a code")
		}
		return d, nil
	default:
		return dataReg{}, fmt.Errorf("data attribute %d", a.Type)
	}
}

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
			if a.Type != attrCounterBytes && a.Type != attrCounterPackets {
				continue
			}
			v, err := nfnl.U64(a.Data)
			if err != nil {
				return 0, 0, false, fmt.Errorf("counter: attribute %d of %d bytes, want 8", a.Type, len(a.Data))
			}
			if a.Type == attrCounterBytes {
				bytes = v
			} else {
				packets = v
			}
		}
		return packets, bytes, true, nil
	}
	return 0, 0, false, nil
}

// ExprNames returns the name of each expression of an NFTA_RULE_EXPRESSIONS
// payload ("ct", "cmp", "match", …), in order.
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
