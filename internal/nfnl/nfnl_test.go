package nfnl_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// The numbers nfnl spells itself (it does not import x/sys/unix) are the
// kernel's, as x/sys/unix has them (it lacks NLMSGERR_ATTR_MISS_TYPE, 5 in
// linux/netlink.h).
func TestConstants(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"HeaderLen", nfnl.HeaderLen, unix.SizeofNlMsghdr},
		{"NfgenLen", nfnl.NfgenLen, int(unsafe.Sizeof(unix.Nfgenmsg{}))},
		{"AttrHeaderLen", nfnl.AttrHeaderLen, unix.SizeofNlAttr},
		{"ErrLen", nfnl.ErrLen, unix.SizeofNlMsgerr},
		{"TypeError", nfnl.TypeError, unix.NLMSG_ERROR},
		{"TypeDone", nfnl.TypeDone, unix.NLMSG_DONE},
		{"FlagCapped", nfnl.FlagCapped, unix.NLM_F_CAPPED},
		{"FlagAckTLVs", nfnl.FlagAckTLVs, unix.NLM_F_ACK_TLVS},
		{"ErrAttrMsg", nfnl.ErrAttrMsg, unix.NLMSGERR_ATTR_MSG},
		{"ErrAttrOffs", nfnl.ErrAttrOffs, unix.NLMSGERR_ATTR_OFFS},
		{"NfnetlinkV0", nfnl.NfnetlinkV0, unix.NFNETLINK_V0},
		{"AttrListElem", nfnl.AttrListElem, unix.NFTA_LIST_ELEM},
		{"AttrExprName", nfnl.AttrExprName, unix.NFTA_EXPR_NAME},
		{"AttrExprData", nfnl.AttrExprData, unix.NFTA_EXPR_DATA},
		{"AttrDataValue", nfnl.AttrDataValue, unix.NFTA_DATA_VALUE},
		{"AttrDataVerdict", nfnl.AttrDataVerdict, unix.NFTA_DATA_VERDICT},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := nfnl.Header{Len: 0x01020304, Type: 0x0a06, Flags: 0x0105, Seq: 0xdeadbeef, PID: 4242}
	b := h.Append([]byte{9})
	if len(b) != 1+nfnl.HeaderLen {
		t.Fatalf("Append wrote %d bytes", len(b)-1)
	}
	got, ok := nfnl.DecodeHeader(b[1:])
	if !ok || got != h {
		t.Fatalf("DecodeHeader = %+v, %v; want %+v", got, ok, h)
	}
	c := make([]byte, nfnl.HeaderLen)
	h.Put(c)
	if !bytes.Equal(c, b[1:]) {
		t.Errorf("Put wrote % x, Append % x", c, b[1:])
	}
	// Host byte order, as struct nlmsghdr.
	if binary.NativeEndian.Uint32(c) != h.Len || binary.NativeEndian.Uint16(c[4:]) != h.Type || binary.NativeEndian.Uint32(c[12:]) != h.PID {
		t.Errorf("header not in host byte order: % x", c)
	}
	if _, ok := nfnl.DecodeHeader(c[:nfnl.HeaderLen-1]); ok {
		t.Error("DecodeHeader of 15 bytes succeeded")
	}
}

func TestMessages(t *testing.T) {
	attrs := []byte{6, 0, 1, 0, 'x', 0} // one attribute, unpadded
	b := nfnl.AppendMessage(nil, 0x0a06, 0x0005, 7, 2, 0x0a0b, attrs)
	b = nfnl.AppendMessage(b, 0x10, 0x0001, 8, 0, 10, nil)
	if len(b) != 28+20 {
		t.Fatalf("two messages of %d bytes, want 48 (the first padded)", len(b))
	}
	msgs, err := nfnl.SplitMessages(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []nfnl.Message{
		{Header: nfnl.Header{Len: 26, Type: 0x0a06, Flags: 5, Seq: 7}, Data: append([]byte{2, nfnl.NfnetlinkV0, 0x0a, 0x0b}, attrs...)},
		{Header: nfnl.Header{Len: 20, Type: 0x10, Flags: 1, Seq: 8}, Data: []byte{0, nfnl.NfnetlinkV0, 0, 10}},
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Fatalf("messages (-want +got):\n%s", diff)
	}
	if msgs[0].Family() != 2 || !bytes.Equal(msgs[0].Body(), attrs) || len(msgs[1].Body()) != 0 {
		t.Errorf("Family %d, Body % x, % x", msgs[0].Family(), msgs[0].Body(), msgs[1].Body())
	}
	if m := (nfnl.Message{Data: []byte{2, 0}}); m.Body() != nil || m.Family() != 2 {
		t.Errorf("a message without a whole nfgenmsg: Body % x, Family %d", m.Body(), m.Family())
	}
	// The last message's padding may be missing.
	first := b[:26]
	if msgs, err := nfnl.SplitMessages(first); err != nil || len(msgs) != 1 {
		t.Errorf("one message without its padding: %d messages, %v", len(msgs), err)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short header", b[:28+10], "netlink: 10 bytes left, shorter than a message header"},
		{"length past the end", b[:28+19], "netlink: message length 20 with 19 bytes left"},
		{"length below the header", nfnl.Header{Len: 15}.Append(nil), "netlink: message length 15 with 16 bytes left"},
	} {
		if _, err := nfnl.SplitMessages(c.b); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// The encoder writes what mdlayher/netlink's AttributeEncoder writes with
// ByteOrder big endian.
func TestEncoderMatchesAttributeEncoder(t *testing.T) {
	var e nfnl.Encoder
	e.Bytes(1, []byte{1, 2, 3})
	e.Bytes(2, nil)
	e.String(3, "input")
	e.String(4, "")
	e.U8(5, 0xfe)
	e.U16(6, 0x1234)
	e.U32(7, 0xdeadbeef)
	e.U64(8, 0x0102030405060708)
	n := e.Nest(9)
	e.U32(1, 1)
	in := e.Nest(2)
	e.End(in)
	e.End(n)
	at := e.BeginExpr("cmp")
	e.U32(1, 1)
	e.Value(3, []byte{0xaa})
	e.EndExpr(at)
	at = e.BeginExpr("counter")
	e.EndExpr(at)
	e.Bytes(10|netlink.Nested, []byte{4, 0, 1, 0})

	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.Bytes(1, []byte{1, 2, 3})
	ae.Bytes(2, nil)
	ae.String(3, "input")
	ae.String(4, "")
	ae.Uint8(5, 0xfe)
	ae.Uint16(6, 0x1234)
	ae.Uint32(7, 0xdeadbeef)
	ae.Uint64(8, 0x0102030405060708)
	ae.Nested(9, func(n *netlink.AttributeEncoder) error {
		n.Uint32(1, 1)
		n.Nested(2, func(*netlink.AttributeEncoder) error { return nil })
		return nil
	})
	expr := func(name string, data func(*netlink.AttributeEncoder)) {
		ae.Nested(nfnl.AttrListElem, func(el *netlink.AttributeEncoder) error {
			el.String(nfnl.AttrExprName, name)
			el.Nested(nfnl.AttrExprData, func(d *netlink.AttributeEncoder) error {
				data(d)
				return nil
			})
			return nil
		})
	}
	expr("cmp", func(d *netlink.AttributeEncoder) {
		d.Uint32(1, 1)
		d.Nested(3, func(v *netlink.AttributeEncoder) error {
			v.Bytes(nfnl.AttrDataValue, []byte{0xaa})
			return nil
		})
	})
	expr("counter", func(*netlink.AttributeEncoder) {})
	ae.Bytes(10|netlink.Nested, []byte{4, 0, 1, 0})
	want, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.B, want) {
		t.Errorf("Encoder wrote\n% x\nAttributeEncoder\n% x", e.B, want)
	}
}

func TestSplitAttrsOffsets(t *testing.T) {
	var e nfnl.Encoder
	e.String(1, "fw")    // 4+3, padded to 8
	n := e.Nest(2)       // at 8
	e.U32(7, 9)          // at 12
	e.Bytes(8, []byte{}) // at 20
	e.End(n)
	e.U8(3, 1) // at 24
	const base = 100
	as, err := nfnl.SplitAttrs(e.B, base)
	if err != nil {
		t.Fatal(err)
	}
	want := []nfnl.Attr{
		{Type: 1, Off: base, Data: []byte("fw\x00")},
		{Type: 2, Off: base + 8, Data: e.B[12:24]},
		{Type: 3, Off: base + 24, Data: []byte{1}},
	}
	if diff := cmp.Diff(want, as); diff != "" {
		t.Fatalf("SplitAttrs (-want +got):\n%s", diff)
	}
	inner, err := nfnl.SplitAttrs(as[1].Data, as[1].Off+nfnl.AttrHeaderLen)
	if err != nil {
		t.Fatal(err)
	}
	if len(inner) != 2 || inner[0].Off != base+12 || inner[1].Off != base+20 || len(inner[1].Data) != 0 {
		t.Fatalf("nested: %+v", inner)
	}
	for _, c := range []struct {
		off  int
		want int // type of the top-level attribute, -1 for none
	}{{base - 1, -1}, {base, 1}, {base + 6, 1}, {base + 7, -1}, {base + 8, 2}, {base + 23, 2}, {base + 24, 3}, {base + 28, 3}, {base + 29, -1}} {
		got := -1
		if a, ok := nfnl.Containing(as, c.off); ok {
			got = int(a.Type)
		}
		if got != c.want {
			t.Errorf("Containing(%d) = %d, want %d", c.off, got, c.want)
		}
	}
	// The flags are not part of the type.
	flagged := []byte{8, 0, 5, 0xc0, 1, 2, 3, 4}
	if as, err := nfnl.SplitAttrs(flagged, 0); err != nil || as[0].Type != 5 {
		t.Errorf("a flagged attribute: %+v, %v", as, err)
	}
	if d, ok := nfnl.Lookup(e.B, 3); !ok || !bytes.Equal(d, []byte{1}) {
		t.Errorf("Lookup(3) = % x, %v", d, ok)
	}
	if _, ok := nfnl.Lookup(e.B, 7); ok {
		t.Error("Lookup found a nested attribute at the top")
	}
	if d, ok := nfnl.Lookup(flagged, 5); !ok || len(d) != 4 {
		t.Errorf("Lookup(flagged) = % x, %v", d, ok)
	}
}

// Attributes are read as the kernel reads them (nla_ok): a zero or short
// length, a length past the end and a truncated header are errors.
func TestSplitAttrsMalformed(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"zero length", []byte{0, 0, 1, 0}, "attribute of length 0 with 4 bytes left"},
		{"short length", []byte{3, 0, 1, 0, 0}, "attribute of length 3 with 5 bytes left"},
		{"past the end", []byte{9, 0, 1, 0, 1, 2, 3, 4}, "attribute of length 9 with 8 bytes left"},
		{"truncated header", []byte{5, 0, 1, 0, 1, 0, 0, 0, 4, 0}, "attribute header truncated"},
	} {
		if _, err := nfnl.SplitAttrs(c.b, 0); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if _, ok := nfnl.Lookup(c.b, 2); ok {
			t.Errorf("%s: Lookup found an attribute", c.name)
		}
	}
	// The last attribute's padding may be missing.
	if as, err := nfnl.SplitAttrs([]byte{5, 0, 1, 0, 7}, 0); err != nil || len(as) != 1 {
		t.Errorf("unpadded last attribute: %+v, %v", as, err)
	}
}

func TestScalars(t *testing.T) {
	if s, ok := nfnl.CString([]byte("fw\x00")); !ok || s != "fw" {
		t.Errorf("CString = %q, %v", s, ok)
	}
	for _, b := range [][]byte{nil, []byte("fw"), []byte("f\x00w\x00")} {
		if _, ok := nfnl.CString(b); ok {
			t.Errorf("CString(%q) succeeded", b)
		}
	}
	if s := nfnl.String([]byte("fw\x00\x00")); s != "fw" {
		t.Errorf("String = %q", s)
	}
	if s := nfnl.String([]byte("fw")); s != "fw" {
		t.Errorf("String without NUL = %q", s)
	}
	if v, err := nfnl.U8([]byte{7}); err != nil || v != 7 {
		t.Errorf("U8 = %d, %v", v, err)
	}
	if v, err := nfnl.U32([]byte{0, 0, 1, 2}); err != nil || v != 0x102 {
		t.Errorf("U32 = %#x, %v", v, err)
	}
	if v, err := nfnl.U64([]byte{0, 0, 0, 0, 0, 0, 1, 2}); err != nil || v != 0x102 {
		t.Errorf("U64 = %#x, %v", v, err)
	}
	if _, err := nfnl.U32([]byte{1, 2}); err == nil || err.Error() != "2 bytes, want 4" {
		t.Errorf("U32 of 2 bytes: %v", err)
	}
	if _, err := nfnl.U8(nil); err == nil {
		t.Error("U8 of nothing succeeded")
	}
	if _, err := nfnl.U64(make([]byte, 9)); err == nil {
		t.Error("U64 of 9 bytes succeeded")
	}
}

func TestAck(t *testing.T) {
	req := nfnl.Header{Len: 44, Type: 0x0a06, Flags: 5, Seq: 9, PID: 1}
	for _, a := range []nfnl.Ack{
		{Errno: 95, Request: req, Msg: "unknown key", Offset: 40, Missing: -1},
		{Errno: 2, Request: req, Offset: -1, Missing: 3},
		{Errno: 22, Request: req, Offset: -1, Missing: -1},
		{Request: req, Offset: -1, Missing: -1},
	} {
		b := nfnl.AppendError(nil, 4242, a)
		msgs, err := nfnl.SplitMessages(b)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%+v: %d messages, %v", a, len(msgs), err)
		}
		m := msgs[0]
		if m.Type != nfnl.TypeError || m.Seq != req.Seq || m.PID != 4242 || m.Flags&nfnl.FlagCapped == 0 {
			t.Errorf("%+v: header %+v", a, m.Header)
		}
		got, err := nfnl.ParseError(m.Flags, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}

	// Not capped: the whole request comes back, then the TLVs.
	minus := func(v int32) uint32 { return uint32(-v) }
	b := binary.NativeEndian.AppendUint32(nil, minus(95))
	b = req.Append(b)
	b = append(b, make([]byte, int(req.Len)-nfnl.HeaderLen)...)
	b = binary.NativeEndian.AppendUint16(b, 8)
	b = binary.NativeEndian.AppendUint16(b, nfnl.ErrAttrOffs)
	b = binary.NativeEndian.AppendUint32(b, 20)
	got, err := nfnl.ParseError(nfnl.FlagAckTLVs, b)
	if want := (nfnl.Ack{Errno: 95, Request: req, Offset: 20, Missing: -1}); err != nil || got != want {
		t.Errorf("uncapped: %+v, %v; want %+v", got, err, want)
	}
	if _, err := nfnl.ParseError(nfnl.FlagAckTLVs, b[:30]); err == nil || !strings.Contains(err.Error(), "past the end") {
		t.Errorf("uncapped, cut short: %v", err)
	}
	if _, err := nfnl.ParseError(0, []byte{1, 2, 3}); err == nil {
		t.Error("an error message of 3 bytes parsed")
	}
	// A positive error number is taken as the errno it names.
	pos := binary.NativeEndian.AppendUint32(nil, 1)
	if got, err := nfnl.ParseError(0, req.Append(pos)); err != nil || got.Errno != 1 {
		t.Errorf("positive: %+v, %v", got, err)
	}

	// NLMSG_DONE: 0, or an error with its extended ACK.
	if got := nfnl.ParseDone(0, []byte{0, 0, 0, 0}); got.Errno != 0 || got.Offset != -1 {
		t.Errorf("done: %+v", got)
	}
	d := binary.NativeEndian.AppendUint32(nil, minus(4))
	var e nfnl.Encoder
	e.String(nfnl.ErrAttrMsg, "interrupted")
	d = append(d, e.B...)
	if got := nfnl.ParseDone(nfnl.FlagAckTLVs, d); got.Errno != 4 || got.Msg != "interrupted" {
		t.Errorf("done with an error: %+v", got)
	}
	if got := nfnl.ParseDone(0, []byte{1}); got.Errno != 0 {
		t.Errorf("short done: %+v", got)
	}
}

func TestExprList(t *testing.T) {
	var e nfnl.Encoder
	at := e.BeginExpr("ct")
	e.U32(2, 0)
	e.U32(1, 1)
	e.EndExpr(at)
	at = e.BeginExpr("counter")
	e.EndExpr(at)
	const base = 40
	elems, err := nfnl.ExprList(e.B, base)
	if err != nil || len(elems) != 2 {
		t.Fatalf("ExprList: %d elements, %v", len(elems), err)
	}
	x, err := nfnl.ParseExpr(elems[0])
	if err != nil || x.Name != "ct" || !x.HasData || len(x.Attrs) != 2 || x.Attrs[1].Type != 1 {
		t.Fatalf("ParseExpr = %+v, %v", x, err)
	}
	// Offsets from base: list element header, name (4+3, padded to 8),
	// data header, then the ct attributes.
	if x.Data.Off != base+12 || x.Attrs[0].Off != base+16 || x.Attrs[1].Off != base+24 {
		t.Errorf("offsets: data %d, attributes %d %d", x.Data.Off, x.Attrs[0].Off, x.Attrs[1].Off)
	}
	if c, err := nfnl.ParseExpr(elems[1]); err != nil || c.Name != "counter" || !c.HasData || len(c.Attrs) != 0 {
		t.Errorf("counter: %+v, %v", c, err)
	}

	if _, err := nfnl.ExprList([]byte{8, 0, 2, 0, 0, 0, 0, 0}, 0); err == nil || err.Error() != "expression list: attribute 1 of type 2, want NFTA_LIST_ELEM" {
		t.Errorf("not a list element: %v", err)
	}
	if _, err := nfnl.ExprList([]byte{8, 0, 1}, 0); err == nil || err.Error() != "expression list: attribute header truncated" {
		t.Errorf("truncated: %v", err)
	}
	elem := func(attrs ...[]byte) nfnl.Attr { return nfnl.Attr{Type: 1, Data: bytes.Join(attrs, nil)} }
	name := func(s string) []byte { var e nfnl.Encoder; e.String(nfnl.AttrExprName, s); return e.B }
	data := func(b []byte) []byte { var e nfnl.Encoder; e.Bytes(nfnl.AttrExprData|netlink.Nested, b); return e.B }
	for _, c := range []struct {
		name string
		el   nfnl.Attr
		want string
		got  string // the name read before the fault
	}{
		{"no name", elem(data(nil)), "expression without a name", ""},
		{"name not a string", elem([]byte{6, 0, 1, 0, 'c', 't', 0, 0}), "expression name is not a string", ""},
		{"two names", elem(name("ct"), name("cmp")), "unexpected attribute 1 in a list element", "ct"},
		{"two data", elem(name("ct"), data(nil), data(nil)), "unexpected attribute 2 in a list element", "ct"},
		{"bad data", elem(name("ct"), data([]byte{9, 0, 1, 0})), "expression data: attribute of length 9 with 4 bytes left", "ct"},
		{"other attribute", elem(name("ct"), []byte{4, 0, 3, 0}), "unexpected attribute 3 in a list element", "ct"},
		{"bad element", elem([]byte{2, 0}), "attribute header truncated", ""},
	} {
		x, err := nfnl.ParseExpr(c.el)
		if err == nil || err.Error() != c.want || x.Name != c.got {
			t.Errorf("%s: %+v, %v; want %q", c.name, x, err, c.want)
		}
	}
	if x, err := nfnl.ParseExpr(elem(name("counter"))); err != nil || x.HasData {
		t.Errorf("no data: %+v, %v", x, err)
	}
}
