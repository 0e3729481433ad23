package nfnl

import (
	"encoding/binary"
	"fmt"
)

// Ack is a decoded NLMSG_ERROR message (an acknowledgement when Errno is
// 0), or the status of an NLMSG_DONE, with its extended ACK.
type Ack struct {
	Errno   uint32 // the error number, positive; 0 for success
	Request Header // the header of the request it answers (NLMSG_ERROR only)
	Msg     string // NLMSGERR_ATTR_MSG
	Offset  int    // NLMSGERR_ATTR_OFFS: into the request, its header included; -1 when absent
	Missing int    // NLMSGERR_ATTR_MISS_TYPE: the type of a missing attribute; -1 when absent
}

// ParseError decodes the payload of an NLMSG_ERROR message with flags. The
// error number and the extended ACK attributes are in host byte order.
func ParseError(flags uint16, b []byte) (Ack, error) {
	a := Ack{Offset: -1, Missing: -1}
	if len(b) < ErrLen {
		return a, fmt.Errorf("netlink: error message of %d bytes", len(b))
	}
	code := int32(binary.NativeEndian.Uint32(b))
	if code > 0 {
		code = -code // never sent so, but take it as the errno it names
	}
	a.Errno = uint32(-code)
	a.Request, _ = DecodeHeader(b[4:])
	if flags&FlagAckTLVs == 0 {
		return a, nil
	}
	// The TLVs follow the request: its header only when capped (or for an
	// acknowledgement), the whole request otherwise.
	tlv := ErrLen
	if flags&FlagCapped == 0 && code != 0 {
		tlv = 4 + Align(int(a.Request.Len))
	}
	if tlv > len(b) {
		return a, fmt.Errorf("netlink: extended ACK past the end of the error message")
	}
	if err := a.extAck(b[tlv:]); err != nil {
		return a, err
	}
	return a, nil
}

// ParseDone decodes the payload of the NLMSG_DONE that ends a dump: an
// error number (0 when the dump went through), then, with NLM_F_ACK_TLVS,
// the extended ACK. A payload too short to hold the number is a success.
func ParseDone(flags uint16, b []byte) Ack {
	a := Ack{Offset: -1, Missing: -1}
	if len(b) < 4 {
		return a
	}
	if code := int32(binary.NativeEndian.Uint32(b)); code < 0 {
		a.Errno = uint32(-code)
		if flags&FlagAckTLVs != 0 {
			_ = a.extAck(b[4:])
		}
	}
	return a
}

// extAck reads extended ACK attributes into a.
func (a *Ack) extAck(b []byte) error {
	attrs, err := SplitAttrs(b, 0)
	if err != nil {
		return fmt.Errorf("netlink: extended ACK: %w", err)
	}
	for _, t := range attrs {
		switch t.Type {
		case ErrAttrMsg:
			a.Msg = String(t.Data)
		case ErrAttrOffs:
			if len(t.Data) == 4 {
				a.Offset = int(binary.NativeEndian.Uint32(t.Data))
			}
		case ErrAttrMissType:
			if len(t.Data) == 4 {
				a.Missing = int(binary.NativeEndian.Uint32(t.Data))
			}
		}
	}
	return nil
}

// AppendError appends the NLMSG_ERROR a kernel with NETLINK_CAP_ACK and
// NETLINK_EXT_ACK sends for a (to the request a.Request, from port pid):
// the error, the request's header, then NLMSGERR_ATTR_MSG, _OFFS and
// _MISS_TYPE for those of a.Msg (not empty), a.Offset and a.Missing (not
// negative) that are there.
func AppendError(b []byte, pid uint32, a Ack) []byte {
	flags := uint16(FlagCapped)
	start := len(b)
	b = Header{Type: TypeError, Seq: a.Request.Seq, PID: pid}.Append(b)
	b = binary.NativeEndian.AppendUint32(b, uint32(-int32(a.Errno)))
	b = a.Request.Append(b)
	if a.Msg != "" || a.Offset >= 0 || a.Missing >= 0 {
		flags |= FlagAckTLVs
		e := Encoder{B: b}
		if a.Msg != "" {
			e.String(ErrAttrMsg, a.Msg)
		}
		if a.Offset >= 0 {
			e.header(AttrHeaderLen+4, ErrAttrOffs)
			e.B = binary.NativeEndian.AppendUint32(e.B, uint32(a.Offset))
		}
		if a.Missing >= 0 {
			e.header(AttrHeaderLen+4, ErrAttrMissType)
			e.B = binary.NativeEndian.AppendUint32(e.B, uint32(a.Missing))
		}
		b = e.B
	}
	Header{Len: uint32(len(b) - start), Type: TypeError, Flags: flags, Seq: a.Request.Seq, PID: pid}.Put(b[start:])
	return b
}
