package firewall

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// DesiredTable is the whole state Sync makes a table hold: its chains, in
// order, and their rules, and its named objects.
type DesiredTable struct {
	Family expr.Family    // expr.FamilyIP, FamilyIP6 or FamilyInet
	Name   string         // the table's name
	Chains []DesiredChain // every chain of the table, in order
	// Objects are every named object (ct helper) of the table; nil or
	// empty for none (Sync deletes the table's others).
	Objects []DesiredObject
	// Merges are the tables of other families, of the same name, that
	// this table takes the place of (WriteTables only): an inet table
	// that merges the ip and ip6 tables two iptables-save files name
	// (apply --family inet). WriteTables deletes each one that exists in
	// the same transaction, as it replaces or takes over a table of this
	// table's own family (WriteOptions).
	Merges []MergedTable
}

// DesiredTables returns the tables of rs (a ctmatch.Ruleset, as
// ctmatch.NewSaveRuleset reads an iptables-save file or ctmatch.MergeInet
// merges two) as DesiredTables of family f, for CreateTables,
// WriteTables or Sync: each built-in chain the base chain iptables-nft
// makes for it in its table (CreatedChain) with its policy, each other
// chain a regular chain, every rule as it is. The rules must be compiled
// for tables of family f.
func DesiredTables(rs ctmatch.Ruleset, f expr.Family) ([]DesiredTable, error) {
	out := make([]DesiredTable, 0, len(rs.Tables))
	for _, t := range rs.Tables {
		d := DesiredTable{Family: f, Name: t.Name}
		for _, c := range t.Chains {
			dc := DesiredChain{Name: c.Name}
			if c.Builtin {
				b, err := CreatedChain(t.Name, c.Name)
				if err != nil {
					return nil, err
				}
				if c.Policy == "DROP" {
					b.Policy = kernel.PolicyDrop
				}
				dc.Base = b
			}
			for _, r := range c.Rules {
				if r.Table != f {
					return nil, fmt.Errorf("table %s chain %s: a rule compiled for %v tables, not %v", t.Name, c.Name, r.Table, f)
				}
				dc.Rules = append(dc.Rules, DesiredRule{Rule: r})
			}
			d.Chains = append(d.Chains, dc)
		}
		out = append(out, d)
	}
	return out, nil
}

// MergedTable is a table that a DesiredTable takes the place of: its
// family, and the chains the desired table defines for it (a table of
// iptables-nft's is taken over only when they are all of its chains).
type MergedTable struct {
	Family expr.Family // the table's family (its name is the DesiredTable's)
	Chains []string    // the chains the desired table defines for it
}

// DesiredChain is a chain and its rules, in order.
type DesiredChain struct {
	Name string // the chain's name
	// Base makes the chain a base chain (any type, hook, priority, policy,
	// and the device of an ingress hook); nil for a regular chain.
	Base  *kernel.BaseChain
	Rules []DesiredRule
}

// DesiredRule is one iptables rule of a chain.
type DesiredRule struct {
	Rule    *ctmatch.Rule // compiled for a table of the table's family
	Comment string        // nft's comment on its nft rules, "" for none
	// Prepared, when Rule is nil, is the rule already lowered (Prepare),
	// so that a caller can lower its rules while it reads them and let
	// their syntax trees go. A Prepared rule may be given to any number
	// of Syncs and WriteTables (not to Apply as well: Apply spends it).
	Prepared *Prepared
}

// SyncOptions say how Sync writes.
type SyncOptions struct {
	// Force syncs a table without ctmatch's ownership record
	// (ErrNotOwned without it), which Sync may then empty of chains it
	// does not name.
	Force bool
	// Check has the kernel validate the transaction without applying it.
	Check bool
}

// Diff is what a Sync changes: empty when the table already holds the
// desired state.
type Diff struct {
	Family      expr.Family // the table's family
	Table       string      // the table's name
	CreateTable bool        // the table is missing and is created
	// Chains are the chains that change: those of the desired state in its
	// order, then those Sync deletes.
	Chains []ChainDiff
	// Objects are the named objects that change, those of the desired
	// state in its order, then those Sync deletes.
	Objects []ObjectDiff
}

// DeletedChains names the chains the diff deletes and does not make again,
// each as "ip filter DOCKER-USER".
func (d Diff) DeletedChains() []string {
	var out []string
	for _, c := range d.Chains {
		if c.Delete {
			out = append(out, object(d.Family, d.Table, c.Name))
		}
	}
	return out
}

// ChainDiff is what a Sync does to one chain.
type ChainDiff struct {
	Name string            // the chain's name
	Base *kernel.BaseChain // the desired kind; nil for a regular chain (or one deleted)
	// Create: the chain is missing and is created. Delete: the chain is
	// not desired and is deleted. Recreate: the chain is of another kind
	// (type, hook, priority, policy or device) and is deleted and created
	// again.
	Create, Delete, Recreate bool
	// Rewrite: the chain's rules differ from the desired ones (or are in
	// another order), so it is flushed and every desired rule is added
	// again (Rules of them).
	Rewrite bool
	Rules   int
	// Add and Remove are the rules that differ, as their canonical words
	// (with the comment after "# "): desired rules the chain lacks, and
	// rules of the chain that are not desired. Both are empty for a chain
	// whose rules only moved.
	Add, Remove []string
	// ForObjects: the chain's rules are the desired ones, but refer to a
	// named object that is deleted or recreated, which the kernel refuses
	// while a rule refers to it: the chain is rewritten all the same.
	ForObjects bool
}

// Empty reports that there is nothing to change.
func (d Diff) Empty() bool { return !d.CreateTable && len(d.Chains) == 0 && len(d.Objects) == 0 }

// String returns the diff as lines: nft's commands for the table and
// chains, and the rules that go ("- ") and come ("+ ") in each chain that
// is rewritten; "" when the diff is empty.
func (d Diff) String() string {
	var b strings.Builder
	obj := fmt.Sprintf("%v %s", d.Family, QuoteName(d.Table))
	if d.CreateTable {
		fmt.Fprintf(&b, "add table %s\n", obj)
	}
	writeObjectDiff(&b, obj, d.Objects)
	for _, c := range d.Chains {
		name := obj + " " + QuoteName(c.Name)
		switch {
		case c.Delete:
			fmt.Fprintf(&b, "delete chain %s\n", name)
			continue
		case c.Recreate:
			fmt.Fprintf(&b, "delete chain %s\n", name)
		}
		if c.Create || c.Recreate {
			fmt.Fprintf(&b, "add chain %s", name)
			if c.Base != nil {
				fmt.Fprintf(&b, " { %s; }", describeBase(c.Base))
			}
			b.WriteString("\n")
		} else if c.Rewrite {
			fmt.Fprintf(&b, "flush chain %s\n", name)
		}
		if !c.Rewrite {
			continue
		}
		for _, w := range c.Remove {
			fmt.Fprintf(&b, "- %s\n", w)
		}
		for _, w := range c.Add {
			fmt.Fprintf(&b, "+ %s\n", w)
		}
		switch {
		case c.ForObjects:
			fmt.Fprintf(&b, "  (%d rules again: they use a ct helper deleted or recreated)\n", c.Rules)
		case len(c.Add)+len(c.Remove) == 0 && c.Recreate:
			fmt.Fprintf(&b, "  (the same %d rules, in the chain made again)\n", c.Rules)
		case len(c.Add)+len(c.Remove) == 0:
			fmt.Fprintf(&b, "  (%d rules in a new order)\n", c.Rules)
		}
	}
	return b.String()
}

// Synced is what Sync did.
type Synced struct {
	Diff Diff // what changed, or would with Check; empty when nothing did
	// Sent says a transaction was sent: false when the diff was empty.
	Sent bool
	// Checked says it was only checked (SyncOptions.Check).
	Checked bool
	// Generation is the generation after the commit, or the one read when
	// nothing was sent or the transaction was only checked.
	Generation uint32
}

// Diff reads the table and returns what Sync would change, sending
// nothing.
func (c *Client) Diff(ctx context.Context, d DesiredTable, o SyncOptions) (Diff, error) {
	if err := c.lock(ctx); err != nil {
		return Diff{}, err
	}
	defer c.unlock()
	p, err := c.planSync(ctx, d, o)
	if err != nil {
		return Diff{}, err
	}
	return p.diff, nil
}

// Sync makes table d hold exactly the desired chains and rules, in one
// transaction begun at the generation it read (a concurrent change makes
// the kernel refuse it whole: kernel.ErrConcurrentChange), creating the
// table with ctmatch's ownership record when it is missing. A table that
// exists must carry that record unless o.Force (ErrNotOwned): Sync deletes
// the chains it does not name. When the table already holds the desired
// state, Sync sends nothing at all. A Client remembers the last state its
// Sync found or made and the generation of the ruleset then: while the
// generation has not moved (no transaction of anyone's was committed), a
// Sync of that same state reads only the generation, not the table.
//
// Sync compares the desired rules with the chain's by group, never by
// handle: a group (the nft rules of one iptables rule, see expr.Group) is
// the same rule when its canonical words and comment (as its group record
// keeps them) and every piece's expressions (the kernel's, raised and
// lowered again, against the desired rule lowered) are the same, in the
// same order. A rule of the chain that ctmatch did not write (without a
// group record) is never the same as a desired rule.
//
// A chain whose rules differ in any way is rewritten: flushed, then every
// desired rule added again at its end, in the same transaction. This is
// simpler than a minimal edit (deleting and inserting groups by handle, next
// to groups the transaction itself adds, which needs rule ids and positions
// for each), costs the kernel time in proportion to the chain rewritten
// rather than the table, is atomic all the same, and leaves the chain
// exactly as desired whatever else was in it; the price is that the
// counters of a rewritten chain start again from zero, and its rules get
// new handles. Chains whose rules are the same are not touched. A chain
// of another kind (a base chain's type, hook, priority, policy or device
// differ, or base against regular) is deleted and created again.
//
// The named objects (ct helpers) of d are compared by name, helper and
// protocols: one missing is created, one that differs is deleted and
// created again, one not desired is deleted; a chain whose rules refer to
// an object deleted or recreated is rewritten too (the kernel refuses to
// delete an object a rule refers to).
//
// The transaction is, in order: the table when missing; a flush of every
// chain rewritten, recreated or deleted; the chains' deletions; the
// objects' deletions, then their creations; the chains' creations (every
// chain before any rule, so that jumps find their chain); the rules.
func (c *Client) Sync(ctx context.Context, d DesiredTable, o SyncOptions) (Synced, error) {
	if err := c.lock(ctx); err != nil {
		return Synced{}, err
	}
	defer c.unlock()
	p, err := c.planSync(ctx, d, o)
	if err != nil {
		return Synced{}, err
	}
	res := Synced{Diff: p.diff, Generation: p.gen}
	if p.diff.Empty() {
		c.sync.remember(p.state(p.gen))
		return res, nil
	}
	var seed [8]byte
	if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
		return Synced{}, randError("sync", err)
	}
	tx := c.c.BeginAt(p.gen)
	if nh, ok := tx.(interface{ NoHandles() }); ok {
		// (Sync reports no handles: the kernel need not echo every rule.)
		nh.NoHandles()
	}
	if err := p.queue(tx, binary.BigEndian.Uint64(seed[:])); err != nil {
		return Synced{}, err
	}
	res.Sent = true
	if o.Check {
		res.Checked = true
		return res, tx.Check(ctx)
	}
	kr, err := tx.Commit(ctx)
	if err != nil {
		return res, err
	}
	res.Generation = kr.Generation
	if kr.Generation != 0 {
		c.sync.remember(p.state(kr.Generation))
	}
	return res, nil
}

// syncMemo is the last state a Client's Sync found in the kernel or put
// there, and the generation of the ruleset at which the table held it. The
// generation changes with every transaction the kernel commits, whoever
// sends it, so while it stays the table still holds that state: a Sync
// compares the desired state with it instead of listing the table again
// (listing a long chain costs the kernel seconds: see Batch.newID).
// Reading the generation is one request.
type syncMemo struct {
	p atomic.Pointer[syncState]
}

// syncState is a table as a Sync left it.
type syncState struct {
	gen     uint32
	family  expr.Family
	table   string
	owned   bool // the table carries ctmatch's record
	chains  []haveChain
	objects []kernel.Object // as the kernel lists them
}

func (m *syncMemo) remember(s *syncState) { m.p.Store(s) }

// at returns the state remembered for table f name, or nil.
func (m *syncMemo) at(f expr.Family, name string) *syncState {
	if s := m.p.Load(); s != nil && s.family == f && s.table == name {
		return s
	}
	return nil
}

// state is the table as the plan leaves it, at generation gen.
func (p *syncPlan) state(gen uint32) *syncState {
	s := &syncState{gen: gen, family: p.d.Family, table: p.d.Name, owned: p.owned, objects: p.desiredObjects()}
	for i, dc := range p.d.Chains {
		groups := make([]keyedGroup, len(p.rules[i]))
		for j, r := range p.rules[i] {
			groups[j] = keyedGroup{key: r.key, words: r.words}
		}
		var base *kernel.BaseChain
		if dc.Base != nil {
			b := *dc.Base // (the caller's may change)
			base = &b
		}
		s.chains = append(s.chains, haveChain{name: dc.Name, base: base, groups: groups, read: true})
	}
	return s
}

// syncPlan is a Sync planned: the diff, and the desired rules lowered.
type syncPlan struct {
	gen   uint32
	owned bool // the table carries ctmatch's record (or is created)
	// noKeys: the rules are only written, never compared (WriteTables),
	// so their keys are not computed.
	noKeys bool
	d      DesiredTable
	diff   Diff
	// rules[i][j] is desired rule j of chain i, lowered.
	rules [][]desiredRule
}

// desiredRule is a desired rule made ready: its record and its lowered
// pieces.
type desiredRule struct {
	group   expr.Group // without its id
	comment string
	pieces  [][]byte
	key     string // see groupKey
	words   string // for the diff
	// withSets lowers piece k again with the sets its lookups need,
	// numbered from first in the transaction; nil when no piece has one
	// (pieces holds them numbered from 1, for the key).
	withSets func(k int, first uint32) ([]byte, []expr.Set, error)
}

// haveChain is a chain of the table as it is: read from the kernel, or
// remembered.
type haveChain struct {
	name   string
	base   *kernel.BaseChain
	groups []keyedGroup
	read   bool // groups holds the chain's groups
}

// planSync validates d, finds the table as it is (remembered, while the
// generation has not moved; read otherwise) and compares.
func (c *Client) planSync(ctx context.Context, d DesiredTable, o SyncOptions) (*syncPlan, error) {
	p := &syncPlan{d: d, diff: Diff{Family: d.Family, Table: d.Name}}
	if err := p.prepare(); err != nil {
		return nil, err
	}
	if m := c.sync.at(d.Family, d.Name); m != nil {
		gen, err := c.c.Generation(ctx)
		if err != nil {
			return nil, readError("sync", "", -1, err)
		}
		if gen == m.gen {
			if !m.owned && !o.Force {
				return nil, notOwned("sync", fmt.Sprintf("%v %s", d.Family, d.Name), -1, d.Family, d.Name)
			}
			p.gen, p.owned = gen, m.owned
			return p, p.compare(ctx, c, m.chains, m.objects)
		}
	}
	return p, c.read(ctx, p, o)
}

// read reads the table of a prepared plan and compares.
func (c *Client) read(ctx context.Context, p *syncPlan, o SyncOptions) error {
	const op = "sync"
	d := p.d
	st, err := c.readState(ctx, op)
	if err != nil {
		return err
	}
	p.gen = st.gen
	tobj := fmt.Sprintf("%v %s", d.Family, d.Name)
	t := st.tables[tableKey{d.Family, d.Name}]
	var have []haveChain
	var objs []kernel.Object
	if t == nil {
		p.diff.CreateTable, p.owned = true, true
	} else {
		if err := t.owner(op, tobj, -1, o.Force); err != nil {
			return err
		}
		p.owned = t.owned
		chains, err := t.readChains(ctx, c, op, tobj)
		if err != nil {
			return err
		}
		for _, ch := range chains {
			have = append(have, haveChain{name: ch.Name, base: ch.Base})
		}
		if objs, err = c.c.Objects(ctx, d.Family, d.Name); err != nil {
			return readError(op, tobj, -1, err)
		}
	}
	return p.compare(ctx, c, have, objs)
}

// compare finds what differs between the table's chains, have, and
// objects, objs, and the desired ones, reading the rules of a desired chain
// when have does not hold them.
func (p *syncPlan) compare(ctx context.Context, c *Client, have []haveChain, objs []kernel.Object) error {
	d := p.d
	byName := map[string]haveChain{}
	for _, ch := range have {
		byName[ch.name] = ch
	}
	for i, dc := range d.Chains {
		cd := ChainDiff{Name: dc.Name, Base: dc.Base, Rules: len(dc.Rules)}
		hc, exists := byName[dc.Name]
		delete(byName, dc.Name)
		switch {
		case !exists:
			cd.Create, cd.Rewrite = true, len(dc.Rules) > 0
		case !sameKind(hc.base, dc.Base):
			cd.Recreate, cd.Rewrite = true, len(dc.Rules) > 0
		}
		groups := hc.groups
		if exists && !hc.read {
			rules, err := c.c.Rules(ctx, d.Family, d.Name, dc.Name)
			if err != nil {
				return readError("sync", object(d.Family, d.Name, dc.Name), -1, err)
			}
			groups = keyGroups(d.Family, rules, c.setSource(ctx, d.Family, d.Name))
		}
		if cd.Recreate && len(groups) > 0 {
			cd.Rewrite = true
		}
		if exists && !cd.Rewrite && !cd.Recreate {
			cd.Rewrite = !sameRules(groups, p.rules[i])
		}
		if cd.Rewrite {
			cd.Add, cd.Remove = ruleDiff(groups, p.rules[i])
		}
		if cd.Create || cd.Recreate || cd.Rewrite {
			p.diff.Chains = append(p.diff.Chains, cd)
		}
	}
	for _, ch := range have {
		if _, gone := byName[ch.name]; gone {
			p.diff.Chains = append(p.diff.Chains, ChainDiff{Name: ch.name, Delete: true})
		}
	}
	p.compareObjects(objs)
	return nil
}

// prepare checks the desired state and lowers its rules.
func (p *syncPlan) prepare() error {
	d := p.d
	tobj := fmt.Sprintf("%v %s", d.Family, d.Name)
	if !writable(d.Family) || d.Name == "" {
		return &Error{Op: "sync", Object: tobj, Index: -1, Err: ErrInvalidChange, Reason: "a table of family ip, ip6 or inet, with a name"}
	}
	names := map[string]bool{}
	for _, dc := range d.Chains {
		if dc.Name == "" || names[dc.Name] {
			return &Error{Op: "sync", Object: object(d.Family, d.Name, dc.Name), Index: -1, Err: ErrInvalidChange, Reason: "a chain without a name, or named twice"}
		}
		names[dc.Name] = true
	}
	if err := p.prepareObjects(); err != nil {
		return err
	}
	// Each rule is checked and lowered on its own: on every CPU, in runs of
	// rules; the first error in the desired order is the one returned.
	type job struct{ i, j int }
	var jobs []job
	p.rules = make([][]desiredRule, len(d.Chains))
	for i, dc := range d.Chains {
		p.rules[i] = make([]desiredRule, len(dc.Rules))
		for j := range dc.Rules {
			jobs = append(jobs, job{i, j})
		}
	}
	errs := make([]error, len(jobs))
	do := func(n int) {
		i, j := jobs[n].i, jobs[n].j
		dc, dr := &d.Chains[i], d.Chains[i].Rules[j]
		ch := Change{Family: d.Family, Table: d.Name, Chain: dc.Name, Rule: dr.Rule, Prepared: dr.Prepared, Comment: dr.Comment}
		if errs[n] = validChange(&ch, n); errs[n] != nil {
			return
		}
		r, err := lowerDesired(&ch, !p.noKeys)
		if err != nil {
			errs[n] = changeError(&ch, n, ErrInvalidChange, err.Error())
			return
		}
		for k := range ch.pieces() {
			if v := ch.verdict(k); (v.Kind == expr.VerdictJump || v.Kind == expr.VerdictGoto) && !names[v.Chain] {
				errs[n] = changeError(&ch, n, ErrNoChain, fmt.Sprintf("the rule jumps to chain %s, which the desired table does not have", v.Chain))
				return
			}
		}
		p.rules[i][j] = r
	}
	const run = 512
	workers := min(runtime.GOMAXPROCS(0), (len(jobs)+run-1)/run)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(run)) - run
				if start >= len(jobs) {
					return
				}
				for n := start; n < min(start+run, len(jobs)); n++ {
					do(n)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// lowerDesired lowers a desired rule, finds what its group record keeps
// (the words only when they fit next to the comment), and its key when
// keyed.
func lowerDesired(ch *Change, keyed bool) (desiredRule, error) {
	_, ipv6 := ch.compiledFor()
	n := ch.pieces()
	r := desiredRule{comment: ch.comment(), words: ch.words()}
	ud, err := expr.Group{Count: n, IPv6: ipv6, Words: r.words}.UserData(r.comment)
	if err != nil {
		return r, err
	}
	_, g, err := expr.ParseUserData(ud)
	if err != nil {
		return r, err
	}
	r.group = g
	for k := range n {
		b, sets, err := ch.lowerSets(k, 1)
		if err != nil {
			return r, err
		}
		r.pieces = append(r.pieces, b)
		if len(sets) > 0 && r.withSets == nil {
			c := *ch
			r.withSets = c.lowerSets
		}
	}
	if keyed {
		r.key = groupKey(g, r.comment, r.pieces)
	}
	if ch.Comment != "" {
		r.words += " # " + ch.Comment
	}
	return r, nil
}

// groupKey is what makes two groups the same rule: a digest of the group
// record's words, its comment, and the expressions of every piece.
func groupKey(g expr.Group, comment string, pieces [][]byte) string {
	h := sha256.New()
	var b []byte
	b = append(b, byte(g.Count))
	if g.IPv6 {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	for _, s := range []string{g.Words, comment} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	h.Write(b)
	for _, p := range pieces {
		b = binary.BigEndian.AppendUint32(b[:0], uint32(len(p)))
		h.Write(b)
		h.Write(p)
	}
	var sum [sha256.Size]byte
	return string(h.Sum(sum[:0]))
}

// keyedGroup is a group of a chain's rules and its key ("" for a rule
// that is never the same as a desired one).
type keyedGroup struct {
	key   string
	words string
}

// keyGroups splits a chain's rules into groups by their group records (a
// run of pieces 0..n-1 of one id) and keys each. The expressions the
// kernel dumps differ from those sent; raised and lowered again, they are
// what Lower sends.
func keyGroups(f expr.Family, rules []kernel.Rule, sets expr.SetSource) []keyedGroup {
	var out []keyedGroup
	for i := 0; i < len(rules); {
		comment, g, err := expr.ParseUserData(rules[i].UserData)
		if err != nil || g.Index != 0 || i+g.Count > len(rules) {
			out = append(out, keyedGroup{words: foreignWords(f, rules[i])})
			i++
			continue
		}
		var pieces [][]byte
		ok := true
		for k := range g.Count {
			c2, g2, err := expr.ParseUserData(rules[i+k].UserData)
			if err != nil || g2.ID != g.ID || g2.Index != k || g2.Count != g.Count || c2 != comment {
				ok = false
				break
			}
			ir, err := raise(f, rules[i+k].Exprs, sets)
			if err != nil {
				ok = false
				break
			}
			// (Lower numbers a lookup's set 1, as lowerDesired keys it.)
			b, err := ir.Lower(f)
			if err != nil {
				ok = false
				break
			}
			pieces = append(pieces, b)
		}
		if !ok {
			out = append(out, keyedGroup{words: foreignWords(f, rules[i])})
			i++
			continue
		}
		words := g.Words
		if words == "" {
			words = fmt.Sprintf("(handle %d)", rules[i].Handle)
		}
		if comment != "" {
			words += " # " + comment
		}
		g.ID, g.Index = 0, 0
		out = append(out, keyedGroup{key: groupKey(g, comment, pieces), words: words})
		i += g.Count
	}
	return out
}

// foreignWords names a rule Sync does not take for one of its own.
func foreignWords(f expr.Family, r kernel.Rule) string {
	if ir, err := expr.Raise(f, r.Exprs); err == nil {
		return fmt.Sprintf("%s (handle %d)", ir.String(), r.Handle)
	}
	return fmt.Sprintf("(handle %d)", r.Handle)
}

// sameRules reports whether the chain's groups are the desired rules, in
// order.
func sameRules(have []keyedGroup, want []desiredRule) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range have {
		if have[i].key == "" || have[i].key != want[i].key {
			return false
		}
	}
	return true
}

// ruleDiff returns the desired rules the chain lacks and the chain's rules
// that are not desired, counting repeats.
func ruleDiff(have []keyedGroup, want []desiredRule) (add, remove []string) {
	count := map[string]int{}
	for _, h := range have {
		if h.key != "" {
			count[h.key]++
		}
	}
	for _, w := range want {
		if count[w.key] > 0 {
			count[w.key]--
			continue
		}
		add = append(add, w.words)
	}
	wanted := map[string]int{}
	for _, w := range want {
		wanted[w.key]++
	}
	for _, h := range have {
		if h.key != "" && wanted[h.key] > 0 {
			wanted[h.key]--
			continue
		}
		remove = append(remove, h.words)
	}
	return add, remove
}

// sameKind reports whether a chain is of the desired kind: both regular,
// or base chains of the same type, hook, priority, policy and device.
func sameKind(have, want *kernel.BaseChain) bool {
	return sameBase(have, want) && (have == nil || have.Policy == want.Policy && have.Device == want.Device)
}

// queue adds the sync's changes to the transaction, in the order Sync
// gives; group ids are numbered from base.
func (p *syncPlan) queue(tx KernelTx, base uint64) error {
	d := p.d
	if p.diff.CreateTable {
		ud, _ := expr.TableUserData("")
		tx.AddTable(d.Family, d.Name, ud)
	}
	for _, cd := range p.diff.Chains {
		if !cd.Create && (cd.Rewrite || cd.Recreate || cd.Delete) {
			tx.FlushChain(d.Family, d.Name, cd.Name)
		}
	}
	for _, cd := range p.diff.Chains {
		if cd.Delete || cd.Recreate {
			tx.DeleteChain(d.Family, d.Name, cd.Name)
		}
	}
	p.queueObjectDeletes(tx)
	p.queueObjectAdds(tx)
	for _, cd := range p.diff.Chains {
		if cd.Create || cd.Recreate {
			tx.AddChain(d.Family, d.Name, cd.Name, cd.Base, nil)
		}
	}
	rewrite := map[string]bool{}
	for _, cd := range p.diff.Chains {
		rewrite[cd.Name] = cd.Rewrite
	}
	var ud []byte
	ids := uint64(0)
	setID := uint32(0) // the last set id given in the transaction
	for i, dc := range d.Chains {
		if !rewrite[dc.Name] {
			continue
		}
		for _, r := range p.rules[i] {
			ids++
			g := r.group
			g.ID = (base + ids) | 1<<63
			for k, e := range r.pieces {
				g.Index = k
				var err error
				if ud, err = g.AppendUserData(ud[:0], r.comment); err != nil {
					return &Error{Op: "sync", Object: object(d.Family, d.Name, dc.Name), Words: r.words, Index: -1, Err: ErrInvalidChange, Reason: err.Error()}
				}
				if r.withSets != nil {
					b, sets, err := r.withSets(k, setID+1)
					if err != nil {
						return &Error{Op: "sync", Object: object(d.Family, d.Name, dc.Name), Words: r.words, Index: -1, Err: ErrInvalidChange, Reason: err.Error()}
					}
					setID += uint32(len(sets))
					queueSets(tx, d.Family, d.Name, sets)
					e = b
				}
				tx.AddRule(d.Family, d.Name, dc.Name, kernel.RuleSpec{Exprs: e, UserData: ud})
			}
		}
	}
	return nil
}
