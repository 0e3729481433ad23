package kernel

import (
	"context"
	"encoding/binary"
	"os"
	"slices"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// fakeKernel is a transport with a small nf_tables behind it, which answers
// the way the kernel was seen to answer (see the e2e tests): for a batch,
// the echoes of the rules added (when it commits), then one acknowledgement
// or error per message, in order, BATCH_BEGIN and BATCH_END included; ERESTART for BATCH_BEGIN when the
// generation is stale; NEWGEN for GETGEN. It can lose replies.
type fakeKernel struct {
	gen        uint32
	nextHandle uint64
	sent       [][]byte
	queue      [][]byte
	checks     int // batches without BATCH_END seen

	// Buffer sizes: what was asked for, and the caps of the system.
	askSend, askRecv int
	maxSend, maxRecv int // 0: no cap

	// Behaviour for the next batch.
	fail        map[int]fakeErr // change index → error
	dropReplies bool            // every reply to the batch is lost (the next read fails with ENOBUFS)
	dropEchoes  bool            // the echoes are lost, the acknowledgements are not
	otherCommit bool            // someone else commits right after the batch
	genFails    bool            // GETGEN fails with EPERM
	permDenied  bool            // every request fails with EPERM, as without CAP_NET_ADMIN

	// onRequest answers a request that is not a batch nor GETGEN.
	onRequest func(m nfnl.Message) [][]byte
}

type fakeErr struct {
	errno   unix.Errno
	offset  int // into the failing message; -1 for none
	msg     string
	missing int // a missing attribute's type, 0 for none
}

func newFake() *fakeKernel { return &fakeKernel{gen: 7, nextHandle: 100} }

func (k *fakeKernel) conn() *Conn { return newConn(k) }

func (k *fakeKernel) send(bufs ...[]byte) error {
	b := slices.Concat(bufs...)
	k.sent = append(k.sent, b)
	msgs, err := nfnl.SplitMessages(b)
	if err != nil {
		return err
	}
	if k.permDenied {
		k.queue = append(k.queue, ackMsg(msgs[0], unix.EPERM, -1, ""))
		return nil
	}
	switch {
	case msgs[0].Type == msgBatchBegin:
		k.batch(msgs)
	case msgs[0].Type == nftType(msgGetGen):
		if k.genFails {
			k.queue = append(k.queue, ackMsg(msgs[0], unix.EPERM, -1, ""))
			return nil
		}
		attrs := encodeAttrs(func(ae *netlink.AttributeEncoder) { ae.Uint32(attrGenID, k.gen) })
		k.queue = append(k.queue, nfnl.AppendMessage(nil, nftType(msgNewGen), 0, msgs[0].Seq, 0, 0, attrs))
	case k.onRequest != nil:
		k.queue = append(k.queue, k.onRequest(msgs[0])...)
	default:
		k.queue = append(k.queue, ackMsg(msgs[0], unix.EOPNOTSUPP, -1, "fake: no such request"))
	}
	return nil
}

func (k *fakeKernel) batch(msgs []nfnl.Message) {
	// A batch without BATCH_END (a check) is validated and aborted: no
	// echoes, no new generation, no acknowledgement of an end.
	begin, changes := msgs[0], msgs[1:]
	end := msgs[len(msgs)-1].Type == msgBatchEnd
	if end {
		changes = msgs[1 : len(msgs)-1]
	} else {
		k.checks++
	}
	attrs, _ := nfnl.SplitAttrs(begin.Body(), 0)
	for _, a := range attrs {
		if a.Type == attrBatchGenID {
			if g, _ := nfnl.U32(a.Data); g != 0 && g != k.gen {
				k.queue = append(k.queue, ackMsg(begin, unix.ERESTART, -1, ""))
				return
			}
		}
	}
	var replies [][]byte
	commit := len(k.fail) == 0 && end
	if commit {
		k.gen++
		for _, m := range changes {
			if m.Type != nftType(msgNewRule) {
				continue
			}
			a := encodeAttrs(func(ae *netlink.AttributeEncoder) {
				ae.String(attrRuleTable, "t")
				ae.String(attrRuleChain, "c")
				ae.Uint64(attrRuleHandle, k.nextHandle)
			})
			k.nextHandle++
			if !k.dropEchoes && m.Flags&flagEcho != 0 {
				replies = append(replies, nfnl.AppendMessage(nil, m.Type, m.Flags&^(flagRequest|flagAck|flagEcho), m.Seq, uint8(family(m)), 0, a))
			}
		}
	}
	// The acknowledgements, in order, BATCH_BEGIN's and BATCH_END's
	// included, as recent kernels send them.
	replies = append(replies, ackMsg(begin, 0, -1, ""))
	for i, m := range changes {
		if e, ok := k.fail[i]; ok {
			replies = append(replies, ackMsg(m, e.errno, e.offset, e.msg, e.missing))
		} else if m.Flags&flagAck != 0 {
			// (As the kernel, it acknowledges a change that asks for it,
			// and reports an error whether asked or not.)
			replies = append(replies, ackMsg(m, 0, -1, ""))
		}
	}
	if end {
		replies = append(replies, ackMsg(msgs[len(msgs)-1], 0, -1, ""))
	}
	if k.otherCommit {
		k.gen++
	}
	if k.dropReplies {
		k.queue = append(k.queue, nil) // nil: the read fails with ENOBUFS
		return
	}
	k.queue = append(k.queue, replies...)
}

// ackMsg builds the NLMSG_ERROR the kernel sends for m with NETLINK_CAP_ACK
// and NETLINK_EXT_ACK: the error, m's header, then the extended ACK.
func ackMsg(m nfnl.Message, errno unix.Errno, offset int, msg string, missing ...int) []byte {
	a := nfnl.Ack{Errno: uint32(errno), Request: m.Header, Msg: msg, Offset: offset, Missing: -1}
	if len(missing) > 0 && missing[0] > 0 {
		a.Missing = missing[0]
	}
	return nfnl.AppendError(nil, 4242, a)
}

func (k *fakeKernel) receive(ctx context.Context, deadline time.Time) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(k.queue) == 0 {
		return nil, os.ErrDeadlineExceeded // what waiting on an empty socket ends with
	}
	d := k.queue[0]
	k.queue = k.queue[1:]
	if d == nil {
		return nil, os.NewSyscallError("recvmsg", unix.ENOBUFS)
	}
	return [][]byte{d}, nil
}

func (k *fakeKernel) setBuffers(send, recv int) (int, int, error) {
	k.askSend, k.askRecv = send, recv
	grant := func(want, max int) int {
		v := (want + 1) / 2 * 2 // the kernel doubles half of it
		if max > 0 && v > max {
			v = max
		}
		return v
	}
	return grant(send, k.maxSend), grant(recv, k.maxRecv), nil
}

func (k *fakeKernel) queued() int { return -1 }

func (k *fakeKernel) close() error { return nil }

// testExprs is an opaque expression list: a counter.
var testExprs = func() []byte {
	b, err := expr.Rule{Counter: true}.Lower(expr.FamilyInet)
	if err != nil {
		panic(err)
	}
	return b
}()

// encodeAttrs runs fn (mdlayher's encoder: an independent writer of what
// kernel/ writes by hand) on an attribute encoder with nf_tables' byte order.
func encodeAttrs(fn func(ae *netlink.AttributeEncoder)) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		// Only an attribute above 64 KiB fails; callers check sizes first.
		panic("kernel: encode attributes: " + err.Error())
	}
	return b
}
