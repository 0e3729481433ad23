package kernel

import (
	"os"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// This file sizes the socket buffers of a commit. The kernel processes a
// batch inside the sendmsg that sends it, and queues every reply on the
// socket before sendmsg returns, so the receive buffer must hold all of
// them at once; a reply that does not fit is dropped (and the next read
// fails with ENOBUFS). A send buffer smaller than the batch makes sendmsg
// fail with EMSGSIZE. So both are computed from the batch.

// sendBufferFor returns the send buffer a batch of n bytes needs:
// netlink_sendmsg refuses a message longer than the send buffer less 32
// bytes.
func sendBufferFor(n int) int { return n + 32 }

// The receive buffer counts each queued datagram by its skb->truesize: the
// data area the kernel allocated for it (kmalloc-rounded, with struct
// skb_shared_info at its end) plus struct sk_buff. The model below is an
// upper bound for 64-bit kernels with the default MAX_SKB_FRAGS (17) and
// pages of 4 KiB or more; the e2e tests compare it with what the kernel
// charged (SO_MEMINFO) for 100,000 rules.
const (
	skbShinfo  = 320 // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
	skbStruct  = 256 // SKB_DATA_ALIGN(sizeof(struct sk_buff))
	skbMinHead = 1024
)

// skbTruesize bounds the truesize of an skb allocated for n bytes of
// netlink data (alloc_skb(nlmsg_total_size(...))): heads below skbMinHead
// come from a cache of their own (smaller than that), larger ones are
// rounded up to a power of two.
func skbTruesize(n int) int {
	data := (n+63)&^63 + skbShinfo
	size := skbMinHead
	for size < data {
		size *= 2
	}
	return size + skbStruct
}

// notifySize is NLMSG_GOODSIZE: nf_tables allocates an skb of that much
// netlink payload for every notification, and packs the echoes of a commit
// into such skbs, starting a new one when the next message would fill it.
var notifySize = func() int {
	p := os.Getpagesize()
	if p > 8192 {
		p = 8192
	}
	return p - skbShinfo
}()

// notifyTruesize bounds the truesize of one such datagram: the allocation
// nlmsg_new(NLMSG_GOODSIZE), a little over a page and so two pages. (The
// kernel trims a datagram that is less than about half full before queueing
// it, which makes most of them cost one page; a full one is not trimmed.)
var notifyTruesize = skbTruesize(nfnl.HeaderLen + notifySize)

// ackSize is the size of an acknowledgement: a header and struct nlmsgerr
// (the request's header only, with NETLINK_CAP_ACK), plus room for the
// extended ACK attributes of an error (a message and an offset).
const ackSize = nfnl.HeaderLen + nfnl.ErrLen + 128

// replyMemory estimates the receive buffer the replies to the batch take:
// an acknowledgement per message, and for every rule added, its echo, packed
// by the kernel into datagrams of notifySize; plus the echo of the new
// generation when the first change is a rule. After NoHandles nothing is
// echoed: the acknowledgements only.
func (tx *Tx) replyMemory() int {
	ack := skbTruesize(ackSize)
	total := 2 * ack // BATCH_BEGIN's and BATCH_END's, on kernels that send them
	if tx.noHandle {
		// (An acknowledgement or an error per change at most.)
		return total + tx.n*ack
	}
	notify := notifyTruesize
	fill := 0 // bytes in the echo datagram being filled
	firstRule := false
	tx.eachMessage(func(i int, h nfnl.Header, msg []byte) {
		total += ack
		if h.Type != nftType(msgNewRule) || tx.noHandle {
			return
		}
		firstRule = firstRule || i == 0
		m := echoSize(msg)
		if fill == 0 || fill+m >= notifySize {
			total += notify
			fill = 0
		}
		fill += m
	})
	if firstRule {
		// When the first change asks for an echo, the kernel echoes the
		// new generation too (NFT_MSG_NEWGEN), in a datagram of its own.
		total += notify
	}
	return total
}

// echoSize estimates the size of the kernel's echo of a rule: what was
// sent, plus the handle and position (u64 each, with alignment padding),
// plus what the kernel's dump of an expression adds to what was sent (a
// counter's packets and bytes; a bitwise's operation; 8 bytes for any other
// expression).
func echoSize(msg []byte) int {
	n := len(msg) + 2*16
	var b []byte // the expressions
	if attrs, err := nfnl.SplitAttrs(msg[nfnl.BodyOffset:], 0); err == nil {
		for _, a := range attrs {
			if a.Type == attrRuleExpressions {
				b = a.Data
			}
		}
	}
	names, err := expr.ExprNames(b)
	if err != nil {
		return n + len(b) // not a list: as much again
	}
	for _, name := range names {
		if name == "counter" {
			n += 2 * 16
		} else {
			n += 8
		}
	}
	return n
}
