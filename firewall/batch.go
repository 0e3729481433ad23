package firewall

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// testRuleHook, when set by a test, may replace the wire expressions of
// the nft rules of a change before they are sent (for instance with an
// expression the kernel refuses, to see that Apply is atomic).
var testRuleHook func(change int, piece int, exprs []byte) []byte

// testBeforeSend, when set by a test, runs in Commit after the batch was
// checked against the ruleset's generation and before it is sent: where a
// change by another process makes the kernel refuse the transaction.
var testBeforeSend func()

// message is what a message of the transaction was sent for: created[-1-change]
// for change piece when change < 0, piece piece of a change otherwise, or
// (piece < 0) an anonymous set of one of its pieces, sent before the rule.
type message struct {
	change int32
	piece  int32
}

// Batch is an Apply made one change at a time, for a great many changes:
// each change is planned and encoded into the transaction as it is added,
// so that nothing of it but its group record, position and handles is kept
// until the commit. Apply(changes) is a Batch with every change added and
// then committed.
//
// Add reads what the change needs (the generation on the first call, then
// the tables and chains it writes into, and the rules of a chain where it is
// placed by an index or a handle) and places it; nothing is
// sent to the kernel before Commit or Check, which sends the whole batch as
// one transaction. After an error from Add the Batch is spent: nothing was
// sent, and Commit returns that error again.
type Batch struct {
	c       *Client
	o       ApplyOptions
	begun   bool
	gen     uint32
	plan    plan   // where each change goes, given what was read
	ud      []byte // a group record's userdata, reused
	tx      KernelTx
	msgs    []message
	added   []added             // the changes, in the order added
	rules   map[int][]expr.Rule // the nft rules of the changes given as Rule
	created []Created
	nextID  uint32 // the last rule ID given
	setID   uint32 // the last set ID given in the transaction
	idBase  uint64 // the random base of the batch's group ids (newID)
	ids     uint64 // the group ids given
	err     error
	done    bool
	// keepPrepared keeps the expressions of Prepared changes after they
	// are queued (Apply with Retry sends them again).
	keepPrepared bool
}

// added is what a Batch keeps of a change it added: its group record and
// what names it in errors. (A batch may hold a great many.)
type added struct {
	chain   *plannedChain
	pos     parse.Position // Change.Pos
	words   string         // the rule's canonical words, its group record's
	id      uint64
	firstID uint32 // the rule id of its first rule in the transaction
	count   uint8
	ipv6    bool
	insert  bool
}

func (a *added) op() string {
	if a.insert {
		return "insert rule"
	}
	return "add rule"
}

// error returns an error of kind about the change, whose index is i (or
// -1).
func (a *added) error(i int, kind error) *Error {
	return &Error{Op: a.op(), Object: object(a.chain.family, a.chain.table, a.chain.name), Pos: a.pos, Words: a.words, Index: i, Err: kind}
}

// Batch starts a batch of changes written with options o.
func (c *Client) Batch(o ApplyOptions) *Batch {
	// (With Check nothing is applied: the Prepared changes keep their
	// expressions, for an Apply or Batch that applies them after.)
	return &Batch{c: c, o: o, plan: plan{o: o, planned: map[tableKey]*plannedTable{}}, keepPrepared: o.Check}
}

// Apply writes changes into the kernel as one transaction: either all of
// them happen or none does. It reads the ruleset first (the tables, the
// chains, and the rules of the chains where a change is placed by an index
// or a handle) at a generation the transaction is then checked against, so
// a concurrent change makes the kernel refuse the whole transaction
// (ErrConcurrentChange) instead of placing rules wrongly. Adding at
// the end of a chain or inserting at its top reads none of its rules.
//
// Each nft rule carries, in its userdata, the group record of its iptables
// rule (expr.Group): a group id no other group of the chain has (64 bits,
// from a random base that DialOptions.Rand gives each Apply), its piece
// number, and the rule's canonical words.
//
// Errors are *Error: for what Apply refuses before sending anything, and
// for a change the kernel refused, whose Err is then the *kernel.Error
// (naming the change by its Pos and words). A kernel error about the whole
// transaction is a *kernel.Error.
//
// Apply holds the Client from its first read to the kernel's answer (see
// Client): the Applies of one Client never conflict with each other. A
// change made meanwhile by another process (or another Client) to what
// Apply read makes it fail with ErrConcurrentChange, having changed
// nothing; with o.Retry, Apply then reads, plans and sends the changes
// again, up to o.Retry more times (Applied.Retries says how many it took).
func (c *Client) Apply(ctx context.Context, changes []Change, o ApplyOptions) (Applied, error) {
	for i := range changes {
		if err := validChange(&changes[i], i); err != nil {
			return Applied{}, err
		}
	}
	if len(changes) == 0 {
		return Applied{}, nil
	}
	if o.Retry < 0 {
		return Applied{}, &Error{Op: opOf(&changes[0]), Index: -1, Err: ErrInvalidChange, Reason: fmt.Sprintf("Retry %d: the number of retries is 0 or more", o.Retry)}
	}
	if err := c.lock(ctx); err != nil {
		return Applied{}, err
	}
	defer c.unlock()
	for try := 0; ; try++ {
		res, err := c.applyOnce(ctx, changes, o)
		res.Retries = try
		if err == nil || try >= o.Retry || !errors.Is(err, kernel.ErrConcurrentChange) || ctx.Err() != nil {
			if !o.Check {
				spend(changes)
			}
			return res, err
		}
	}
}

// spend lets go of the expressions of the Prepared changes (a Prepared is
// given to Apply once), which Apply with Retry kept until its last attempt.
func spend(changes []Change) {
	for i := range changes {
		if p := changes[i].Prepared; changes[i].Rule == nil && p != nil {
			for k := range p.pieces {
				p.pieces[k].exprs = nil
			}
		}
	}
}

// applyOnce is one attempt of Apply, with the Client held. With o.Retry
// the expressions of Prepared changes are kept for the next attempt.
func (c *Client) applyOnce(ctx context.Context, changes []Change, o ApplyOptions) (Applied, error) {
	b := c.Batch(o)
	b.keepPrepared = o.Retry > 0 || o.Check
	for _, ch := range changes {
		if err := b.addHeld(ctx, ch); err != nil {
			return Applied{}, err
		}
	}
	return b.commitHeld(ctx)
}

// Len returns the number of changes added.
func (b *Batch) Len() int { return len(b.added) }

// Add plans change ch and queues its nft rules, after the changes added
// before it: its position (Index, Handle) counts the groups as they left
// the chain. Its errors are those of Apply about the change, whose Index is
// the number of changes added before it.
//
// Add holds the Client while it reads and plans (see Client).
func (b *Batch) Add(ctx context.Context, ch Change) error {
	if err := b.c.lock(ctx); err != nil {
		return err
	}
	defer b.c.unlock()
	return b.addHeld(ctx, ch)
}

// addHeld is Add, with the Client held.
func (b *Batch) addHeld(ctx context.Context, ch Change) error {
	if b.err != nil {
		return b.err
	}
	if b.done {
		return &Error{Op: opOf(&ch), Object: object(ch.Family, ch.Table, ch.Chain), Index: -1, Err: ErrInvalidChange, Reason: "the batch was already committed"}
	}
	if err := b.add(ctx, &ch); err != nil {
		b.err = err
		return err
	}
	return nil
}

// add is Add: it reads what the change needs, plans it, and encodes its
// rules into the transaction.
func (b *Batch) add(ctx context.Context, ch *Change) error {
	i := len(b.added)
	if err := validChange(ch, i); err != nil {
		return err
	}
	readErr := func(err error) error {
		return changeReadError(ch, i, err)
	}
	if err := b.begin(ctx); err != nil {
		return readErr(err)
	}
	pt, err := b.plan.table(ch, i)
	if err != nil {
		return err
	}
	if err := b.readTable(ctx, pt, ch, i); err != nil {
		return err
	}
	pc, err := b.plan.chain(pt, ch, i)
	if err != nil {
		return err
	}
	if needsGroups(ch) {
		if err := b.readChain(ctx, pc); err != nil {
			return readErr(err)
		}
	}
	if err := b.plan.jumps(pt, ch, i); err != nil {
		return err
	}
	at, err := b.plan.place(pc, ch, i)
	if err != nil {
		return err
	}
	a, group := b.record(ch, pc)
	b.queueCreated()
	if err := b.queueRules(ch, i, &a, group, pc, at); err != nil {
		return err
	}
	b.keep(ch, i, a)
	return nil
}

// begin reads, on the first change, the generation the transaction is
// based on and the tables at it, takes the random base of the group ids,
// and begins the transaction.
func (b *Batch) begin(ctx context.Context) error {
	if b.begun {
		return nil
	}
	gen, err := b.c.c.Generation(ctx)
	if err != nil {
		return err
	}
	tables, err := b.c.c.Tables(ctx)
	if err != nil {
		return err
	}
	var seed [8]byte
	if _, err := io.ReadFull(b.c.rand, seed[:]); err != nil {
		return randError("apply", err)
	}
	b.idBase = binary.BigEndian.Uint64(seed[:])
	b.begun, b.gen, b.plan.tables = true, gen, tables
	b.tx = b.c.c.BeginAt(gen)
	if nh, ok := b.tx.(interface{ NoHandles() }); ok && b.o.NoHandles {
		// (Asserted rather than part of KernelTx: a fake without it still
		// reports handles, which is allowed.)
		nh.NoHandles()
	}
	return nil
}

// readTable reads, once, the chains of an existing table change i writes
// into, and refuses iptables-nft's table (see guardTable).
func (b *Batch) readTable(ctx context.Context, pt *plannedTable, ch *Change, i int) error {
	if !pt.exists || pt.checked {
		return nil
	}
	pt.checked = true
	chains, err := b.c.c.Chains(ctx, pt.t.Family, pt.t.Name)
	if err != nil {
		return changeReadError(ch, i, err)
	}
	if err := b.guardTable(ctx, pt, chains, ch, i); err != nil {
		return err
	}
	b.plan.addChains(pt, chains)
	return nil
}

// readChain reads the rules of an existing chain, once, for the plan's
// groups.
func (b *Batch) readChain(ctx context.Context, pc *plannedChain) error {
	if !pc.exists || pc.read {
		return nil
	}
	rules, err := b.c.c.Rules(ctx, pc.family, pc.table, pc.name)
	if err != nil {
		return err
	}
	b.plan.addGroups(pc, rules, b.c.setSource(ctx, pc.family, pc.table))
	return nil
}

// record returns what the batch keeps of change ch, and its group record:
// a new group id, the rule ids of its rules, and its words.
func (b *Batch) record(ch *Change, pc *plannedChain) (added, expr.Group) {
	n := ch.pieces()
	a := added{chain: pc, pos: ch.Pos, words: ch.words(), id: b.newID(), firstID: b.nextID + 1, count: uint8(n), insert: ch.Insert}
	b.nextID += uint32(n)
	_, a.ipv6 = ch.compiledFor()
	return a, expr.Group{ID: a.id, Count: n, IPv6: a.ipv6, Words: a.words}
}

// queueCreated queues the creations the plan made, in order.
func (b *Batch) queueCreated() {
	for _, c := range b.plan.pending {
		if c.Chain == "" {
			b.tx.AddTable(c.Family, c.Table, c.userdata)
		} else {
			b.tx.AddChain(c.Family, c.Table, c.Chain, c.Base, c.userdata)
		}
		b.created = append(b.created, c.Created)
		// (piece: the change the creation is for.)
		b.msgs = append(b.msgs, message{change: int32(-len(b.created)), piece: int32(len(b.added))})
	}
	b.plan.pending = b.plan.pending[:0]
}

// queueRules lowers the nft rules of change i, each with its piece of the
// group record, and queues them in the transaction where the plan put
// them (see where). (The rules go without a source: the batch names the
// change in the kernel's errors itself, see explain.)
func (b *Batch) queueRules(ch *Change, i int, a *added, group expr.Group, pc *plannedChain, at int) error {
	spec, reverse, byID := where(pc, at, appended(ch), func(change int) uint32 { return b.added[change].firstID })
	if byID && !positionIDs() {
		return changeHintError(ch, i, ErrNoPosition, fmt.Sprintf(
			"this rule goes between two rules of the same transaction, which needs Linux 5.1 or later (NFTA_RULE_POSITION_ID; older kernels ignore it and would put the rule at the top): this kernel is %s", kernel.Release()),
			"write the rules in two transactions")
	}
	n := int(a.count)
	for j := range n {
		k := j
		if reverse {
			k = n - 1 - j
		}
		e, sets, err := ch.lowerSets(k, b.setID+1)
		if err != nil {
			return changeError(ch, i, ErrInvalidChange, err.Error())
		}
		// The rule's anonymous sets go before it, as nft sends them.
		b.setID += uint32(len(sets))
		for range queueSets(b.tx, ch.Family, ch.Table, sets) {
			b.msgs = append(b.msgs, message{change: int32(i), piece: -1})
		}
		if testRuleHook != nil {
			e = testRuleHook(i, k, e)
		}
		g := group
		g.Index = k
		if b.ud, err = g.AppendUserData(b.ud[:0], ch.comment()); err != nil {
			return changeError(ch, i, ErrInvalidChange, err.Error())
		}
		spec.Exprs, spec.UserData, spec.ID = e, b.ud, a.firstID+uint32(k)
		b.tx.AddRule(ch.Family, ch.Table, ch.Chain, spec)
		b.msgs = append(b.msgs, message{change: int32(i), piece: int32(k)})
		if ch.Rule == nil && !b.keepPrepared {
			// The transaction has copied the bytes: let them go.
			ch.Prepared.pieces[k].exprs, ch.Prepared.pieces[k].rule = nil, nil
		}
	}
	return nil
}

// keep keeps change i: its record, and the nft rules of a change given as
// a Rule (for Applied).
func (b *Batch) keep(ch *Change, i int, a added) {
	if ch.Rule != nil {
		if b.rules == nil {
			b.rules = map[int][]expr.Rule{}
		}
		b.rules[i] = ch.Rule.Rules
	}
	b.added = append(b.added, a)
}

// Check has the kernel check the whole batch without applying it (see
// ApplyOptions.Check); the Batch may be committed after. Like Commit, it
// holds the Client from the check of what the batch read to the kernel's
// answer.
func (b *Batch) Check(ctx context.Context) (Applied, error) {
	if err := b.c.lock(ctx); err != nil {
		return Applied{}, err
	}
	defer b.c.unlock()
	return b.checkHeld(ctx)
}

// checkHeld is Check, with the Client held.
func (b *Batch) checkHeld(ctx context.Context) (Applied, error) {
	if err := b.ready(); err != nil || len(b.added) == 0 {
		return Applied{}, err
	}
	if err := b.current(ctx); err != nil {
		return Applied{}, err
	}
	res := b.applied()
	res.Checked, res.Generation = true, b.gen
	if err := b.tx.Check(ctx); err != nil {
		return res, b.explain(err)
	}
	return res, nil
}

// Commit sends the batch to the kernel as one transaction (or only checks
// it, with ApplyOptions.Check) and returns what it did, as Apply does.
//
// Commit holds the Client from the check of what the batch read (when the
// ruleset's generation moved since the first Add, it reads again the
// tables, chains and rules the plan rests on, and refuses with
// ErrConcurrentChange when any of them changed) to the kernel's
// answer: no operation of the same Client runs between that check and the
// send. A Batch does not retry (ApplyOptions.Retry is Apply's): it keeps
// the bytes of its changes, not the changes, so it cannot plan them again.
// After ErrConcurrentChange nothing was changed, and the caller may
// add its changes to a new Batch.
func (b *Batch) Commit(ctx context.Context) (Applied, error) {
	if err := b.c.lock(ctx); err != nil {
		return Applied{}, err
	}
	defer b.c.unlock()
	return b.commitHeld(ctx)
}

// commitHeld is Commit, with the Client held.
func (b *Batch) commitHeld(ctx context.Context) (Applied, error) {
	if b.o.Check {
		return b.checkHeld(ctx)
	}
	if err := b.ready(); err != nil || len(b.added) == 0 {
		return Applied{}, err
	}
	if err := b.current(ctx); err != nil {
		b.err = err
		return Applied{}, err
	}
	b.done = true
	if testBeforeSend != nil {
		testBeforeSend()
	}
	// What the batch did is made ready while the kernel applies it: the
	// commit keeps its goroutine in the kernel the whole time, and a
	// record per change (50,000 of them, in memory touched for the first
	// time) would otherwise follow it.
	ready := make(chan Applied, 1)
	go func() { ready <- b.applied() }()
	kr, err := b.tx.Commit(ctx)
	res := <-ready
	res.Generation = kr.Generation
	k := 0 // the rule of kr.Handles
	for _, m := range b.msgs {
		if m.change < 0 || m.piece < 0 {
			continue // a table, a chain or a set: no rule handle
		}
		if k < len(kr.Handles) {
			res.Changes[m.change].Handles[m.piece] = kr.Handles[k]
		}
		k++
	}
	if err != nil {
		if !kr.Committed {
			res.Created = nil
		}
		return res, b.explain(err)
	}
	return res, nil
}

// applied returns what the batch did, with room for the handles of its
// rules, all 0.
func (b *Batch) applied() Applied {
	res := Applied{Created: b.created, Changes: make([]AppliedChange, len(b.added))}
	n := 0
	for _, a := range b.added {
		n += int(a.count)
	}
	handles := make([]uint64, n)
	for i, a := range b.added {
		k := int(a.count)
		res.Changes[i] = AppliedChange{
			Group:   expr.Group{ID: a.id, Count: k, IPv6: a.ipv6, Words: a.words},
			Rules:   b.rules[i],
			Handles: handles[:k:k],
		}
		handles = handles[k:]
	}
	return res
}

// ready reports what keeps the batch from being sent: an error of Add, a
// commit already made, a chain created for a jump that no change wrote
// into.
func (b *Batch) ready() error {
	if b.err != nil {
		return b.err
	}
	if b.done {
		return &Error{Op: "commit", Index: -1, Err: ErrInvalidChange, Reason: "the batch was already committed"}
	}
	for _, c := range b.created {
		if c.Chain == "" {
			continue
		}
		if pc := b.plan.planned[tableKey{c.Family, c.Table}].chains[c.Chain]; pc.jumpOnly {
			a := &b.added[pc.baseFrom]
			return jumpRefusal(a.error(pc.baseFrom, ErrNoChain), c.Family, c.Table, c.Chain)
		}
	}
	return nil
}

// explain names, in a kernel error, the change the failing message was
// sent for (the rules go to the transaction without their sources): it
// returns an *Error about that change, with the *kernel.Error, whose
// message names the change, as its Err. It counts the other changes the error names in the units the caller
// wrote, iptables rules (Changes), not in the transaction's messages (a
// table, a chain, or one of a rule's nft rules).
func (b *Batch) explain(err error) error {
	var ke *kernel.Error
	if !errors.As(err, &ke) {
		return err
	}
	if ke.More > 0 && len(b.msgs) > 0 {
		ke.More, ke.Unit = len(b.added)-1, "rule"
		if b.msgs[0].change < 0 {
			ke.More++ // (named after a table or chain, not one of the rules)
		}
	}
	if len(ke.Failed) > 0 {
		rules := map[int]bool{}
		for _, k := range ke.Failed {
			if k < len(b.msgs) {
				rules[b.msgChange(k)] = true
			}
		}
		ke.Others, ke.Unit = len(rules)-1, "rule"
	}
	if ke.Index < 0 || ke.Index >= len(b.msgs) {
		return err
	}
	i := b.msgChange(ke.Index)
	a := &b.added[i]
	ke.Source = source(a.pos, a.words)
	e := a.error(i, err)
	e.Op, e.Object, e.refused = ke.Op, ke.Object, true
	return e
}

// msgChange returns the change message k was sent for.
func (b *Batch) msgChange(k int) int {
	m := b.msgs[k]
	if m.change < 0 {
		return int(m.piece) // a table or chain created for change piece
	}
	return int(m.change)
}

// newID returns the group id of the next change: the batch's random base
// plus the number of changes before it, with the top bit set.
//
// Group ids must be unique within a chain, and must be found without
// reading the chain: listing a chain costs the kernel time that grows with
// the square of its length (each part of a dump walks the chain from its
// start), seconds for one rule added to 50,000. So the batch draws one
// 64-bit base from the Client's source of randomness (DialOptions.Rand,
// crypto/rand for Dial: the randomness is an argument, never a hidden global)
// and numbers its changes from it (expr.Group keeps 64 bits: the record the
// low half, a TLV next to it the high half). Within the batch the ids
// differ; the run of another batch's ids meets this one only when the two
// runs overlap, with a probability of about (its changes + ours) / 2^63 per
// batch already in the chain: 5e-14 for one rule added to a chain of 250,000
// groups, each written by a batch of its own. The top bit keeps them apart
// from the 32-bit ids that earlier versions gave (one more than the largest
// in the chain).
//
// Ids derived from the ruleset's generation plus a counter would be unique
// without chance (the kernel commits a batch only at the generation it
// carries), but a batch rebased to a newer generation at its commit (see
// current) would then have to read every chain it writes into, to find
// the ids a transaction committed at its old generation gave: random ids
// keep that commit free of reading chains too.
func (b *Batch) newID() uint64 {
	b.ids++
	return (b.idBase + b.ids) | 1<<63
}
