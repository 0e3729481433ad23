package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/mdlayher/netlink"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// RuleSpec is a rule to add.
type RuleSpec struct {
	// Exprs is the payload of NFTA_RULE_EXPRESSIONS, as expr.Rule.Lower
	// returns it. It is sent as it is.
	Exprs []byte
	// UserData is the rule's NFTA_RULE_USERDATA (at most 256 bytes), or nil.
	UserData []byte
	// Insert puts the rule before the rule whose handle is Position, or at
	// the start of the chain when Position is 0. Without Insert the rule
	// goes after the rule whose handle is Position, or at the end of the
	// chain when Position is 0.
	Insert   bool
	Position uint64
	// ID names the rule inside its transaction (NFTA_RULE_ID), so that a
	// rule added after it in the same transaction can be placed next to it
	// with PositionID before the kernel has given it a handle; 0 sends
	// none. The IDs of one transaction's rules should differ.
	ID uint32
	// PositionID, when not 0, places the rule as Position does, next to the
	// rule of the same transaction whose ID it is (NFTA_RULE_POSITION_ID)
	// rather than next to a handle; Position is then not sent. The kernel
	// finds that rule by going through the transaction, so a transaction
	// that places many rules this way takes time in proportion to its size
	// for each of them.
	PositionID uint32
	// Source says where the rule comes from, for error messages, such as
	// `rules.txt:700: -m conntrack --ctstate NEW -j ACCEPT`.
	Source string
}

// Result is what a committed transaction did.
type Result struct {
	// Committed reports that the kernel applied the transaction. It is
	// also true with ErrAcksLost.
	Committed bool
	// Generation is the generation of the ruleset right after the commit:
	// the one the transaction was begun at, plus one, or what the kernel
	// announced; 0 when unknown (a transaction begun at 0, without an echo
	// of the generation).
	Generation uint32
	// Handles holds the handle of the rule each AddRule added, in the order
	// of the calls (0 when unknown: with ErrAcksLost, or every one after
	// Tx.NoHandles).
	Handles []uint64
	// Stats describes the batch and its replies.
	Stats Stats
}

// Stats describes the batch of a commit and its replies.
type Stats struct {
	Messages   int // in the batch, BATCH_BEGIN and BATCH_END included
	BatchBytes int // the size of the batch: one sendmsg
	// SendBuffer and ReceiveBuffer are the socket's buffer sizes after
	// sizing (SO_SNDBUF and SO_RCVBUF, as the kernel reports them).
	SendBuffer, ReceiveBuffer int
	// ReceiveEstimate is the memory the replies were estimated to take in
	// the receive buffer (see replyMemory).
	ReceiveEstimate int
	// Queued is the memory they took (SK_MEMINFO_RMEM_ALLOC right after the
	// batch was sent, when the kernel has queued every reply), or -1.
	Queued int
	// Datagrams and ReplyBytes count the replies read; Acks the
	// acknowledgements and errors among them, Echoes the echoed rules (none
	// after Tx.NoHandles).
	Datagrams, ReplyBytes, Acks, Echoes int
}

// Tx is a transaction: changes that Commit sends to the kernel as one
// nfnetlink batch, which the kernel applies whole or not at all. The methods
// that add a change (Add…, Delete…, Flush…, Destroy…) only record it;
// every check and every error happens in Commit. A Tx is used once.
type Tx struct {
	c        *Conn
	gen      uint32
	n        int // the changes
	rules    int // the changes that add a rule
	done     bool
	noHandle bool // NoHandles: no NLM_F_ECHO on the rules
	// chunks hold the batch as the changes were added: BATCH_BEGIN, then
	// each change's message, encoded once, when it is added; send writes
	// the sequence numbers and echo flags into them, appends BATCH_END and
	// sends the chunks in one sendmsg (one iovec each). A message never
	// spans two chunks. Chunks, rather than one growing buffer, so that a
	// batch of many megabytes is never copied to grow, nor held twice.
	//
	// The batch is also the record of the changes: what an error or the
	// replies need of a change is read back from its message (Tx.change).
	chunks [][]byte
	firsts []int // the index of the first change of each chunk
	// sources holds RuleSpec.Source of the rules, by change, up to the
	// last one that has one; bases the base chains of AddChain, by change.
	sources []string
	bases   map[int]*BaseChain
	// bad is the first change that cannot be sent, found when it was added.
	bad *Error
	// unasked says which changes encode sent without NLM_F_ACK; nil: none.
	unasked []bool
}

// Chunk sizes: the first chunk is small, for the usual transaction of a
// few messages; each next one twice the last, up to maxChunk.
const (
	firstChunk = 4 << 10
	maxChunk   = 1 << 20
)

// Begin reads the generation of the ruleset and starts a transaction that
// the kernel will refuse (ErrConcurrentChange) if anything changes the
// ruleset before it is committed.
func (c *Conn) Begin(ctx context.Context) (*Tx, error) {
	gen, err := c.Generation(ctx)
	if err != nil {
		return nil, err
	}
	return c.BeginAt(gen), nil
}

// BeginAt starts a transaction that the kernel will refuse if the ruleset
// is not at generation gen when it is committed. Read gen with Generation
// before reading what the transaction is based on. A gen of 0 disables the
// check.
func (c *Conn) BeginAt(gen uint32) *Tx {
	begin := nfnl.Encoder{}
	begin.U32(attrBatchGenID, gen)
	b := nfnl.AppendMessage(make([]byte, 0, firstChunk), msgBatchBegin, flagRequest|flagAck, 0, 0, subsysNftables, begin.B)
	return &Tx{c: c, gen: gen, chunks: [][]byte{b}, firsts: []int{0}}
}

// Generation returns the generation the transaction is checked against.
func (tx *Tx) Generation() uint32 { return tx.gen }

// Rebase has the kernel check the transaction against generation gen
// instead: for a caller that has read again, at gen, what the transaction
// is based on, and found it unchanged.
func (tx *Tx) Rebase(gen uint32) {
	tx.gen = gen
	binary.BigEndian.PutUint32(tx.chunks[0][nfnl.BodyOffset+4:], gen)
}

// NoHandles says the caller does not need the handles of the rules added:
// Commit then sends them without NLM_F_ECHO, so the kernel does not echo
// every rule back (less kernel work, fewer replies to read and a much
// smaller receive buffer), and Result.Handles holds only 0s. The rules are
// added all the same; list the chain to learn their handles.
func (tx *Tx) NoHandles() { tx.noHandle = true }

// Len returns the number of changes recorded.
func (tx *Tx) Len() int { return tx.n }

type changeKind uint8

const (
	addTable changeKind = iota + 1
	addChain
	addRule
	deleteRule
	deleteTable
	flushTable
	deleteChain
	flushChain
	addSet
	addElems
	addObject
	destroyTable
	destroyChain
	deleteObject
	destroyObject
)

// setOrObject reports whether the change adds a set, elements or an
// object: messages whose first attribute is the table and second the
// name of the set or object.
func (k changeKind) setOrObject() bool {
	return k == addSet || k == addElems || k == addObject || k == deleteObject || k == destroyObject
}

// change is one message of the batch, as Tx.change reads it back, or as
// it is about to be encoded.
type change struct {
	kind   changeKind
	family expr.Family
	insert bool // addRule: RuleSpec.Insert
	table  string
	chain  string     // the chain's name; the set's for addSet and addElems, the object's for addObject
	base   *BaseChain // addChain
	// noObject: addObject of an object of no type ctmatch sends.
	noObject bool
	source   string // addRule: RuleSpec.Source
	handle   uint64 // deleteRule: the rule; addRule: RuleSpec.Position

	id, positionID uint32 // addRule: RuleSpec.ID and PositionID; addSet, addElems: the set's id

	exprsLen, udLen int32 // of the rule's expressions, of the userdata
	exprsOff        int32 // where the expressions are in the message

	chunk    int32 // the message's chunk of Tx.chunks
	off, len int32 // of the message in its chunk
}

// AddTable creates table name in family f, with userdata (at most 256 bytes)
// or nil. The table must not exist (NLM_F_EXCL): an existing table is never
// modified.
func (tx *Tx) AddTable(f expr.Family, name string, userdata []byte) {
	tx.add(change{kind: addTable, family: f, table: name}, nil, userdata)
}

// AddChain creates chain name in table of family f: a base chain when base
// is not nil, a regular chain otherwise; userdata is at most 256 bytes, or
// nil. The chain must not exist (NLM_F_EXCL).
func (tx *Tx) AddChain(f expr.Family, table, name string, base *BaseChain, userdata []byte) {
	var b *BaseChain
	if base != nil {
		bc := *base
		b = &bc
	}
	tx.add(change{kind: addChain, family: f, table: table, chain: name, base: b}, nil, userdata)
}

// AddRule adds a rule to chain in table of family f. Commit's Result
// carries its handle. The rule's expressions and userdata are copied into
// the batch: the caller may reuse their bytes.
func (tx *Tx) AddRule(f expr.Family, table, chain string, r RuleSpec) {
	tx.add(change{kind: addRule, family: f, table: table, chain: chain, insert: r.Insert, handle: r.Position, id: r.ID, positionID: r.PositionID, source: r.Source},
		r.Exprs, r.UserData)
}

// DeleteRule deletes the rule with handle from chain in table of family f.
func (tx *Tx) DeleteRule(f expr.Family, table, chain string, handle uint64) {
	tx.add(change{kind: deleteRule, family: f, table: table, chain: chain, handle: handle}, nil, nil)
}

// DeleteTable deletes table name of family f with everything in it
// (NFT_MSG_DELTABLE, as nft 1.0.6 sends for `delete table`). The table must
// exist.
func (tx *Tx) DeleteTable(f expr.Family, name string) {
	tx.add(change{kind: deleteTable, family: f, table: name}, nil, nil)
}

// DestroyTable deletes table name of family f, as DeleteTable does, and
// does nothing when there is no such table (NFT_MSG_DESTROYTABLE): Linux
// 6.3 or later; older kernels refuse the transaction (EOPNOTSUPP). (nft
// 1.0.6 has no `destroy`; later versions send this message for it.)
func (tx *Tx) DestroyTable(f expr.Family, name string) {
	tx.add(change{kind: destroyTable, family: f, table: name}, nil, nil)
}

// DestroyChain deletes chain name of table in family f, as DeleteChain
// does, and does nothing when there is no such chain
// (NFT_MSG_DESTROYCHAIN): Linux 6.3 or later, as DestroyTable.
func (tx *Tx) DestroyChain(f expr.Family, table, name string) {
	tx.add(change{kind: destroyChain, family: f, table: table, chain: name}, nil, nil)
}

// FlushTable deletes every rule of every chain of table name of family f,
// keeping its chains, sets and objects: NFT_MSG_DELRULE naming only the
// table, what nft 1.0.6 sends for `flush table`.
func (tx *Tx) FlushTable(f expr.Family, name string) {
	tx.add(change{kind: flushTable, family: f, table: name}, nil, nil)
}

// DeleteChain deletes chain name of table in family f (NFT_MSG_DELCHAIN).
// The kernel refuses (EBUSY) a chain that holds rules, or that a rule jumps
// to, unless the same transaction first removes them (FlushChain, and the
// jumping rules).
func (tx *Tx) DeleteChain(f expr.Family, table, name string) {
	tx.add(change{kind: deleteChain, family: f, table: table, chain: name}, nil, nil)
}

// FlushChain deletes every rule of chain name of table in family f:
// NFT_MSG_DELRULE naming the table and the chain, as nft sends for `flush
// chain`.
func (tx *Tx) FlushChain(f expr.Family, table, name string) {
	tx.add(change{kind: flushChain, family: f, table: table, chain: name}, nil, nil)
}

// add encodes the change's message at the end of the batch (its sequence
// number and echo flag are written when it is sent), and checks it: the
// first change that cannot be sent is kept, for Commit to refuse the
// transaction with. A rule's expressions and userdata are copied into the
// batch and not kept otherwise.
func (tx *Tx) add(ch change, exprs, userdata []byte) {
	i := tx.n
	tx.n++
	if ch.kind == addRule {
		tx.rules++
	}
	// (Lengths past 2 GiB are kept as 2 GiB - 1: check refuses them all the
	// same.)
	ch.exprsLen, ch.udLen = int32(min(len(exprs), math.MaxInt32)), int32(min(len(userdata), math.MaxInt32))
	if s := ch.check(); s != "" && tx.bad == nil {
		tx.bad = &Error{Op: ch.op(), Object: ch.object(), Source: ch.source, Index: i, Err: errors.New(s)}
	}
	if ch.positionID != 0 && !PositionIDs() && tx.bad == nil {
		tx.bad = &Error{Op: ch.op(), Object: ch.object(), Source: ch.source, Index: i, Err: errNoPositionID, Reason: fmt.Sprintf(
			"placing a rule by the id of another rule of the transaction needs Linux 5.1 or later (NFTA_RULE_POSITION_ID; older kernels ignore it and would put the rule at the top): this kernel is %s; nothing was changed", Release())}
	}
	if len(exprs) > maxAttrPayload || len(userdata) > maxAttrPayload {
		exprs, userdata = nil, nil // (never sent: check refused them)
	}
	if ch.source != "" {
		tx.sources = append(tx.sources, make([]string, i+1-len(tx.sources))...)
		tx.sources[i] = ch.source
	}
	if ch.base != nil {
		if tx.bases == nil {
			tx.bases = map[int]*BaseChain{}
		}
		tx.bases[i] = ch.base
	}
	// An upper bound of the message's size: headers, names, position and
	// ids, a base chain's hook, type and policy.
	need := 160 + len(ch.table) + len(ch.chain) + len(exprs) + len(userdata)
	if ch.base != nil {
		need += len(ch.base.Type) + len(ch.base.Device)
	}
	last := tx.chunks[len(tx.chunks)-1]
	if cap(last)-len(last) < need {
		size := min(2*cap(last), maxChunk)
		tx.chunks = append(tx.chunks, make([]byte, 0, max(size, need)))
		tx.firsts = append(tx.firsts, i)
	}
	k := len(tx.chunks) - 1
	tx.chunks[k] = ch.appendMessage(tx.chunks[k], exprs, userdata)
}

// change reads change i back from its message in the batch.
func (tx *Tx) change(i int) change {
	// The last chunk whose first change is i or before (a chunk that holds
	// no change, such as the first when the first change did not fit in
	// it, has the first change of the next).
	k, _ := slices.BinarySearch(tx.firsts, i+1)
	k--
	b := tx.chunks[k]
	off := 0
	if k == 0 {
		off = msgLen(b) // BATCH_BEGIN
	}
	for j := tx.firsts[k]; j < i; j++ {
		off += nfnl.Align(msgLen(b[off:]))
	}
	h, _ := nfnl.DecodeHeader(b[off:])
	m := b[off : off+int(h.Len)]
	ch := change{family: expr.Family(m[nfnl.HeaderLen]), chunk: int32(k), off: int32(off), len: int32(h.Len)}
	if i < len(tx.sources) {
		ch.source = tx.sources[i]
	}
	ch.base = tx.bases[i]
	flags := h.Flags
	switch h.Type {
	case nftType(msgNewTable):
		ch.kind = addTable
	case nftType(msgNewChain):
		ch.kind = addChain
	case nftType(msgNewRule):
		ch.kind, ch.insert = addRule, flags&flagAppend == 0
	case nftType(msgDelRule):
		ch.kind = deleteRule // or a flush: see below
	case nftType(msgDelTable):
		ch.kind = deleteTable
	case nftType(msgDelChain):
		ch.kind = deleteChain
	case nftType(msgNewSet):
		ch.kind = addSet
	case nftType(msgNewSetElem):
		ch.kind = addElems
	case nftType(msgNewObj):
		ch.kind = addObject
	case nftType(msgDestroyTable):
		ch.kind = destroyTable
	case nftType(msgDestroyChain):
		ch.kind = destroyChain
	case nftType(msgDelObj):
		ch.kind = deleteObject
	case nftType(msgDestroyObj):
		ch.kind = destroyObject
	}
	attrs, _ := nfnl.SplitAttrs(m[nfnl.BodyOffset:], nfnl.BodyOffset)
	for _, a := range attrs {
		switch {
		case ch.kind.setOrObject() && a.Type == 1: // NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE
			ch.table = nfnl.String(a.Data)
		case ch.kind.setOrObject() && a.Type == 2: // NFTA_SET_NAME, NFTA_SET_ELEM_LIST_SET, NFTA_OBJ_NAME
			ch.chain = nfnl.String(a.Data)
		case ch.kind == addSet && a.Type == attrSetID, ch.kind == addElems && a.Type == attrElemListSetID:
			ch.id, _ = nfnl.U32(a.Data)
		case a.Type == attrTableName && (ch.kind == addTable || ch.kind == deleteTable || ch.kind == destroyTable),
			a.Type == attrChainTable && (ch.kind == addChain || ch.kind == deleteChain || ch.kind == destroyChain),
			a.Type == attrRuleTable && (ch.kind == addRule || ch.kind == deleteRule):
			ch.table = nfnl.String(a.Data)
		case a.Type == attrChainName && (ch.kind == addChain || ch.kind == deleteChain || ch.kind == destroyChain), a.Type == attrRuleChain && (ch.kind == addRule || ch.kind == deleteRule):
			ch.chain = nfnl.String(a.Data)
		case a.Type == attrTableUserdata && ch.kind == addTable, a.Type == attrChainUserdata && ch.kind == addChain,
			a.Type == attrRuleUserdata && ch.kind == addRule:
			ch.udLen = int32(len(a.Data))
		case a.Type == attrRuleExpressions && ch.kind == addRule:
			ch.exprsOff, ch.exprsLen = int32(a.Off+4), int32(len(a.Data))
		case a.Type == attrRulePosition && ch.kind == addRule, a.Type == attrRuleHandle && ch.kind == deleteRule:
			ch.handle, _ = nfnl.U64(a.Data)
		case a.Type == attrRulePositionID && ch.kind == addRule:
			ch.positionID, _ = nfnl.U32(a.Data)
		case a.Type == attrRuleID && ch.kind == addRule:
			ch.id, _ = nfnl.U32(a.Data)
		}
	}
	if ch.kind == deleteRule && ch.handle == 0 {
		ch.kind = flushChain
		if ch.chain == "" {
			ch.kind = flushTable
		}
	}
	return ch
}

// eachMessage calls fn with the header and the bytes of every change's
// message, in order.
func (tx *Tx) eachMessage(fn func(i int, h nfnl.Header, m []byte)) {
	i := 0
	for k, b := range tx.chunks {
		off := 0
		if k == 0 {
			off = msgLen(b) // BATCH_BEGIN
		}
		for off < len(b) {
			h, _ := nfnl.DecodeHeader(b[off:])
			fn(i, h, b[off:off+int(h.Len)])
			off += nfnl.Align(int(h.Len))
			i++
		}
	}
}

// msgLen returns the length of the message of the batch that b starts with.
func msgLen(b []byte) int {
	h, _ := nfnl.DecodeHeader(b)
	return int(h.Len)
}

// op names the change's operation, as in error messages.
func (ch *change) op() string {
	switch ch.kind {
	case addTable:
		return "add table"
	case addChain:
		return "add chain"
	case addRule:
		if ch.insert {
			return "insert rule"
		}
		return "add rule"
	case deleteRule:
		return "delete rule"
	case deleteTable:
		return "delete table"
	case flushTable:
		return "flush table"
	case deleteChain:
		return "delete chain"
	case flushChain:
		return "flush chain"
	case addSet:
		return "add set"
	case addElems:
		return "add elements"
	case addObject:
		return "add ct helper"
	case destroyTable:
		return "destroy table"
	case destroyChain:
		return "destroy chain"
	case deleteObject:
		return "delete ct helper"
	case destroyObject:
		return "destroy ct helper"
	}
	return "change"
}

// object names the change's object: "inet fw", "inet fw input".
func (ch *change) object() string {
	s := ch.family.String() + " " + ch.table
	switch ch.kind {
	case addChain, addRule, deleteChain, flushChain, destroyChain:
		s += " " + ch.chain
	case addSet, addElems:
		s += " set " + ch.chain
	case addObject, deleteObject, destroyObject:
		s += " " + ch.chain
	case deleteRule:
		s += " " + ch.chain + " handle " + strconv.FormatUint(ch.handle, 10)
	}
	return s
}

// check reports what makes the change impossible to send.
func (ch *change) check() string {
	if ch.family == 0 {
		return "no table family"
	}
	if s := checkName("table", ch.table); s != "" {
		return s
	}
	switch ch.kind {
	case addTable, deleteTable, flushTable, destroyTable:
	case addSet, addElems:
		if s := checkName("set", ch.chain); s != "" {
			return s
		}
	case addObject, deleteObject, destroyObject:
		if s := checkName("object", ch.chain); s != "" {
			return s
		}
		if ch.noObject {
			return "an object of no type: only ct helpers are supported"
		}
	default:
		if s := checkName("chain", ch.chain); s != "" {
			return s
		}
	}
	if ch.kind != addRule && ch.udLen > expr.MaxUserData {
		return fmt.Sprintf("userdata of %d bytes (at most %d)", ch.udLen, expr.MaxUserData)
	}
	switch ch.kind {
	case addChain:
		if b := ch.base; b != nil {
			if b.Hook < HookPrerouting || b.Hook > HookIngress {
				return "base chain with hook " + b.Hook.String()
			}
			if b.Hook == HookIngress && (b.Device == "" || ch.family != expr.FamilyInet) {
				return "an ingress chain needs a device, in an inet table"
			}
			if b.Hook != HookIngress && b.Device != "" {
				return "a device on hook " + b.Hook.String() + " (only ingress takes one)"
			}
			if s := checkName("device", b.Device); b.Device != "" && s != "" {
				return s
			}
			if b.Policy != PolicyAccept && b.Policy != PolicyDrop {
				return "base chain with " + b.Policy.String()
			}
			if s := checkName("chain type", b.Type); b.Type != "" && s != "" {
				return s
			}
		}
	case addRule:
		if ch.udLen > expr.MaxUserData {
			return fmt.Sprintf("rule userdata of %d bytes (at most %d)", ch.udLen, expr.MaxUserData)
		}
		if ch.exprsLen > maxAttrPayload {
			return fmt.Sprintf("rule expressions of %d bytes (at most %d)", ch.exprsLen, maxAttrPayload)
		}
	case deleteRule:
		if ch.handle == 0 {
			return "rule handle 0"
		}
	}
	return ""
}

// maxAttrPayload is the largest payload of a netlink attribute (its length
// is 16 bits, header included).
const maxAttrPayload = 1<<16 - 1 - 4

func checkName(what, s string) string {
	switch {
	case s == "":
		return "empty " + what + " name"
	case len(s) > nameMaxLen:
		return fmt.Sprintf("%s name of %d bytes (at most %d)", what, len(s), nameMaxLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return fmt.Sprintf("%s name %q holds a NUL byte", what, s)
		}
	}
	return ""
}

// appendMessage appends the change's message to b, with sequence number 0
// and NLM_F_ECHO on a rule (send sets both). A rule's expressions
// (at most maxAttrPayload bytes: check refuses more before anything is sent)
// are copied in as they are, and ch.exprsOff set (from the message's
// start).
func (ch *change) appendMessage(b, exprs, userdata []byte) []byte {
	start := len(b)
	var typ, flags uint16
	e := nfnl.Encoder{B: nfnl.AppendMessage(b, 0, 0, 0, uint8(ch.family), 0, nil)}
	switch ch.kind {
	case addTable:
		typ, flags = nftType(msgNewTable), flagRequest|flagAck|flagCreate|flagExcl
		e.String(attrTableName, ch.table)
		if userdata != nil {
			e.Bytes(attrTableUserdata, userdata)
		}
	case addChain:
		typ, flags = nftType(msgNewChain), flagRequest|flagAck|flagCreate|flagExcl
		e.String(attrChainTable, ch.table)
		e.String(attrChainName, ch.chain)
		if bc := ch.base; bc != nil {
			// In the order nft 1.0.6 sends them: type, policy, hook.
			e.String(attrChainType, bc.TypeName())
			policy := uint32(nfAccept)
			if bc.Policy == PolicyDrop {
				policy = nfDrop
			}
			e.U32(attrChainPolicy, policy)
			hook := e.Nest(attrChainHook)
			e.U32(attrHookNum, uint32(bc.Hook-1))
			e.U32(attrHookPriority, uint32(bc.Priority))
			if bc.Device != "" {
				e.String(attrHookDev, bc.Device)
			}
			e.End(hook)
		}
		if userdata != nil {
			e.Bytes(attrChainUserdata, userdata)
		}
	case addRule:
		typ, flags = nftType(msgNewRule), flagRequest|flagAck|flagEcho|flagCreate
		if !ch.insert {
			flags |= flagAppend
		}
		e.String(attrRuleTable, ch.table)
		e.String(attrRuleChain, ch.chain)
		if ch.positionID != 0 {
			e.U32(attrRulePositionID, ch.positionID)
		} else if ch.handle != 0 {
			e.U64(attrRulePosition, ch.handle)
		}
		e.Bytes(attrRuleExpressions|netlink.Nested, exprs)
		if userdata != nil {
			e.Bytes(attrRuleUserdata, userdata)
		}
		if ch.id != 0 {
			e.U32(attrRuleID, ch.id)
		}
	case deleteRule:
		typ, flags = nftType(msgDelRule), flagRequest|flagAck
		e.String(attrRuleTable, ch.table)
		e.String(attrRuleChain, ch.chain)
		e.U64(attrRuleHandle, ch.handle)
	case deleteTable:
		typ, flags = nftType(msgDelTable), flagRequest|flagAck
		e.String(attrTableName, ch.table)
	case flushTable:
		typ, flags = nftType(msgDelRule), flagRequest|flagAck
		e.String(attrRuleTable, ch.table)
	case destroyTable:
		typ, flags = nftType(msgDestroyTable), flagRequest|flagAck
		e.String(attrTableName, ch.table)
	case destroyChain:
		typ, flags = nftType(msgDestroyChain), flagRequest|flagAck
		e.String(attrChainTable, ch.table)
		e.String(attrChainName, ch.chain)
	case deleteChain:
		typ, flags = nftType(msgDelChain), flagRequest|flagAck
		e.String(attrChainTable, ch.table)
		e.String(attrChainName, ch.chain)
	case flushChain:
		typ, flags = nftType(msgDelRule), flagRequest|flagAck
		e.String(attrRuleTable, ch.table)
		e.String(attrRuleChain, ch.chain)
	case addSet, addElems, addObject, deleteObject, destroyObject:
		// The attributes after the table were encoded by AddSet,
		// AddElements, AddObject and deleteObject (in exprs).
		switch ch.kind {
		case addSet:
			typ, flags = nftType(msgNewSet), flagRequest|flagAck|flagCreate
		case addElems:
			typ, flags = nftType(msgNewSetElem), flagRequest|flagAck|flagCreate
		case deleteObject:
			typ, flags = nftType(msgDelObj), flagRequest|flagAck
		case destroyObject:
			typ, flags = nftType(msgDestroyObj), flagRequest|flagAck
		default:
			typ, flags = nftType(msgNewObj), flagRequest|flagAck|flagCreate|flagExcl
		}
		e.String(1, ch.table) // NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE
		e.B = append(e.B, exprs...)
	default:
		panic("kernel: unknown change")
	}
	nfnl.Header{Len: uint32(len(e.B) - start), Type: typ, Flags: flags}.Put(e.B[start:])
	return e.B
}

// msg returns the change's message in the batch.
func (tx *Tx) msg(ch *change) []byte {
	return tx.chunks[ch.chunk][ch.off : ch.off+ch.len]
}

// attrs returns the attributes of the change's message in the batch.
func (tx *Tx) attrs(ch *change) []byte {
	return tx.msg(ch)[nfnl.BodyOffset:]
}

// exprs returns a rule's expressions in the batch.
func (tx *Tx) exprs(ch *change) []byte {
	return tx.msg(ch)[ch.exprsOff : ch.exprsOff+ch.exprsLen]
}

// encode finishes the batch in Tx.chunks: BATCH_BEGIN (with the
// generation), one message per change, BATCH_END, with consecutive
// sequence numbers from seq0, each with NLM_F_ACK, and NLM_F_ECHO on the
// rules unless NoHandles. After NoHandles, the rules but the last change
// go without NLM_F_ACK (Tx.unasked says which), as nft sends them: the
// kernel reports a change it refuses all the same, and its replies come in
// the order of the changes, so the acknowledgement of the last change is
// the last reply to any change. (It saves the kernel an acknowledgement
// per rule, and Commit the reading of them.) Kernels since 6.10 or so
// acknowledge BATCH_BEGIN and BATCH_END too when asked, older ones never
// do: Commit waits for the replies to the changes only, and takes those
// two when they come. Without end (a check),
// the batch stops after the last change, as nft --check sends it: the
// kernel validates every change and then, seeing no BATCH_END, aborts the
// transaction instead of committing it. The batch returned (its chunks, to
// be sent in this order) shares Tx.chunks.
func (tx *Tx) encode(seq0 uint32, end bool) [][]byte {
	begin, _ := nfnl.DecodeHeader(tx.chunks[0])
	begin.Seq = seq0
	begin.Put(tx.chunks[0])
	tx.unasked = nil
	tx.eachMessage(func(i int, h nfnl.Header, m []byte) {
		h.Seq = seq0 + 1 + uint32(i)
		if h.Type == nftType(msgNewRule) {
			flags := h.Flags | flagAck
			if tx.noHandle {
				flags &^= flagEcho
				if i < tx.n-1 {
					if tx.unasked == nil {
						tx.unasked = make([]bool, tx.n)
					}
					flags &^= flagAck
					tx.unasked[i] = true
				}
			} else {
				flags |= flagEcho
			}
			h.Flags = flags
		}
		h.Put(m)
	})
	out := slices.Clone(tx.chunks)
	if end {
		k := len(out) - 1
		out[k] = nfnl.AppendMessage(out[k], msgBatchEnd, flagRequest|flagAck, seq0+uint32(tx.n)+1, 0, subsysNftables, nil)
	}
	return out
}

// replyIdle is how long Commit waits for the next reply before it takes the
// rest as lost. The kernel processes a batch inside the sendmsg that sends
// it, so every reply is queued before sendmsg returns: any wait at all
// means something is wrong.
var replyIdle = 10 * time.Second

// drainIdle is how long draining waits for one more queued reply.
var drainIdle = 200 * time.Millisecond

// genTimeout bounds the generation request that decides the outcome of a
// commit whose replies were lost.
var genTimeout = 5 * time.Second

// replies is the state of the replies to one batch.
type replies struct {
	check     bool // the batch has no BATCH_END: nothing acknowledges it
	seq0      uint32
	n         int
	got       []bool // an ack or an error came for change i
	unasked   []bool // change i was sent without NLM_F_ACK (nil: none)
	errs      map[int]errorReply
	batchErr  *errorReply // an error for BATCH_BEGIN (or BATCH_END): the whole batch
	remaining int
	handles   []uint64 // echoed handle per change
	gen       uint32   // the generation the kernel announced after the commit, if any

	beginAcked, endAcked bool
	stats                *Stats
}

// done reports whether every reply that was asked for has come: an error
// for the whole batch; or an acknowledgement or error for every change, and
// BATCH_END's acknowledgement when the kernel acknowledged BATCH_BEGIN (it
// acknowledges both, BATCH_END last, when it supports that and the batch
// succeeds).
func (r *replies) done() bool {
	if r.batchErr != nil {
		return true
	}
	if r.check {
		return r.remaining == 0
	}
	return r.remaining == 0 && (!r.beginAcked || r.endAcked || len(r.errs) > 0)
}

// take processes one datagram.
func (r *replies) take(d []byte) error {
	r.stats.Datagrams++
	r.stats.ReplyBytes += len(d)
	return nfnl.EachMessage(d, func(m nfnl.Message) error {
		d := m.Seq - r.seq0 // 0 for BATCH_BEGIN, n+1 for BATCH_END
		if d > uint32(r.n)+1 {
			return nil // a late reply to something earlier
		}
		i := int(d) - 1
		switch {
		case m.Type == nfnl.TypeError:
			e, err := parseError(m.Flags, m.Data)
			if err != nil {
				return err
			}
			r.stats.Acks++
			if i < 0 || i >= r.n {
				switch {
				case e.errno != 0 && r.batchErr == nil:
					r.batchErr = &e
				case e.errno == 0 && i < 0:
					r.beginAcked = true
				case e.errno == 0:
					r.endAcked = true
				}
				return nil
			}
			if e.errno != 0 {
				if _, dup := r.errs[i]; !dup {
					r.errs[i] = e
				}
			}
			if !r.got[i] {
				r.got[i] = true
				if r.unasked == nil || !r.unasked[i] {
					r.remaining--
				}
			}
		case m.Type == nftType(msgNewRule) && i >= 0 && i < r.n:
			if h, ok := ruleHandle(m); ok {
				r.handles[i] = h
				r.stats.Echoes++
			}
		case m.Type == nftType(msgNewGen):
			// When the batch's first change asked for an echo, the kernel
			// echoes the new generation too, with that change's sequence
			// number.
			if g, ok := genID(m); ok {
				r.gen = g
			}
		}
		return nil
	})
}

// Commit sends the transaction as one batch and reads every reply. On
// success every change was applied, and Result.Handles holds the handles of
// the rules added. On failure nothing was applied (the kernel applies a
// batch whole or not at all), and the error names the change the kernel
// refused, or says the ruleset changed since the transaction began
// (ErrConcurrentChange). When replies are lost after the batch was sent
// (the receive buffer overran, or ctx ended), Commit reads what is still
// queued and then the generation: unchanged, the transaction was refused
// (an error, nothing changed); moved by exactly one, it was applied
// (ErrAcksLost, Committed is true, the handles whose echo was lost are 0);
// otherwise ErrOutcomeUnknown.
//
// Commit sizes the socket buffers first (see Stats) and refuses, before
// sending anything, a batch the system's limits cannot carry.
func (tx *Tx) Commit(ctx context.Context) (Result, error) {
	if tx.done {
		return Result{}, &Error{Op: "commit", Index: -1, Err: errors.New("the transaction was already committed")}
	}
	tx.done = true
	res, err := tx.send(ctx, false)
	tx.chunks = nil // the batch is not needed any more: let it go
	return res, err
}

// Check has the kernel validate the transaction without applying it, as
// nft --check does: the batch is sent without its end (BATCH_END), so the
// kernel checks every change — tables, chains and handles that must exist,
// every expression of every rule, the generation — and then aborts the
// transaction. It returns nil when the kernel took every change, or the
// error Commit would have returned. Nothing is changed either way, no
// handle is assigned, and the generation does not move.
//
// The transaction stays usable: Commit may follow a Check. (Between the
// two the ruleset may change; a transaction begun at a generation is then
// refused by Commit with ErrConcurrentChange.)
func (tx *Tx) Check(ctx context.Context) error {
	if tx.done {
		return &Error{Op: "check", Index: -1, Err: errors.New("the transaction was already committed")}
	}
	_, err := tx.send(ctx, true)
	return err
}

// send sends the batch and reads the replies: for Commit, or for Check
// (check set: no BATCH_END, nothing is committed).
func (tx *Tx) send(ctx context.Context, check bool) (Result, error) {
	if tx.bad != nil {
		return Result{}, tx.bad
	}
	if tx.n == 0 {
		if check {
			return Result{}, nil
		}
		return Result{Committed: true, Generation: tx.gen}, nil
	}
	c := tx.c
	c.mu.Lock()
	defer c.mu.Unlock()

	n := tx.n
	seq0 := c.nextSeq(n + 2)
	batch := tx.encode(seq0, !check)
	size := 0
	for _, b := range batch {
		size += len(b)
	}
	st := Stats{Messages: n + 2, BatchBytes: size, Queued: -1}
	if check {
		st.Messages = n + 1
	}
	st.ReceiveEstimate = tx.replyMemory()
	var err error
	st.SendBuffer, st.ReceiveBuffer, err = c.t.setBuffers(sendBufferFor(size), st.ReceiveEstimate)
	if err != nil {
		return Result{Stats: st}, tx.batchError(&Error{Err: err, Reason: "cannot size the socket buffers: " + err.Error()})
	}
	if st.SendBuffer < sendBufferFor(size) {
		return Result{Stats: st}, tx.batchError(&Error{Err: errBufferLimit, Reason: fmt.Sprintf(
			"the batch of %d bytes needs a socket send buffer of %d bytes, and the system allows %d; nothing was changed",
			size, sendBufferFor(size), st.SendBuffer),
			Hint: "raise net.core.wmem_max, or run with CAP_NET_ADMIN in the initial user namespace"})
	}
	if st.ReceiveBuffer < st.ReceiveEstimate {
		return Result{Stats: st}, tx.batchError(&Error{Err: errBufferLimit, Reason: fmt.Sprintf(
			"the kernel's replies to %d changes need a socket receive buffer of %d bytes, and the system allows %d; nothing was changed",
			n, st.ReceiveEstimate, st.ReceiveBuffer),
			Hint: "raise net.core.rmem_max, or run with CAP_NET_ADMIN in the initial user namespace"})
	}
	if err := ctx.Err(); err != nil {
		return Result{Stats: st}, tx.batchError(&Error{Err: err})
	}
	if err := c.t.send(batch...); err != nil {
		return Result{Stats: st}, tx.batchError(&Error{Err: err, Reason: "send: " + err.Error() + "; nothing was changed"})
	}
	st.Queued = c.t.queued()

	r := &replies{check: check, seq0: seq0, n: n, got: make([]bool, n), unasked: tx.unasked, errs: map[int]errorReply{}, remaining: n, handles: make([]uint64, n), stats: &st}
	for _, u := range tx.unasked {
		if u {
			r.remaining--
		}
	}
	var lost error
	for !r.done() && lost == nil {
		ds, err := c.t.receive(ctx, time.Now().Add(replyIdle))
		for _, d := range ds {
			if err := r.take(d); err != nil && lost == nil {
				lost = err
			}
		}
		if err != nil && lost == nil {
			lost = err
		}
	}
	if lost != nil {
		tx.drain(ctx, r)
	}
	res := Result{Stats: st}
	if r.batchErr != nil || len(r.errs) > 0 {
		return res, tx.refused(r)
	}
	if check {
		if r.done() {
			return res, nil
		}
		return res, tx.batchError(&Error{kind: ErrOutcomeUnknown, Err: lost, Reason: fmt.Sprintf(
			"check outcome unknown: the kernel's replies were lost (%v), so whether it takes every change is unknown; nothing was changed (a check never changes anything)", lost)})
	}
	if r.done() {
		res.Committed, res.Generation = true, r.gen
		if res.Generation == 0 && tx.gen != 0 {
			res.Generation = nextGen(tx.gen)
		}
		res.Handles = tx.ruleHandles(r)
		if missing := countZero(res.Handles); missing > 0 && !tx.noHandle {
			return res, tx.batchError(&Error{kind: ErrAcksLost, Err: lost, Reason: fmt.Sprintf(
				"committed (acknowledgements lost): the kernel applied every change, but its echo of %d added rules was lost, so their handles are unknown", missing)})
		}
		return res, nil
	}
	return tx.lostOutcome(ctx, r, res, lost)
}

// errBufferLimit says a socket buffer cannot be made large enough.
var errBufferLimit = errors.New("socket buffer limit")

// drain reads what is still queued after a reply was lost (an overrun of the
// receive buffer loses some replies, not the ones queued before it), so
// that the accounting is as complete as it can be and the socket is empty
// for the next request.
func (tx *Tx) drain(ctx context.Context, r *replies) {
	dctx := context.WithoutCancel(ctx)
	for errs := 0; errs < 3 && !r.done(); {
		ds, err := tx.c.t.receive(dctx, time.Now().Add(drainIdle))
		for _, d := range ds {
			r.take(d)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		if err != nil {
			errs++
		}
	}
}

// lostOutcome decides what happened to a batch whose replies were lost,
// from the generation. Unchanged: the batch was refused. Moved by exactly
// one: it was committed (or, in a rare race, it was refused and someone
// else committed one transaction right after it, which this cannot tell
// apart). Moved by more: unknown.
func (tx *Tx) lostOutcome(ctx context.Context, r *replies, res Result, lost error) (Result, error) {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), genTimeout)
	defer cancel()
	gen, err := tx.c.generation(gctx)
	if err != nil {
		return res, tx.batchError(&Error{kind: ErrOutcomeUnknown, Err: lost, Reason: fmt.Sprintf(
			"outcome unknown: the kernel's replies were lost (%v), and reading the generation failed too (%v)", lost, err)})
	}
	if tx.gen != 0 && gen == tx.gen {
		// The kernel processes a batch inside the sendmsg that sent it, and
		// a commit always moves the generation: this one was refused.
		return res, tx.batchError(&Error{Err: lost, Reason: fmt.Sprintf(
			"the kernel's replies were lost (%v), and the generation is still %d, so the kernel refused the transaction (its reason was lost with the replies); nothing was changed",
			lost, gen)})
	}
	if tx.gen != 0 && gen == nextGen(tx.gen) {
		res.Committed, res.Generation = true, gen
		res.Handles = tx.ruleHandles(r)
		reason := fmt.Sprintf("committed (acknowledgements lost): the kernel's replies were lost (%v), but the generation moved from %d to %d, so the transaction was applied", lost, tx.gen, gen)
		if !tx.noHandle {
			reason += fmt.Sprintf("; %d rule handles are unknown", countZero(res.Handles))
		}
		return res, tx.batchError(&Error{kind: ErrAcksLost, Err: lost, Reason: reason})
	}
	return res, tx.batchError(&Error{kind: ErrOutcomeUnknown, Err: lost, Reason: fmt.Sprintf(
		"outcome unknown: the kernel's replies were lost (%v), and the generation moved from %d to %d",
		lost, tx.gen, gen), Hint: "list the ruleset to see whether the changes are there"})
}

func nextGen(g uint32) uint32 {
	g++
	if g == 0 {
		g++
	}
	return g
}

func countZero(hs []uint64) int {
	n := 0
	for _, h := range hs {
		if h == 0 {
			n++
		}
	}
	return n
}

// ruleHandles returns the echoed handles of the rules added, in call order.
func (tx *Tx) ruleHandles(r *replies) []uint64 {
	out := make([]uint64, 0, tx.rules)
	if tx.noHandle {
		return out[:tx.rules] // (no echo: all 0)
	}
	tx.eachMessage(func(i int, h nfnl.Header, _ []byte) {
		if h.Type == nftType(msgNewRule) {
			out = append(out, r.handles[i])
		}
	})
	return out
}

// batchError fills e as an error about the whole transaction: named after
// its first change, counting the others.
func (tx *Tx) batchError(e *Error) *Error {
	ch := tx.change(0)
	e.Op, e.Object, e.Index, e.More = ch.op(), ch.object(), -1, tx.n-1
	if tx.n == 1 {
		e.Source, e.Index = ch.source, 0
	}
	return e
}

// refused builds the error of a batch the kernel refused: about the whole
// batch, or about its first change that failed.
func (tx *Tx) refused(r *replies) error {
	if b := r.batchErr; b != nil {
		e := &Error{Err: b.errno, KernelMessage: b.msg, Offset: offset(*b)}
		switch b.errno {
		case erestart:
			e.kind = ErrConcurrentChange
			e.Reason = fmt.Sprintf("concurrent change: the ruleset changed after generation %d, and the kernel refused the whole transaction; nothing was changed", tx.gen)
			e.Hint = "read the ruleset again and retry"
		case eperm:
			e.Reason = eperm.Error() + " (needs CAP_NET_ADMIN)"
		default:
			e.Reason = b.errno.Error() + "; the kernel refused the whole transaction, nothing was changed"
		}
		return tx.batchError(e)
	}
	failed := slices.Sorted(maps.Keys(r.errs))
	e := tx.changeError(failed[0], r.errs[failed[0]])
	if tx.n > 1 {
		e.Reason += "; the kernel refused the whole transaction, nothing was changed"
		e.Failed, e.Others = failed, len(failed)-1
	}
	return e
}
