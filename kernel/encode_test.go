package kernel

import (
	"bytes"
	"context"
	"errors"
	"golang.org/x/sys/unix"
	"slices"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// The messages encoded straight into the batch are the bytes
// netlink.AttributeEncoder makes of the same attributes.
func TestEncodeMatchesAttributeEncoder(t *testing.T) {
	k := newFake()
	tx := k.conn().BeginAt(7)
	base := &BaseChain{Type: "filter", Hook: HookInput, Priority: -150, Policy: PolicyDrop}
	tx.AddTable(expr.FamilyInet, "tab", []byte{1, 2, 3})
	tx.AddChain(expr.FamilyInet, "tab", "input", base, []byte("ud"))
	tx.AddChain(expr.FamilyInet, "tab", "x", nil, nil)
	tx.AddRule(expr.FamilyInet, "tab", "input", RuleSpec{Exprs: testExprs, UserData: []byte{9, 9, 9, 9, 9}})
	tx.AddRule(expr.FamilyInet, "tab", "input", RuleSpec{Exprs: testExprs, Insert: true, Position: 12})
	tx.AddRule(expr.FamilyInet, "tab", "input", RuleSpec{Exprs: testExprs, ID: 3, PositionID: 2, Position: 12})
	tx.DeleteRule(expr.FamilyInet, "tab", "input", 5)
	b := slices.Concat(tx.encode(1, true)...)
	want := [][]byte{
		encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrTableName, "tab")
			ae.Bytes(attrTableUserdata, []byte{1, 2, 3})
		}),
		encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrChainTable, "tab")
			ae.String(attrChainName, "input")
			ae.String(attrChainType, "filter")
			ae.Uint32(attrChainPolicy, nfDrop)
			ae.Nested(attrChainHook, func(h *netlink.AttributeEncoder) error {
				h.Uint32(attrHookNum, uint32(HookInput-1))
				h.Uint32(attrHookPriority, uint32(base.Priority))
				return nil
			})
			ae.Bytes(attrChainUserdata, []byte("ud"))
		}),
		encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrChainTable, "tab")
			ae.String(attrChainName, "x")
		}),
		encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrRuleTable, "tab")
			ae.String(attrRuleChain, "input")
			ae.Bytes(attrRuleExpressions|netlink.Nested, testExprs)
			ae.Bytes(attrRuleUserdata, []byte{9, 9, 9, 9, 9})
		}),
		encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrRuleTable, "tab")
			ae.String(attrRuleChain, "input")
			ae.Uint64(attrRulePosition, 12)
			ae.Bytes(attrRuleExpressions|netlink.Nested, testExprs)
		}),
		// PositionID is sent instead of Position; the ID after the userdata.
		encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrRuleTable, "tab")
			ae.String(attrRuleChain, "input")
			ae.Uint32(attrRulePositionID, 2)
			ae.Bytes(attrRuleExpressions|netlink.Nested, testExprs)
			ae.Uint32(attrRuleID, 3)
		}),
		encodeAttrs(func(ae *netlink.AttributeEncoder) {
			ae.String(attrRuleTable, "tab")
			ae.String(attrRuleChain, "input")
			ae.Uint64(attrRuleHandle, 5)
		}),
	}
	msgs, err := nfnl.SplitMessages(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(want)+2 {
		t.Fatalf("%d messages, want %d", len(msgs), len(want)+2)
	}
	for i, w := range want {
		c := tx.change(i)
		ch := &c
		if i == 4 && (ch.kind != addRule || !ch.insert || ch.handle != 12 || ch.id != 0 || ch.udLen != 0) ||
			i == 5 && (ch.positionID != 2 || ch.id != 3 || ch.handle != 0) ||
			i == 1 && (ch.base == nil || ch.udLen != 2 || ch.chain != "input") {
			t.Errorf("change %d reads back as %+v", i, ch)
		}
		if got := tx.attrs(ch); !bytes.Equal(got, w) {
			t.Errorf("change %d:\n got % x\nwant % x", i, got, w)
		}
		if m := msgs[i+1]; m.Seq != uint32(i+2) || (ch.kind == addRule) != (m.Flags&flagEcho != 0) {
			t.Errorf("change %d: seq %d, flags %#x", i, m.Seq, m.Flags)
		}
	}
	gen := encodeAttrs(func(ae *netlink.AttributeEncoder) { ae.Uint32(attrBatchGenID, 7) })
	if got := b[nfnl.BodyOffset : nfnl.BodyOffset+len(gen)]; !bytes.Equal(got, gen) {
		t.Errorf("BATCH_BEGIN's generation % x, want % x", got, gen)
	}
}

// A batch too big for one chunk is sent as several, each holding whole
// messages, which together are the batch: the messages in order, with
// consecutive sequence numbers.
func TestEncodeChunks(t *testing.T) {
	k := newFake()
	tx := k.conn().BeginAt(7)
	const rules = 20000
	for i := range rules {
		tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs, ID: uint32(i + 1)})
	}
	chunks := tx.encode(100, true)
	if len(chunks) < 3 {
		t.Fatalf("%d chunks for %d rules, want several", len(chunks), rules)
	}
	seq := uint32(100)
	for i, c := range chunks {
		if len(c) > maxChunk {
			t.Errorf("chunk %d holds %d bytes, more than %d", i, len(c), maxChunk)
		}
		msgs, err := nfnl.SplitMessages(c)
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		for _, m := range msgs {
			if m.Seq != seq {
				t.Fatalf("chunk %d: seq %d, want %d", i, m.Seq, seq)
			}
			seq++
		}
	}
	if want := uint32(100 + rules + 2); seq != want {
		t.Errorf("the chunks hold messages up to seq %d, want %d", seq-1, want-1)
	}
	// Every change reads back from its message.
	for i := range rules {
		ch := tx.change(i)
		if ch.kind != addRule || ch.table != "t" || ch.chain != "c" || ch.id != uint32(i+1) || ch.insert || ch.family != expr.FamilyIP {
			t.Fatalf("change %d reads back as %+v", i, ch)
		}
	}
	for _, i := range []int{0, rules / 2, rules - 1} {
		c := tx.change(i)
		ch := &c
		if got := tx.exprs(ch); !bytes.Equal(got, testExprs) {
			t.Errorf("rule %d: expressions % x, want % x", i, got, testExprs)
		}
	}
}

// A first change too big for the first chunk leaves it to BATCH_BEGIN
// alone: the changes read back all the same.
func TestEncodeBigFirstChange(t *testing.T) {
	k := newFake()
	tx := k.conn().BeginAt(7)
	big := bytes.Repeat(testExprs, firstChunk/len(testExprs)+1)
	tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: big, ID: 1})
	tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs, ID: 2})
	if len(tx.firsts) < 2 || tx.firsts[1] != 0 {
		t.Fatalf("chunks' first changes %v: want the first change in the second chunk", tx.firsts)
	}
	for i, want := range [][]byte{big, testExprs} {
		ch := tx.change(i)
		if ch.id != uint32(i+1) || !bytes.Equal(tx.exprs(&ch), want) {
			t.Errorf("change %d reads back as %+v", i, ch)
		}
	}
	// An error for it names it.
	k.fail = map[int]fakeErr{0: {errno: unix.ENOENT, offset: -1}}
	if _, err := tx.Commit(context.Background()); err == nil || !strings.Contains(err.Error(), "add rule ip t c") {
		t.Errorf("error %v, want one about add rule ip t c", err)
	}
}

// Rebase moves the generation the kernel checks the transaction against.
func TestRebase(t *testing.T) {
	for _, tc := range []struct {
		begin, rebase uint32
		ok            bool
	}{{5, 7, true}, {7, 5, false}} {
		k := newFake() // at generation 7
		tx := k.conn().BeginAt(tc.begin)
		tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs})
		tx.Rebase(tc.rebase)
		_, err := tx.Commit(context.Background())
		if ok := err == nil; ok != tc.ok || !ok && !errors.Is(err, ErrConcurrentChange) {
			t.Errorf("begun at %d, rebased to %d, kernel at 7: %v", tc.begin, tc.rebase, err)
		}
	}
}

// A rule placed by rule id is refused, before anything is sent, on kernels
// before 5.1, which would ignore the id and put it at the top.
func TestPositionIDs(t *testing.T) {
	defer func(r func() string) { release = r }(release)
	for _, tc := range []struct {
		release string
		ok      bool
	}{{"4.19.0-27-amd64", false}, {"5.0.21", false}, {"5.1.0", true}, {"6.18.44-fc", true}, {"", true}} {
		release = func() string { return tc.release }
		k := newFake()
		tx := k.conn().BeginAt(7)
		tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs, ID: 1})
		tx.AddRule(expr.FamilyIP, "t", "c", RuleSpec{Exprs: testExprs, Insert: true, PositionID: 1})
		_, err := tx.Commit(context.Background())
		if PositionIDs() != tc.ok || (err == nil) != tc.ok || !tc.ok && (len(k.sent) != 0 || !strings.Contains(err.Error(), "needs Linux 5.1 or later")) {
			t.Errorf("kernel %q: position ids %v, commit %v, %d sent", tc.release, PositionIDs(), err, len(k.sent))
		}
	}
}
