// Package expr is the intermediate representation of nftables rules that ctmatch
// produces: conntrack matches first, plus the few other expressions and
// statements a translated iptables rule needs.
//
// A Rule is a list of matches, all of which must hold, followed by an optional
// counter and an optional verdict. The IR is a value: it holds no wire bytes and
// no references to anything outside itself, so it can be compared, copied and
// rendered freely.
//
// The package is pure: it opens no files or sockets and reads no clock.
package expr

import (
	"net/netip"
	"strconv"
)

// Family is the address family of an nftables table.
type Family uint8

// Table families, with the kernel's NFPROTO_* values.
const (
	FamilyInet Family = 1  // NFPROTO_INET
	FamilyIP   Family = 2  // NFPROTO_IPV4
	FamilyIP6  Family = 10 // NFPROTO_IPV6
)

// String returns the family as nft spells it: "ip", "ip6" or "inet".
func (f Family) String() string {
	switch f {
	case FamilyInet:
		return "inet"
	case FamilyIP:
		return "ip"
	case FamilyIP6:
		return "ip6"
	}
	return "family(" + strconv.FormatUint(uint64(f), 10) + ")"
}

// CtKey is a conntrack key of nft's ct expression, with the kernel's NFT_CT_*
// value.
type CtKey uint8

// The ct keys ctmatch uses.
const (
	CtState      CtKey = 0  // NFT_CT_STATE: nft "ct state", 4 bytes, host order
	CtDirection  CtKey = 1  // NFT_CT_DIRECTION: nft "ct direction", 1 byte
	CtStatus     CtKey = 2  // NFT_CT_STATUS: nft "ct status", 4 bytes, host order
	CtExpiration CtKey = 5  // NFT_CT_EXPIRATION: nft "ct expiration", milliseconds, 4 bytes, host order
	CtProtocol   CtKey = 10 // NFT_CT_PROTOCOL: nft "ct original protocol", 1 byte
	CtProtoSrc   CtKey = 11 // NFT_CT_PROTO_SRC: nft "ct original|reply proto-src", 2 bytes, big endian
	CtProtoDst   CtKey = 12 // NFT_CT_PROTO_DST: nft "ct original|reply proto-dst", 2 bytes, big endian
	CtSrcIP      CtKey = 19 // NFT_CT_SRC_IP: nft "ct original|reply ip saddr", 4 bytes
	CtDstIP      CtKey = 20 // NFT_CT_DST_IP: nft "ct original|reply ip daddr", 4 bytes
	CtSrcIP6     CtKey = 21 // NFT_CT_SRC_IP6: nft "ct original|reply ip6 saddr", 16 bytes
	CtDstIP6     CtKey = 22 // NFT_CT_DST_IP6: nft "ct original|reply ip6 daddr", 16 bytes
)

// Dir is the conntrack direction a ct key reads: the original or the reply
// tuple. Keys without a direction (state, status, expiration, direction)
// ignore it.
type Dir uint8

// Conntrack directions, with the kernel's IP_CT_DIR_* values.
const (
	DirOriginal Dir = 0 // IP_CT_DIR_ORIGINAL
	DirReply    Dir = 1 // IP_CT_DIR_REPLY
)

// State is a set of bits of nft's "ct state" key (not the xt_conntrack bits,
// which differ).
type State uint32

// The bits of nft's ct state.
const (
	StateInvalid     State = 0x01 // NF_CT_STATE_INVALID_BIT
	StateEstablished State = 0x02 // NF_CT_STATE_BIT(IP_CT_ESTABLISHED)
	StateRelated     State = 0x04 // NF_CT_STATE_BIT(IP_CT_RELATED)
	StateNew         State = 0x08 // NF_CT_STATE_BIT(IP_CT_NEW)
	StateUntracked   State = 0x40 // NF_CT_STATE_UNTRACKED_BIT
)

// Status is a set of the kernel's IPS_* conntrack status bits, as nft's
// "ct status" key reads them.
type Status uint32

// The status bits ctmatch uses.
const (
	StatusExpected  Status = 0x01 // IPS_EXPECTED
	StatusSeenReply Status = 0x02 // IPS_SEEN_REPLY
	StatusAssured   Status = 0x04 // IPS_ASSURED
	StatusConfirmed Status = 0x08 // IPS_CONFIRMED
	StatusSNAT      Status = 0x10 // IPS_SRC_NAT
	StatusDNAT      Status = 0x20 // IPS_DST_NAT
)

// Op is the comparison a Ct match makes.
type Op uint8

// Comparisons. For the flag operators, Ct.Mask holds the bits; for the value
// operators on numeric keys, Ct.Lo (and Ct.Hi for ranges); for addresses,
// Ct.Addr and Ct.AddrMask.
const (
	OpAny      Op = iota + 1 // key & Mask != 0     nft: ct state new,related
	OpNone                   // key & Mask == 0     nft: ct state ! new,related
	OpEq                     // key == Lo           nft: ct direction reply; for addresses (key & AddrMask) == Addr
	OpNeq                    // key != Lo           nft: ct original protocol != 6
	OpRange                  // Lo <= key <= Hi     nft: ct original proto-dst 1000-2000
	OpNotRange               // key < Lo || key > Hi nft: ct original proto-dst != 1000-2000
	OpLt                     // key < Lo            nft: ip ttl < 5 (header fields only)
	OpGt                     // key > Lo            nft: ip6 hoplimit > 1 (header fields only)
)

// Match is one condition of a rule. It is sealed: the implementations are the
// types of this package.
type Match interface {
	isMatch()
}

// Ct is a condition on one conntrack key. Every key but CtState stops the rule
// when the packet has no conntrack (the kernel's nft_ct returns NFT_BREAK).
type Ct struct {
	Key CtKey
	Dir Dir // for CtProtoSrc, CtProtoDst and the address keys; CtProtocol is always original
	Op  Op

	// Mask is the bit set of OpAny and OpNone (State or Status bits).
	Mask uint32
	// Lo and Hi are the operands of OpEq/OpNeq (Lo) and OpRange/OpNotRange
	// (Lo..Hi, inclusive) for numeric keys: direction, protocol, ports,
	// expiration in milliseconds.
	Lo, Hi uint32

	// Addr and AddrMask are the operands of OpEq/OpNeq for the address keys:
	// the match is (key & AddrMask) == Addr. Addr is pre-masked. AddrMask is an
	// address of the same family; all ones means an exact address, a
	// contiguous mask a prefix, anything else an arbitrary mask.
	Addr, AddrMask netip.Addr
}

func (Ct) isMatch() {}

// Nfproto is nft's "meta nfproto ipv4|ipv6": the packet's layer 3 family,
// needed in inet tables for rules written for one family.
type Nfproto struct {
	Family Family // FamilyIP or FamilyIP6
}

func (Nfproto) isMatch() {}

// VerdictKind is what a rule does with a packet that matched it.
type VerdictKind uint8

// Verdicts.
const (
	VerdictNone   VerdictKind = iota // no verdict: the packet goes on to the next rule
	VerdictAccept                    // accept
	VerdictDrop                      // drop
	VerdictReturn                    // return
	VerdictJump                      // jump CHAIN
	VerdictGoto                      // goto CHAIN
)

// Verdict is the final statement of a rule.
type Verdict struct {
	Kind  VerdictKind
	Chain string // for VerdictJump and VerdictGoto
}

// Rule is one nftables rule: every match holds, then the counter counts, the
// statements run in order (stmt.go: reject, nat, masquerade, redirect) and the
// verdict applies. Comment is nft's comment of the rule ("" for none): it
// matches nothing, and goes into the rule's userdata, not its expressions
// (CommentUserData, Group.UserData).
type Rule struct {
	Matches []Match
	Counter bool
	Stmts   []Stmt
	Verdict Verdict
	Comment string
}
