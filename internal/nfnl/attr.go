package nfnl

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Attr is one netlink attribute of a buffer that was split.
type Attr struct {
	Type uint16 // without the nested and byte order flags
	Off  int    // of the attribute's header, from the base the split was given
	Data []byte // the payload, without padding; it shares the buffer
}

// Contains reports whether off (measured as Off is) falls inside the
// attribute: its header or its payload.
func (a Attr) Contains(off int) bool {
	return off >= a.Off && off < a.Off+AttrHeaderLen+len(a.Data)
}

// SplitAttrs splits b into attributes. base is the offset of b in whatever
// the caller measures offsets against (the start of the message, for an
// extended ACK's offset), and is added to every Attr.Off. As the kernel
// reads attributes (nla_ok), every attribute must have a whole header, a
// length of at least that header, and fit in b; the padding of the last
// may be missing.
func SplitAttrs(b []byte, base int) ([]Attr, error) {
	var out []Attr
	off := 0
	for off < len(b) {
		l, err := attrLen(b, off)
		if err != nil {
			return nil, err
		}
		out = append(out, Attr{
			Type: binary.NativeEndian.Uint16(b[off+2:]) &^ attrFlags,
			Off:  base + off,
			Data: b[off+AttrHeaderLen : off+l],
		})
		off += Align(l)
	}
	return out, nil
}

// attrLen checks the header of the attribute at off and returns its length.
func attrLen(b []byte, off int) (int, error) {
	if len(b)-off < AttrHeaderLen {
		return 0, errors.New("attribute header truncated")
	}
	l := int(binary.NativeEndian.Uint16(b[off:]))
	if l < AttrHeaderLen || off+l > len(b) {
		return 0, fmt.Errorf("attribute of length %d with %d bytes left", l, len(b)-off)
	}
	return l, nil
}

// Lookup returns the payload of the first attribute of type typ in b, read
// as SplitAttrs reads them, without allocating; false when there is none
// before the end of b or the first malformed attribute.
func Lookup(b []byte, typ uint16) ([]byte, bool) {
	for off := 0; off < len(b); {
		l, err := attrLen(b, off)
		if err != nil {
			return nil, false
		}
		if binary.NativeEndian.Uint16(b[off+2:])&^attrFlags == typ {
			return b[off+AttrHeaderLen : off+l], true
		}
		off += Align(l)
	}
	return nil, false
}

// Containing returns the attribute of as that contains off.
func Containing(as []Attr, off int) (Attr, bool) {
	for _, a := range as {
		if a.Contains(off) {
			return a, true
		}
	}
	return Attr{}, false
}

// String reads a string payload up to its first NUL byte (or all of it).
func String(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// CString reads a string payload strictly: NUL-terminated, with no other
// NUL byte; false otherwise.
func CString(b []byte) (string, bool) {
	if len(b) == 0 || b[len(b)-1] != 0 {
		return "", false
	}
	s := b[:len(b)-1]
	for _, c := range s {
		if c == 0 {
			return "", false
		}
	}
	return string(s), true
}

func size(b []byte, n int) error {
	if len(b) != n {
		return fmt.Errorf("%d bytes, want %d", len(b), n)
	}
	return nil
}

// U8 reads a one-byte payload.
func U8(b []byte) (uint8, error) {
	if err := size(b, 1); err != nil {
		return 0, err
	}
	return b[0], nil
}

// U16 reads a big-endian 16-bit payload.
func U16(b []byte) (uint16, error) {
	if err := size(b, 2); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(b), nil
}

// U32 reads a big-endian 32-bit payload.
func U32(b []byte) (uint32, error) {
	if err := size(b, 4); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

// U64 reads a big-endian 64-bit payload.
func U64(b []byte) (uint64, error) {
	if err := size(b, 8); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

// Encoder appends attributes to B as mdlayher/netlink's AttributeEncoder
// with ByteOrder big endian writes them: a 4-byte header (length without
// padding, type) in host order, the payload, padding to 4 bytes. Integers
// are big endian and carry no NLA_F_NET_BYTEORDER; nested attributes carry
// NLA_F_NESTED, as libnftnl sets it. A payload above 64 KiB does not fit an
// attribute: callers check sizes first.
//
// An Encoder is a value to keep on the stack (appending to a slice held in
// a heap object costs a write barrier on every append); B can be any
// buffer, a message started with AppendMessage included.
type Encoder struct{ B []byte }

func (e *Encoder) header(l int, typ uint16) {
	e.B = binary.NativeEndian.AppendUint16(e.B, uint16(l))
	e.B = binary.NativeEndian.AppendUint16(e.B, typ)
}

// Bytes appends an attribute of type typ (flags included) with payload
// data.
func (e *Encoder) Bytes(typ uint16, data []byte) {
	e.header(AttrHeaderLen+len(data), typ)
	e.B = pad(append(e.B, data...))
}

// String appends a NUL-terminated string attribute.
func (e *Encoder) String(typ uint16, s string) {
	e.header(AttrHeaderLen+len(s)+1, typ)
	e.B = append(e.B, s...)
	e.B = pad(append(e.B, 0))
}

// U8 appends a one-byte attribute.
func (e *Encoder) U8(typ uint16, v uint8) {
	e.header(AttrHeaderLen+1, typ)
	e.B = append(e.B, v, 0, 0, 0)
}

// U16 appends a big-endian 16-bit attribute.
func (e *Encoder) U16(typ uint16, v uint16) {
	e.header(AttrHeaderLen+2, typ)
	e.B = append(binary.BigEndian.AppendUint16(e.B, v), 0, 0)
}

// U32 appends a big-endian 32-bit attribute.
func (e *Encoder) U32(typ uint16, v uint32) {
	e.header(AttrHeaderLen+4, typ)
	e.B = binary.BigEndian.AppendUint32(e.B, v)
}

// U64 appends a big-endian 64-bit attribute.
func (e *Encoder) U64(typ uint16, v uint64) {
	e.header(AttrHeaderLen+8, typ)
	e.B = binary.BigEndian.AppendUint64(e.B, v)
}

// Nest starts a nested attribute of type typ (NLA_F_NESTED is added) and
// returns where it starts; End closes it.
func (e *Encoder) Nest(typ uint16) int {
	at := len(e.B)
	e.header(0, typ|nested)
	return at
}

// End closes the nested attribute that Nest started at at: its length is
// all that was appended since.
func (e *Encoder) End(at int) {
	binary.NativeEndian.PutUint16(e.B[at:], uint16(len(e.B)-at))
}
