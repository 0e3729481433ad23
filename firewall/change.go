package firewall

import (
	"errors"
	"fmt"
	"strings"
	"sync"

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
	Table  string      // the table's name
	Chain  string      // the chain's name
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
	// and refuses it after that; but an Apply with Check keeps them, so
	// that the same Prepared can be checked, then applied.
	Prepared *Prepared
	Insert   bool
	Index    int
	Handle   uint64
	// Comment is nft's comment on each of the rule's nft rules (what
	// `comment "…"` sets, expr.CommentUserData), kept next to the group
	// record in the rule's userdata; "" for the rule's own (its
	// -m comment, expr.Rule.Comment), or none. A rule with a comment of
	// its own takes no other. A comment leaves less room for the group
	// record's words (at most 256 bytes in all), so a long one may make the
	// record compact.
	Comment string
	// Pos says where the rule was written, for error messages: the file and
	// line (Col 0) of a rule read from a file. An error about the change
	// names it by Pos and the rule's canonical words
	// (`rules.txt:700: -m conntrack --ctstate NEW -j ACCEPT`), or by the
	// words alone when Pos is the zero Position.
	Pos parse.Position
}

// Prepared is a translated rule lowered to the kernel's bytes, with only
// what Apply needs of it: its -t, its family, its canonical words (the group
// record's) and each nft rule's verdict. Prepare makes one.
type Prepared struct {
	table     expr.Family
	ipv6      bool
	tableName string
	words     string
	comment   string // the nft rules' comment (-m comment)
	pieces    []preparedPiece
	one       [2]preparedPiece // room for pieces: most rules are one or two nft rules
}

// spent reports whether Apply has sent its expressions, and no longer has
// them (Prepare never leaves them nil).
func (p *Prepared) spent() bool { return len(p.pieces) > 0 && p.pieces[0].exprs == nil }

type preparedPiece struct {
	exprs   []byte
	verdict expr.Verdict
	// rule is the nft rule of a piece that looks up sets, which are
	// numbered in the transaction that sends them; nil for the others.
	rule *expr.Rule
}

// Prepare lowers r for Change.Prepared. r is not kept: the caller may drop
// it.
func Prepare(r *ctmatch.Rule) (*Prepared, error) {
	if r == nil || r.Source == nil {
		return nil, errors.New("no rule")
	}
	p := &Prepared{table: r.Table, ipv6: r.Family == parse.IPv6, tableName: r.Source.TableName(), words: ctmatch.Words(r.Source),
		comment: ruleComment(r)}
	p.pieces = p.one[:0]
	if len(r.Rules) > len(p.one) {
		p.pieces = make([]preparedPiece, 0, len(r.Rules))
	}
	// Every piece's expressions are lowered into one scratch buffer, then
	// copied out in one allocation, each piece's capped at its end.
	buf := lowerBuf.Get().(*[]byte)
	defer lowerBuf.Put(buf)
	b := (*buf)[:0]
	ends := make([]int, 0, 8)
	for _, nr := range r.Rules {
		var err error
		if b, err = nr.AppendLower(b, r.Table); err != nil {
			*buf = b
			return nil, err
		}
		ends = append(ends, len(b))
	}
	*buf = b
	all := append(make([]byte, 0, len(b)), b...)
	start := 0
	for k, nr := range r.Rules {
		p.pieces = append(p.pieces, preparedPiece{exprs: all[start:ends[k]:ends[k]], verdict: nr.Verdict})
		start = ends[k]
		if nr.HasLookup() {
			c := nr
			p.pieces[k].rule = &c
		}
	}
	return p, nil
}

// lowerBuf holds the scratch buffers of Prepare.
var lowerBuf = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

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

// words returns the rule's canonical words, as its group record keeps them;
// "" for a change without a rule.
func (ch *Change) words() string {
	switch {
	case ch.Rule != nil && ch.Rule.Source != nil:
		return ctmatch.Words(ch.Rule.Source)
	case ch.Rule == nil && ch.Prepared != nil:
		return ch.Prepared.words
	}
	return ""
}

// ruleComment returns the comment of a translated rule's nft rules (each
// has its -m comment's), or "".
func ruleComment(r *ctmatch.Rule) string {
	if len(r.Rules) == 0 {
		return ""
	}
	return r.Rules[0].Comment
}

// ownComment returns the comment the change's rule has of its own.
func (ch *Change) ownComment() string {
	switch {
	case ch.Rule != nil:
		return ruleComment(ch.Rule)
	case ch.Prepared != nil:
		return ch.Prepared.comment
	}
	return ""
}

// comment returns the comment of the change's nft rules: Comment, or the
// rule's own.
func (ch *Change) comment() string {
	if ch.Comment != "" {
		return ch.Comment
	}
	return ch.ownComment()
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

// lower returns the expressions of the change's nft rule k, its lookups'
// sets numbered from 1 (as a key: see lowerSets).
func (ch *Change) lower(k int) ([]byte, error) {
	if ch.Rule == nil {
		return ch.Prepared.pieces[k].exprs, nil
	}
	return ch.Rule.Rules[k].Lower(ch.Family)
}

// lowerSets returns the expressions of the change's nft rule k and the sets
// its lookups need, numbered from firstID in the transaction.
func (ch *Change) lowerSets(k int, firstID uint32) ([]byte, []expr.Set, error) {
	if ch.Rule == nil {
		p := ch.Prepared.pieces[k]
		if p.rule == nil {
			return p.exprs, nil, nil
		}
		return p.rule.LowerSets(ch.Family, firstID)
	}
	return ch.Rule.Rules[k].LowerSets(ch.Family, firstID)
}

// validChange checks what Apply needs of a change.
func validChange(ch *Change, i int) error {
	switch {
	case ch.Rule != nil && ch.Rule.Source == nil, ch.Rule == nil && ch.Prepared == nil:
		return changeError(ch, i, ErrInvalidChange, "no rule")
	case ch.Rule == nil && ch.Prepared.spent():
		return changeError(ch, i, ErrInvalidChange, "the Prepared rule was already given to Apply (a Prepared rule is applied once)")
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
	if why := commentError(ch.Comment); why != "" {
		return changeError(ch, i, ErrInvalidChange, why)
	}
	if own := ch.ownComment(); own != "" && ch.Comment != "" && ch.Comment != own {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("the rule has a comment of its own (-m comment --comment %s): an nft rule has one comment", parse.SaveString(own)))
	}
	if ch.Index < 0 {
		return changeError(ch, i, ErrInvalidChange, fmt.Sprintf("index %d: an index counts groups from 1", ch.Index))
	}
	if ch.Index > 0 && ch.Handle != 0 {
		return changeError(ch, i, ErrInvalidChange, "a position is an index from 1 or a handle, not both")
	}
	return nil
}

// commentError says why nft could not hold comment as a rule's comment,
// or "": at most parse.MaxNftComment bytes (nft refuses a longer one in its
// text, "comment too long"), and no double quote, which nft's strings
// cannot hold, nor a NUL, which ends the comment in the rule's userdata.
func commentError(comment string) string {
	switch {
	case len(comment) > parse.MaxNftComment:
		return fmt.Sprintf("a comment of %d bytes: nft takes at most %d in a rule's comment", len(comment), parse.MaxNftComment)
	case strings.IndexByte(comment, '"') >= 0:
		return "a comment with a double quote, which nft's strings cannot hold"
	case strings.IndexByte(comment, 0) >= 0:
		return "a comment with a NUL byte, which ends it in the rule's userdata"
	}
	return ""
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
	// (ErrIptablesTable without it), and lets Create add chains to an
	// existing table without ctmatch's ownership record (ErrNotOwned
	// without it). Rules go into the existing chains of any table
	// without it.
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
	// Retry is how many times Apply reads, plans and sends its changes
	// again when the kernel refuses the transaction because the ruleset
	// changed after it was read (ErrConcurrentChange: nothing was
	// applied). 0 returns that error at once. Batch does not retry (see
	// Batch.Commit).
	Retry int
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
	// Retries is how many times Apply planned and sent the changes again
	// after ErrConcurrentChange (see ApplyOptions.Retry).
	Retries int
}

// AppliedChange is what became of one Change: its group and, for each of
// its nft rules in the chain's order, the handle the kernel gave it (0 with
// Check or NoHandles).
type AppliedChange struct {
	Group   expr.Group  // the group record its nft rules carry
	Rules   []expr.Rule // its nft rules, in order; nil for a Prepared change
	Handles []uint64    // the handle of each nft rule, in the chain's order
}

// Created is a table (Chain empty) or a chain that Apply created.
type Created struct {
	Family expr.Family       // the table's family
	Table  string            // the table's name
	Chain  string            // the chain's name; empty for a table
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
