package firewall

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// Change is one iptables rule to write into a chain: added after a group
// (at the end by default) or inserted before one (at the top by default).
//
// Positions count groups, not nft rules: a group is the pieces of one
// iptables rule (what list -o iptables shows as one line). Index N (from 1)
// names the chain's Nth group; Handle names the group holding the rule with
// that handle. An inserted rule goes before that group (with Index it
// becomes group N, as iptables -I CHAIN N; Index may be one past the last
// group, the end), an added rule after it. Index and Handle are exclusive;
// both 0 means the top (Insert) or the end (add). When one Apply holds
// several changes to a chain, each position counts the groups as the
// changes before it left them, as iptables-restore does.
type Change struct {
	Family expr.Family // of the table: expr.FamilyIP, FamilyIP6 or FamilyInet
	Table  string
	Chain  string
	// Rule is the translated rule (Translate, TranslateArgs or Compile),
	// compiled for a table of Family (Options.Table). Its -t word picks the
	// base chain that ApplyOptions.Create makes for a chain named like an
	// iptables built-in chain.
	Rule *ctmatch.Rule
	// Prepared may stand for Rule (which is then nil): the same rule made
	// ready ahead of time with Prepare, so that a caller writing many rules
	// need not keep every parsed rule and its nft rules until Apply. The
	// AppliedChange of such a change has no Rules. A Prepared is used once:
	// Apply lets go of its expressions as it queues them for the kernel,
	// and refuses it after that.
	Prepared *Prepared
	Insert   bool
	Index    int
	Handle   uint64
	// Source says where the rule comes from, for error messages, such as
	// `rules.txt:700: -m conntrack --ctstate NEW -j ACCEPT`; empty means the
	// rule's canonical words.
	Source string
}

// Prepared is a translated rule lowered to the kernel's bytes, with only
// what Apply needs of it: its -t, its family, its canonical words (the group
// record's) and each nft rule's verdict. Prepare makes one.
type Prepared struct {
	table     expr.Family
	ipv6      bool
	tableName string
	words     string
	pieces    []preparedPiece
}

// spent reports whether Apply has sent its expressions, and no longer has
// them (Prepare never leaves them nil).
func (p *Prepared) spent() bool { return len(p.pieces) > 0 && p.pieces[0].exprs == nil }

type preparedPiece struct {
	exprs   []byte
	verdict expr.Verdict
}

// Prepare lowers r for Change.Prepared. r is not kept: the caller may drop
// it.
func Prepare(r *ctmatch.Rule) (*Prepared, error) {
	if r == nil || r.Source == nil {
		return nil, errors.New("no rule")
	}
	p := &Prepared{table: r.Table, ipv6: r.Family == parse.IPv6, tableName: r.Source.TableName(), words: ctmatch.Words(r.Source),
		pieces: make([]preparedPiece, len(r.Rules))}
	for k, nr := range r.Rules {
		b, err := nr.Lower(r.Table)
		if err != nil {
			return nil, err
		}
		p.pieces[k] = preparedPiece{exprs: b, verdict: nr.Verdict}
	}
	return p, nil
}

// Words returns the rule's canonical words, as Words of its source.
func (p *Prepared) Words() string { return p.words }

// The change's rule, from Rule or Prepared.

func (ch *Change) tableName() string {
	if ch.Rule == nil {
		return ch.Prepared.tableName
	}
	return ch.Rule.Source.TableName()
}

// compiledFor returns the table family the change's rule was compiled for,
// and whether its words are ip6tables words.
func (ch *Change) compiledFor() (expr.Family, bool) {
	if ch.Rule == nil {
		return ch.Prepared.table, ch.Prepared.ipv6
	}
	return ch.Rule.Table, ch.Rule.Family == parse.IPv6
}

// words returns the rule's canonical words, as its group record keeps them.
func (ch *Change) words() string {
	if ch.Rule == nil {
		return ch.Prepared.words
	}
	return ctmatch.Words(ch.Rule.Source)
}

func (ch *Change) pieces() int {
	if ch.Rule == nil {
		return len(ch.Prepared.pieces)
	}
	return len(ch.Rule.Rules)
}

func (ch *Change) verdict(k int) expr.Verdict {
	if ch.Rule == nil {
		return ch.Prepared.pieces[k].verdict
	}
	return ch.Rule.Rules[k].Verdict
}

// lower returns the expressions of the change's nft rule k.
func (ch *Change) lower(k int) ([]byte, error) {
	if ch.Rule == nil {
		return ch.Prepared.pieces[k].exprs, nil
	}
	return ch.Rule.Rules[k].Lower(ch.Family)
}

// ApplyOptions say how Apply writes.
type ApplyOptions struct {
	// Create creates a missing table (with ctmatch's ownership record) and
	// missing chains: a chain named like an iptables built-in chain becomes
	// the base chain iptables-nft makes (see CreatedChain), any other name a
	// regular chain. Existing tables and chains are never modified; an
	// existing chain that Create would have made differently is an error
	// (ErrChainDiffers).
	Create bool
	// Force writes into a table that looks like iptables-nft's own
	// (ErrIptablesTable without it).
	Force bool
	// Check has the kernel validate the whole transaction without applying
	// it (kernel.Tx.Check): nothing changes, no handle is assigned.
	Check bool
	// NoHandles says the caller does not need the handles of the rules
	// added: the kernel is not asked to echo every rule back
	// (kernel.Tx.NoHandles), which saves kernel time, replies and the
	// socket's receive buffer, and AppliedChange.Handles holds only 0s.
	// The default (false) reports every handle.
	NoHandles bool
}

// Applied is what Apply did.
type Applied struct {
	// Changes has one entry per Change, in the order given.
	Changes []AppliedChange
	// Created lists the tables and chains created, in the order created.
	Created []Created
	// Generation is the generation of the ruleset after the commit; with
	// Check, the generation the check was made at.
	Generation uint32
	// Checked says the transaction was only checked (ApplyOptions.Check).
	Checked bool
}

// AppliedChange is what became of one Change: its group and, for each of
// its nft rules in the chain's order, the handle the kernel gave it (0 with
// Check or NoHandles).
type AppliedChange struct {
	Group   expr.Group
	Rules   []expr.Rule
	Handles []uint64
}

// Created is a table (Chain empty) or a chain that Apply created.
type Created struct {
	Family expr.Family
	Table  string
	Chain  string
	Base   *kernel.BaseChain // nil for a regular chain
}

// String returns the object as nft's add command names it:
// "add table inet fw", "add chain inet fw input { type filter hook input
// priority 0; policy accept; }".
func (c Created) String() string {
	if c.Chain == "" {
		return fmt.Sprintf("add table %s %s", c.Family, QuoteName(c.Table))
	}
	s := fmt.Sprintf("add chain %s %s %s", c.Family, QuoteName(c.Table), QuoteName(c.Chain))
	if c.Base != nil {
		s += " { " + describeBase(c.Base) + "; }"
	}
	return s
}

// testRuleHook, when set by a test, may replace the wire expressions of
// the nft rules of a change before they are sent (for instance with an
// expression the kernel refuses, to see that Apply is atomic).
var testRuleHook func(change int, piece int, exprs []byte) []byte

// tableKey names a table.
type tableKey struct {
	family expr.Family
	name   string
}

// plannedTable is a table that the changes write into.
type plannedTable struct {
	t       kernel.Table
	exists  bool
	chainFP uint64                   // the fingerprint of its chains as read
	chains  map[string]*plannedChain // by name
	checked bool                     // the iptables-nft test was made
}

// plannedChain is a chain that the changes write into, and the groups it
// will hold.
type plannedChain struct {
	family    expr.Family
	table     string
	name      string
	exists    bool
	base      *kernel.BaseChain
	baseFrom  int    // the change whose -t decided base (for a chain to create), or -1
	baseTable string // that change's -t
	// jumpOnly says the chain is created because a rule jumps to it, and
	// no change has written into it yet.
	jumpOnly bool
	// The chain's groups are slots, then tail: the changes added at the
	// end, one after the other, kept apart (as little as their index) until
	// a change goes elsewhere, or is placed by an index or a handle.
	//
	// The rules of an existing chain are read only for a change placed by
	// an index or a handle, which count groups: until then they are one
	// slot of their own, unread (they may be none), which only changes of
	// the batch inserted at the top precede. Adding at the end and
	// inserting at the top need neither the rules nor their groups, and
	// the group ids need no scan (see Batch.newID); a long chain costs the
	// kernel time to list that grows with the square of its length.
	slots  []slot
	tail   []int32
	read   bool   // the chain's rules were read
	ruleFP uint64 // the fingerprint of its rules as read
}

// slot is one group of a chain: existing (with its handles) or new (from
// change); or, with neither, the unread rules of an existing chain.
type slot struct {
	handles []uint64 // existing
	change  int      // new: the index of its change; -1 for an existing group
}

// unread reports whether the slot stands for the unread rules of a chain.
func (s slot) unread() bool { return s.change < 0 && s.handles == nil }

// untail moves the chain's tail into its slots.
func (pc *plannedChain) untail() {
	for _, i := range pc.tail {
		pc.slots = append(pc.slots, slot{change: int(i)})
	}
	pc.tail = nil
}

// message is what a message of the transaction was sent for: created[-1-change]
// for change piece when change < 0, piece piece of a change otherwise.
type message struct {
	change int32
	piece  int32
}

// Batch is an Apply made one change at a time, for a great many changes:
// each change is planned and encoded into the transaction as it is added,
// so that nothing of it but its group record, source and handles is kept
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
	tables  []kernel.Table
	planned map[tableKey]*plannedTable
	ud      []byte // a group record's userdata, reused
	tx      nfTx
	msgs    []message
	added   []added             // the changes, in the order added
	words   map[int]string      // the words of the changes whose source does not end with them
	rules   map[int][]expr.Rule // the nft rules of the changes given as Rule
	created []Created
	nextID  uint32 // the last rule ID given
	idBase  uint64 // the random base of the batch's group ids (newID)
	ids     uint64 // the group ids given
	err     error
	done    bool
}

// added is what a Batch keeps of a change it added: its group record and
// what names it in errors. (A batch may hold a great many.)
type added struct {
	chain   *plannedChain
	source  string
	id      uint64
	firstID uint32 // the rule id of its first rule in the transaction
	// The group record's words are the end of source from wordsAt (the
	// usual "FILE:LINE: WORDS"), or in Batch.words when wordsAt is
	// noWordsAt.
	wordsAt uint16
	count   uint8
	ipv6    bool
	insert  bool
}

const noWordsAt = math.MaxUint16

// change returns a Change that names the change for an error.
func (a *added) change() *Change {
	return &Change{Family: a.chain.family, Table: a.chain.table, Chain: a.chain.name, Insert: a.insert, Source: a.source}
}

// Batch starts a batch of changes written with options o.
func (c *Client) Batch(o ApplyOptions) *Batch {
	return &Batch{c: c, o: o, planned: map[tableKey]*plannedTable{}}
}

// Apply writes changes into the kernel as one transaction: either all of
// them happen or none does. It reads the ruleset first (the tables, the
// chains, and the rules of the chains where a change is placed by an index
// or a handle) at a generation the transaction is then checked against, so
// a concurrent change makes the kernel refuse the whole transaction
// (kernel.ErrConcurrentChange) instead of placing rules wrongly. Adding at
// the end of a chain or inserting at its top reads none of its rules.
//
// Each nft rule carries, in its userdata, the group record of its iptables
// rule (expr.Group): a group id no other group of the chain has (64 bits,
// from a random base that DialOptions.Rand gives each Apply), its piece
// number, and the rule's canonical words.
//
// Errors are *Error for what Apply refuses before sending anything, and
// *kernel.Error for what the kernel refuses (naming the change's Source).
func (c *Client) Apply(ctx context.Context, changes []Change, o ApplyOptions) (Applied, error) {
	for i := range changes {
		ch := changes[i] // (validChange fills in the source)
		if err := validChange(&ch, i); err != nil {
			return Applied{}, err
		}
	}
	if len(changes) == 0 {
		return Applied{}, nil
	}
	b := c.Batch(o)
	for _, ch := range changes {
		if err := b.Add(ctx, ch); err != nil {
			return Applied{}, err
		}
	}
	return b.Commit(ctx)
}

// Len returns the number of changes added.
func (b *Batch) Len() int { return len(b.added) }

// Add plans change ch and queues its nft rules, after the changes added
// before it: its position (Index, Handle) counts the groups as they left
// the chain. Its errors are those of Apply about the change, whose Index is
// the number of changes added before it.
func (b *Batch) Add(ctx context.Context, ch Change) error {
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

func (b *Batch) add(ctx context.Context, ch *Change) error {
	i := len(b.added)
	if err := validChange(ch, i); err != nil {
		return err
	}
	readErr := func(err error) error {
		return readError(opOf(ch), object(ch.Family, ch.Table, ch.Chain), ch.Source, i, err)
	}
	if !b.begun {
		gen, err := b.c.c.Generation(ctx)
		if err != nil {
			return readErr(err)
		}
		tables, err := b.c.c.Tables(ctx)
		if err != nil {
			return readErr(err)
		}
		var seed [8]byte
		if _, err := io.ReadFull(b.c.rand, seed[:]); err != nil {
			return readErr(fmt.Errorf("read the random base of the group ids: %w", err))
		}
		b.idBase = binary.BigEndian.Uint64(seed[:])
		b.begun, b.gen, b.tables = true, gen, tables
		b.tx = b.c.c.BeginAt(gen)
		if nh, ok := b.tx.(interface{ NoHandles() }); ok && b.o.NoHandles {
			// (Asserted rather than part of nfTx: a fake without it still
			// reports handles, which is allowed.)
			nh.NoHandles()
		}
	}
	// The table.
	pt := b.planned[tableKey{ch.Family, ch.Table}]
	if pt == nil {
		pt = &plannedTable{chains: map[string]*plannedChain{}}
		for _, t := range b.tables {
			if t.Family == ch.Family && t.Name == ch.Table {
				pt.t, pt.exists = t, true
			}
		}
		if !pt.exists {
			if !b.o.Create {
				return changeError(ch, i, ErrNoTable, fmt.Sprintf(
					"no such table %[1]s (create it with --create, or with nft add table %[1]s)", object(ch.Family, ch.Table)))
			}
			ud, err := expr.TableUserData("")
			if err != nil {
				return err
			}
			pt.t = kernel.Table{Family: ch.Family, Name: ch.Table}
			b.create(Created{Family: ch.Family, Table: ch.Table}, ud)
		}
		b.planned[tableKey{ch.Family, ch.Table}] = pt
	}
	if pt.exists && !pt.checked {
		pt.checked = true
		chains, err := b.c.c.Chains(ctx, pt.t.Family, pt.t.Name)
		if err != nil {
			return readErr(err)
		}
		if !b.o.Force {
			why, err := iptablesOwned(ctx, b.c.c, pt.t, chains)
			if err != nil {
				return readErr(err)
			}
			if why != "" {
				e := iptablesRefusal(opOf(ch), pt.t, why).(*Error)
				e.Object, e.Source, e.Index = object(ch.Family, ch.Table, ch.Chain), ch.Source, i
				return e
			}
		}
		pt.chainFP = chainPrint(chains)
		for _, kc := range chains {
			pt.chains[kc.Name] = &plannedChain{family: kc.Family, table: kc.Table, name: kc.Name, exists: true, base: kc.Base, baseFrom: -1,
				slots: []slot{{change: -1}}}
		}
	}
	// The chain.
	pc := pt.chains[ch.Chain]
	var want *kernel.BaseChain
	if b.o.Create {
		var err error
		if want, err = CreatedChain(ch.tableName(), ch.Chain); err != nil {
			return changeError(ch, i, ErrInvalidChange, err.Error())
		}
	}
	switch {
	case pc == nil && !b.o.Create:
		return changeError(ch, i, ErrNoChain, fmt.Sprintf(
			"no such chain %s in table %s (create it with --create, or with nft add chain %s)",
			ch.Chain, object(ch.Family, ch.Table), object(ch.Family, ch.Table, ch.Chain)))
	case pc == nil:
		var err error
		if pc, err = b.createChain(pt, ch, ch.Chain, want, i); err != nil {
			return err
		}
	case b.o.Create && !sameBase(pc.base, want):
		if pc.exists {
			return changeError(ch, i, ErrChainDiffers, fmt.Sprintf(
				"chain %s exists as %s, and --create would have made it %s for -t %s: leave out --create to write into it as it is, or write into another chain",
				object(ch.Family, ch.Table, ch.Chain), kindOf(pc.base), kindOf(want), ch.tableName()))
		}
		why := "for the rule of change"
		if pc.jumpOnly {
			why = "for the jump of the rule of change"
		}
		return changeError(ch, i, ErrChainDiffers, fmt.Sprintf(
			"chain %s is created as %s %s %d (-t %s), but this rule's -t %s makes it %s: use the same -t for every rule of the chain",
			object(ch.Family, ch.Table, ch.Chain), kindOf(pc.base), why, pc.baseFrom+1, pc.baseTable,
			ch.tableName(), kindOf(want)))
	}
	pc.jumpOnly = false
	appended := !ch.Insert && ch.Index == 0 && ch.Handle == 0
	if !appended {
		pc.untail()
	}
	// (Inserting as group 1 is inserting at the top.)
	if ch.Handle != 0 || ch.Index != 0 && !(ch.Insert && ch.Index == 1) {
		if err := b.readChain(ctx, pc); err != nil {
			return readErr(err)
		}
	}
	// Jumps and gotos need their chain: with Create, a chain that does not
	// exist yet is created now, before the rule that jumps to it, and a
	// later change must write into it.
	for k := range ch.pieces() {
		v := ch.verdict(k)
		if v.Kind != expr.VerdictJump && v.Kind != expr.VerdictGoto {
			continue
		}
		if pt.chains[v.Chain] != nil {
			continue
		}
		if !b.o.Create {
			return jumpError(ch, i, v.Chain)
		}
		to, err := CreatedChain(ch.tableName(), v.Chain)
		if err != nil {
			return changeError(ch, i, ErrInvalidChange, err.Error())
		}
		jc, err := b.createChain(pt, ch, v.Chain, to, i)
		if err != nil {
			return err
		}
		jc.jumpOnly = true
	}
	// The position.
	p := len(pc.slots)
	if !appended {
		var err error
		if p, err = position(pc, ch, i); err != nil {
			return err
		}
	}
	n := ch.pieces()
	a := added{chain: pc, source: ch.Source, id: b.newID(), firstID: b.nextID + 1, count: uint8(n), insert: ch.Insert}
	b.nextID += uint32(n)
	words := ch.words()
	_, a.ipv6 = ch.compiledFor()
	if at := len(ch.Source) - len(words); at >= 0 && at < noWordsAt && ch.Source[at:] == words {
		a.wordsAt = uint16(at)
	} else {
		a.wordsAt = noWordsAt
		if b.words == nil {
			b.words = map[int]string{}
		}
		b.words[i] = words
	}
	group := expr.Group{ID: a.id, Count: n, IPv6: a.ipv6, Words: words}
	if appended {
		pc.tail = append(pc.tail, int32(i))
	} else {
		pc.slots = slices.Insert(pc.slots, p, slot{change: i})
	}
	// Where its rules go in the transaction, next to the slots around it
	// (the kernel's order so far is the slots' order without the changes
	// still to come): before the group after it, or at the end; else after
	// the group before it, or at the top (the rules then sent last first,
	// each going right after the one before it, or at the top). Unread
	// rules are never the group after it but at the top (only changes
	// inserted at the top precede them), nor the group before it but at
	// the end.
	// (The rules go without their Source: the batch names the change in
	// the kernel's errors itself, see explain, and keeps it only once.)
	var spec kernel.RuleSpec
	reverse := false
	switch next, prev := p+1, p-1; {
	case appended, next == len(pc.slots):
	case pc.slots[next].change < 0 && !pc.slots[next].unread():
		spec.Insert, spec.Position = true, pc.slots[next].handles[0]
	case prev < 0:
		spec.Insert, reverse = true, true
	case pc.slots[prev].change < 0:
		spec.Position, reverse = pc.slots[prev].handles[len(pc.slots[prev].handles)-1], true
	default:
		if !positionIDs() {
			return changeError(ch, i, ErrNoPosition, fmt.Sprintf(
				"this rule goes between two rules of the same transaction, which needs Linux 5.1 or later (NFTA_RULE_POSITION_ID; older kernels ignore it and would put the rule at the top): this kernel is %s; write the rules in two transactions", kernel.Release()))
		}
		spec.Insert, spec.PositionID = true, b.added[pc.slots[next].change].firstID
	}
	for j := range n {
		k := j
		if reverse {
			k = n - 1 - j
		}
		e, err := ch.lower(k)
		if err != nil {
			return changeError(ch, i, ErrInvalidChange, err.Error())
		}
		if testRuleHook != nil {
			e = testRuleHook(i, k, e)
		}
		g := group
		g.Index = k
		if b.ud, err = g.AppendUserData(b.ud[:0], ""); err != nil {
			return changeError(ch, i, ErrInvalidChange, err.Error())
		}
		spec.Exprs, spec.UserData, spec.ID = e, b.ud, a.firstID+uint32(k)
		b.tx.AddRule(ch.Family, ch.Table, ch.Chain, spec)
		b.msgs = append(b.msgs, message{change: int32(i), piece: int32(k)})
		if ch.Rule == nil {
			// The transaction has copied the bytes: let them go.
			ch.Prepared.pieces[k].exprs = nil
		}
	}
	if ch.Rule != nil {
		if b.rules == nil {
			b.rules = map[int][]expr.Rule{}
		}
		b.rules[i] = ch.Rule.Rules
	}
	b.added = append(b.added, a)
	return nil
}

// positionIDs reports whether the kernel places a rule next to a rule of
// the same transaction (a variable, for tests).
var positionIDs = kernel.PositionIDs

// create queues the creation of a table or chain.
func (b *Batch) create(c Created, userdata []byte) {
	if c.Chain == "" {
		b.tx.AddTable(c.Family, c.Table, userdata)
	} else {
		b.tx.AddChain(c.Family, c.Table, c.Chain, c.Base, userdata)
	}
	b.created = append(b.created, c)
	// (piece: the change the creation is for.)
	b.msgs = append(b.msgs, message{change: int32(-len(b.created)), piece: int32(len(b.added))})
}

// createChain queues the creation of a chain of pt for change i, and plans
// it.
//
// Without Force it refuses to add a chain to an existing table, without
// ctmatch's ownership record, that iptables-nft reads as its own by its
// name: iptables-nft would read the new chain, and fail on its rules.
func (b *Batch) createChain(pt *plannedTable, ch *Change, name string, base *kernel.BaseChain, i int) (*plannedChain, error) {
	if pt.exists && !b.o.Force && !expr.OwnedTable(pt.t.UserData) && iptablesName(pt.t.Family, pt.t.Name) {
		e := iptablesRefusal(opOf(ch), pt.t, fmt.Sprintf("iptables-nft reads every %s table named %s, and would read the chain %s that --create adds to it", pt.t.Family, pt.t.Name, name)).(*Error)
		e.Object, e.Source, e.Index = object(ch.Family, ch.Table, ch.Chain), ch.Source, i
		return nil, e
	}
	pc := &plannedChain{family: ch.Family, table: ch.Table, name: name, base: base, baseFrom: i, baseTable: ch.tableName()}
	pt.chains[name] = pc
	b.create(Created{Family: ch.Family, Table: ch.Table, Chain: name, Base: base}, nil)
	return pc, nil
}

// readChain reads the rules of an existing chain, once, and puts its
// groups in the place of its unread slot. (Until then, changes went only to
// the top and the end of it.)
func (b *Batch) readChain(ctx context.Context, pc *plannedChain) error {
	if !pc.exists || pc.read {
		return nil
	}
	rules, err := b.c.c.Rules(ctx, pc.family, pc.table, pc.name)
	if err != nil {
		return err
	}
	pc.read, pc.ruleFP = true, rulePrint(rules)
	var groups []slot
	for _, g := range groupRules(pc.family, rules) {
		groups = append(groups, slot{handles: g.Handles(), change: -1})
	}
	at := slices.IndexFunc(pc.slots, slot.unread)
	pc.slots = slices.Replace(pc.slots, at, at+1, groups...)
	return nil
}

func jumpError(ch *Change, i int, chain string) error {
	return changeError(ch, i, ErrNoChain, fmt.Sprintf(
		"the rule jumps to chain %s, which table %s does not have: create it first (nft add chain %s)",
		chain, object(ch.Family, ch.Table), object(ch.Family, ch.Table, chain)))
}

// Check has the kernel check the whole batch without applying it (see
// ApplyOptions.Check); the Batch may be committed after.
func (b *Batch) Check(ctx context.Context) (Applied, error) {
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
func (b *Batch) Commit(ctx context.Context) (Applied, error) {
	if b.o.Check {
		return b.Check(ctx)
	}
	if err := b.ready(); err != nil || len(b.added) == 0 {
		return Applied{}, err
	}
	if err := b.current(ctx); err != nil {
		b.err = err
		return Applied{}, err
	}
	b.done = true
	kr, err := b.tx.Commit(ctx)
	res := b.applied()
	res.Generation = kr.Generation
	k := 0
	for _, m := range b.msgs {
		if m.change < 0 {
			continue
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

// wordsOf returns the words of change i's group record.
func (b *Batch) wordsOf(i int) string {
	a := &b.added[i]
	if a.wordsAt == noWordsAt {
		return b.words[i]
	}
	return a.source[a.wordsAt:]
}

// current brings the transaction to the ruleset's generation now, when
// that differs from the one the batch read at: it reads again what the
// batch read (its tables, their chains, the rules of the chains it placed
// rules in by their groups, and whether a table looks like iptables-nft's)
// and, when none of it changed, has the kernel check the transaction against
// the new generation (a change after that is refused by the kernel itself).
// So a change to other tables or chains while a long input was being read
// does not fail the batch; a change to what it is based on does, before
// anything is sent. The rules of a chain the batch only adds to at the end
// or inserts into at the top are not what it is based on (they go there
// whatever the chain holds, with group ids no other group has, see newID):
// they are not read, here either.
func (b *Batch) current(ctx context.Context) error {
	gen, err := b.c.c.Generation(ctx)
	if err != nil {
		return b.commitError(err, "")
	}
	if gen == b.gen {
		return nil
	}
	changed := func(what string) error {
		return b.commitError(kernel.ErrConcurrentChange, fmt.Sprintf(
			"concurrent change: %s changed after generation %d, which the transaction is based on; nothing was changed (read the ruleset again and retry)", what, b.gen))
	}
	tables, err := b.c.c.Tables(ctx)
	if err != nil {
		return b.commitError(err, "")
	}
	for key, pt := range b.planned {
		var now *kernel.Table
		for i := range tables {
			if tables[i].Family == key.family && tables[i].Name == key.name {
				now = &tables[i]
			}
		}
		name := "table " + object(key.family, key.name)
		if (now != nil) != pt.exists || now != nil && (now.Handle != pt.t.Handle || !bytes.Equal(now.UserData, pt.t.UserData)) {
			return changed(name)
		}
		if !pt.checked {
			continue
		}
		chains, err := b.c.c.Chains(ctx, key.family, key.name)
		if err != nil {
			return b.commitError(err, "")
		}
		if !b.o.Force {
			if why, err := iptablesOwned(ctx, b.c.c, pt.t, chains); err != nil {
				return b.commitError(err, "")
			} else if why != "" {
				return changed(name + " (" + why + ")")
			}
		}
		if chainPrint(chains) != pt.chainFP {
			return changed("the chains of " + name)
		}
		for _, pc := range pt.chains {
			if !pc.read {
				continue
			}
			rules, err := b.c.c.Rules(ctx, key.family, key.name, pc.name)
			if err != nil {
				return b.commitError(err, "")
			}
			if rulePrint(rules) != pc.ruleFP {
				return changed("chain " + object(key.family, key.name, pc.name))
			}
		}
	}
	b.tx.Rebase(gen)
	b.gen = gen
	return nil
}

// commitError is an error of the batch as a whole, named after its first
// change.
func (b *Batch) commitError(err error, reason string) error {
	a := &b.added[0]
	ch := a.change()
	return &Error{Op: opOf(ch), Object: object(ch.Family, ch.Table, ch.Chain), Source: a.source, Index: -1, Err: err, Reason: reason}
}

// chainPrint and rulePrint are fingerprints of what the kernel listed: of
// the chains, their names, handles and hooks; of the rules, their handles and
// userdata (not their expressions, whose counters change with traffic).
func chainPrint(chains []kernel.Chain) uint64 {
	h := fnv.New64a()
	for _, c := range chains {
		fmt.Fprintf(h, "%s %d", c.Name, c.Handle)
		if c.Base != nil {
			fmt.Fprintf(h, " %+v", *c.Base)
		}
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func rulePrint(rules []kernel.Rule) uint64 {
	h := fnv.New64a()
	for _, r := range rules {
		h.Write(binary.BigEndian.AppendUint64(nil, r.Handle))
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(r.UserData))))
		h.Write(r.UserData)
	}
	return h.Sum64()
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
			Group:   expr.Group{ID: a.id, Count: k, IPv6: a.ipv6, Words: b.wordsOf(i)},
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
		if pc := b.planned[tableKey{c.Family, c.Table}].chains[c.Chain]; pc.jumpOnly {
			return jumpError(b.added[pc.baseFrom].change(), pc.baseFrom, c.Chain)
		}
	}
	return nil
}

// explain names, in a kernel error, the change the failing message was
// sent for (the rules go to the transaction without their sources).
// It counts the other changes the error names in the units the caller
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
	ke.Source = b.added[b.msgChange(ke.Index)].source
	return err
}

// msgChange returns the change message k was sent for.
func (b *Batch) msgChange(k int) int {
	m := b.msgs[k]
	if m.change < 0 {
		return int(m.piece) // a table or chain created for change piece
	}
	return int(m.change)
}

// validChange checks what Apply needs of a change, and fills in its
// source.
func validChange(ch *Change, i int) error {
	switch {
	case ch.Rule != nil && ch.Rule.Source == nil, ch.Rule == nil && ch.Prepared == nil:
		return changeError(ch, i, ErrInvalidChange, "no rule")
	case ch.Rule == nil && ch.Prepared.spent():
		return changeError(ch, i, ErrInvalidChange, "the Prepared rule was already given to Apply (a Prepared rule is applied once)")
	}
	words := ch.words()
	switch {
	case ch.Source == "":
		ch.Source = words
	case ch.Rule == nil && strings.HasSuffix(ch.Source, words):
		// The usual "FILE:LINE: WORDS": keep the words once.
		ch.Prepared.words = ch.Source[len(ch.Source)-len(words):]
	}
	switch ch.Family {
	case expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet:
	default:
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("table family %v: ctmatch writes into ip, ip6 and inet tables", ch.Family))
	}
	if ch.Table == "" || ch.Chain == "" {
		return changeError(ch, i, ErrInvalidChange, "no table or chain name")
	}
	table, ipv6 := ch.compiledFor()
	if table != ch.Family {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("the rule was compiled for an %v table, not %v (Options.Table)", table, ch.Family))
	}
	if ch.Family == expr.FamilyIP && ipv6 || ch.Family == expr.FamilyIP6 && !ipv6 {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("an %v table takes %s words", ch.Family, map[bool]string{true: "ip6tables", false: "iptables"}[ch.Family == expr.FamilyIP6]))
	}
	if n := ch.pieces(); n == 0 || n > 255 {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("a rule of %d nft rules", n))
	}
	if ch.Index < 0 || ch.Index > 0 && ch.Handle != 0 {
		return changeError(ch, i, ErrInvalidChange, "a position is an index from 1 or a handle, not both")
	}
	return nil
}

// position returns where in pc.slots the new group of change i goes.
func position(pc *plannedChain, ch *Change, i int) (int, error) {
	n := len(pc.slots)
	switch {
	case ch.Handle != 0:
		for k, s := range pc.slots {
			if slices.Contains(s.handles, ch.Handle) {
				if ch.Insert {
					return k, nil
				}
				return k + 1, nil
			}
		}
		return 0, changeError(ch, i, ErrNoPosition, fmt.Sprintf("no rule with handle %d in chain %s (ctmatch list chain %s -a shows the handles)",
			ch.Handle, object(ch.Family, ch.Table, ch.Chain), object(ch.Family, ch.Table, ch.Chain)))
	case ch.Index != 0 && ch.Insert:
		if ch.Index > n+1 {
			return 0, changeError(ch, i, ErrNoPosition, fmt.Sprintf("index %d is too big: chain %s holds %s, so insert takes an index from 1 to %d",
				ch.Index, object(ch.Family, ch.Table, ch.Chain), groupsText(n), n+1))
		}
		return ch.Index - 1, nil
	case ch.Index != 0:
		if ch.Index > n {
			return 0, changeError(ch, i, ErrNoPosition, fmt.Sprintf("index %d is too big: chain %s holds %s, so add takes an index from 1 to %d (the rule goes after that group)",
				ch.Index, object(ch.Family, ch.Table, ch.Chain), groupsText(n), n))
		}
		return ch.Index, nil
	case ch.Insert:
		return 0, nil
	}
	return n, nil
}

func groupsText(n int) string {
	if n == 1 {
		return "1 rule"
	}
	return fmt.Sprintf("%d rules", n)
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

func kindOf(b *kernel.BaseChain) string {
	if b == nil {
		return "a regular chain"
	}
	return "a base chain (" + describeBase(b) + ")"
}

func opOf(ch *Change) string {
	if ch.Insert {
		return "insert rule"
	}
	return "add rule"
}

func changeError(ch *Change, i int, kind error, reason string) error {
	return &Error{Op: opOf(ch), Object: object(ch.Family, ch.Table, ch.Chain), Source: ch.Source, Index: i, Err: kind, Reason: reason}
}
