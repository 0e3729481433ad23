package ctmatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
	"golang.org/x/sys/unix"
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
	Rule *Rule
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
	spent     bool // Apply has sent its expressions and no longer has them
}

type preparedPiece struct {
	exprs   []byte
	verdict expr.Verdict
}

// Prepare lowers r for Change.Prepared. r is not kept: the caller may drop
// it.
func Prepare(r *Rule) (*Prepared, error) {
	if r == nil || r.Source == nil {
		return nil, errors.New("no rule")
	}
	p := &Prepared{table: r.Table, ipv6: r.Family == parse.IPv6, tableName: r.Source.TableName(), words: Words(r.Source),
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
		return "add table " + object(c.Family, c.Table)
	}
	s := "add chain " + object(c.Family, c.Table, c.Chain)
	if c.Base != nil {
		s += " { " + describeBase(c.Base) + "; }"
	}
	return s
}

// testRuleHook, when set by a test, may replace the wire expressions of
// the nft rules of a change before they are sent (for instance with an
// expression the kernel refuses, to see that Apply is atomic).
var testRuleHook func(change int, piece int, exprs []byte) []byte

// plannedTable is a table that the changes write into.
type plannedTable struct {
	t       kernel.Table
	exists  bool
	chains  map[string]*plannedChain // by name
	names   []string                 // the chains' names, in the kernel's order
	checked bool                     // the iptables-nft test was made
}

// plannedChain is a chain that the changes write into, and the groups it
// will hold.
type plannedChain struct {
	family   expr.Family
	table    string
	name     string
	exists   bool
	base     *kernel.BaseChain
	baseFrom int // the change whose -t decided base (for a chain to create), or -1
	slots    []slot
	used     map[uint32]bool // group ids in use
	maxID    uint32
}

// slot is one group of a chain: existing (with its handles) or new (from
// change).
type slot struct {
	handles []uint64 // existing
	change  int      // new: the index of its change; -1 for an existing group
}

// Apply writes changes into the kernel as one transaction: either all of
// them happen or none does. It reads the ruleset first (the tables, the
// chains and the rules of the chains written into) at a generation the
// transaction is then checked against, so a concurrent change makes the
// kernel refuse the whole transaction (kernel.ErrConcurrentChange) instead
// of placing rules wrongly.
//
// Each nft rule carries, in its userdata, the group record of its iptables
// rule (expr.Group): a group id not used in the chain, its piece number, and
// the rule's canonical words.
//
// Errors are *Error for what Apply refuses before sending anything, and
// *kernel.Error for what the kernel refuses (naming the change's Source).
func (c *Client) Apply(ctx context.Context, changes []Change, o ApplyOptions) (Applied, error) {
	var res Applied
	changes = slices.Clone(changes) // their sources are filled in
	for i := range changes {
		if err := validChange(&changes[i], i); err != nil {
			return res, err
		}
	}
	if len(changes) == 0 {
		return res, nil
	}
	readErr := func(i int, err error) error {
		ch := &changes[i]
		return readError(opOf(ch), object(ch.Family, ch.Table, ch.Chain), ch.Source, i, err)
	}
	gen, err := c.c.Generation(ctx)
	if err != nil {
		return res, readErr(0, err)
	}
	tables, err := c.c.Tables(ctx)
	if err != nil {
		return res, readErr(0, err)
	}
	planned := map[string]*plannedTable{}
	var order []*plannedTable
	var created []Created
	// The tables.
	for i := range changes {
		ch := &changes[i]
		key := object(ch.Family, ch.Table)
		pt := planned[key]
		if pt == nil {
			pt = &plannedTable{chains: map[string]*plannedChain{}}
			for _, t := range tables {
				if t.Family == ch.Family && t.Name == ch.Table {
					pt.t, pt.exists = t, true
				}
			}
			if !pt.exists {
				if !o.Create {
					return res, changeError(ch, i, ErrNoTable, fmt.Sprintf(
						"no such table %s (create it with --create, or with nft add table %s)", key, key))
				}
				pt.t = kernel.Table{Family: ch.Family, Name: ch.Table}
				created = append(created, Created{Family: ch.Family, Table: ch.Table})
			}
			planned[key] = pt
			order = append(order, pt)
		}
		if pt.exists && !pt.checked {
			pt.checked = true
			why, err := iptablesOwned(ctx, c.c, pt.t)
			if err != nil {
				return res, readErr(i, err)
			}
			if why != "" && !o.Force {
				e := iptablesRefusal(opOf(ch), pt.t, why).(*Error)
				e.Object, e.Source, e.Index = object(ch.Family, ch.Table, ch.Chain), ch.Source, i
				return res, e
			}
			chains, err := c.c.Chains(ctx, pt.t.Family, pt.t.Name)
			if err != nil {
				return res, readErr(i, err)
			}
			for _, kc := range chains {
				pt.chains[kc.Name] = &plannedChain{family: kc.Family, table: kc.Table, name: kc.Name, exists: true, base: kc.Base, baseFrom: -1}
				pt.names = append(pt.names, kc.Name)
			}
		}
	}
	// The chains.
	for i := range changes {
		ch := &changes[i]
		pt := planned[object(ch.Family, ch.Table)]
		pc := pt.chains[ch.Chain]
		var want *kernel.BaseChain
		if o.Create {
			want, err = CreatedChain(ch.tableName(), ch.Chain)
			if err != nil {
				return res, changeError(ch, i, ErrInvalidChange, err.Error())
			}
		}
		switch {
		case pc == nil && !o.Create:
			return res, changeError(ch, i, ErrNoChain, fmt.Sprintf(
				"no such chain %s in table %s (create it with --create, or with nft add chain %s)",
				ch.Chain, object(ch.Family, ch.Table), object(ch.Family, ch.Table, ch.Chain)))
		case pc == nil:
			pc = &plannedChain{family: ch.Family, table: ch.Table, name: ch.Chain, base: want, baseFrom: i, used: map[uint32]bool{}}
			pt.chains[ch.Chain] = pc
			pt.names = append(pt.names, ch.Chain)
			created = append(created, Created{Family: ch.Family, Table: ch.Table, Chain: ch.Chain, Base: want})
		case o.Create && !sameBase(pc.base, want):
			if pc.exists {
				return res, changeError(ch, i, ErrChainDiffers, fmt.Sprintf(
					"chain %s exists as %s, and --create would have made it %s for -t %s: leave out --create to write into it as it is, or write into another chain",
					object(ch.Family, ch.Table, ch.Chain), kindOf(pc.base), kindOf(want), ch.tableName()))
			}
			return res, changeError(ch, i, ErrChainDiffers, fmt.Sprintf(
				"chain %s is created as %s for the rule of change %d (-t %s), but this rule's -t %s makes it %s: use the same -t for every rule of the chain",
				object(ch.Family, ch.Table, ch.Chain), kindOf(pc.base), pc.baseFrom+1, changes[pc.baseFrom].tableName(),
				ch.tableName(), kindOf(want)))
		}
		if pc.exists && pc.used == nil {
			rules, err := c.c.Rules(ctx, ch.Family, ch.Table, ch.Chain)
			if err != nil {
				return res, readErr(i, err)
			}
			pc.used = map[uint32]bool{}
			for _, r := range rules {
				if _, g, err := expr.ParseUserData(r.UserData); err == nil {
					pc.used[g.ID] = true
					pc.maxID = max(pc.maxID, g.ID)
				}
			}
			if positioned(changes, ch) {
				for _, g := range groupRules(ch.Family, rules) {
					pc.slots = append(pc.slots, slot{handles: g.Handles(), change: -1})
				}
			} else {
				// Only the top and the end: no need to know the groups
				// (decompiling a long chain takes time), each rule will do.
				for _, r := range rules {
					pc.slots = append(pc.slots, slot{handles: []uint64{r.Handle}, change: -1})
				}
			}
		}
	}
	// Jumps and gotos need their chain.
	for i := range changes {
		ch := &changes[i]
		pt := planned[object(ch.Family, ch.Table)]
		for k := range ch.pieces() {
			if v := ch.verdict(k); (v.Kind == expr.VerdictJump || v.Kind == expr.VerdictGoto) && pt.chains[v.Chain] == nil {
				return res, changeError(ch, i, ErrNoChain, fmt.Sprintf(
					"the rule jumps to chain %s, which table %s does not have: create it first (nft add chain %s)",
					v.Chain, object(ch.Family, ch.Table), object(ch.Family, ch.Table, v.Chain)))
			}
		}
	}
	// The positions, change after change.
	res.Changes = make([]AppliedChange, len(changes))
	for i := range changes {
		ch := &changes[i]
		pc := planned[object(ch.Family, ch.Table)].chains[ch.Chain]
		p, err := position(pc, ch, i)
		if err != nil {
			return res, err
		}
		pc.slots = slices.Insert(pc.slots, p, slot{change: i})
		id := pc.newID()
		if ch.Rule == nil {
			res.Changes[i] = AppliedChange{Group: expr.Group{ID: id, Count: ch.pieces(), IPv6: ch.Prepared.ipv6, Words: ch.Prepared.words}}
		} else {
			res.Changes[i] = AppliedChange{
				Group: expr.Group{ID: id, Count: len(ch.Rule.Rules), IPv6: ch.Rule.Family == parse.IPv6, Words: Words(ch.Rule.Source)},
				Rules: ch.Rule.Rules,
			}
		}
		res.Changes[i].Handles = make([]uint64, ch.pieces())
	}

	// The transaction: tables and chains first, then the rules, run by run.
	tx := c.c.BeginAt(gen)
	if nh, ok := tx.(interface{ NoHandles() }); ok && o.NoHandles {
		// (Asserted rather than part of nfTx: a fake without it still
		// reports handles, which is allowed.)
		nh.NoHandles()
	}
	for _, cr := range created {
		if cr.Chain == "" {
			ud, err := expr.TableUserData("")
			if err != nil {
				return res, err
			}
			tx.AddTable(cr.Family, cr.Table, ud)
		} else {
			tx.AddChain(cr.Family, cr.Table, cr.Chain, cr.Base, nil)
		}
	}
	// Size the batch once: every rule's message, with the expressions of
	// the Prepared rules (those of the others are not lowered yet).
	if g, ok := tx.(interface{ Grow(n, size int) }); ok {
		pad := func(n int) int { return (n + 3) &^ 3 }
		n, size := 0, 0
		for i := range changes {
			ch := &changes[i]
			per := 36 + 12 + pad(len(ch.Table)+1) + pad(len(ch.Chain)+1) + pad(min(expr.MaxUserData, 10+len(res.Changes[i].Group.Words)))
			for k := range ch.pieces() {
				n++
				size += per
				if ch.Rule == nil {
					size += pad(len(ch.Prepared.pieces[k].exprs))
				}
			}
		}
		g.Grow(n, size)
	}
	type sent struct{ change, piece int }
	var adds []sent
	emit := func(run []slot, before uint64) error {
		for _, s := range run {
			ch := &changes[s.change]
			ac := &res.Changes[s.change]
			for k := range ch.pieces() {
				if ch.Rule == nil && ch.Prepared.pieces[k].exprs == nil {
					// (Prepare never leaves them nil: the Prepared is in
					// an earlier change of this Apply too.)
					return changeError(ch, s.change, ErrInvalidChange, "the Prepared rule was already given to Apply (a Prepared rule is applied once)")
				}
				b, err := ch.lower(k)
				if err != nil {
					return changeError(ch, s.change, ErrInvalidChange, err.Error())
				}
				if testRuleHook != nil {
					b = testRuleHook(s.change, k, b)
				}
				g := ac.Group
				g.Index = k
				ud, err := g.UserData("")
				if err != nil {
					return changeError(ch, s.change, ErrInvalidChange, err.Error())
				}
				tx.AddRule(ch.Family, ch.Table, ch.Chain, kernel.RuleSpec{Exprs: b, UserData: ud, Insert: before != 0, Position: before, Source: ch.Source})
				adds = append(adds, sent{s.change, k})
				if ch.Rule == nil {
					// The transaction has copied the bytes: let them go.
					ch.Prepared.pieces[k].exprs = nil
					ch.Prepared.spent = true
				}
			}
		}
		return nil
	}
	// Runs of new groups, each placed before the existing group after it
	// (each of its rules inserted right before that group's first rule, so
	// they keep their order), or at the end of the chain. Runs are sent in
	// the order of their first change, so that the kernel's first error is,
	// as far as possible, the first change's.
	type run struct {
		slots  []slot
		before uint64
		first  int
	}
	var runs []run
	for _, pt := range order {
		for _, name := range pt.names {
			pc := pt.chains[name]
			for i := 0; i < len(pc.slots); {
				if pc.slots[i].change < 0 {
					i++
					continue
				}
				j := i
				first := math.MaxInt
				for j < len(pc.slots) && pc.slots[j].change >= 0 {
					first = min(first, pc.slots[j].change)
					j++
				}
				var before uint64
				if j < len(pc.slots) {
					before = pc.slots[j].handles[0]
				}
				runs = append(runs, run{pc.slots[i:j], before, first})
				i = j
			}
		}
	}
	slices.SortStableFunc(runs, func(a, b run) int { return a.first - b.first })
	for _, r := range runs {
		if err := emit(r.slots, r.before); err != nil {
			return res, err
		}
	}
	res.Created = created
	// explain adds what the kernel does not say to its refusal of a rule
	// that jumps to a base chain (EOPNOTSUPP at the verdict).
	explain := func(err error) error {
		var ke *kernel.Error
		if !errors.As(err, &ke) || !errors.Is(err, unix.EOPNOTSUPP) || ke.Index < len(created) || ke.Index-len(created) >= len(adds) {
			return err
		}
		a := adds[ke.Index-len(created)]
		ch := &changes[a.change]
		v := ch.verdict(a.piece)
		if v.Kind != expr.VerdictJump && v.Kind != expr.VerdictGoto {
			return err
		}
		if pc := planned[object(ch.Family, ch.Table)].chains[v.Chain]; pc == nil || pc.base == nil {
			return err
		}
		why := fmt.Sprintf("chain %s is a base chain, and the kernel takes no jump or goto to a base chain: ", v.Chain)
		reason := strings.Replace(ke.Reason, "the kernel refused the rule's verdict (it takes no jump or goto to a base chain): ", why, 1)
		if reason == ke.Reason {
			reason = why + ke.Reason
		}
		if ke.Where != "" {
			reason = ke.Where + ": " + reason
		}
		return &Error{Op: opOf(ch), Object: object(ch.Family, ch.Table, ch.Chain), Source: ch.Source, Index: a.change, Err: err, Reason: reason}
	}
	if o.Check {
		res.Checked, res.Generation = true, gen
		if err := tx.Check(ctx); err != nil {
			return res, explain(err)
		}
		return res, nil
	}
	kr, err := tx.Commit(ctx)
	res.Generation = kr.Generation
	for k, a := range adds {
		if k < len(kr.Handles) {
			res.Changes[a.change].Handles[a.piece] = kr.Handles[k]
		}
	}
	if err != nil {
		if !kr.Committed {
			res.Created = nil
		}
		return res, explain(err)
	}
	return res, nil
}

// positioned reports whether a change to the chain of ch is placed by an
// index or a handle, which count groups.
func positioned(changes []Change, ch *Change) bool {
	for i := range changes {
		c := &changes[i]
		if c.Family == ch.Family && c.Table == ch.Table && c.Chain == ch.Chain && (c.Index != 0 || c.Handle != 0) {
			return true
		}
	}
	return false
}

// validChange checks what Apply needs of a change, and fills in its
// source.
func validChange(ch *Change, i int) error {
	if ch.Rule != nil && ch.Rule.Source == nil || ch.Rule == nil && ch.Prepared == nil {
		return changeError(ch, i, ErrInvalidChange, "no rule")
	}
	if ch.Rule == nil {
		return validPrepared(ch, i)
	}
	if ch.Source == "" {
		ch.Source = Words(ch.Rule.Source)
	}
	switch ch.Family {
	case expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet:
	default:
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("table family %v: ctmatch writes into ip, ip6 and inet tables", ch.Family))
	}
	if ch.Table == "" || ch.Chain == "" {
		return changeError(ch, i, ErrInvalidChange, "no table or chain name")
	}
	if ch.Rule.Table != ch.Family {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("the rule was compiled for an %v table, not %v (Options.Table)", ch.Rule.Table, ch.Family))
	}
	if ch.Family == expr.FamilyIP && ch.Rule.Family == parse.IPv6 || ch.Family == expr.FamilyIP6 && ch.Rule.Family == parse.IPv4 {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("an %v table takes %s words", ch.Family, map[bool]string{true: "ip6tables", false: "iptables"}[ch.Family == expr.FamilyIP6]))
	}
	if len(ch.Rule.Rules) == 0 || len(ch.Rule.Rules) > 255 {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("a rule of %d nft rules", len(ch.Rule.Rules)))
	}
	if ch.Index < 0 || ch.Index > 0 && ch.Handle != 0 {
		return changeError(ch, i, ErrInvalidChange, "a position is an index from 1 or a handle, not both")
	}
	return nil
}

// validPrepared is validChange for a change with a Prepared rule.
func validPrepared(ch *Change, i int) error {
	p := ch.Prepared
	if ch.Source == "" {
		ch.Source = p.words
	} else if strings.HasSuffix(ch.Source, p.words) {
		// The usual "FILE:LINE: WORDS": keep the words once.
		p.words = ch.Source[len(ch.Source)-len(p.words):]
	}
	switch ch.Family {
	case expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet:
	default:
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("table family %v: ctmatch writes into ip, ip6 and inet tables", ch.Family))
	}
	if ch.Table == "" || ch.Chain == "" {
		return changeError(ch, i, ErrInvalidChange, "no table or chain name")
	}
	if p.table != ch.Family {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("the rule was compiled for an %v table, not %v (Options.Table)", p.table, ch.Family))
	}
	if ch.Family == expr.FamilyIP && p.ipv6 || ch.Family == expr.FamilyIP6 && !p.ipv6 {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("an %v table takes %s words", ch.Family, map[bool]string{true: "ip6tables", false: "iptables"}[ch.Family == expr.FamilyIP6]))
	}
	if p.spent {
		return changeError(ch, i, ErrInvalidChange, "the Prepared rule was already given to Apply (a Prepared rule is applied once)")
	}
	if len(p.pieces) == 0 || len(p.pieces) > 255 {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("a rule of %d nft rules", len(p.pieces)))
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

// newID returns a group id not used in the chain: one more than the
// largest, or the smallest free one when the largest is the last id.
func (pc *plannedChain) newID() uint32 {
	if pc.used == nil {
		pc.used = map[uint32]bool{}
	}
	id := pc.maxID + 1
	if pc.maxID == math.MaxUint32 {
		for id = 1; pc.used[id]; id++ {
		}
	}
	pc.used[id] = true
	pc.maxID = max(pc.maxID, id)
	return id
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

// Words returns the canonical iptables words of a rule without its -t, -A
// and -I: the matches and the target, as a group record keeps them and
// list -o iptables prints them after "-A CHAIN".
func Words(r *parse.Rule) string {
	if r == nil {
		return ""
	}
	c := *r
	c.Table, c.Command = nil, nil
	return strings.TrimSpace(c.String())
}
