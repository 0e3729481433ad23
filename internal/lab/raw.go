package lab

import (
	"encoding/binary"

	"github.com/mdlayher/netlink"

	"github.com/ctmatch/ctmatch/expr"
)

// The few nf_tables expressions the lab writes itself, in the kernel's wire
// encoding (the payload of NFTA_RULE_EXPRESSIONS): the statement that sets a
// piece's mark bit, and the pieces of deliberately wrong translations. They
// stay here, not in expr/: they are the laboratory's instruments, not
// ctmatch's output.

// nf_tables netlink numbers (include/uapi/linux/netfilter/nf_tables.h).
const (
	attrListElem = 1 // NFTA_LIST_ELEM
	attrExprName = 1 // NFTA_EXPR_NAME
	attrExprData = 2 // NFTA_EXPR_DATA
	attrDataVal  = 1 // NFTA_DATA_VALUE

	attrMetaDreg = 1 // NFTA_META_DREG
	attrMetaKey  = 2 // NFTA_META_KEY
	attrMetaSreg = 3 // NFTA_META_SREG
	metaMark     = 3 // NFT_META_MARK

	attrBitwiseSreg = 1 // NFTA_BITWISE_SREG
	attrBitwiseDreg = 2 // NFTA_BITWISE_DREG
	attrBitwiseLen  = 3 // NFTA_BITWISE_LEN
	attrBitwiseMask = 4 // NFTA_BITWISE_MASK
	attrBitwiseXor  = 5 // NFTA_BITWISE_XOR

	attrCmpSreg = 1 // NFTA_CMP_SREG
	attrCmpOp   = 2 // NFTA_CMP_OP
	attrCmpData = 3 // NFTA_CMP_DATA
	cmpNeq      = 1 // NFT_CMP_NEQ

	attrCtDreg = 1 // NFTA_CT_DREG
	attrCtKey  = 2 // NFTA_CT_KEY

	reg1 = 1 // NFT_REG_1
)

// rawExpr encodes one expression: an NFTA_LIST_ELEM with its name and data.
func rawExpr(name string, data func(*netlink.AttributeEncoder)) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.Nested(attrListElem, func(el *netlink.AttributeEncoder) error {
		el.String(attrExprName, name)
		el.Nested(attrExprData, func(d *netlink.AttributeEncoder) error {
			data(d)
			return nil
		})
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		panic(err) // only attributes above 64 KiB fail
	}
	return b
}

func rawData(ae *netlink.AttributeEncoder, typ uint16, v []byte) {
	ae.Nested(typ, func(d *netlink.AttributeEncoder) error {
		d.Bytes(attrDataVal, v)
		return nil
	})
}

// MarkBit returns the statement `meta mark set meta mark | bit`, as nft
// 1.0.6 encodes it:
//
//	[ meta load mark => reg 1 ]
//	[ bitwise reg 1 = ( reg 1 & ^bit ) ^ bit ]
//	[ meta set mark with reg 1 ]
func MarkBit(bit uint32) []byte {
	b := rawExpr("meta", func(d *netlink.AttributeEncoder) {
		d.Uint32(attrMetaKey, metaMark)
		d.Uint32(attrMetaDreg, reg1)
	})
	b = append(b, rawExpr("bitwise", func(d *netlink.AttributeEncoder) {
		d.Uint32(attrBitwiseSreg, reg1)
		d.Uint32(attrBitwiseDreg, reg1)
		d.Uint32(attrBitwiseLen, 4)
		rawData(d, attrBitwiseMask, binary.NativeEndian.AppendUint32(nil, ^bit))
		rawData(d, attrBitwiseXor, binary.NativeEndian.AppendUint32(nil, bit))
	})...)
	return append(b, rawExpr("meta", func(d *netlink.AttributeEncoder) {
		d.Uint32(attrMetaKey, metaMark)
		d.Uint32(attrMetaSreg, reg1)
	})...)
}

// CtNeq returns `ct state|status != value` compared as a whole (nft text
// `ct state != new,related`): the wrong spelling of a negated flag test,
// which is true for almost every packet. key is expr.CtState or
// expr.CtStatus.
func CtNeq(key expr.CtKey, value uint32) []byte {
	b := rawExpr("ct", func(d *netlink.AttributeEncoder) {
		d.Uint32(attrCtKey, uint32(key))
		d.Uint32(attrCtDreg, reg1)
	})
	return append(b, rawExpr("cmp", func(d *netlink.AttributeEncoder) {
		d.Uint32(attrCmpSreg, reg1)
		d.Uint32(attrCmpOp, cmpNeq)
		rawData(d, attrCmpData, binary.NativeEndian.AppendUint32(nil, value))
	})...)
}

// Counter returns a counter statement.
func Counter() []byte { return rawExpr("counter", func(*netlink.AttributeEncoder) {}) }
