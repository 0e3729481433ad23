package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

func done(seq uint32) []byte {
	return nfnl.AppendMessage(nil, nfnl.TypeDone, flagMulti, seq, 0, 0, nil)[:nfnl.HeaderLen+4]
}

// A dump the kernel flags as interrupted (the ruleset changed during it) is
// read again; only the last, consistent run counts.
func TestTablesDumpInterrupted(t *testing.T) {
	k := newFake()
	runs := 0
	k.onRequest = func(m nfnl.Message) [][]byte {
		if m.Type != nftType(msgGetTable) || m.Flags&flagDump != flagDump {
			t.Fatalf("request %#x flags %#x, want a GETTABLE dump", m.Type, m.Flags)
		}
		runs++
		table := func(name string, flags uint16, ud []byte) []byte {
			a := encodeAttrs(func(ae *netlink.AttributeEncoder) {
				ae.String(attrTableName, name)
				ae.Uint32(attrTableFlags, 0)
				ae.Uint32(attrTableUse, 2)
				ae.Uint64(attrTableHandle, 5)
				if ud != nil {
					ae.Bytes(attrTableUserdata, ud)
				}
			})
			return nfnl.AppendMessage(nil, nftType(msgNewTable), flagMulti|flags, m.Seq, uint8(expr.FamilyInet), 0, a)
		}
		if runs == 1 {
			return [][]byte{append(table("old", 0, nil), table("gone", flagDumpIntr, nil)...), done(m.Seq)}
		}
		return [][]byte{table("fw", 0, []byte{1, 2}), done(m.Seq)}
	}
	got, err := k.conn().Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Table{{Family: expr.FamilyInet, Name: "fw", Handle: 5, Use: 2, UserData: []byte{1, 2}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	if runs != 2 {
		t.Errorf("%d dumps, want 2", runs)
	}
}

// Rules: the table and chain are checked first (the extended ACK says which
// is missing); the dump is filtered by table and chain; counters are read
// out of the counter expression.
func TestRules(t *testing.T) {
	k := newFake()
	counter := encodeAttrs(func(ae *netlink.AttributeEncoder) {
		ae.Nested(nfnl.AttrListElem, func(el *netlink.AttributeEncoder) error {
			el.String(nfnl.AttrExprName, "counter")
			el.Nested(nfnl.AttrExprData, func(d *netlink.AttributeEncoder) error {
				d.Uint64(1, 1500) // NFTA_COUNTER_BYTES
				d.Uint64(2, 3)    // NFTA_COUNTER_PACKETS
				return nil
			})
			return nil
		})
	})
	exprs := append(ctExprs(0), counter...)
	k.onRequest = func(m nfnl.Message) [][]byte {
		attrs, _ := nfnl.SplitAttrs(m.Body(), nfnl.BodyOffset)
		switch m.Type {
		case nftType(msgGetChain):
			if nfnl.String(attrs[0].Data) != "fw" {
				return [][]byte{ackMsg(m, unix.ENOENT, attrs[0].Off, "")}
			}
			if nfnl.String(attrs[1].Data) != "input" {
				return [][]byte{ackMsg(m, unix.ENOENT, attrs[1].Off, "")}
			}
			return [][]byte{nfnl.AppendMessage(nil, nftType(msgNewChain), 0, m.Seq, uint8(family(m)), 0, m.Body())}
		case nftType(msgGetRule):
			rule := func(chain string, handle, pos uint64, ud []byte) []byte {
				a := encodeAttrs(func(ae *netlink.AttributeEncoder) {
					ae.String(attrRuleTable, "fw")
					ae.String(attrRuleChain, chain)
					ae.Uint64(attrRuleHandle, handle)
					if pos != 0 {
						ae.Uint64(attrRulePosition, pos)
					}
					ae.Bytes(attrRuleExpressions|netlink.Nested, exprs)
					if ud != nil {
						ae.Bytes(attrRuleUserdata, ud)
					}
				})
				return nfnl.AppendMessage(nil, nftType(msgNewRule), flagMulti, m.Seq, uint8(family(m)), 0, a)
			}
			return [][]byte{rule("input", 4, 0, nil), rule("other", 5, 0, nil), rule("input", 6, 4, []byte("u")), done(m.Seq)}
		}
		return nil
	}
	c := k.conn()
	got, err := c.Rules(context.Background(), expr.FamilyIP, "fw", "input")
	if err != nil {
		t.Fatal(err)
	}
	ctr := &Counter{Packets: 3, Bytes: 1500}
	want := []Rule{
		{Family: expr.FamilyIP, Table: "fw", Chain: "input", Handle: 4, Exprs: exprs, Counter: ctr},
		{Family: expr.FamilyIP, Table: "fw", Chain: "input", Handle: 6, Position: 4, Exprs: exprs, UserData: []byte("u"), Counter: ctr},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}

	for _, tc := range []struct{ table, chain, want string }{
		{"nope", "input", "list rules ip nope input: no such table ip nope"},
		{"fw", "nope", "list rules ip fw nope: no such chain nope in table ip fw"},
	} {
		_, err := c.Rules(context.Background(), expr.FamilyIP, tc.table, tc.chain)
		if err == nil || err.Error() != tc.want || !errors.Is(err, unix.ENOENT) {
			t.Errorf("Rules(%s, %s) error:\n got %v\nwant %s (wrapping ENOENT)", tc.table, tc.chain, err, tc.want)
		}
	}
}

// A base chain's hook, priority, type and policy are read back.
func TestParseChain(t *testing.T) {
	a := encodeAttrs(func(ae *netlink.AttributeEncoder) {
		ae.String(attrChainTable, "fw")
		ae.String(attrChainName, "in")
		ae.Uint64(attrChainHandle, 3)
		ae.Nested(attrChainHook, func(h *netlink.AttributeEncoder) error {
			h.Uint32(attrHookNum, 4)
			h.Uint32(attrHookPriority, uint32(0xffffff6a)) // -150
			return nil
		})
		ae.Uint32(attrChainPolicy, nfDrop)
		ae.String(attrChainType, "nat")
		ae.Uint32(attrChainUse, 1)
		ae.Bytes(attrChainUserdata, []byte{9})
	})
	msgs, err := nfnl.SplitMessages(nfnl.AppendMessage(nil, nftType(msgNewChain), 0, 1, uint8(expr.FamilyIP6), 0, a))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseChain(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := Chain{Family: expr.FamilyIP6, Table: "fw", Name: "in", Handle: 3, Use: 1, UserData: []byte{9},
		Base: &BaseChain{Type: "nat", Hook: HookPostrouting, Priority: -150, Policy: PolicyDrop}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
}

// Extended ACK decoding: the message, the offset, the missing attribute; in
// an error that carries the whole request (not capped) and in one that
// carries its header only.
func TestParseError(t *testing.T) {
	req := nfnl.Message{Header: nfnl.Header{Len: 44, Type: nftType(msgNewRule), Flags: 5, Seq: 9}}
	capped, err := nfnl.SplitMessages(ackMsg(req, unix.EOPNOTSUPP, 40, "unknown key"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseError(capped[0].Flags, capped[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	want := errorReply{errno: unix.EOPNOTSUPP, req: req.Header, msg: "unknown key", offset: 40, missing: -1}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(errorReply{})); diff != "" {
		t.Errorf("capped (-want +got):\n%s", diff)
	}

	// Uncapped: the request (44 bytes) sits between nlmsgerr's header and
	// the attributes.
	b := capped[0].Data[:nfnl.ErrLen]
	b = append(b, make([]byte, 44-nfnl.HeaderLen)...)
	tlv := encodeNative(func(ae *netlink.AttributeEncoder) {
		ae.Uint32(nfnl.ErrAttrMissType, 3)
		ae.Uint32(nfnl.ErrAttrOffs, 20)
	})
	b = append(b, tlv...)
	got, err = parseError(nfnl.FlagAckTLVs, b)
	if err != nil {
		t.Fatal(err)
	}
	want = errorReply{errno: unix.EOPNOTSUPP, req: req.Header, offset: 20, missing: 3}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(errorReply{})); diff != "" {
		t.Errorf("uncapped (-want +got):\n%s", diff)
	}

	// An acknowledgement.
	ack, _ := nfnl.SplitMessages(ackMsg(req, 0, -1, ""))
	got, err = parseError(ack[0].Flags, ack[0].Data)
	if err != nil || got.errno != 0 || got.offset != -1 {
		t.Errorf("ack = %+v, %v", got, err)
	}

	if _, err := parseError(0, []byte{1, 2, 3}); err == nil {
		t.Error("a truncated error message was accepted")
	}
}

func encodeNative(fn func(ae *netlink.AttributeEncoder)) []byte {
	ae := netlink.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

// A dump that fails part way ends with the error in NLMSG_DONE; a dump the
// ruleset keeps changing under is given up after a few runs.
func TestDumpErrors(t *testing.T) {
	k := newFake()
	k.onRequest = func(m nfnl.Message) [][]byte {
		b := nfnl.AppendMessage(nil, nfnl.TypeDone, flagMulti, m.Seq, 0, 0, nil)[:nfnl.HeaderLen+4]
		code := -int32(unix.EMSGSIZE)
		binary.NativeEndian.PutUint32(b[nfnl.HeaderLen:], uint32(code))
		return [][]byte{b}
	}
	_, err := k.conn().Tables(context.Background())
	if err == nil || err.Error() != "list tables: message too long" || !errors.Is(err, unix.EMSGSIZE) {
		t.Errorf("dump ending in an error: %v", err)
	}

	runs := 0
	k.onRequest = func(m nfnl.Message) [][]byte {
		runs++
		a := encodeAttrs(func(ae *netlink.AttributeEncoder) { ae.String(attrTableName, "t") })
		return [][]byte{nfnl.AppendMessage(nil, nftType(msgNewTable), flagMulti|flagDumpIntr, m.Seq, uint8(expr.FamilyIP), 0, a), done(m.Seq)}
	}
	_, err = k.conn().Tables(context.Background())
	if err == nil || err.Error() != "list tables: the ruleset kept changing while it was being read" || runs != dumpRetries+1 {
		t.Errorf("after %d runs: %v", runs, err)
	}
	if e := (*Error)(nil); !errors.As(err, &e) || e.Hint != "try again" {
		t.Errorf("hint of %v: %+v, want \"try again\"", err, e)
	}
}

// A name the kernel cannot take is refused before anything is sent, with
// an error, not a panic.
func TestListBadNames(t *testing.T) {
	k := newFake()
	c := k.conn()
	long := strings.Repeat("a", 70000)
	if _, err := c.Chains(context.Background(), expr.FamilyInet, long); err == nil || !strings.Contains(err.Error(), "table name of 70000 bytes") {
		t.Errorf("Chains of a long table name: %v", err)
	}
	if _, err := c.Rules(context.Background(), expr.FamilyInet, "fw", long); err == nil || !strings.Contains(err.Error(), "chain name of 70000 bytes") {
		t.Errorf("Rules of a long chain name: %v", err)
	}
	if len(k.sent) != 0 {
		t.Errorf("%d requests sent", len(k.sent))
	}
}
