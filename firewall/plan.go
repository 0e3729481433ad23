package firewall

import (
	"fmt"
	"slices"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

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

// plan is the pure part of a Batch: the ruleset as far as the batch has
// read it (the tables at the batch's generation, the chains of the tables
// it writes into, the groups of the chains where it places rules by an
// index or a handle) and what the changes added so far make of it. Its
// methods read nothing and send nothing: the Batch reads what they need
// first, and sends the creations they queue (pending) and the rules they
// place.
type plan struct {
	o       ApplyOptions
	tables  []kernel.Table // at the batch's generation
	planned map[tableKey]*plannedTable
	pending []creation // tables and chains to create, not yet queued in the transaction
}

// creation is a table or chain to create, with its userdata.
type creation struct {
	Created
	userdata []byte
}

// create plans the creation of a table or chain.
func (p *plan) create(c Created, userdata []byte) {
	p.pending = append(p.pending, creation{c, userdata})
}

// table returns the planned table change i writes into, planning its
// creation when it does not exist (with Create).
func (p *plan) table(ch *Change, i int) (*plannedTable, error) {
	key := tableKey{ch.Family, ch.Table}
	if pt := p.planned[key]; pt != nil {
		return pt, nil
	}
	pt := &plannedTable{chains: map[string]*plannedChain{}}
	for _, t := range p.tables {
		if t.Family == ch.Family && t.Name == ch.Table {
			pt.t, pt.exists = t, true
		}
	}
	if !pt.exists {
		if !p.o.Create {
			return nil, noTableError(ch, i)
		}
		ud, err := expr.TableUserData("")
		if err != nil {
			return nil, err
		}
		pt.t = kernel.Table{Family: ch.Family, Name: ch.Table}
		p.create(Created{Family: ch.Family, Table: ch.Table}, ud)
	}
	p.planned[key] = pt
	return pt, nil
}

// addChains records the chains read from an existing table.
func (p *plan) addChains(pt *plannedTable, chains []kernel.Chain) {
	pt.chainFP = chainPrint(chains)
	for _, kc := range chains {
		pt.chains[kc.Name] = &plannedChain{family: kc.Family, table: kc.Table, name: kc.Name, exists: true, base: kc.Base, baseFrom: -1,
			slots: []slot{{change: -1}}}
	}
}

// chain returns the planned chain change i writes into, planning its
// creation when it does not exist (with Create), and refusing a chain that
// is not the one Create makes.
func (p *plan) chain(pt *plannedTable, ch *Change, i int) (*plannedChain, error) {
	pc := pt.chains[ch.Chain]
	var want *kernel.BaseChain
	if p.o.Create {
		var err error
		if want, err = CreatedChain(ch.tableName(), ch.Chain); err != nil {
			return nil, changeHintError(ch, i, ErrInvalidChange, err.Error(), createdChainHint)
		}
	}
	switch {
	case pc == nil && !p.o.Create:
		return nil, noChainError(ch, i)
	case pc == nil:
		var err error
		if pc, err = p.createChain(pt, ch, ch.Chain, want, i); err != nil {
			return nil, err
		}
	case p.o.Create && !sameBase(pc.base, want):
		return nil, chainDiffersError(pc, want, ch, i)
	}
	pc.jumpOnly = false
	if !appended(ch) {
		pc.untail()
	}
	return pc, nil
}

// appended reports whether ch goes at the end of its chain.
func appended(ch *Change) bool { return !ch.Insert && ch.Index == 0 && ch.Handle == 0 }

// needsGroups reports whether ch is placed by the chain's groups: by an
// index or a handle. (Inserting as group 1 is inserting at the top.)
func needsGroups(ch *Change) bool {
	return ch.Handle != 0 || ch.Index != 0 && !(ch.Insert && ch.Index == 1)
}

// createChain plans the creation of a chain of pt for change i.
//
// Without Force it refuses to add a chain to an existing table without
// ctmatch's ownership record: one that iptables-nft reads as its own by
// its name (iptables-nft would read the new chain, and fail on its
// rules), and one of another program (ErrNotOwned: a base chain would
// filter at its hook beside that program's chains, which is not ctmatch's
// to decide).
func (p *plan) createChain(pt *plannedTable, ch *Change, name string, base *kernel.BaseChain, i int) (*plannedChain, error) {
	if pt.exists && !p.o.Force && !expr.OwnedTable(pt.t.UserData) {
		if iptablesName(pt.t.Family, pt.t.Name) {
			return nil, iptablesChainRefusal(pt, ch, name, i)
		}
		e := notOwned(opOf(ch), object(ch.Family, ch.Table, name), i, pt.t.Family, pt.t.Name).(*Error)
		e.Reason += fmt.Sprintf(", and Create would add the chain %s to it", QuoteName(name))
		e.Pos, e.Words = ch.Pos, ch.words()
		return nil, e
	}
	pc := &plannedChain{family: ch.Family, table: ch.Table, name: name, base: base, baseFrom: i, baseTable: ch.tableName()}
	pt.chains[name] = pc
	p.create(Created{Family: ch.Family, Table: ch.Table, Chain: name, Base: base}, nil)
	return pc, nil
}

// addGroups puts the groups of an existing chain's rules, as read, in the
// place of its unread slot. (Until then, changes went only to the top and
// the end of it.)
func (p *plan) addGroups(pc *plannedChain, rules []kernel.Rule, sets expr.SetSource) {
	pc.read, pc.ruleFP = true, rulePrint(rules)
	var groups []slot
	for _, g := range groupRules(pc.family, rules, sets) {
		groups = append(groups, slot{handles: g.Handles(), change: -1})
	}
	at := slices.IndexFunc(pc.slots, slot.unread)
	pc.slots = slices.Replace(pc.slots, at, at+1, groups...)
}

// jumps plans the chains that the jumps and gotos of change i need: with
// Create, a chain that does not exist yet is created now, before the rule
// that jumps to it, and a later change must write into it.
func (p *plan) jumps(pt *plannedTable, ch *Change, i int) error {
	for k := range ch.pieces() {
		v := ch.verdict(k)
		if v.Kind != expr.VerdictJump && v.Kind != expr.VerdictGoto {
			continue
		}
		if pt.chains[v.Chain] != nil {
			continue
		}
		if !p.o.Create {
			return jumpError(ch, i, v.Chain)
		}
		to, err := CreatedChain(ch.tableName(), v.Chain)
		if err != nil {
			return changeHintError(ch, i, ErrInvalidChange, err.Error(), createdChainHint)
		}
		jc, err := p.createChain(pt, ch, v.Chain, to, i)
		if err != nil {
			return err
		}
		jc.jumpOnly = true
	}
	return nil
}

// place puts change i among the groups of its chain, and returns its slot.
func (p *plan) place(pc *plannedChain, ch *Change, i int) (int, error) {
	if appended(ch) {
		pc.tail = append(pc.tail, int32(i))
		return len(pc.slots), nil
	}
	at, err := position(pc, ch, i)
	if err != nil {
		return 0, err
	}
	pc.slots = slices.Insert(pc.slots, at, slot{change: i})
	return at, nil
}

// where returns where the rules of the change in slot at of pc go in the
// transaction, next to the slots around it (the kernel's order so far is
// the slots' order without the changes still to come): before the group
// after it, or at the end; else after the group before it, or at the top
// (the rules then sent last first, each going right after the one before
// it, or at the top: reverse). Unread rules are never the group after it
// but at the top (only changes inserted at the top precede them), nor the
// group before it but at the end. byID says the rules go before those of
// another change of the same transaction, by rule id (firstID of that
// change): the kernel must support NFTA_RULE_POSITION_ID.
func where(pc *plannedChain, at int, appended bool, firstID func(change int) uint32) (spec kernel.RuleSpec, reverse, byID bool) {
	switch next, prev := at+1, at-1; {
	case appended, next == len(pc.slots):
	case pc.slots[next].change < 0 && !pc.slots[next].unread():
		spec.Insert, spec.Position = true, pc.slots[next].handles[0]
	case prev < 0:
		spec.Insert, reverse = true, true
	case pc.slots[prev].change < 0:
		spec.Position, reverse = pc.slots[prev].handles[len(pc.slots[prev].handles)-1], true
	default:
		spec.Insert, spec.PositionID, byID = true, firstID(pc.slots[next].change), true
	}
	return spec, reverse, byID
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
		return 0, changeHintError(ch, i, ErrNoPosition, fmt.Sprintf("no rule with handle %d in chain %s", ch.Handle, object(ch.Family, ch.Table, ch.Chain)),
			handlesHint(object(ch.Family, ch.Table, ch.Chain)))
	case ch.Index != 0 && ch.Insert:
		if ch.Index > n+1 {
			return 0, changeError(ch, i, ErrNoPosition, fmt.Sprintf("index %d is too big: chain %s holds %s, so insert takes an index from 1 to %d",
				ch.Index, object(ch.Family, ch.Table, ch.Chain), groupsText(n), n+1))
		}
		return ch.Index - 1, nil
	case ch.Index != 0:
		if ch.Index > n && n == 0 {
			return 0, changeError(ch, i, ErrNoPosition, fmt.Sprintf("index %d: chain %s holds no rule to add after; leave out the index (or insert at index 1)",
				ch.Index, object(ch.Family, ch.Table, ch.Chain)))
		}
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

// positionIDs reports whether the kernel places a rule next to a rule of
// the same transaction (a variable, for tests).
var positionIDs = kernel.PositionIDs
