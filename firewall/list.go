package firewall

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// Scope says what List reads: the whole ruleset (the zero Scope), one table
// (Family and Table), or one chain (Family, Table and Chain).
type Scope struct {
	Family expr.Family // the table's family; 0 for every table
	Table  string      // the table's name; empty for every table
	Chain  string      // the chain's name; empty for every chain
}

// Listing is what List read.
type Listing struct {
	// Generation is the generation of the ruleset the listing was read at.
	Generation uint32
	Tables     []ListedTable // in the kernel's order
	// Left says what a listing of whole tables leaves out, each as
	// "set inet fw blocklist", "counter inet fw cnt", "table bridge br": a
	// restore from the listing after nft flush ruleset loses them. Empty
	// for a listing of a chain.
	Left []string
}

// ListedTable is a table and its chains.
type ListedTable struct {
	Family expr.Family // the table's family
	Name   string      // the table's name
	Handle uint64      // the table's handle
	// Owned says the table carries ctmatch's ownership record (see
	// expr.TableUserData): ctmatch created it.
	Owned bool
	// Dormant says the table is dormant (NFT_TABLE_F_DORMANT): its base
	// chains are not attached to their hooks. Listings say so, so that a
	// reload does not make a standby firewall active.
	Dormant bool
	Chains  []ListedChain // in the kernel's order
	// comments name the table's and its chains' nft comments, which the
	// listings leave out (Listing.Left).
	comments []string
}

// tableDormant is NFT_TABLE_F_DORMANT.
const tableDormant = 0x1

// ListedChain is a chain and its rules, as groups.
type ListedChain struct {
	Name   string            // the chain's name
	Handle uint64            // the chain's handle
	Base   *kernel.BaseChain // nil for a regular chain
	Groups []ListedGroup     // its rules, as groups, in the chain's order
}

// ListedGroup is one iptables rule read back from the kernel: the nft rules
// it is made of (its pieces), or a single nft rule that ctmatch does not
// understand (Rule is nil and Err says why). Every rule of the chain is in
// exactly one group, in the chain's order; a group is what list -o iptables
// prints as one line, what --index counts, and what Delete deletes whole.
type ListedGroup struct {
	// Rule is the iptables rule in canonical form (matches and target, no
	// -t, -A or -I); nil when the rules are not understood.
	Rule *parse.Rule
	// IPv6 says Rule holds ip6tables words.
	IPv6 bool
	// Pieces are the nft rules of the group, in the chain's order.
	Pieces []Piece
	// Counter is the sum of the pieces' counters (the pieces are mutually
	// exclusive, so the sum counts each packet once); nil when no piece has
	// a counter.
	Counter *kernel.Counter
	// Err says why the rule is not understood: not a rule an iptables
	// conntrack rule compiles to (an *expr.NotUnderstoodError, or
	// compile.ErrNotUnderstood).
	Err error
	// Both says Rule is one rule for both families of an inet table (its
	// nft rules have no meta nfproto; Rule's words mean the same as
	// iptables and as ip6tables words): what the inet merge writes for a
	// rule that is the same in both (ctmatch.Shared).
	Both bool
}

// DebugLines returns the piece's expressions as libnftnl's debug lines (as
// many as can be read).
func (p Piece) DebugLines() []string {
	lines, _ := expr.DebugLines(p.Exprs)
	return lines
}

// Piece is one nft rule as the kernel lists it.
type Piece struct {
	Handle uint64 // the nft rule's handle
	// Rule is the rule's IR; valid when Raised.
	Rule     expr.Rule
	Raised   bool
	raiseErr error // why Raise refused the rule
	// Exprs are the expressions as the kernel dumped them
	// (NFTA_RULE_EXPRESSIONS); DebugLines renders them.
	Exprs []byte
	// Counter is the value of the rule's counter, nil when it has none.
	Counter *kernel.Counter
	// Comment is nft's comment; Group the ctmatch group record, nil when
	// the rule has none.
	Comment string
	Group   *expr.Group
}

// Handles returns the handles of the group's pieces.
func (g ListedGroup) Handles() []uint64 {
	out := make([]uint64, len(g.Pieces))
	for i, p := range g.Pieces {
		out[i] = p.Handle
	}
	return out
}

// List reads the tables, chains and rules in scope, with every chain's rules
// decompiled into groups. Only tables of the families ctmatch writes (ip,
// ip6 and inet) are listed; within them no rule is ever left out: a rule
// that is not one ctmatch understands is a group of its own, with Err set
// and its expressions as debug lines.
//
// A table or chain can vanish while it is being listed (deleted between the
// read of the tables and the read of its chains or rules): List then reads
// everything again, from the start, up to listAttempts times. List holds
// the Client from its first read to its last (see Client).
func (c *Client) List(ctx context.Context, s Scope) (*Listing, error) {
	if s.Chain != "" && s.Table == "" || s.Table != "" && s.Family == 0 {
		return nil, &Error{Op: "list", Index: -1, Err: ErrInvalidChange, Reason: "a chain needs its table, and a table its family"}
	}
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	defer c.unlock()
	var err error
	for range listAttempts {
		var l *Listing
		if l, err = c.list(ctx, s); err == nil || !errors.Is(err, errVanished) {
			return l, err
		}
	}
	return nil, err
}

// listAttempts is how many times List reads the ruleset when tables or
// chains keep vanishing while it reads them.
const listAttempts = 10

// errVanished marks the error of a read of a table's chains or a chain's
// rules that the kernel answered "no such file or directory": the table or
// chain was listed a moment before, so it was deleted since.
var errVanished = errors.New("vanished while being listed")

// vanishedError marks err when the kernel said the object does not exist.
func vanishedError(err error) error {
	if errors.Is(err, fs.ErrNotExist) { // ENOENT
		return fmt.Errorf("%w: %w", errVanished, err)
	}
	return err
}

func (c *Client) list(ctx context.Context, s Scope) (*Listing, error) {
	gen, err := c.c.Generation(ctx)
	if err != nil {
		return nil, readError("list", "", -1, err)
	}
	tables, err := c.c.Tables(ctx)
	if err != nil {
		return nil, readError("list", "", -1, err)
	}
	l := &Listing{Generation: gen}
	found := false
	for _, t := range tables {
		if t.Family != expr.FamilyIP && t.Family != expr.FamilyIP6 && t.Family != expr.FamilyInet {
			if s.Table == "" {
				l.Left = append(l.Left, "table "+otherFamilies[t.Family]+" "+QuoteName(t.Name))
			}
			continue
		}
		if s.Table != "" && (t.Family != s.Family || t.Name != s.Table) {
			continue
		}
		found = true
		lt, err := c.listTable(ctx, t, s.Chain)
		if err != nil {
			return nil, err
		}
		l.Tables = append(l.Tables, lt)
		l.Left = append(l.Left, lt.comments...)
		if s.Chain == "" {
			left, err := c.leftOf(ctx, "list", t)
			if err != nil {
				return nil, err
			}
			l.Left = append(l.Left, left...)
		}
	}
	if s.Table != "" && !found {
		return nil, &Error{Op: "list", Object: object(s.Family, s.Table), Index: -1, Err: ErrNoTable,
			Reason: "no such table " + object(s.Family, s.Table)}
	}
	return l, nil
}

// otherFamilies name the table families a listing leaves out.
var otherFamilies = map[expr.Family]string{3: "arp", 5: "netdev", 7: "bridge"}

// leftOf says what a listing of table t leaves out: its named sets and
// maps and its stateful objects, by name (op names the operation in an
// error: list, or a takeover that refuses them). (Its flowtables, which ctmatch
// does not read, are not named.)
func (c *Client) leftOf(ctx context.Context, op string, t kernel.Table) ([]string, error) {
	sets, err := c.c.Sets(ctx, t.Family, t.Name)
	if err != nil {
		return nil, readError(op, object(t.Family, t.Name), -1, vanishedError(err))
	}
	var left []string
	for _, st := range sets {
		if st.Flags&kernel.SetAnonymous == 0 {
			left = append(left, "set "+object(t.Family, t.Name, st.Name))
		}
	}
	objs, err := c.c.ObjectNames(ctx, t.Family, t.Name)
	if err != nil {
		return nil, readError(op, object(t.Family, t.Name), -1, vanishedError(err))
	}
	for _, o := range objs {
		left = append(left, o.Type+" "+object(t.Family, t.Name, o.Name))
	}
	return left, nil
}

func (c *Client) listTable(ctx context.Context, t kernel.Table, chain string) (ListedTable, error) {
	lt := ListedTable{Family: t.Family, Name: t.Name, Handle: t.Handle, Owned: expr.OwnedTable(t.UserData), Dormant: t.Flags&tableDormant != 0}
	if chain == "" && expr.UserDataComment(t.UserData) != "" {
		lt.comments = append(lt.comments, "the comment of table "+object(t.Family, t.Name))
	}
	chains, err := c.c.Chains(ctx, t.Family, t.Name)
	if err != nil {
		return lt, readError("list", object(t.Family, t.Name), -1, vanishedError(err))
	}
	found := false
	for _, ch := range chains {
		if chain != "" && ch.Name != chain {
			continue
		}
		found = true
		if chain == "" && expr.UserDataComment(ch.UserData) != "" {
			lt.comments = append(lt.comments, "the comment of chain "+object(t.Family, t.Name, ch.Name))
		}
		rules, err := c.c.Rules(ctx, t.Family, t.Name, ch.Name)
		if err != nil {
			return lt, readError("list", object(t.Family, t.Name, ch.Name), -1, vanishedError(err))
		}
		lt.Chains = append(lt.Chains, ListedChain{Name: ch.Name, Handle: ch.Handle, Base: ch.Base, Groups: groupRules(t.Family, rules, c.setSource(ctx, t.Family, t.Name))})
	}
	if chain != "" && !found {
		return lt, &Error{Op: "list", Object: object(t.Family, t.Name, chain), Index: -1, Err: ErrNoChain,
			Reason: fmt.Sprintf("no such chain %s in table %s", QuoteName(chain), object(t.Family, t.Name))}
	}
	return lt, nil
}

// groupRules raises and decompiles the rules of one chain into groups, their
// lookups with the sets sets gives (nil: a rule with a lookup does not
// raise). Rules that do not raise split the chain into runs, each
// decompiled on its own.
func groupRules(f expr.Family, rules []kernel.Rule, sets expr.SetSource) []ListedGroup {
	pieces := make([]Piece, len(rules))
	for i, r := range rules {
		p := Piece{Handle: r.Handle, Exprs: r.Exprs, Counter: r.Counter}
		p.Rule, p.raiseErr = raise(f, r.Exprs, sets)
		p.Raised = p.raiseErr == nil
		comment, g, err := expr.ParseUserData(r.UserData)
		p.Comment = comment
		p.Rule.Comment = comment // what -m comment compiles to
		if err == nil {
			p.Group = &g
		}
		pieces[i] = p
	}
	var out []ListedGroup
	for i := 0; i < len(pieces); {
		if !pieces[i].Raised {
			out = append(out, ListedGroup{Pieces: pieces[i : i+1 : i+1], Err: pieces[i].raiseErr})
			i++
			continue
		}
		j := i
		for j < len(pieces) && pieces[j].Raised {
			j++
		}
		run := pieces[i:j]
		listed := make([]compile.Listed, len(run))
		for k, p := range run {
			listed[k] = compile.Listed{Rule: p.Rule}
			if p.Group != nil {
				listed[k].Group, listed[k].Grouped = *p.Group, true
			}
		}
		for _, d := range compile.Chain(listed, f) {
			g := ListedGroup{Pieces: run[d.First : d.First+d.Count : d.First+d.Count], Rule: d.Rule, IPv6: d.Family == parse.IPv6, Err: d.Err, Both: d.Both}
			if d.Rule == nil && d.Err == nil {
				g.Err = compile.ErrNotUnderstood
			}
			if first := g.Pieces[0]; g.Rule != nil && !g.Both && (first.Group == nil || first.Group.Words == "") {
				g.Rule = compile.MergeMatches(g.Rule, d.Family, f, rulesOf(g.Pieces))
			}
			out = append(out, g)
		}
		i = j
	}
	for i := range out {
		for _, p := range out[i].Pieces {
			if p.Counter == nil {
				continue
			}
			if out[i].Counter == nil {
				out[i].Counter = &kernel.Counter{}
			}
			out[i].Counter.Packets += p.Counter.Packets
			out[i].Counter.Bytes += p.Counter.Bytes
		}
	}
	return out
}

// groupOf returns the index of the group holding the rule with handle h, or
// -1.
func groupOf(groups []ListedGroup, h uint64) int {
	for i, g := range groups {
		for _, p := range g.Pieces {
			if p.Handle == h {
				return i
			}
		}
	}
	return -1
}

// rulesOf returns the IR of each piece.
func rulesOf(pieces []Piece) []expr.Rule {
	out := make([]expr.Rule, len(pieces))
	for i, p := range pieces {
		out[i] = p.Rule
	}
	return out
}
