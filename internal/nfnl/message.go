package nfnl

import (
	"encoding/binary"
	"fmt"
)

// Header is a netlink message header (struct nlmsghdr), in host byte order
// on the wire.
type Header struct {
	Len   uint32 // of the message, header included, padding not
	Type  uint16
	Flags uint16
	Seq   uint32
	PID   uint32
}

// Append appends h to b.
func (h Header) Append(b []byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, h.Len)
	b = binary.NativeEndian.AppendUint16(b, h.Type)
	b = binary.NativeEndian.AppendUint16(b, h.Flags)
	b = binary.NativeEndian.AppendUint32(b, h.Seq)
	return binary.NativeEndian.AppendUint32(b, h.PID)
}

// Put writes h over the first HeaderLen bytes of b, which it must have.
func (h Header) Put(b []byte) {
	_ = b[HeaderLen-1]
	binary.NativeEndian.PutUint32(b[0:], h.Len)
	binary.NativeEndian.PutUint16(b[4:], h.Type)
	binary.NativeEndian.PutUint16(b[6:], h.Flags)
	binary.NativeEndian.PutUint32(b[8:], h.Seq)
	binary.NativeEndian.PutUint32(b[12:], h.PID)
}

// DecodeHeader reads the header at the start of b; false when b is shorter
// than a header. It does not check the length against b.
func DecodeHeader(b []byte) (Header, bool) {
	if len(b) < HeaderLen {
		return Header{}, false
	}
	return Header{
		Len:   binary.NativeEndian.Uint32(b[0:]),
		Type:  binary.NativeEndian.Uint16(b[4:]),
		Flags: binary.NativeEndian.Uint16(b[6:]),
		Seq:   binary.NativeEndian.Uint32(b[8:]),
		PID:   binary.NativeEndian.Uint32(b[12:]),
	}, true
}

// Message is one netlink message of a datagram; Data is what follows the
// header, without padding (for an nfnetlink message: the nfgenmsg header,
// then attributes).
type Message struct {
	Header
	Data []byte
}

// Family returns the family of an nfnetlink message (nfgenmsg's
// nfgen_family), 0 when it has no nfgenmsg.
func (m Message) Family() uint8 {
	if len(m.Data) < 1 {
		return 0
	}
	return m.Data[0]
}

// Body returns the attributes of an nfnetlink message, after its nfgenmsg
// header; nil when it has none.
func (m Message) Body() []byte {
	if len(m.Data) < NfgenLen {
		return nil
	}
	return m.Data[NfgenLen:]
}

// AppendMessage appends one nfnetlink message: the header (its length
// computed, the port id 0: the kernel knows who sends), the nfgenmsg header
// with family, NFNETLINK_V0 and resID (big endian), and attrs, padded to 4
// bytes.
func AppendMessage(b []byte, typ, flags uint16, seq uint32, family uint8, resID uint16, attrs []byte) []byte {
	b = Header{Len: uint32(BodyOffset + len(attrs)), Type: typ, Flags: flags, Seq: seq}.Append(b)
	b = append(b, family, NfnetlinkV0)
	b = binary.BigEndian.AppendUint16(b, resID)
	b = append(b, attrs...)
	return pad(b)
}

// EachMessage calls fn with each message of the datagram b, in order, until
// fn returns an error. Every message must have a whole header and fit in b;
// the padding of the last may be missing.
func EachMessage(b []byte, fn func(m Message) error) error {
	for len(b) > 0 {
		h, ok := DecodeHeader(b)
		if !ok {
			return fmt.Errorf("netlink: %d bytes left, shorter than a message header", len(b))
		}
		if h.Len < HeaderLen || int(h.Len) > len(b) {
			return fmt.Errorf("netlink: message length %d with %d bytes left", h.Len, len(b))
		}
		if err := fn(Message{Header: h, Data: b[HeaderLen:h.Len]}); err != nil {
			return err
		}
		b = b[min(Align(int(h.Len)), len(b)):]
	}
	return nil
}

// SplitMessages splits the datagram b into messages, as EachMessage reads
// them. The messages share b.
func SplitMessages(b []byte) ([]Message, error) {
	var out []Message
	err := EachMessage(b, func(m Message) error {
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func pad(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
