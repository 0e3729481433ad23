package lab

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nfnetlink_log's constants (include/uapi/linux/netfilter/nfnetlink_log.h).
const (
	nfnlSubsysULOG   = 4
	nfulnlMsgPacket  = 0
	nfulnlMsgConfig  = 1
	nfulaCfgCmd      = 1
	nfulaCfgMode     = 2
	nfulaCfgQThresh  = 5
	nfulnlCfgCmdBind = 1
	nfulnlCopyPacket = 2
	nfulaMark        = 2
	nfulaPayload     = 9
	nfulaPrefix      = 10
)

// BindNFLOG binds c, a NETLINK_NETFILTER socket, to the nfnetlink_log
// group, asking for whole packets (copy range 0xffff, copy mode packet) and
// a queue threshold of 1, so that each record is sent while its packet is
// logged (the default, 100, holds them for up to a second; an NFLOG rule
// without --nflog-threshold, and nft's log without queue-threshold, use the
// listener's).
func BindNFLOG(c *netlink.Conn, group uint16) error {
	for _, attrs := range [][]netlink.Attribute{
		{{Type: nfulaCfgCmd, Data: []byte{nfulnlCfgCmdBind}}},
		{{Type: nfulaCfgMode, Data: []byte{0, 0, 0xff, 0xff, nfulnlCopyPacket, 0}}, {Type: nfulaCfgQThresh, Data: []byte{0, 0, 0, 1}}},
	} {
		ad, err := netlink.MarshalAttributes(attrs)
		if err != nil {
			return err
		}
		hdr := []byte{unix.AF_UNSPEC, 0, 0, 0}
		binary.BigEndian.PutUint16(hdr[2:], group)
		if _, err := c.Execute(netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(nfnlSubsysULOG<<8 | nfulnlMsgConfig), Flags: netlink.Request | netlink.Acknowledge},
			Data:   append(hdr, ad...),
		}); err != nil {
			return fmt.Errorf("nfnetlink_log config of group %d: %w", group, err)
		}
	}
	return nil
}

// NFLOGRecord is what nfnetlink_log sends for one packet.
type NFLOGRecord struct {
	Family  uint8  // the packet's family (NFPROTO_IPV4, NFPROTO_IPV6)
	Group   uint16 // the group it was logged to
	Prefix  string // the rule's prefix
	Mark    uint32 // the packet's mark (0 when absent)
	Payload []byte // the packet, from its network header
}

// ParseNFLOG reads m as a packet record; ok is false for another message.
func ParseNFLOG(m netlink.Message) (r NFLOGRecord, ok bool, err error) {
	if m.Header.Type != netlink.HeaderType(nfnlSubsysULOG<<8|nfulnlMsgPacket) || len(m.Data) < 4 {
		return r, false, nil
	}
	r = NFLOGRecord{Family: m.Data[0], Group: binary.BigEndian.Uint16(m.Data[2:4])}
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		return r, false, err
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case nfulaMark:
			r.Mark = ad.Uint32()
		case nfulaPrefix:
			r.Prefix = strings.TrimRight(string(ad.Bytes()), "\x00")
		case nfulaPayload:
			r.Payload = ad.Bytes()
		}
	}
	return r, true, ad.Err()
}
