package script

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ctmatch/ctmatch/parse"
)

// This file reads iptables-save files (the input of iptables-restore) one
// line at a time, as iptables-restore 1.8.9 reads them:
//
//	# a comment (# first on the line)
//	*TABLE                     filter, nat, mangle, raw or security
//	:CHAIN POLICY [p:b]        a built-in chain and its policy (ACCEPT or DROP), or a user chain (-)
//	[p:b] -A CHAIN WORDS       a rule, with or without counters (or -c P B among the words)
//	-I CHAIN [N] WORDS         a rule inserted at N (from 1) among the chain's rules so far
//	-N CHAIN, -X CHAIN, -P CHAIN POLICY, -F CHAIN, -Z [CHAIN]
//	COMMIT                     the end of the table
//
// A SaveReader keeps what a file has said so far of the table being read
// (its chains, how many rules each holds, which chains jump to which), and
// nothing of the rules themselves: memory does not grow with the file.

// SaveOp is what a line of an iptables-save file does.
type SaveOp uint8

const (
	SaveNone   SaveOp = iota // nothing: a blank line or a comment
	SaveTable                // *TABLE: a table begins
	SaveChain                // :CHAIN POLICY, or -N CHAIN: a chain is declared
	SavePolicy               // -P CHAIN POLICY: a built-in chain's policy
	SaveRule                 // -A CHAIN or -I CHAIN [N]: a rule
	SaveFlush                // -F CHAIN: the chain's rules are deleted
	SaveZero                 // -Z [CHAIN]: counters are zeroed (nothing to translate)
	SaveDelete               // -X CHAIN: a user chain is deleted
	SaveCommit               // COMMIT: the table ends
)

// Tables are the iptables tables, in iptables-save's order, with their
// built-in chains.
var Tables = []struct {
	Name   string
	Chains []string
}{
	{"raw", []string{"PREROUTING", "OUTPUT"}},
	{"mangle", []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}},
	{"nat", []string{"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}},
	{"filter", []string{"INPUT", "FORWARD", "OUTPUT"}},
	{"security", []string{"INPUT", "FORWARD", "OUTPUT"}},
}

// IsBuiltin reports whether chain is a built-in chain of the iptables table
// (names are compared exactly: "input" is a user chain).
func IsBuiltin(table, chain string) bool {
	_, ok := BuiltinBase(table, chain)
	return ok
}

// BuiltinJumpMsg says why a rule of table cannot jump to its built-in
// chain: iptables passes the words, and the kernel refuses the rule.
func BuiltinJumpMsg(table, chain string) string {
	return fmt.Sprintf("a jump to %s, a built-in chain of table %s: the kernel jumps to no built-in chain (iptables-nft: \"RULE_APPEND failed (Operation not supported)\", nf_tables jumps to no base chain; iptables-legacy: \"Invalid argument\")", chain, table)
}

// Base is the nft base chain iptables-nft makes for a built-in chain.
type Base struct {
	Type     string // filter, nat or route
	Hook     string // prerouting, input, forward, output or postrouting
	Priority int
}

// BuiltinBase returns the base chain iptables-nft 1.8.9 makes for the
// built-in chain of an iptables table (names compared exactly), as nft
// lists it after iptables -t TABLE -A CHAIN: raw at -300, mangle at -150
// (OUTPUT of type route), nat of type nat at -100 (PREROUTING, OUTPUT) and
// 100 (INPUT, POSTROUTING), filter at 0, security at 150 (not
// NF_IP_PRI_SECURITY, 50; iptables-restore-translate 1.8.9 says 0).
func BuiltinBase(table, chain string) (Base, bool) {
	found := false
	for _, t := range Tables {
		if t.Name == table {
			for _, c := range t.Chains {
				found = found || c == chain
			}
		}
	}
	if !found {
		return Base{}, false
	}
	b := Base{Type: "filter", Hook: strings.ToLower(chain)}
	switch table {
	case "raw":
		b.Priority = -300
	case "mangle":
		b.Priority = -150
		if chain == "OUTPUT" {
			b.Type = "route"
		}
	case "nat":
		b.Type, b.Priority = "nat", -100
		if chain == "INPUT" || chain == "POSTROUTING" {
			b.Priority = 100
		}
	case "security":
		b.Priority = 150
	}
	return b, true
}

func isTable(name string) bool {
	for _, t := range Tables {
		if t.Name == name {
			return true
		}
	}
	return false
}

// SaveLine is one line of an iptables-save file, as read in its place.
type SaveLine struct {
	Pos  parse.Position // the line: its file and number (no column)
	Text string         // the line as written, without its newline

	Op    SaveOp
	Table string // the table the line is in (SaveTable: the table that begins)
	// Again is set on SaveTable when the file named the table before:
	// iptables-restore replaces what the earlier block made.
	Again bool
	Chain string // the chain of SaveChain, SavePolicy, SaveRule, SaveFlush, SaveDelete ("" for -Z alone)
	// Builtin says the chain is a built-in chain of the table.
	Builtin bool
	// Policy is ACCEPT or DROP: the policy a :CHAIN line or -P gives a
	// built-in chain; "" when the line leaves it as it is (:INPUT -, or
	// a user chain).
	Policy string
	// Implicit is set when the line makes a built-in chain that no line
	// declared before (-A INPUT with no :INPUT line): iptables-restore
	// creates it with policy ACCEPT, before what the line does.
	Implicit bool
	// Rule is a SaveRule's words (its command is -A or -I, and it has no
	// -t); with an Unsupported error, what parse read of them.
	Rule *parse.Rule
	// Index is where a SaveRule goes: the number of rules of the chain
	// before it (0: at the top). -A goes after every rule so far; -I CHAIN
	// N before rule N.
	Index int
	// Rules is the number of iptables rules a SaveRule makes: one, or one
	// per combination of a comma list of addresses (parse.Rule.Expand),
	// which iptables adds one by one: -A in order, -I each at Index, so
	// that they end up in the reverse order. Each counts for the -I
	// positions after it.
	Rules int
	// Warnings are what iptables-restore accepts but may not mean what it
	// says (a policy on a user chain, which it ignores).
	Warnings []*parse.Error

	insert bool // a SaveRule of -I (Place)
}

// Place returns where rule k of a SaveRule's Rules goes, with the k before
// it in place: -A puts them in order from Index, -I each at Index, before
// the one before it. (It does not read Rule, whose memory a caller may have
// given back.)
func (l *SaveLine) Place(k int) int {
	if l.insert {
		return l.Index
	}
	return l.Index + k
}

// Position returns where the byte at offset pos of the line's text was
// written.
func (l *SaveLine) Position(pos parse.Pos) parse.Position { return l.Pos.At(pos) }

// SaveReader reads the lines of one iptables-save file, in order.
type SaveReader struct {
	opts  parse.Options
	table *saveTable // the table being read; nil between tables
	seen  map[string]bool
	start SaveLine // the *TABLE line of the table being read
	// parsed is the line's words as LineParsed was given them (hasParsed),
	// held in the reader: a pointer to them took an allocation per line.
	parsed    parsedWords
	hasParsed bool
}

// saveTable is what a reader knows of the table being read.
type saveTable struct {
	name   string
	chains map[string]*saveChain
}

// saveChain is what a reader knows of a chain.
type saveChain struct {
	builtin bool
	rules   int            // the chain's rules so far
	drop    bool           // a built-in chain's policy is DROP
	jumps   map[string]int // the user chains its rules jump to, with how many rules
	refs    int            // how many rules jump to it
}

// NewSaveReader returns a reader of one iptables-save file; its rules are
// parsed with o (o.Family says whether they are iptables or ip6tables
// rules).
func NewSaveReader(o parse.Options) *SaveReader {
	return &SaveReader{opts: o, seen: map[string]bool{}}
}

// InTable returns the table being read, or "" between tables.
func (r *SaveReader) InTable() string {
	if r.table == nil {
		return ""
	}
	return r.table.name
}

// Line reads the next line of the file, without its newline; at is where it
// is. A line iptables-restore refuses is a *parse.Error about its text
// (Invalid), and the reader's state is as if the line were not there. A rule
// that iptables-restore accepts but ctmatch cannot read whole (an
// Unsupported error) comes back as a SaveRule line with the error: it takes
// its place in the chain, as in iptables, so that later -I positions count
// it.
func (r *SaveReader) Line(text string, at parse.Position) (*SaveLine, error) {
	l := &SaveLine{Pos: at, Text: text}
	if r.table != nil {
		l.Table = r.table.name
	}
	if i := strings.IndexByte(text, '\r'); i >= 0 {
		return nil, bad(text, parse.Pos(i), "\r", "a carriage return in the line (a file with DOS line ends?): iptables-restore reads it as part of a word")
	}
	switch {
	case text == "":
		return l, nil
	case text[0] == '#':
		return l, nil
	case text == "COMMIT" && r.table != nil:
		l.Op = SaveCommit
		r.table = nil
		return l, nil
	case text[0] == '*' && r.table == nil:
		return l, r.tableLine(l)
	case text[0] == '*':
		w := firstField(text)
		return nil, bad(text, w.pos, w.s, "a table line inside table %s: expected COMMIT first", r.table.name)
	case r.table == nil:
		w := firstField(text)
		return nil, bad(text, w.pos, w.s, "%s outside a table: expected *TABLE (filter, nat, mangle, raw or security) first", describe(w.s))
	case text[0] == ':':
		return l, r.chainLine(l)
	}
	return r.command(l)
}

// LineParsed is Line for a line whose words the caller parsed before, as
// parse.ParseText(text, o) returned them (rule and err), with o the
// reader's options: a caller that parses lines on several CPUs ahead of the
// reader. What the reader does with them is what Line does.
func (r *SaveReader) LineParsed(text string, at parse.Position, rule *parse.Rule, err error) (*SaveLine, error) {
	r.parsed, r.hasParsed = parsedWords{rule, err}, true
	defer func() { r.parsed, r.hasParsed = parsedWords{}, false }()
	return r.Line(text, at)
}

// parsedWords are the words of the line being read, parsed by the caller.
type parsedWords struct {
	rule *parse.Rule
	err  error
}

// End checks the end of the file: a table without its COMMIT is an error
// about its *TABLE line, which it returns with the error.
func (r *SaveReader) End() (*SaveLine, error) {
	if r.table == nil {
		return nil, nil
	}
	l := r.start
	w := firstField(l.Text)
	return &l, &parse.Error{Pos: w.pos, Word: w.s, Text: l.Text, Kind: parse.Invalid,
		Msg:  fmt.Sprintf("table %s has no COMMIT: iptables-restore refuses the whole file", r.table.name),
		Hint: "end each table with a line that holds COMMIT alone"}
}

// bad returns an Invalid error at word w (at pos) of the line text.
func bad(text string, pos parse.Pos, w, format string, args ...any) *parse.Error {
	return &parse.Error{Pos: pos, Word: w, Text: text, Kind: parse.Invalid, Msg: fmt.Sprintf(format, args...)}
}

// unsupported returns an Unsupported error at word w (at pos) of the line.
func unsupported(text string, pos parse.Pos, w, hint, format string, args ...any) *parse.Error {
	return &parse.Error{Pos: pos, Word: w, Text: text, Kind: parse.Unsupported, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// describe names a line by its first word for a message.
func describe(w string) string {
	switch {
	case w == "COMMIT":
		return "COMMIT"
	case strings.HasPrefix(w, ":"):
		return "a chain line"
	case strings.HasPrefix(w, "*"):
		return "a table line"
	case w == "":
		return "a blank line"
	}
	return "a rule"
}

// firstField returns the first word of text (blanks are spaces and tabs), or
// an empty word at the end of the text.
func firstField(text string) word {
	f := fields(text)
	if len(f) == 0 {
		return word{pos: parse.Pos(len(text))}
	}
	return f[0]
}

// tableLine reads *TABLE. As iptables-restore, it takes the first word
// after the * (blanks before it are skipped) and ignores what follows.
func (r *SaveReader) tableLine(l *SaveLine) error {
	f := fields(l.Text[1:])
	if len(f) == 0 {
		return bad(l.Text, 1, "", "expected a table name after *: filter, nat, mangle, raw or security")
	}
	name, pos := f[0].s, f[0].pos+1
	if !isTable(name) {
		return bad(l.Text, pos, name, "unknown table %q: expected filter, nat, mangle, raw or security", name)
	}
	l.Op, l.Table, l.Again = SaveTable, name, r.seen[name]
	r.seen[name] = true
	r.table = &saveTable{name: name, chains: map[string]*saveChain{}}
	r.start = *l
	return nil
}

// chainLine reads ":CHAIN POLICY [p:b]". iptables-restore reads the
// counters only with -c, so it takes any word there, or none, and ignores
// what follows.
func (r *SaveReader) chainLine(l *SaveLine) error {
	f := fields(l.Text[1:])
	if len(f) == 0 {
		return bad(l.Text, 1, "", "expected a chain name after :")
	}
	name := word{f[0].s, f[0].pos + 1}
	if len(f) < 2 {
		return bad(l.Text, parse.Pos(len(l.Text)), "", "expected the policy of chain %s after its name: ACCEPT or DROP for a built-in chain, - for a user chain", name.s)
	}
	pol := word{f[1].s, f[1].pos + 1}
	t := r.table
	builtin := IsBuiltin(t.name, name.s)
	if !builtin {
		if err := checkChainName(l.Text, name, false); err != nil {
			return err
		}
	}
	l.Op, l.Chain, l.Builtin = SaveChain, name.s, builtin
	switch {
	case !builtin:
		if pol.s != "-" {
			// iptables-nft 1.8.9 makes such a chain a user chain and
			// drops the policy (iptables-legacy refuses it).
			l.Warnings = append(l.Warnings, &parse.Error{Pos: pol.pos, Word: pol.s, Text: l.Text, Kind: parse.Invalid,
				Msg: fmt.Sprintf("%s is not a built-in chain of table %s: it is a user chain, and iptables-restore ignores its policy %s", name.s, t.name, pol.s)})
		}
	case pol.s == "-":
		// A built-in chain, its policy as it is.
	case pol.s == "ACCEPT" || pol.s == "DROP":
		l.Policy = pol.s
	default:
		return bad(l.Text, pol.pos, pol.s, "bad policy %q for built-in chain %s: expected ACCEPT or DROP", pol.s, name.s)
	}
	if t.chains[name.s] == nil {
		t.chains[name.s] = &saveChain{builtin: builtin}
	}
	if l.Policy != "" {
		t.chains[name.s].drop = l.Policy == "DROP"
	}
	return nil
}

// maxChainName is the longest chain name iptables takes ("must be under 29
// chars").
const maxChainName = 28

// checkChainName checks the name of a user chain as iptables does when it
// creates one: with -N (ext), no target's name; on a :CHAIN line, none of
// the standard targets' (iptables 1.8.9 takes :LOG - there, not -N LOG).
func checkChainName(text string, w word, ext bool) error {
	standard := w.s == "ACCEPT" || w.s == "DROP" || w.s == "RETURN" || w.s == "QUEUE"
	switch {
	case len(w.s) > maxChainName:
		return bad(text, w.pos, w.s, "chain name %q is too long: iptables takes at most %d bytes", w.s, maxChainName)
	case strings.HasPrefix(w.s, "-"):
		return bad(text, w.pos, w.s, "chain name %q starts with -, which iptables does not allow", w.s)
	case standard || ext && parse.IsTargetName(w.s):
		return bad(text, w.pos, w.s, "chain name %q is the name of a target, which iptables does not allow", w.s)
	}
	return nil
}

// command reads a line of commands: a rule (-A, -I), or one of the chain
// commands -N, -X, -P, -F, -Z, given first on the line.
func (r *SaveReader) command(l *SaveLine) (*SaveLine, error) {
	w := firstWord(l.Text) // the first word alone: a rule's words are parse's
	if w.s == "" {
		return nil, bad(l.Text, 0, "", "a line of blanks in a table: iptables-restore reads it as a command and finds none")
	}
	if !strings.HasPrefix(w.s, "-") && !strings.HasPrefix(w.s, "[") && !strings.HasPrefix(w.s, "!") {
		if w.s == "COMMIT" {
			return nil, bad(l.Text, w.pos, w.s, "COMMIT with blanks around it: iptables-restore ends a table only at a line that holds COMMIT alone")
		}
		return nil, bad(l.Text, w.pos, w.s, "expected a command (-A, -I, -N, -P, -F, -Z, -X) or COMMIT, found %q", w.s)
	}
	switch w.s {
	case "-N", "--new-chain", "-X", "--delete-chain", "-P", "--policy", "-F", "--flush", "-Z", "--zero":
		return l, r.chainCommand(l, fields(l.Text))
	case "-D", "--delete", "-R", "--replace", "-E", "--rename-chain", "-L", "--list", "-S", "--list-rules":
		return nil, unsupported(l.Text, w.pos, w.s, "give the ruleset as iptables-save prints it", "%s in an iptables-save file: ctmatch reads only -A, -I, -N, -X, -P, -F and -Z lines", w.s)
	}
	return r.rule(l)
}

// firstWord returns the first word of text and where it is, as fields
// would (blanks are spaces and tabs), or an empty word.
func firstWord(text string) word {
	i := 0
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	j := i
	for j < len(text) && text[j] != ' ' && text[j] != '\t' {
		j++
	}
	return word{text[i:j], parse.Pos(i)}
}

// chainCommand reads -N CHAIN, -X CHAIN, -P CHAIN POLICY, -F CHAIN and
// -Z [CHAIN].
func (r *SaveReader) chainCommand(l *SaveLine, f []word) error {
	t := r.table
	cmd := f[0]
	args := f[1:]
	end := word{pos: parse.Pos(len(l.Text))}
	arg := func(i int) word {
		if i < len(args) {
			return args[i]
		}
		return end
	}
	short := map[string]string{"--new-chain": "-N", "--delete-chain": "-X", "--policy": "-P", "--flush": "-F", "--zero": "-Z"}[cmd.s]
	if short == "" {
		short = cmd.s
	}
	want := map[string]int{"-N": 1, "-X": 1, "-P": 2, "-F": 1, "-Z": 1}[short]
	if len(args) > want {
		return bad(l.Text, args[want].pos, args[want].s, "unexpected %q after %s", args[want].s, strings.Join(wordsOf(f[:want+1]), " "))
	}
	name := arg(0)
	if name.s == "" && short != "-Z" {
		what := "a chain"
		if short == "-P" {
			what = "a chain and a policy"
		}
		if short == "-F" || short == "-X" {
			return unsupported(l.Text, cmd.pos, cmd.s, "name the chain: "+short+" CHAIN", "%s without a chain: iptables-nft and iptables-legacy do not do the same with it in a file", cmd.s)
		}
		return bad(l.Text, end.pos, "", "%s needs %s", cmd.s, what)
	}
	c := t.chains[name.s]
	l.Chain = name.s
	switch short {
	case "-N":
		if c != nil || IsBuiltin(t.name, name.s) {
			return bad(l.Text, name.pos, name.s, "chain %s already exists", name.s)
		}
		if err := checkChainName(l.Text, name, true); err != nil {
			return err
		}
		l.Op = SaveChain
		t.chains[name.s] = &saveChain{}
	case "-P":
		pol := arg(1)
		if pol.s == "" {
			return bad(l.Text, end.pos, "", "-P needs a chain and a policy")
		}
		if !IsBuiltin(t.name, name.s) {
			return bad(l.Text, name.pos, name.s, "%s is not a built-in chain of table %s: only those have a policy", name.s, t.name)
		}
		if pol.s != "ACCEPT" && pol.s != "DROP" {
			return bad(l.Text, pol.pos, pol.s, "bad policy %q: expected ACCEPT or DROP", pol.s)
		}
		l.Op, l.Builtin, l.Policy = SavePolicy, true, pol.s
		if c == nil {
			l.Implicit = true
			c = &saveChain{builtin: true}
			t.chains[name.s] = c
		}
		c.drop = pol.s == "DROP"
	case "-F", "-Z", "-X":
		if short == "-F" && c == nil && IsBuiltin(t.name, name.s) {
			// iptables-restore makes a built-in chain that -F names (-Z
			// and -X of one it has not made are "No chain/target/match by
			// that name").
			l.Implicit = true
			c = &saveChain{builtin: true}
			t.chains[name.s] = c
		}
		if name.s != "" && c == nil {
			if IsBuiltin(t.name, name.s) {
				return bad(l.Text, name.pos, name.s, "no chain %s in table %s here: name the built-in chain first (:%s ACCEPT [0:0])", name.s, t.name, name.s)
			}
			return bad(l.Text, name.pos, name.s, "no chain %s in table %s here: declare it first (:%s - [0:0] or -N %s)", name.s, t.name, name.s, name.s)
		}
		switch short {
		case "-Z":
			l.Op = SaveZero
			if w := t.zeroWarning(name.s); w != "" {
				l.Warnings = append(l.Warnings, &parse.Error{Pos: cmd.pos, Word: cmd.s, Text: l.Text, Kind: parse.Invalid, Msg: w})
			}
		case "-F":
			l.Op, l.Builtin = SaveFlush, c.builtin
			t.flush(c)
		case "-X":
			if c.refs > 0 {
				return bad(l.Text, name.pos, name.s, "chain %s is in use: %d rule(s) jump to it", name.s, c.refs)
			}
			if c.rules > 0 {
				return bad(l.Text, name.pos, name.s, "chain %s is not empty: it holds %d rule(s) (-F %s first)", name.s, c.rules, name.s)
			}
			if c.builtin {
				return unsupported(l.Text, name.pos, name.s, "leave the line out, or set the chain's policy with -P",
					"-X of the built-in chain %s: iptables-nft deletes it when it is empty, iptables-legacy refuses", name.s)
			}
			l.Op = SaveDelete
			t.flush(c)
			delete(t.chains, name.s)
		}
	}
	return nil
}

// zeroWarning returns the warning for -Z [chain] when it touches a built-in
// chain whose policy is DROP, or "". iptables-nft 1.8.9 resets such a
// policy to ACCEPT at -Z in a file (iptables-legacy keeps it): ctmatch keeps
// it, as -Z means only to zero counters.
func (t *saveTable) zeroWarning(chain string) string {
	var drop []string
	for _, b := range Tables {
		if b.Name != t.name {
			continue
		}
		for _, n := range b.Chains {
			if c := t.chains[n]; c != nil && c.drop && (chain == "" || chain == n) {
				drop = append(drop, n)
			}
		}
	}
	if len(drop) == 0 {
		return ""
	}
	return fmt.Sprintf("-Z keeps the policy DROP of %s here, as iptables-legacy does; iptables-nft 1.8.9 resets it to ACCEPT at -Z in a file", strings.Join(drop, ", "))
}

// flush forgets the rules of chain c.
func (t *saveTable) flush(c *saveChain) {
	for to, n := range c.jumps {
		if tc := t.chains[to]; tc != nil {
			tc.refs -= n
		}
	}
	c.rules, c.jumps = 0, nil
}

func wordsOf(ws []word) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.s
	}
	return out
}

// rule reads a rule line: [p:b] and the words, with -A or -I among them.
func (r *SaveReader) rule(l *SaveLine) (*SaveLine, error) {
	t := r.table
	var rule *parse.Rule
	var perr error
	if r.hasParsed {
		rule, perr = r.parsed.rule, r.parsed.err
	} else {
		rule, perr = parse.ParseText(l.Text, r.opts)
	}
	if parse.IsOtherFamily(perr) {
		// iptables-restore skips a line marked for the other family (-6
		// in an iptables file, -4 in an ip6tables one): it is no rule.
		l.Op = SaveNone
		return l, nil
	}
	if rule == nil {
		return nil, perr
	}
	if rule.Table != nil {
		return nil, bad(l.Text, rule.Table.Pos(), l.Text[rule.Table.Pos():rule.Table.End()], "-t among the words of a rule in an iptables-save file: the table is the *TABLE line's")
	}
	c := rule.Command
	if c == nil {
		w := firstField(l.Text)
		if rule.Counters != nil && rule.Counters.Prefix {
			w = firstField(l.Text[rule.Counters.End():])
			w.pos += rule.Counters.End()
		}
		return nil, bad(l.Text, w.pos, w.s, "no command: expected -A CHAIN or -I CHAIN [N] among the words")
	}
	ch := t.chains[c.Chain]
	implicit := false
	if ch == nil {
		if !IsBuiltin(t.name, c.Chain) {
			return nil, bad(l.Text, c.ChainPos, l.Text[c.ChainPos:c.ChainEnd()], "no chain %s in table %s here: declare it first (:%s - [0:0] or -N %s)", c.Chain, t.name, c.Chain, c.Chain)
		}
		ch, implicit = &saveChain{builtin: true}, true
	}
	index := ch.rules
	if c.Op == parse.Insert {
		index = 0
		if c.Index > 0 {
			index = c.Index - 1
		}
		if index > ch.rules {
			return nil, bad(l.Text, c.IndexPos, l.Text[c.IndexPos:c.End()], "-I %s %d: the chain has %d rule(s) here, so a rule goes at 1 to %d", c.Chain, c.Index, ch.rules, ch.rules+1)
		}
	}
	var to *saveChain
	if tg := rule.Target; tg != nil && tg.Kind == parse.TargetChain {
		to = t.chains[tg.Name]
		if IsBuiltin(t.name, tg.Name) {
			return nil, bad(l.Text, tg.NamePos, tg.Name, "%s", BuiltinJumpMsg(t.name, tg.Name))
		}
		if to == nil {
			return nil, bad(l.Text, tg.NamePos, tg.Name, "no chain %s in table %s here: a rule jumps only to a user chain declared before it", tg.Name, t.name)
		}
	}
	if perr != nil {
		var pe *parse.Error
		if !errors.As(perr, &pe) || pe.Kind != parse.Unsupported {
			return nil, perr
		}
	}
	// The line is valid: it takes its place. Its words are those of the
	// table the file names (iptables-restore passes -t TABLE).
	if rule.Table == nil && t.name != "filter" {
		rule.Table = &parse.Table{Name: t.name, Flag: parse.NoPos, At: parse.NoPos}
		// parse checked the hooks of the chain as the filter table's
		// built-in chains: the file's table says them, and a use the kernel
		// refuses there outweighs an Unsupported error.
		if err := parse.CheckHooks(rule, c.Chain); err != nil {
			return nil, err
		}
	}
	if implicit {
		t.chains[c.Chain] = ch
	}
	n := rule.Addresses()
	ch.rules += n
	if to != nil {
		to.refs += n
		if ch.jumps == nil {
			ch.jumps = map[string]int{}
		}
		ch.jumps[rule.Target.Name] += n
	}
	l.Op, l.Chain, l.Builtin, l.Implicit, l.Rule, l.Index, l.Rules = SaveRule, c.Chain, ch.builtin, implicit, rule, index, n
	l.insert = c.Op == parse.Insert
	return l, perr
}

// IsSaveLine reports whether a line is one only an iptables-save file holds:
// a *TABLE, :CHAIN or COMMIT line (blanks around it allowed), which tells an
// iptables-save file from a file of rules or of apply lines.
func IsSaveLine(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "*") || strings.HasPrefix(s, ":") || s == "COMMIT"
}

// IsSaveRuleLine reports whether text, a line of an iptables-save file as
// read, may be a rule line (it starts with "-", a "[p:b]" counter prefix or
// "!"), whose words can be parsed ahead of the reader; the reader decides
// what the line is.
func IsSaveRuleLine(text string) bool {
	return text != "" && (text[0] == '-' || text[0] == '[' || text[0] == '!')
}
