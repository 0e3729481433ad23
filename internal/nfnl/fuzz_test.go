package nfnl_test

import (
	"bytes"
	"testing"

	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// FuzzDecode feeds arbitrary bytes to every decoder: none may panic, and
// what splits must be where the offsets say.
func FuzzDecode(f *testing.F) {
	var e nfnl.Encoder
	at := e.BeginExpr("cmp")
	e.U32(1, 1)
	e.Value(3, []byte{1, 2, 3, 4})
	e.EndExpr(at)
	f.Add(e.B)
	f.Add(nfnl.AppendMessage(nil, 0x0a06, 5, 1, 1, 0, e.B))
	f.Add(nfnl.AppendError(nil, 1, nfnl.Ack{Errno: 22, Request: nfnl.Header{Len: 40, Seq: 3}, Msg: "bad", Offset: 24, Missing: 2}))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{4, 0, 1, 0x80, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAttrs(t, b, 3, 2)
		_ = nfnl.EachMessage(b, func(m nfnl.Message) error {
			if int(m.Len) != nfnl.HeaderLen+len(m.Data) {
				t.Fatalf("message of length %d with %d bytes of data", m.Len, len(m.Data))
			}
			checkAttrs(t, m.Body(), nfnl.BodyOffset, 2)
			if a, err := nfnl.ParseError(m.Flags, m.Data); err == nil && a.Offset < -1 {
				t.Fatalf("offset %d", a.Offset)
			}
			nfnl.ParseDone(m.Flags, m.Data)
			return nil
		})
		if elems, err := nfnl.ExprList(b, 0); err == nil {
			for _, el := range elems {
				x, err := nfnl.ParseExpr(el)
				// The expression's data lies inside its list element.
				if err == nil && x.HasData && (!el.Contains(x.Data.Off) || x.Data.Off+nfnl.AttrHeaderLen+len(x.Data.Data) > el.Off+nfnl.AttrHeaderLen+len(el.Data)) {
					t.Fatalf("data %+v outside its element at %d (%d bytes)", x.Data, el.Off, len(el.Data))
				}
			}
		}
		for typ := uint16(0); typ < 4; typ++ {
			// Lookup finds the payload of the first attribute of that type
			// that SplitAttrs gives, when the split holds.
			d, ok := nfnl.Lookup(b, typ)
			if as, err := nfnl.SplitAttrs(b, 0); err == nil {
				var want []byte
				found := false
				for _, a := range as {
					if a.Type == typ {
						want, found = a.Data, true
						break
					}
				}
				if ok != found || !bytes.Equal(d, want) {
					t.Fatalf("Lookup(%d) = %x, %v; SplitAttrs gives %x, %v", typ, d, ok, want, found)
				}
			}
		}
		nfnl.CString(b)
		nfnl.String(b)
	})
}

// checkAttrs splits b (at offset base) and, depth levels down, each
// attribute's payload, and checks that every attribute is where its offset
// says, in order, and that re-encoding them gives b back up to padding and
// flags.
func checkAttrs(t *testing.T, b []byte, base, depth int) {
	as, err := nfnl.SplitAttrs(b, base)
	if err != nil {
		return
	}
	var e nfnl.Encoder
	end := base
	for _, a := range as {
		if a.Off < end || a.Off-base+nfnl.AttrHeaderLen+len(a.Data) > len(b) {
			t.Fatalf("attribute at %d (%d bytes) in %d bytes from %d", a.Off, len(a.Data), len(b), base)
		}
		if !bytes.Equal(b[a.Off-base+nfnl.AttrHeaderLen:][:len(a.Data)], a.Data) {
			t.Fatalf("attribute at %d is not where it says", a.Off)
		}
		end = a.Off + nfnl.Align(nfnl.AttrHeaderLen+len(a.Data))
		e.Bytes(a.Type, a.Data)
		if depth > 0 {
			checkAttrs(t, a.Data, a.Off+nfnl.AttrHeaderLen, depth-1)
		}
	}
	if len(e.B) < len(b) || len(e.B) > len(b)+3 {
		t.Fatalf("re-encoded %d bytes from %d", len(e.B), len(b))
	}
}
