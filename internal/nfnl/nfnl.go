// Package nfnl is ctmatch's netlink codec for nf_tables: bytes in, bytes out,
// no sockets and no system calls. It holds what every part of ctmatch that
// reads or writes nf_tables messages shares:
//
//   - the 16-byte netlink message header (struct nlmsghdr, host byte order)
//     and the 4-byte nfgenmsg header that follows it in nfnetlink messages;
//   - splitting a datagram into messages;
//   - splitting attributes, with the offset of each, so that the offset an
//     extended ACK names can be mapped back to the attribute at fault;
//   - appending attributes: nested, u8, u16, u32 and u64 in big endian (the
//     byte order of nf_tables values), NUL-terminated strings, bytes;
//   - NLMSG_ERROR and NLMSG_DONE with their extended ACK
//     (NLMSGERR_ATTR_MSG, _OFFS, _MISS_TYPE);
//   - the framing of an nf_tables expression list (NFTA_LIST_ELEM, each an
//     NFTA_EXPR_NAME and an NFTA_EXPR_DATA) and of a data register
//     (NFTA_DATA_VALUE).
//
// What the attributes of a table, a chain or an expression mean is not
// here: kernel/ and expr/ say that. The attribute flags are spelt here, as
// linux/netlink.h has them, so that no socket code comes with the package
// (the tests check them against github.com/mdlayher/netlink's), and the
// encoder writes the bytes its AttributeEncoder writes with ByteOrder set to
// big endian (the tests check that too), without a closure or an allocation
// per attribute.
package nfnl

// Sizes of the headers (linux/netlink.h, linux/netfilter/nfnetlink.h).
const (
	HeaderLen     = 16                   // sizeof(struct nlmsghdr)
	NfgenLen      = 4                    // sizeof(struct nfgenmsg)
	BodyOffset    = HeaderLen + NfgenLen // where the attributes of an nfnetlink message start
	AttrHeaderLen = 4                    // sizeof(struct nlattr)
	ErrLen        = 4 + HeaderLen        // struct nlmsgerr: the error, then the request's header
)

// Message types, flags and attributes of netlink itself (linux/netlink.h).
// The other flags are golang.org/x/sys/unix's NLM_F_*; only what this
// package reads is spelled here (it stays pure, so it does not import
// x/sys/unix; a test checks the numbers against it).
const (
	TypeError = 2 // NLMSG_ERROR
	TypeDone  = 3 // NLMSG_DONE

	FlagCapped  = 0x100 // NLM_F_CAPPED: an error carries the request's header only
	FlagAckTLVs = 0x200 // NLM_F_ACK_TLVS: extended ACK attributes follow

	ErrAttrMsg      = 1 // NLMSGERR_ATTR_MSG: string
	ErrAttrOffs     = 2 // NLMSGERR_ATTR_OFFS: u32 in host order, offset of the bad attribute in the request
	ErrAttrMissType = 5 // NLMSGERR_ATTR_MISS_TYPE: u32 in host order, type of a missing attribute

	NfnetlinkV0 = 0 // NFNETLINK_V0, nfgenmsg's version

	nested    = 0x8000          // NLA_F_NESTED
	attrFlags = nested | 0x4000 // and NLA_F_NET_BYTEORDER
)

// Align rounds n up to a multiple of 4 (NLMSG_ALIGN, NLA_ALIGN).
func Align(n int) int { return (n + 3) &^ 3 }
