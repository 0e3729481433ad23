// Package nftwire is test support: the smallest raw nf_tables netlink client
// that lets a test read back the rules the kernel holds, byte for byte, with
// no nft tool and no google/nftables in between.
//
// It opens its netlink socket in the network namespace of the calling
// thread: tests call it inside netns.NS.Do. It is not the project's kernel
// layer (kernel/ is) and must stay small.
package nftwire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nf_tables netlink numbers (include/uapi/linux/netfilter/nf_tables.h,
// nfnetlink.h).
const (
	subsysNftables = 10 // NFNL_SUBSYS_NFTABLES
	msgGetRule     = 7  // NFT_MSG_GETRULE
	msgNewRule     = 6  // NFT_MSG_NEWRULE
	nfnetlinkV0    = 0  // NFNETLINK_V0

	attrRuleTable       = 1 // NFTA_RULE_TABLE
	attrRuleChain       = 2 // NFTA_RULE_CHAIN
	attrRuleHandle      = 3 // NFTA_RULE_HANDLE
	attrRuleExpressions = 4 // NFTA_RULE_EXPRESSIONS
	attrRuleUserdata    = 7 // NFTA_RULE_USERDATA
)

// Rule is one rule as the kernel dumps it.
type Rule struct {
	Table, Chain string
	Handle       uint64
	// Exprs is the payload of NFTA_RULE_EXPRESSIONS: the list of
	// NFTA_LIST_ELEM the kernel sent, unchanged.
	Exprs []byte
	// Userdata is the payload of NFTA_RULE_USERDATA, or nil.
	Userdata []byte
}

// GetRules dumps the rules of chain in table of family (an NFPROTO_* value)
// with one NFT_MSG_GETRULE dump request, in the network namespace of the
// calling thread, and returns them in the chain's order.
func GetRules(family uint8, table, chain string) ([]Rule, error) {
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
	if err != nil {
		return nil, fmt.Errorf("nftwire: dial netfilter netlink: %w", err)
	}
	defer conn.Close()

	ae := netlink.NewAttributeEncoder()
	ae.String(attrRuleTable, table)
	ae.String(attrRuleChain, chain)
	attrs, err := ae.Encode()
	if err != nil {
		return nil, fmt.Errorf("nftwire: encode get rule: %w", err)
	}
	req := netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(subsysNftables<<8 | msgGetRule),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{family, nfnetlinkV0, 0, 0}, attrs...),
	}
	msgs, err := conn.Execute(req)
	if err != nil {
		return nil, fmt.Errorf("nftwire: get rules of %s %s: %w", table, chain, err)
	}
	var rules []Rule
	for _, m := range msgs {
		if m.Header.Type != netlink.HeaderType(subsysNftables<<8|msgNewRule) {
			return nil, fmt.Errorf("nftwire: unexpected message type %#x in the rule dump", m.Header.Type)
		}
		r, err := parseRule(m.Data)
		if err != nil {
			return nil, err
		}
		if r.Table == table && r.Chain == chain {
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// parseRule reads one NFT_MSG_NEWRULE message body: the nfgenmsg header and
// the rule attributes.
func parseRule(b []byte) (Rule, error) {
	if len(b) < 4 {
		return Rule{}, errors.New("nftwire: rule message shorter than its nfgenmsg header")
	}
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		return Rule{}, fmt.Errorf("nftwire: rule attributes: %w", err)
	}
	var r Rule
	for ad.Next() {
		switch ad.Type() {
		case attrRuleTable:
			r.Table = ad.String()
		case attrRuleChain:
			r.Chain = ad.String()
		case attrRuleHandle:
			v := ad.Bytes()
			if len(v) != 8 {
				return Rule{}, fmt.Errorf("nftwire: rule handle of %d bytes", len(v))
			}
			r.Handle = binary.BigEndian.Uint64(v)
		case attrRuleExpressions:
			r.Exprs = ad.Bytes()
		case attrRuleUserdata:
			r.Userdata = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return Rule{}, fmt.Errorf("nftwire: rule attributes: %w", err)
	}
	return r, nil
}

// Expr builds one expression of an expression list (an NFTA_LIST_ELEM
// holding its name and, written by data, its NFTA_EXPR_DATA) with
// mdlayher/netlink's encoder, independently of ctmatch's own: for tests that
// need an expression written by hand, such as one the kernel refuses.
func Expr(name string, data func(ae *netlink.AttributeEncoder)) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.Nested(1, func(el *netlink.AttributeEncoder) error { // NFTA_LIST_ELEM
		el.String(1, name)                                     // NFTA_EXPR_NAME
		el.Nested(2, func(d *netlink.AttributeEncoder) error { // NFTA_EXPR_DATA
			data(d)
			return nil
		})
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		panic(err) // only an attribute over 64 KiB fails
	}
	return b
}
