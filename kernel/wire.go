package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
)

// This file holds the netlink numbers of nf_tables
// (include/uapi/linux/netfilter/nf_tables.h, nfnetlink.h, linux/netlink.h)
// and the encoding and decoding of whole netlink messages: the 16-byte
// nlmsghdr (host byte order), the 4-byte nfgenmsg header, then attributes
// (nf_tables values in big endian). The numbers golang.org/x/sys/unix has
// are taken from it; the others are spelled here with their kernel names.

// Message types and the nfnetlink header.
const (
	subsysNftables = unix.NFNL_SUBSYS_NFTABLES // 10
	nfnetlinkV0    = unix.NFNETLINK_V0

	msgBatchBegin = unix.NFNL_MSG_BATCH_BEGIN // 0x10, not shifted by the subsystem
	msgBatchEnd   = unix.NFNL_MSG_BATCH_END   // 0x11

	msgNewTable = unix.NFT_MSG_NEWTABLE
	msgGetTable = unix.NFT_MSG_GETTABLE
	msgNewChain = unix.NFT_MSG_NEWCHAIN
	msgGetChain = unix.NFT_MSG_GETCHAIN
	msgNewRule  = unix.NFT_MSG_NEWRULE
	msgGetRule  = unix.NFT_MSG_GETRULE
	msgDelRule  = unix.NFT_MSG_DELRULE
	msgNewGen   = unix.NFT_MSG_NEWGEN
	msgGetGen   = unix.NFT_MSG_GETGEN

	attrBatchGenID = unix.NFNL_BATCH_GENID // NFNL_BATCH_GENID: u32, big endian
)

// Netlink header values (linux/netlink.h).
const (
	nlmsgHdrLen  = 16 // sizeof(struct nlmsghdr)
	nfgenHdrLen  = 4  // sizeof(struct nfgenmsg)
	nlmsgErrLen  = 4 + nlmsgHdrLen
	typeError    = unix.NLMSG_ERROR // 2
	typeDone     = unix.NLMSG_DONE  // 3
	flagRequest  = unix.NLM_F_REQUEST
	flagMulti    = unix.NLM_F_MULTI
	flagAck      = unix.NLM_F_ACK
	flagEcho     = unix.NLM_F_ECHO
	flagDumpIntr = unix.NLM_F_DUMP_INTR
	flagDump     = unix.NLM_F_DUMP
	flagExcl     = unix.NLM_F_EXCL
	flagCreate   = unix.NLM_F_CREATE
	flagAppend   = unix.NLM_F_APPEND
	flagCapped   = unix.NLM_F_CAPPED   // in an error: the request was not copied back
	flagAckTLVs  = unix.NLM_F_ACK_TLVS // in an error or ack: extended ACK attributes follow

	errAttrMsg      = unix.NLMSGERR_ATTR_MSG  // NLMSGERR_ATTR_MSG: string
	errAttrOffs     = unix.NLMSGERR_ATTR_OFFS // NLMSGERR_ATTR_OFFS: u32, offset of the bad attribute in the request
	errAttrMissType = 5                       // NLMSGERR_ATTR_MISS_TYPE: u32, a missing attribute
)

// Attributes of tables, chains, rules, hooks and the generation.
const (
	attrTableName     = unix.NFTA_TABLE_NAME // string
	attrTableFlags    = unix.NFTA_TABLE_FLAGS
	attrTableUse      = unix.NFTA_TABLE_USE
	attrTableHandle   = 4 // NFTA_TABLE_HANDLE: u64
	attrTableUserdata = 6 // NFTA_TABLE_USERDATA

	attrChainTable    = unix.NFTA_CHAIN_TABLE
	attrChainHandle   = unix.NFTA_CHAIN_HANDLE // u64
	attrChainName     = unix.NFTA_CHAIN_NAME
	attrChainHook     = unix.NFTA_CHAIN_HOOK // nested
	attrChainPolicy   = unix.NFTA_CHAIN_POLICY
	attrChainUse      = unix.NFTA_CHAIN_USE
	attrChainType     = unix.NFTA_CHAIN_TYPE
	attrChainUserdata = 12 // NFTA_CHAIN_USERDATA

	attrHookNum      = unix.NFTA_HOOK_HOOKNUM
	attrHookPriority = unix.NFTA_HOOK_PRIORITY

	attrRuleTable       = unix.NFTA_RULE_TABLE
	attrRuleChain       = unix.NFTA_RULE_CHAIN
	attrRuleHandle      = unix.NFTA_RULE_HANDLE // u64
	attrRuleExpressions = unix.NFTA_RULE_EXPRESSIONS
	attrRulePosition    = unix.NFTA_RULE_POSITION // u64
	attrRuleUserdata    = unix.NFTA_RULE_USERDATA
	attrRuleID          = unix.NFTA_RULE_ID // u32
	attrRulePositionID  = 10                // NFTA_RULE_POSITION_ID: u32

	attrGenID = unix.NFTA_GEN_ID // u32

	// Inside NFTA_RULE_EXPRESSIONS.
	attrListElem = 1 // NFTA_LIST_ELEM
	attrExprName = 1 // NFTA_EXPR_NAME
	attrExprData = 2 // NFTA_EXPR_DATA
)

// Limits the kernel enforces.
const (
	nameMaxLen = 255 // NFT_NAME_MAXLEN (256) less the NUL
)

// header is a netlink message header.
type header struct {
	length uint32
	typ    uint16
	flags  uint16
	seq    uint32
	pid    uint32
}

// message is one netlink message of a datagram; data is what follows the
// header (for nf_tables messages, the nfgenmsg header, then attributes).
type message struct {
	header
	data []byte
}

// nftType is the netlink message type of an nf_tables message.
func nftType(msg int) uint16 { return uint16(subsysNftables<<8 | msg) }

// appendMessage appends one message: header, the nfgenmsg header with family
// and res_id, and attrs, padded to 4 bytes.
func appendMessage(b []byte, typ, flags uint16, seq uint32, family expr.Family, resID uint16, attrs []byte) []byte {
	n := nlmsgHdrLen + nfgenHdrLen + len(attrs)
	b = binary.NativeEndian.AppendUint32(b, uint32(n))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // nlmsg_pid: 0, the kernel knows who we are
	b = append(b, byte(family), nfnetlinkV0)
	b = binary.BigEndian.AppendUint16(b, resID)
	b = append(b, attrs...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// parseMessages splits a datagram into messages.
func parseMessages(b []byte) ([]message, error) {
	var out []message
	err := eachMessage(b, func(m message) error {
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachMessage calls fn with each message of b, in order, until fn returns
// an error.
func eachMessage(b []byte, fn func(m message) error) error {
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return fmt.Errorf("netlink: %d bytes left, shorter than a message header", len(b))
		}
		h := header{
			length: binary.NativeEndian.Uint32(b[0:4]),
			typ:    binary.NativeEndian.Uint16(b[4:6]),
			flags:  binary.NativeEndian.Uint16(b[6:8]),
			seq:    binary.NativeEndian.Uint32(b[8:12]),
			pid:    binary.NativeEndian.Uint32(b[12:16]),
		}
		if h.length < nlmsgHdrLen || int(h.length) > len(b) {
			return fmt.Errorf("netlink: message length %d with %d bytes left", h.length, len(b))
		}
		if err := fn(message{header: h, data: b[nlmsgHdrLen:h.length]}); err != nil {
			return err
		}
		next := align4(int(h.length))
		if next > len(b) {
			next = len(b)
		}
		b = b[next:]
	}
	return nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// attr is one attribute, its type without the nested and byte order flags,
// and its offset in the buffer it was split from.
type attr struct {
	typ  uint16
	off  int // of the attribute header
	data []byte
}

// splitAttrs splits b into attributes; base is the offset of b in whatever
// the caller measures offsets against.
func splitAttrs(b []byte, base int) ([]attr, error) {
	var out []attr
	off := 0
	for off < len(b) {
		if len(b)-off < 4 {
			return nil, errors.New("attribute header truncated")
		}
		l := int(binary.NativeEndian.Uint16(b[off:]))
		t := binary.NativeEndian.Uint16(b[off+2:]) &^ (netlink.Nested | netlink.NetByteOrder)
		if l < 4 || off+l > len(b) {
			return nil, fmt.Errorf("attribute of length %d with %d bytes left", l, len(b)-off)
		}
		out = append(out, attr{typ: t, off: base + off, data: b[off+4 : off+l]})
		off += align4(l)
	}
	return out, nil
}

func attrString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func attrU32(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("%d bytes, want 4", len(b))
	}
	return binary.BigEndian.Uint32(b), nil
}

func attrU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%d bytes, want 8", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// errorReply is a decoded NLMSG_ERROR message: an acknowledgement when errno
// is 0.
type errorReply struct {
	errno   unix.Errno
	req     header // the header of the request it answers
	msg     string // extended ACK message
	offset  int    // extended ACK offset into the request, -1 when absent
	missing int    // extended ACK: type of a missing attribute, -1 when absent
}

// parseError decodes the payload of an NLMSG_ERROR message with flags.
// The error number and the extended ACK attributes are in host byte order.
func parseError(flags uint16, b []byte) (errorReply, error) {
	r := errorReply{offset: -1, missing: -1}
	if len(b) < nlmsgErrLen {
		return r, fmt.Errorf("netlink: error message of %d bytes", len(b))
	}
	code := int32(binary.NativeEndian.Uint32(b[0:4]))
	if code > 0 {
		code = -code // never sent so, but take it as the errno it names
	}
	r.errno = unix.Errno(-code)
	r.req = header{
		length: binary.NativeEndian.Uint32(b[4:8]),
		typ:    binary.NativeEndian.Uint16(b[8:10]),
		flags:  binary.NativeEndian.Uint16(b[10:12]),
		seq:    binary.NativeEndian.Uint32(b[12:16]),
		pid:    binary.NativeEndian.Uint32(b[16:20]),
	}
	if flags&flagAckTLVs == 0 {
		return r, nil
	}
	// The TLVs follow the request: its header only when capped (or for an
	// acknowledgement), the whole request otherwise.
	tlv := nlmsgErrLen
	if flags&flagCapped == 0 && code != 0 {
		tlv = 4 + align4(int(r.req.length))
	}
	if tlv > len(b) {
		return r, fmt.Errorf("netlink: extended ACK past the end of the error message")
	}
	if err := r.extAck(b[tlv:]); err != nil {
		return r, err
	}
	return r, nil
}

// parseDone decodes the payload of the NLMSG_DONE that ends a dump: an
// error number (0 when the dump went through), then, with NLM_F_ACK_TLVS,
// the extended ACK.
func parseDone(flags uint16, b []byte) errorReply {
	r := errorReply{offset: -1, missing: -1}
	if len(b) < 4 {
		return r
	}
	if code := int32(binary.NativeEndian.Uint32(b)); code < 0 {
		r.errno = unix.Errno(-code)
		if flags&flagAckTLVs != 0 {
			_ = r.extAck(b[4:])
		}
	}
	return r
}

// extAck reads extended ACK attributes into r.
func (r *errorReply) extAck(b []byte) error {
	attrs, err := splitAttrs(b, 0)
	if err != nil {
		return fmt.Errorf("netlink: extended ACK: %w", err)
	}
	for _, a := range attrs {
		switch a.typ {
		case errAttrMsg:
			r.msg = attrString(a.data)
		case errAttrOffs:
			if len(a.data) == 4 {
				r.offset = int(binary.NativeEndian.Uint32(a.data))
			}
		case errAttrMissType:
			if len(a.data) == 4 {
				r.missing = int(binary.NativeEndian.Uint32(a.data))
			}
		}
	}
	return nil
}
