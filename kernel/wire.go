package kernel

import (
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file holds the netlink numbers of nf_tables
// (include/uapi/linux/netfilter/nf_tables.h, nfnetlink.h, linux/netlink.h)
// and what kernel/ adds to internal/nfnl's codec (headers, attributes,
// extended ACK). The numbers golang.org/x/sys/unix has are taken from it;
// the others are spelled here with their kernel names.

// Message types and the nfnetlink header.
const (
	subsysNftables = unix.NFNL_SUBSYS_NFTABLES // 10

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

	msgDelTable   = unix.NFT_MSG_DELTABLE
	msgDelChain   = unix.NFT_MSG_DELCHAIN
	msgNewSet     = unix.NFT_MSG_NEWSET
	msgGetSet     = unix.NFT_MSG_GETSET
	msgNewSetElem = unix.NFT_MSG_NEWSETELEM
	msgGetSetElem = unix.NFT_MSG_GETSETELEM
	msgNewObj     = unix.NFT_MSG_NEWOBJ
	msgGetObj     = unix.NFT_MSG_GETOBJ
	msgDelObj     = unix.NFT_MSG_DELOBJ

	msgDestroyTable = 26 // NFT_MSG_DESTROYTABLE (Linux 6.3)
	msgDestroyChain = 27 // NFT_MSG_DESTROYCHAIN (Linux 6.3)
	msgDestroyObj   = 31 // NFT_MSG_DESTROYOBJ (Linux 6.3)

	attrBatchGenID = unix.NFNL_BATCH_GENID // NFNL_BATCH_GENID: u32, big endian
)

// Netlink flags (linux/netlink.h).
const (
	flagRequest  = unix.NLM_F_REQUEST
	flagMulti    = unix.NLM_F_MULTI
	flagAck      = unix.NLM_F_ACK
	flagEcho     = unix.NLM_F_ECHO
	flagDumpIntr = unix.NLM_F_DUMP_INTR
	flagDump     = unix.NLM_F_DUMP
	flagExcl     = unix.NLM_F_EXCL
	flagCreate   = unix.NLM_F_CREATE
	flagAppend   = unix.NLM_F_APPEND
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
	attrHookDev      = 3 // NFTA_HOOK_DEV: string

	attrRuleTable       = unix.NFTA_RULE_TABLE
	attrRuleChain       = unix.NFTA_RULE_CHAIN
	attrRuleHandle      = unix.NFTA_RULE_HANDLE // u64
	attrRuleExpressions = unix.NFTA_RULE_EXPRESSIONS
	attrRulePosition    = unix.NFTA_RULE_POSITION // u64
	attrRuleUserdata    = unix.NFTA_RULE_USERDATA
	attrRuleID          = unix.NFTA_RULE_ID // u32
	attrRulePositionID  = 10                // NFTA_RULE_POSITION_ID: u32

	attrGenID = unix.NFTA_GEN_ID // u32

	attrSetTable    = unix.NFTA_SET_TABLE
	attrSetName     = unix.NFTA_SET_NAME
	attrSetFlags    = unix.NFTA_SET_FLAGS    // u32
	attrSetKeyType  = unix.NFTA_SET_KEY_TYPE // u32
	attrSetKeyLen   = unix.NFTA_SET_KEY_LEN  // u32
	attrSetDesc     = unix.NFTA_SET_DESC     // nested
	attrSetID       = unix.NFTA_SET_ID       // u32
	attrSetUserdata = unix.NFTA_SET_USERDATA
	attrSetHandle   = 16                      // NFTA_SET_HANDLE: u64
	attrSetDescSize = unix.NFTA_SET_DESC_SIZE // u32

	attrElemListTable = unix.NFTA_SET_ELEM_LIST_TABLE
	attrElemListSet   = unix.NFTA_SET_ELEM_LIST_SET
	attrElemListElems = unix.NFTA_SET_ELEM_LIST_ELEMENTS // nested, one nest per element
	attrElemListSetID = unix.NFTA_SET_ELEM_LIST_SET_ID   // u32
	attrElemKey       = unix.NFTA_SET_ELEM_KEY           // nested data register
	attrElemFlags     = unix.NFTA_SET_ELEM_FLAGS         // u32
	attrElemUserdata  = unix.NFTA_SET_ELEM_USERDATA

	attrObjTable  = unix.NFTA_OBJ_TABLE
	attrObjName   = unix.NFTA_OBJ_NAME
	attrObjType   = unix.NFTA_OBJ_TYPE // u32
	attrObjData   = unix.NFTA_OBJ_DATA // nested
	attrObjUse    = unix.NFTA_OBJ_USE  // u32
	attrObjHandle = 6                  // NFTA_OBJ_HANDLE: u64
	attrObjUdata  = 8                  // NFTA_OBJ_USERDATA

	objCtHelper = 3 // NFT_OBJECT_CT_HELPER

	attrCtHelperName    = 1 // NFTA_CT_HELPER_NAME: string
	attrCtHelperL3Proto = 2 // NFTA_CT_HELPER_L3PROTO: u16
	attrCtHelperL4Proto = 3 // NFTA_CT_HELPER_L4PROTO: u8
)

// Limits the kernel enforces.
const (
	nameMaxLen = 255 // NFT_NAME_MAXLEN (256) less the NUL
)

// nftType is the netlink message type of an nf_tables message.
func nftType(msg int) uint16 { return uint16(subsysNftables<<8 | msg) }

// family returns the family of an nf_tables message.
func family(m nfnl.Message) expr.Family { return expr.Family(m.Family()) }

// errorReply is a decoded NLMSG_ERROR message (an acknowledgement when
// errno is 0) or the status of an NLMSG_DONE.
type errorReply struct {
	errno   unix.Errno
	req     nfnl.Header // the header of the request it answers
	msg     string      // extended ACK message
	offset  int         // extended ACK offset into the request, -1 when absent
	missing int         // extended ACK: type of a missing attribute, -1 when absent
}

func reply(a nfnl.Ack) errorReply {
	return errorReply{errno: unix.Errno(a.Errno), req: a.Request, msg: a.Msg, offset: a.Offset, missing: a.Missing}
}

// parseError decodes the payload of an NLMSG_ERROR message with flags.
func parseError(flags uint16, b []byte) (errorReply, error) {
	a, err := nfnl.ParseError(flags, b)
	return reply(a), err
}
