package lab

import (
	"encoding/binary"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// The few nf_tables expressions the lab writes itself, in the kernel's wire
// encoding (the payload of NFTA_RULE_EXPRESSIONS): the statement that sets a
// piece's bit (in the packet's priority, see PriorityBit), and the pieces of deliberately wrong translations. They
// stay here, not in expr/: they are the laboratory's instruments, not
// ctmatch's output.

// nf_tables netlink numbers (include/uapi/linux/netfilter/nf_tables.h); the
// framing of the list is internal/nfnl's.
const (
	attrMetaDreg = 1 // NFTA_META_DREG
	attrMetaKey  = 2 // NFTA_META_KEY
	attrMetaSreg = 3 // NFTA_META_SREG
	metaPriority = 2 // NFT_META_PRIORITY

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
func rawExpr(name string, data func(*nfnl.Encoder)) []byte {
	var e nfnl.Encoder
	at := e.BeginExpr(name)
	data(&e)
	e.EndExpr(at)
	return e.B
}

// PriorityBit returns the statement `meta priority set meta priority | bit`,
// as nft 1.0.6 encodes it:
//
//	[ meta load priority => reg 1 ]
//	[ bitwise reg 1 = ( reg 1 & ^bit ) ^ bit ]
//	[ meta set priority with reg 1 ]
//
// The lab keeps its pieces' bits in the packet's priority (skb->priority),
// which no iptables match and no translation reads, and never in its mark:
// the mark belongs to the traffic (classes set it before the rules, for
// -m mark), and the xt rules at the same hook may run after the lab's
// chain.
func PriorityBit(bit uint32) []byte {
	b := rawExpr("meta", func(d *nfnl.Encoder) {
		d.U32(attrMetaKey, metaPriority)
		d.U32(attrMetaDreg, reg1)
	})
	b = append(b, rawExpr("bitwise", func(d *nfnl.Encoder) {
		d.U32(attrBitwiseSreg, reg1)
		d.U32(attrBitwiseDreg, reg1)
		d.U32(attrBitwiseLen, 4)
		d.Value(attrBitwiseMask, binary.NativeEndian.AppendUint32(nil, ^bit))
		d.Value(attrBitwiseXor, binary.NativeEndian.AppendUint32(nil, bit))
	})...)
	return append(b, rawExpr("meta", func(d *nfnl.Encoder) {
		d.U32(attrMetaKey, metaPriority)
		d.U32(attrMetaSreg, reg1)
	})...)
}

// CtNeq returns `ct state|status != value` compared as a whole (nft text
// `ct state != new,related`): the wrong spelling of a negated flag test,
// which is true for almost every packet. key is expr.CtState or
// expr.CtStatus.
func CtNeq(key expr.CtKey, value uint32) []byte {
	b := rawExpr("ct", func(d *nfnl.Encoder) {
		d.U32(attrCtKey, uint32(key))
		d.U32(attrCtDreg, reg1)
	})
	return append(b, rawExpr("cmp", func(d *nfnl.Encoder) {
		d.U32(attrCmpSreg, reg1)
		d.U32(attrCmpOp, cmpNeq)
		d.Value(attrCmpData, binary.NativeEndian.AppendUint32(nil, value))
	})...)
}

// Counter returns a counter statement.
func Counter() []byte { return rawExpr("counter", func(*nfnl.Encoder) {}) }
