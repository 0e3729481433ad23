package kernel

import (
	"context"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

func TestSkbTruesize(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{36, 1024 + 256},        // an acknowledgement: the smallest head
		{ackSize, 1024 + 256},   // with room for an extended ACK
		{704, 1024 + 256},       // 704 + 320 = 1024
		{705, 2048 + 256},       // one byte more: the next kmalloc size
		{3776, 4096 + 256},      // NLMSG_GOODSIZE on 4 KiB pages
		{3776 + 16, 8192 + 256}, // with its header: nlmsg_new(NLMSG_GOODSIZE)
	} {
		if got := skbTruesize(tc.n); got != tc.want {
			t.Errorf("skbTruesize(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	if sendBufferFor(1000) != 1032 {
		t.Errorf("sendBufferFor(1000) = %d, want 1032", sendBufferFor(1000))
	}
}

// The receive buffer holds an acknowledgement per change and the echoed
// rules, packed into datagrams of notifySize; the arithmetic, by hand.
func TestReplyMemory(t *testing.T) {
	k := newFake()
	tx := k.conn().BeginAt(7)
	tx.AddTable(expr.FamilyInet, "t", nil)
	tx.AddChain(expr.FamilyInet, "t", "c", nil, nil)
	const rules = 1000
	for i := 0; i < rules; i++ {
		tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
	}
	tx.DeleteRule(expr.FamilyInet, "t", "c", 3)
	tx.encode(1, true)
	c := tx.change(2)
	ch := &c
	// What was sent, handle and position, and a counter's two values.
	echo := int(ch.len) + 2*16 + 2*16
	if got := echoSize(tx.msg(ch)); got != echo {
		t.Fatalf("echoSize = %d, want %d", got, echo)
	}
	perDatagram := (notifySize - 1) / echo
	datagrams := (rules + perDatagram - 1) / perDatagram
	want := (rules+5)*skbTruesize(ackSize) + datagrams*notifyTruesize
	if got := tx.replyMemory(); got != want {
		t.Errorf("replyMemory = %d, want %d (%d acks, %d echo datagrams of %d rules)", got, want, rules+5, datagrams, perDatagram)
	}

	res, err := tx.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if k.askRecv != want || k.askSend != len(k.sent[0])+32 {
		t.Errorf("buffers asked: send %d, receive %d; want %d, %d", k.askSend, k.askRecv, len(k.sent[0])+32, want)
	}
	// A batch that starts with a rule brings the new generation back too.
	tx2 := k.conn().BeginAt(8)
	tx2.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
	tx2.encode(1, true)
	if got, want := tx2.replyMemory(), 3*skbTruesize(ackSize)+2*notifyTruesize; got != want {
		t.Errorf("replyMemory of one rule = %d, want %d", got, want)
	}
	if res.Stats.ReceiveEstimate != want || res.Stats.BatchBytes != len(k.sent[0]) || res.Stats.Messages != rules+5 {
		t.Errorf("stats = %+v", res.Stats)
	}
}

// When the system does not allow the buffers a batch needs, Commit says so
// and sends nothing.
func TestBufferLimits(t *testing.T) {
	for _, tc := range []struct {
		maxSend, maxRecv int
		want, hint       string
	}{
		{maxSend: 1000, want: "needs a socket send buffer of", hint: "raise net.core.wmem_max, or run with CAP_NET_ADMIN in the initial user namespace"},
		{maxRecv: 10000, want: "need a socket receive buffer of", hint: "raise net.core.rmem_max, or run with CAP_NET_ADMIN in the initial user namespace"},
	} {
		k := newFake()
		k.maxSend, k.maxRecv = tc.maxSend, tc.maxRecv
		tx := k.conn().BeginAt(7)
		for i := 0; i < 100; i++ {
			tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
		}
		_, err := tx.Commit(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was changed") || !errors.Is(err, errBufferLimit) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
		if ke := (*Error)(nil); !errors.As(err, &ke) {
			t.Errorf("err = %v, want a *Error", err)
		} else if ke.Hint != tc.hint || strings.Contains(err.Error(), "raise") {
			t.Errorf("err = %v with hint %q, want the advice in the hint: %q", err, ke.Hint, tc.hint)
		}
		if len(k.sent) != 0 {
			t.Error("a batch was sent")
		}
	}
}

// After NoHandles the rules go without NLM_F_ECHO, the receive buffer is
// sized for the acknowledgements alone, and the handles are 0.
func TestNoHandles(t *testing.T) {
	k := newFake()
	const rules = 1000
	tx := k.conn().BeginAt(7)
	tx.NoHandles()
	for i := 0; i < rules; i++ {
		tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
	}
	res, err := tx.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (rules + 2) * skbTruesize(ackSize); res.Stats.ReceiveEstimate != want || k.askRecv != want {
		t.Errorf("receive estimate %d (asked %d), want %d", res.Stats.ReceiveEstimate, k.askRecv, want)
	}
	msgs, err := nfnl.SplitMessages(k.sent[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if m.Flags&flagEcho != 0 {
			t.Fatalf("message of type %#x asks for an echo", m.Type)
		}
		// Only the last rule asks for an acknowledgement (and BATCH_BEGIN
		// and BATCH_END).
		if asks, want := m.Flags&flagAck != 0, i == 0 || i >= len(msgs)-2; asks != want {
			t.Fatalf("message %d of %d asks for an acknowledgement: %v", i, len(msgs), asks)
		}
	}
	if len(res.Handles) != rules || countZero(res.Handles) != rules || res.Stats.Echoes != 0 || !res.Committed || res.Generation != 8 {
		t.Errorf("result: %d handles (%d zero), %d echoes, committed %v, generation %d", len(res.Handles), countZero(res.Handles), res.Stats.Echoes, res.Committed, res.Generation)
	}
	if res.Stats.Acks != 3 {
		t.Errorf("%d acknowledgements read, want 3 (BATCH_BEGIN, the last rule, BATCH_END)", res.Stats.Acks)
	}

	// A rule that the kernel refuses is reported although it did not ask
	// for an acknowledgement; so is the last one.
	for _, fail := range []int{rules / 2, rules - 1} {
		k := newFake()
		k.fail = map[int]fakeErr{fail: {errno: unix.EOPNOTSUPP, offset: -1}}
		tx := k.conn().BeginAt(7)
		tx.NoHandles()
		for i := 0; i < rules; i++ {
			tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs, Source: fmt.Sprintf("rule %d", i)})
		}
		_, err := tx.Commit(context.Background())
		var e *Error
		if !errors.As(err, &e) || e.Index != fail || !errors.Is(err, unix.EOPNOTSUPP) {
			t.Errorf("refused rule %d: error %v", fail, err)
		}
	}

	// When the last acknowledgement is lost, the generation says what
	// happened, as with every acknowledgement asked for.
	k = newFake()
	k.dropReplies = true
	tx = k.conn().BeginAt(7)
	tx.NoHandles()
	for i := 0; i < rules; i++ {
		tx.AddRule(expr.FamilyInet, "t", "c", RuleSpec{Exprs: testExprs})
	}
	if res, err := tx.Commit(context.Background()); !errors.Is(err, ErrAcksLost) || !res.Committed {
		t.Errorf("lost replies: committed %v, error %v, want ErrAcksLost", res.Committed, err)
	}
}
