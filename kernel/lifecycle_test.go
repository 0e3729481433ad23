package kernel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// The messages that delete and flush tables and chains, and add sets,
// elements and objects, are the bytes netlink.AttributeEncoder makes of the
// same attributes, with the flags nft sends them with.
func TestLifecycleEncoding(t *testing.T) {
	const f = expr.FamilyInet
	tx := newFake().conn().BeginAt(7)
	tx.DeleteTable(f, "tab")
	tx.FlushTable(f, "tab")
	tx.DeleteChain(f, "tab", "c")
	tx.FlushChain(f, "tab", "c")
	tx.AddChain(f, "tab", "in", &BaseChain{Hook: HookIngress, Device: "eth0", Priority: -500, Policy: PolicyDrop}, nil)
	tx.AddSet(f, "tab", SetSpec{Name: AnonymousSetName, ID: 3, Flags: SetAnonymous | SetConstant | SetInterval, KeyType: 13, KeyLen: 2, Size: 5, UserData: []byte{0, 4, 2, 0, 0, 0}})
	tx.AddElements(f, "tab", AnonymousSetName, 3, []SetElem{{Key: []byte{0, 0}, IntervalEnd: true}, {Key: []byte{0, 80}}, {Key: []byte{0xff, 0}, UserData: []byte{1, 4, 1, 0, 0, 0}}})
	tx.AddObject(f, "tab", Object{Name: "ftp", CtHelper: &CtHelper{Helper: "ftp", L3Proto: 2, L4Proto: 6}})
	type msg struct {
		typ   uint16
		flags uint16
		attrs []byte
	}
	want := []msg{
		{nftType(msgDelTable), flagRequest | flagAck, encodeAttrs(func(ae *netlink.AttributeEncoder) { ae.String(attrTableName, "tab") })},
		{nftType(msgDelRule), flagRequest | flagAck, encodeAttrs(func(ae *netlink.AttributeEncoder) { ae.String(attrRuleTable, "tab") })},
		{nftType(msgDelChain), flagRequest | flagAck, encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrChainTable, "tab")
			ae.String(attrChainName, "c")
		})},
		{nftType(msgDelRule), flagRequest | flagAck, encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrRuleTable, "tab")
			ae.String(attrRuleChain, "c")
		})},
		{nftType(msgNewChain), flagRequest | flagAck | flagCreate | flagExcl, encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrChainTable, "tab")
			ae.String(attrChainName, "in")
			ae.String(attrChainType, "filter")
			ae.Uint32(attrChainPolicy, nfDrop)
			ae.Nested(attrChainHook, func(h *netlink.AttributeEncoder) error {
				h.Uint32(attrHookNum, 5) // NF_INET_INGRESS
				h.Uint32(attrHookPriority, uint32(0xfffffe0c))
				h.String(attrHookDev, "eth0")
				return nil
			})
		})},
		{nftType(msgNewSet), flagRequest | flagAck | flagCreate, encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrSetTable, "tab")
			ae.String(attrSetName, "__set%d")
			ae.Uint32(attrSetFlags, 7)
			ae.Uint32(attrSetKeyType, 13)
			ae.Uint32(attrSetKeyLen, 2)
			ae.Uint32(attrSetID, 3)
			ae.Nested(attrSetDesc, func(d *netlink.AttributeEncoder) error { d.Uint32(attrSetDescSize, 5); return nil })
			ae.Bytes(attrSetUserdata, []byte{0, 4, 2, 0, 0, 0})
		})},
		{nftType(msgNewSetElem), flagRequest | flagAck | flagCreate, encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrElemListTable, "tab")
			ae.String(attrElemListSet, "__set%d")
			ae.Uint32(attrElemListSetID, 3)
			ae.Nested(attrElemListElems, func(l *netlink.AttributeEncoder) error {
				key := func(e *netlink.AttributeEncoder, k []byte) {
					e.Nested(attrElemKey, func(v *netlink.AttributeEncoder) error { v.Bytes(nfnl.AttrDataValue, k); return nil })
				}
				l.Nested(1, func(e *netlink.AttributeEncoder) error {
					e.Uint32(attrElemFlags, 1)
					key(e, []byte{0, 0})
					return nil
				})
				l.Nested(2, func(e *netlink.AttributeEncoder) error { key(e, []byte{0, 80}); return nil })
				l.Nested(3, func(e *netlink.AttributeEncoder) error {
					key(e, []byte{0xff, 0})
					e.Bytes(attrElemUserdata, []byte{1, 4, 1, 0, 0, 0})
					return nil
				})
				return nil
			})
		})},
		{nftType(msgNewObj), flagRequest | flagAck | flagCreate | flagExcl, encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrObjTable, "tab")
			ae.String(attrObjName, "ftp")
			ae.Uint32(attrObjType, objCtHelper)
			ae.Nested(attrObjData, func(d *netlink.AttributeEncoder) error {
				d.Bytes(attrCtHelperName, []byte("ftp"))
				d.Uint16(attrCtHelperL3Proto, 2)
				d.Uint8(attrCtHelperL4Proto, 6)
				return nil
			})
		})},
	}
	got := BatchMessages(tx)
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i, w := range want {
		h, _ := nfnl.DecodeHeader(got[i])
		body := got[i][nfnl.BodyOffset:]
		if h.Type != w.typ || h.Flags != w.flags || !bytes.Equal(body, w.attrs) || got[i][nfnl.HeaderLen] != uint8(f) {
			t.Errorf("message %d: type %#x flags %#x\n% x\nwant type %#x flags %#x\n% x", i, h.Type, h.Flags, body, w.typ, w.flags, w.attrs)
		}
	}
	// Each change reads back from its message as it was made.
	ops := []string{"delete table inet tab", "flush table inet tab", "delete chain inet tab c", "flush chain inet tab c",
		"add chain inet tab in", "add set inet tab set __set%d", "add elements inet tab set __set%d", "add ct helper inet tab ftp"}
	for i, w := range ops {
		ch := tx.change(i)
		if got := ch.op() + " " + ch.object(); got != w {
			t.Errorf("change %d reads back as %q, want %q", i, got, w)
		}
	}
}

// Changes that cannot be sent are refused before anything is sent.
func TestLifecycleRefusedBeforeSending(t *testing.T) {
	for _, tc := range []struct {
		build func(tx *Tx)
		want  string
	}{
		{func(tx *Tx) { tx.DeleteTable(expr.FamilyIP, "") }, "delete table ip : empty table name"},
		{func(tx *Tx) { tx.FlushChain(expr.FamilyIP, "t", "") }, "flush chain ip t : empty chain name"},
		{func(tx *Tx) { tx.AddSet(expr.FamilyIP, "t", SetSpec{KeyType: 13, KeyLen: 2}) }, "add set ip t set : empty set name"},
		{func(tx *Tx) {
			tx.AddSet(expr.FamilyIP, "t", SetSpec{Name: "s", UserData: make([]byte, 257)})
		}, "add set ip t set s: userdata of 257 bytes (at most 256)"},
		{func(tx *Tx) { tx.AddObject(expr.FamilyIP, "t", Object{Name: "h"}) }, "add ct helper ip t h: an object of no type: only ct helpers are supported"},
		{func(tx *Tx) {
			tx.AddChain(expr.FamilyInet, "t", "c", &BaseChain{Hook: HookIngress}, nil)
		}, "add chain inet t c: an ingress chain needs a device, in an inet table"},
		{func(tx *Tx) {
			tx.AddChain(expr.FamilyIP, "t", "c", &BaseChain{Hook: HookIngress, Device: "lo"}, nil)
		}, "add chain ip t c: an ingress chain needs a device, in an inet table"},
		{func(tx *Tx) {
			tx.AddChain(expr.FamilyInet, "t", "c", &BaseChain{Hook: HookInput, Device: "lo"}, nil)
		}, "add chain inet t c: a device on hook input (only ingress takes one)"},
	} {
		k := newFake()
		tx := k.conn().BeginAt(7)
		tc.build(tx)
		_, err := tx.Commit(context.Background())
		if err == nil || err.Error() != tc.want {
			t.Errorf("error:\n got %v\nwant %s", err, tc.want)
		}
		if len(k.sent) != 0 {
			t.Errorf("%q: %d batches sent, want none", tc.want, len(k.sent))
		}
	}
}

// The kernel's refusals of these changes are mapped back to the change,
// with what the extended ACK pointed at.
func TestLifecycleErrors(t *testing.T) {
	const f = expr.FamilyIP
	tab := nfnl.BodyOffset                              // the first attribute: the table
	name := nfnl.BodyOffset + nfnl.Align(4+len("fw")+1) // the second
	for _, tc := range []struct {
		build  func(tx *Tx)
		errno  unix.Errno
		offset int
		want   string
	}{
		{func(tx *Tx) { tx.DeleteTable(f, "fw") }, unix.ENOENT, tab, "delete table ip fw: no such table ip fw"},
		{func(tx *Tx) { tx.DeleteTable(f, "fw") }, unix.ENOENT, -1, "delete table ip fw: no such table ip fw"},
		{func(tx *Tx) { tx.FlushTable(f, "fw") }, unix.ENOENT, tab, "flush table ip fw: no such table ip fw"},
		{func(tx *Tx) { tx.DeleteChain(f, "fw", "c") }, unix.ENOENT, tab, "delete chain ip fw c: no such table ip fw"},
		{func(tx *Tx) { tx.DeleteChain(f, "fw", "c") }, unix.ENOENT, name, "delete chain ip fw c: no such chain c in table ip fw"},
		{func(tx *Tx) { tx.DeleteChain(f, "fw", "c") }, unix.EBUSY, name, "delete chain ip fw c: chain c in table ip fw is not empty, or a rule jumps to it: device or resource busy"},
		{func(tx *Tx) { tx.FlushChain(f, "fw", "c") }, unix.ENOENT, name, "flush chain ip fw c: no such chain c in table ip fw"},
		{func(tx *Tx) { tx.AddSet(f, "fw", SetSpec{Name: "s"}) }, unix.ENOENT, tab, "add set ip fw set s: no such table ip fw"},
		{func(tx *Tx) { tx.AddSet(f, "fw", SetSpec{Name: "s"}) }, unix.EEXIST, name, "add set ip fw set s: set s exists in table ip fw"},
		{func(tx *Tx) { tx.AddElements(f, "fw", "s", 0, []SetElem{{Key: []byte{1}}}) }, unix.ENOENT, name, "add elements ip fw set s: no such set s in table ip fw"},
		{func(tx *Tx) { tx.AddObject(f, "fw", Object{Name: "h", CtHelper: &CtHelper{Helper: "ftp"}}) }, unix.EEXIST, name, "add ct helper ip fw h: ct helper h exists in table ip fw"},
		{func(tx *Tx) { tx.DeleteTable(f, "fw") }, unix.EPERM, tab, "delete table ip fw: table ip fw is owned by another process: operation not permitted"},
		{func(tx *Tx) { tx.FlushChain(f, "fw", "c") }, unix.EPERM, tab, "flush chain ip fw c: table ip fw is owned by another process: operation not permitted"},
		{func(tx *Tx) { tx.AddSet(f, "fw", SetSpec{Name: "s"}) }, unix.EPERM, tab, "add set ip fw set s: table ip fw is owned by another process: operation not permitted"},
		// (Where the kernel points at something else, its errno says it.)
		{func(tx *Tx) { tx.AddSet(f, "fw", SetSpec{Name: "s"}) }, unix.EINVAL, name + 8, "add set ip fw set s: key type: invalid argument"},
	} {
		k := newFake()
		tx := k.conn().BeginAt(7)
		tc.build(tx)
		k.fail = map[int]fakeErr{0: {errno: tc.errno, offset: tc.offset}}
		_, err := tx.Commit(context.Background())
		var ke *Error
		if err == nil || err.Error() != tc.want || !errors.Is(err, tc.errno) || !errors.As(err, &ke) || ke.Index != 0 {
			t.Errorf("error:\n got %v\nwant %s", err, tc.want)
		}
	}
}

// Elements that do not fit in one message go on in the next, each message
// under the attribute size limit, the elements numbered from 1 in each.
func TestAddElementsSplits(t *testing.T) {
	tx := newFake().conn().BeginAt(7)
	var elems []SetElem
	for i := range 10000 {
		elems = append(elems, SetElem{Key: binary.BigEndian.AppendUint32(nil, uint32(i))})
	}
	tx.AddElements(expr.FamilyIP, "t", "s", 0, elems)
	msgs := BatchMessages(tx)
	if len(msgs) < 2 {
		t.Fatalf("%d messages, want more than one", len(msgs))
	}
	var keys []SetElem
	for _, m := range msgs {
		list, ok := nfnl.Lookup(m[nfnl.BodyOffset:], attrElemListElems)
		if !ok || len(list) > maxAttrPayload {
			t.Fatalf("a message with %d bytes of elements (%v)", len(list), ok)
		}
		as, _ := nfnl.SplitAttrs(list, 0)
		for i, a := range as {
			if a.Type != uint16(i+1) {
				t.Fatalf("element %d nested as %d", i+1, a.Type)
			}
		}
		es, err := parseElems(nfnl.Message{Data: m[nfnl.HeaderLen:]})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, es...)
	}
	if diff := cmp.Diff(elems, keys); diff != "" {
		t.Errorf("elements (-want +got):\n%s", diff)
	}
	if tx.Len() != len(msgs) {
		t.Errorf("Len %d, want %d", tx.Len(), len(msgs))
	}
}

// Sets, their elements and ct helpers are listed from the kernel's dumps,
// filtered by table; expr.LookupRefs names the sets a rule looks up.
func TestListSetsAndObjects(t *testing.T) {
	k := newFake()
	k.onRequest = func(m nfnl.Message) [][]byte {
		msg := func(typ int, fn func(ae *netlink.AttributeEncoder)) []byte {
			return nfnl.AppendMessage(nil, nftType(typ), flagMulti, m.Seq, uint8(family(m)), 0, encodeAttrs(fn))
		}
		switch m.Type {
		case nftType(msgGetTable):
			return [][]byte{msg(msgNewTable, func(ae *netlink.AttributeEncoder) { ae.String(attrTableName, "t") })}
		case nftType(msgGetSet):
			set := func(table, name string) []byte {
				return msg(msgNewSet, func(ae *netlink.AttributeEncoder) {
					ae.String(attrSetTable, table)
					ae.String(attrSetName, name)
					ae.Uint64(attrSetHandle, 3)
					ae.Uint32(attrSetFlags, 7)
					ae.Uint32(attrSetKeyType, 13)
					ae.Uint32(attrSetKeyLen, 2)
					ae.Nested(attrSetDesc, func(d *netlink.AttributeEncoder) error { d.Uint32(attrSetDescSize, 3); return nil })
					ae.Bytes(attrSetUserdata, []byte{0, 4, 2, 0, 0, 0})
				})
			}
			return [][]byte{set("t", "__set0"), set("other", "__set0"), done(m.Seq)}
		case nftType(msgGetSetElem):
			return [][]byte{msg(msgNewSetElem, func(ae *netlink.AttributeEncoder) {
				ae.String(attrElemListTable, "t")
				ae.String(attrElemListSet, "__set0")
				ae.Nested(attrElemListElems, func(l *netlink.AttributeEncoder) error {
					l.Nested(1, func(e *netlink.AttributeEncoder) error {
						e.Nested(attrElemKey, func(v *netlink.AttributeEncoder) error { v.Bytes(1, []byte{0, 81}); return nil })
						e.Uint32(attrElemFlags, 1)
						return nil
					})
					l.Nested(1, func(e *netlink.AttributeEncoder) error {
						e.Nested(attrElemKey, func(v *netlink.AttributeEncoder) error { v.Bytes(1, []byte{0, 80}); return nil })
						return nil
					})
					return nil
				})
			}), done(m.Seq)}
		case nftType(msgGetObj):
			return [][]byte{msg(msgNewObj, func(ae *netlink.AttributeEncoder) {
				ae.String(attrObjTable, "t")
				ae.String(attrObjName, "ftp")
				ae.Uint32(attrObjType, objCtHelper)
				ae.Nested(attrObjData, func(d *netlink.AttributeEncoder) error {
					d.String(attrCtHelperName, "ftp")
					d.Uint16(attrCtHelperL3Proto, 2)
					d.Uint8(attrCtHelperL4Proto, 6)
					return nil
				})
				ae.Uint32(attrObjUse, 1)
				ae.Uint64(attrObjHandle, 9)
			}), done(m.Seq)}
		}
		return nil
	}
	c := k.conn()
	ctx := context.Background()
	sets, err := c.Sets(ctx, expr.FamilyIP, "t")
	if err != nil {
		t.Fatal(err)
	}
	wantSets := []Set{{Family: expr.FamilyIP, Table: "t", Name: "__set0", Handle: 3, Flags: 7, KeyType: 13, KeyLen: 2, Size: 3, UserData: []byte{0, 4, 2, 0, 0, 0}}}
	if diff := cmp.Diff(wantSets, sets); diff != "" {
		t.Errorf("sets (-want +got):\n%s", diff)
	}
	elems, err := c.SetElements(ctx, expr.FamilyIP, "t", "__set0")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]expr.KeyRange{{From: []byte{0, 80}, To: []byte{0, 80}}}, expr.Ranges(elems)); diff != "" {
		t.Errorf("ranges (-want +got):\n%s", diff)
	}
	objs, err := c.Objects(ctx, expr.FamilyIP, "t")
	if err != nil {
		t.Fatal(err)
	}
	wantObjs := []Object{{Family: expr.FamilyIP, Table: "t", Name: "ftp", Handle: 9, Use: 1, CtHelper: &CtHelper{Helper: "ftp", L3Proto: 2, L4Proto: 6}}}
	if diff := cmp.Diff(wantObjs, objs); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	lookup := encodeAttrs(func(ae *netlink.AttributeEncoder) {
		ae.Nested(nfnl.AttrListElem, func(el *netlink.AttributeEncoder) error {
			el.String(nfnl.AttrExprName, "lookup")
			el.Nested(nfnl.AttrExprData, func(d *netlink.AttributeEncoder) error {
				d.Uint32(2, 1)
				d.String(1, "__set4")
				return nil
			})
			return nil
		})
	})
	if refs, err := expr.LookupRefs(append(slices.Clone(testExprs), lookup...)); err != nil || len(refs) != 1 || refs[0].Name != "__set4" {
		t.Errorf("LookupRefs: %+v (%v), want __set4", refs, err)
	}
}

// DestroyTable and DestroyChain send NFT_MSG_DESTROYTABLE and
// NFT_MSG_DESTROYCHAIN with the attributes of their delete messages; a
// kernel without them (before Linux 6.3) refuses with EOPNOTSUPP, which the
// error says.
func TestDestroy(t *testing.T) {
	tx := newFake().conn().BeginAt(7)
	tx.DestroyTable(expr.FamilyIP, "t")
	tx.DestroyChain(expr.FamilyIP, "t", "c")
	msgs := BatchMessages(tx)
	want := []struct {
		typ   uint16
		attrs []byte
	}{
		{nftType(26), encodeAttrs(func(ae *netlink.AttributeEncoder) { ae.String(attrTableName, "t") })},
		{nftType(27), encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrChainTable, "t")
			ae.String(attrChainName, "c")
		})},
	}
	for i, w := range want {
		h, _ := nfnl.DecodeHeader(msgs[i])
		if h.Type != w.typ || h.Flags != flagRequest|flagAck || !bytes.Equal(msgs[i][nfnl.BodyOffset:], w.attrs) {
			t.Errorf("message %d: type %#x flags %#x % x, want type %#x % x", i, h.Type, h.Flags, msgs[i][nfnl.BodyOffset:], w.typ, w.attrs)
		}
	}
	for i, w := range []string{
		"destroy table ip t: the kernel lacks destroy table (NFT_MSG_DESTROY…, Linux 6.3 or later): operation not supported",
		"destroy chain ip t c: the kernel lacks destroy chain (NFT_MSG_DESTROY…, Linux 6.3 or later): operation not supported",
	} {
		k := newFake()
		tx := k.conn().BeginAt(7)
		if i == 0 {
			tx.DestroyTable(expr.FamilyIP, "t")
		} else {
			tx.DestroyChain(expr.FamilyIP, "t", "c")
		}
		k.fail = map[int]fakeErr{0: {errno: unix.EOPNOTSUPP, offset: -1}}
		if _, err := tx.Commit(context.Background()); err == nil || err.Error() != w || !errors.Is(err, unix.EOPNOTSUPP) {
			t.Errorf("error:\n got %v\nwant %s", err, w)
		}
	}
}

// DeleteObject and DestroyObject send NFT_MSG_DELOBJ and NFT_MSG_DESTROYOBJ
// with the table, the name, the ct helper type and an empty object data,
// as nft sends for `delete ct helper`; a kernel without DESTROYOBJ refuses
// with EOPNOTSUPP, which the error says.
func TestDeleteDestroyObject(t *testing.T) {
	tx := newFake().conn().BeginAt(7)
	tx.DeleteObject(expr.FamilyIP, "t", "h")
	tx.DestroyObject(expr.FamilyIP, "t", "h")
	msgs := BatchMessages(tx)
	attrs := encodeAttrs(func(ae *netlink.AttributeEncoder) {
		ae.String(attrObjTable, "t")
		ae.String(attrObjName, "h")
		ae.Uint32(attrObjType, 3)
		ae.Nested(attrObjData, func(*netlink.AttributeEncoder) error { return nil })
	})
	for i, typ := range []uint16{nftType(unix.NFT_MSG_DELOBJ), nftType(31)} {
		h, _ := nfnl.DecodeHeader(msgs[i])
		if h.Type != typ || h.Flags != flagRequest|flagAck || !bytes.Equal(msgs[i][nfnl.BodyOffset:], attrs) {
			t.Errorf("message %d: type %#x flags %#x % x, want type %#x % x", i, h.Type, h.Flags, msgs[i][nfnl.BodyOffset:], typ, attrs)
		}
	}
	k := newFake()
	tx = k.conn().BeginAt(7)
	tx.DestroyObject(expr.FamilyIP, "t", "h")
	k.fail = map[int]fakeErr{0: {errno: unix.EOPNOTSUPP, offset: -1}}
	want := "destroy ct helper ip t h: the kernel lacks destroy ct helper (NFT_MSG_DESTROY…, Linux 6.3 or later): operation not supported"
	if _, err := tx.Commit(context.Background()); err == nil || err.Error() != want || !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	tx = newFake().conn().BeginAt(7)
	tx.DeleteObject(expr.FamilyIP, "t", "")
	if _, err := tx.Commit(context.Background()); err == nil || err.Error() != "delete ct helper ip t : empty object name" {
		t.Errorf("an empty name: %v", err)
	}
}
