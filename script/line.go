package script

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// Op is what a line asks for.
type Op uint8

const (
	None   Op = iota // nothing: a blank line or a comment
	Add              // add rule: at the end of the chain, or after a group
	Insert           // insert rule: at the top of the chain, or before a group
)

// String returns the line's first word: add or insert ("" for None).
func (o Op) String() string {
	switch o {
	case Add:
		return "add"
	case Insert:
		return "insert"
	}
	return ""
}

// Line is one line of a file of ctmatch commands.
//
// Every Pos of a Line is a byte offset into Text; those of Rule are offsets
// into Rule.Text, which is Text[RulePos:].
type Line struct {
	Pos  parse.Position // the line: its file and number (no column)
	Text string         // the line as written, without its newline

	Op        Op          // None for a blank line or a comment: nothing else is set
	Family    expr.Family // the table's family: ip, ip6 or inet
	Table     string
	Chain     string
	Index     int         // --index N: the chain's group N, from 1; 0 when not given
	Handle    uint64      // --handle H: the group of the rule with handle H; 0 when not given
	IPv6      bool        // the words are ip6tables words: -6, or a table of family ip6
	NoCounter bool        // --no-counter
	Rule      *parse.Rule // the words after "--"

	OpPos     parse.Pos // add or insert
	FamilyPos parse.Pos // FAMILY
	TablePos  parse.Pos // TABLE
	ChainPos  parse.Pos // CHAIN
	IndexPos  parse.Pos // the number of --index; NoPos when not given
	HandlePos parse.Pos // the number of --handle; NoPos when not given
	RulePos   parse.Pos // the first of the words after "--"
}

// Position returns where the byte at offset pos of the line's text was
// written: the line's file and number, and the column pos+1.
func (l *Line) Position(pos parse.Pos) parse.Position { return l.Pos.At(pos) }

// WordsError returns err as an error about the line when it is a
// *parse.Error about the rule's words (Rule.Text), as parse and checks of
// the rule give: the same error with its offset into Text. Other errors
// are returned as they are.
func (l *Line) WordsError(err error) error {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		return err
	}
	shifted := *pe
	shifted.Pos += l.RulePos
	shifted.Text = l.Text
	return &shifted
}

// String returns the line as ctmatch writes it: one blank between words,
// the options in the order of the grammar, -6 only where it is not
// implied, and the rule's words in iptables-save's canonical form; a blank
// line or a comment as it was written. ReadLine reads it back to the same
// line.
func (l *Line) String() string {
	if l.Op == None {
		return l.Text
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s rule %s %s %s", l.Op, l.Family, l.Table, l.Chain)
	if l.Index != 0 {
		fmt.Fprintf(&b, " --index %d", l.Index)
	}
	if l.Handle != 0 {
		fmt.Fprintf(&b, " --handle %d", l.Handle)
	}
	if l.IPv6 && l.Family != expr.FamilyIP6 {
		b.WriteString(" -6")
	}
	if l.NoCounter {
		b.WriteString(" --no-counter")
	}
	b.WriteString(" -- ")
	if l.Rule != nil {
		words := l.Rule.String()
		if words == "" {
			// Words that say nothing but -t filter, which iptables-save
			// leaves out: a line needs a word after "--".
			words = "-t " + l.Rule.TableName()
		}
		b.WriteString(words)
	}
	return b.String()
}

// Blank reports whether a line of a file holds nothing to do: it is blank,
// or a comment (# first, after any blanks).
func Blank(text string) bool {
	t := strings.TrimSpace(text)
	return t == "" || strings.HasPrefix(t, "#")
}

// word is a word of a line and where it starts.
type word struct {
	s   string
	pos parse.Pos
}

// fields splits s into words separated by blanks (spaces and tabs), up to
// the first "--" (included): what follows it is the rule's words.
func fields(s string) []word { return fieldsInto(make([]word, 0, 12), s) }

// fieldsInto is fields appending to out.
func fieldsInto(out []word, s string) []word {
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		out = append(out, word{s[i:j], parse.Pos(i)})
		if s[i:j] == "--" {
			break
		}
		i = j
	}
	return out
}

// ReadLine reads one line of a file of commands, without its newline; at
// is where the line is (its file and number), for Line.Pos. The rule's
// words are parsed with o, for the family the line says (o.Family is not
// used): iptables words, or ip6tables words with -6 or in a table of family
// ip6.
//
// A blank line or a comment is a Line whose Op is None. A bad line is a
// *parse.Error about Text, at the word that is wrong (at the end of the
// line when a word is missing): Invalid for what the grammar, iptables or
// ctmatch rejects, Unsupported for valid iptables words ctmatch does not
// support (parse's errors, which come at their offset into the line).
func ReadLine(text string, at parse.Position, o parse.Options) (*Line, error) {
	l := &Line{Pos: at, Text: text, OpPos: parse.NoPos, FamilyPos: parse.NoPos, TablePos: parse.NoPos, ChainPos: parse.NoPos,
		IndexPos: parse.NoPos, HandlePos: parse.NoPos, RulePos: parse.NoPos}
	if Blank(text) {
		return l, nil
	}
	head := headPool.Get().(*[]word)
	defer putHead(head)
	*head = fieldsInto((*head)[:0], text)
	r := &reader{l: l, head: *head, end: word{pos: parse.Pos(len(text))}}
	if n := len(r.head); n > 0 && r.head[n-1].s == "--" {
		r.dash, r.hasDash, r.head = r.head[n-1], true, r.head[:n-1]
	}
	if err := r.command(); err != nil {
		return nil, err
	}
	v4, v6, err := r.options()
	if err != nil {
		return nil, err
	}
	if err := r.family(v4, v6); err != nil {
		return nil, err
	}
	if err := r.words(o); err != nil {
		return nil, err
	}
	return l, nil
}

// headPool keeps the words of a line's head for the next line: ReadLine
// keeps none of them (the Line holds their strings), and a file of 50,000
// lines allocated them 50,000 times.
var headPool = sync.Pool{New: func() any { b := make([]word, 0, 12); return &b }}

func putHead(b *[]word) {
	if cap(*b) > 64 {
		return
	}
	clear(*b) // (the words hold the line's text: let it go)
	*b = (*b)[:0]
	headPool.Put(b)
}

// reader is a line being read: its words before "--", and "--".
type reader struct {
	l       *Line
	head    []word // the words before "--"
	dash    word   // "--"
	hasDash bool   // whether the line has "--"
	end     word   // the end of the line
}

// at returns the i-th word before "--", or "--" when there are fewer, or the
// end of the line.
func (r *reader) at(i int) word {
	switch {
	case i < len(r.head):
		return r.head[i]
	case r.hasDash:
		return r.dash
	}
	return r.end
}

// bad returns the error for a bad word w of the line.
func (r *reader) bad(w word, format string, args ...any) *parse.Error {
	return &parse.Error{Pos: w.pos, Word: w.s, Text: r.l.Text, Kind: parse.Invalid, Msg: fmt.Sprintf(format, args...)}
}

// command reads add or insert, "rule", and FAMILY TABLE CHAIN.
func (r *reader) command() error {
	l, head := r.l, r.head
	switch v := r.at(0); v.s {
	case "add":
		l.Op = Add
	case "insert":
		l.Op = Insert
	default:
		err := r.bad(v, "expected add or insert, found %s", quoteWord(v.s))
		switch v.s {
		case "-A", "--append", "-I", "--insert":
			// An iptables-save file without its *TABLE line, or a file of
			// rules for translate -f.
			err.Hint = "a line of iptables words belongs to an iptables-save file, which starts with its *TABLE line (*filter), its chains (:INPUT ACCEPT [0:0]) and ends each table with COMMIT; an apply line reads: add rule FAMILY TABLE CHAIN -- WORDS"
		case "table", "flush", "delete", "chain", "define", "include":
			// nft's own text: ctmatch list -o nft, nft list ruleset.
			err.Hint = "this reads as an nft script (ctmatch list -o nft prints one): load it with nft -f; ctmatch apply -f reads iptables-save files, apply lines (add rule FAMILY TABLE CHAIN -- WORDS) and the JSON of ctmatch list -o json"
		}
		return err
	}
	if v := r.at(1); v.s != "rule" {
		return r.bad(v, "expected \"rule\" after %s, found %s", head[0].s, quoteWord(v.s))
	}
	if len(head) < 5 {
		names := []string{"FAMILY", "TABLE", "CHAIN"}
		v := r.at(len(head))
		return r.bad(v, "expected %s, found %s (a line reads: %s rule FAMILY TABLE CHAIN -- WORDS)", names[len(head)-2], quoteWord(v.s), head[0].s)
	}
	fam, ok := families[head[2].s]
	if !ok {
		return r.bad(head[2], "unknown table family %q: expected ip, ip6 or inet", head[2].s)
	}
	l.OpPos, l.FamilyPos, l.TablePos, l.ChainPos = head[0].pos, head[2].pos, head[3].pos, head[4].pos
	l.Family, l.Table, l.Chain = fam, head[3].s, head[4].s
	return nil
}

// options reads the options after the chain, up to "--", and returns
// whether -4 and -6 were given.
func (r *reader) options() (v4, v6 bool, err error) {
	l, head := r.l, r.head
	for i := 5; i < len(head); i++ {
		t := head[i]
		name, val, hasVal := strings.Cut(t.s, "=")
		switch name {
		case "-4", "-6", "--no-counter":
			if hasVal {
				return false, false, r.bad(t, "%s takes no value", name)
			}
			v4, v6 = v4 || name == "-4", v6 || name == "-6"
			l.NoCounter = l.NoCounter || name == "--no-counter"
		case "--index", "--handle":
			vt := word{val, t.pos + parse.Pos(len(name)+1)}
			if !hasVal {
				if i+1 >= len(head) {
					return false, false, r.bad(r.at(i+1), "%s needs a number", name)
				}
				i++
				vt = head[i]
			}
			if err := r.number(name, vt); err != nil {
				return false, false, err
			}
			if l.Index != 0 && l.Handle != 0 {
				return false, false, r.bad(t, "--index and --handle cannot be used together")
			}
		default:
			if strings.HasPrefix(t.s, "-") {
				return false, false, r.bad(t, "unknown option %s: expected --index N, --handle H, -4, -6, --no-counter or \"--\" before the iptables words", quoteWord(t.s))
			}
			return false, false, r.bad(t, "unexpected %s after the chain: the iptables words go after \"--\"", quoteWord(t.s))
		}
	}
	if !r.hasDash {
		return false, false, r.bad(r.end, "expected \"--\" and the iptables words")
	}
	return v4, v6, nil
}

// number reads the value v of --index or --handle (name): decimal, from 1.
func (r *reader) number(name string, v word) error {
	n, err := strconv.ParseUint(v.s, 10, 63)
	if err != nil || n == 0 {
		what := "a group number, from 1"
		if name == "--handle" {
			what = "a rule handle, from 1"
		}
		return r.bad(v, "bad %s %s: expected %s", name, quoteWord(v.s), what)
	}
	if name == "--index" {
		r.l.Index, r.l.IndexPos = int(n), v.pos
	} else {
		r.l.Handle, r.l.HandlePos = n, v.pos
	}
	return nil
}

// family decides whether the words are ip6tables words, from the table's
// family and -4 or -6 (v4, v6).
func (r *reader) family(v4, v6 bool) error {
	if v4 && v6 {
		return r.bad(r.dash, "-4 and -6 cannot be used together")
	}
	ipv6, err := WordsFamily(r.l.Family, v4, v6)
	if err != nil {
		return r.bad(r.head[2], "%v", err)
	}
	r.l.IPv6 = ipv6
	return nil
}

// words parses the rule's words, after "--".
func (r *reader) words(o parse.Options) error {
	l := r.l
	off := int(r.dash.pos) + 2
	for off < len(l.Text) && (l.Text[off] == ' ' || l.Text[off] == '\t') {
		off++
	}
	l.RulePos = parse.Pos(off)
	words := l.Text[off:]
	if strings.TrimSpace(words) == "" {
		return r.bad(r.end, "no iptables words after \"--\"")
	}
	o.Family = parse.IPv4
	if l.IPv6 {
		o.Family = parse.IPv6
	}
	rule, err := parse.ParseText(words, o)
	if err != nil && rule == nil {
		return l.WordsError(err)
	}
	// (With an Unsupported error, rule is what was read: -A among the
	// words outweighs it.)
	if cerr := CheckWords(rule, "apply lines"); cerr != nil {
		return l.WordsError(cerr)
	}
	err = CommandInWords(err, "apply lines")
	// The chain's hooks outweigh an Unsupported error too: what was read
	// may already be refused there (TCPMSS's --clamp-mss-to-pmtu).
	if herr := CheckChainHooks(rule, l.Chain); herr != nil {
		return l.WordsError(herr)
	}
	if err != nil {
		return l.WordsError(err)
	}
	l.Rule = rule
	return nil
}

// families are the table families a line names.
var families = map[string]expr.Family{"ip": expr.FamilyIP, "ip6": expr.FamilyIP6, "inet": expr.FamilyInet}

// WordsFamily says whether the words that go into a table of family table
// are ip6tables words, given whether -4 or -6 was written (not both): -6,
// or a table of family ip6. An ip table takes only iptables words and an
// ip6 table only ip6tables words: the error says what was written against
// that. (Lines of files and ctmatch add rule's command line decide it
// alike.)
func WordsFamily(table expr.Family, v4, v6 bool) (ipv6 bool, err error) {
	switch {
	case table == expr.FamilyIP && v6:
		return false, errors.New("an ip table takes iptables words: leave out -6, or write into an ip6 or inet table")
	case table == expr.FamilyIP6 && v4:
		return false, errors.New("an ip6 table takes ip6tables words: leave out -4, or write into an ip or inet table")
	}
	return v6 || table == expr.FamilyIP6, nil
}

// CheckChainHooks checks that the matches and targets of r may run in
// chain, the nft chain the words are written into (parse.CheckHooks): a
// chain named like an iptables built-in chain in any case ("input",
// "PREROUTING") is the one --create makes, at that hook; any other name is
// a chain whose hooks are not known.
func CheckChainHooks(r *parse.Rule, chain string) error {
	hook, _ := parse.ChainHook(r.TableName(), strings.ToUpper(chain))
	return parse.CheckHooksAt(r, chain, hook)
}

// CheckWords checks the words of a rule whose chain is given apart from
// them, as in add rule and insert rule, on the command line or in a file:
// the words carry no command (-A CHAIN, -I CHAIN N), and the error for one
// points at it. in names where the words are, for the message ("apply
// lines", "ctmatch add rule").
func CheckWords(r *parse.Rule, in string) error {
	c := r.Command
	if c == nil {
		return nil
	}
	hint := "give only -t, the matches and the target after \"--\""
	if c.Index > 0 {
		hint += fmt.Sprintf("; the position is insert rule's --index %d", c.Index)
	}
	return &parse.Error{Pos: c.Pos(), Text: r.Text, Word: r.Text[c.Pos():c.End()], Kind: parse.Invalid,
		Msg:  fmt.Sprintf("%s %s among the words: in %s the chain is the positional CHAIN", c.Op, c.Chain, in),
		Hint: hint}
}

// CommandInWords turns err, when it is parse's refusal of another command
// than -A and -I among the words (-D, -N, -F, …: parse.IsOtherCommand),
// into bad usage (Kind Invalid) in a rule whose chain is given apart from
// the words, where in names (as for CheckWords): such words take no command
// at all. Any other err is returned as it is.
func CommandInWords(err error, in string) error {
	if !parse.IsOtherCommand(err) {
		return err
	}
	var e *parse.Error
	errors.As(err, &e)
	hint := ""
	if strings.HasPrefix(e.Word, "-D") || strings.HasPrefix(e.Word, "--del") {
		hint = "ctmatch delete rule deletes a rule by its handle (ctmatch list -a shows them)"
	}
	return &parse.Error{Pos: e.Pos, Text: e.Text, Word: e.Word, Kind: parse.Invalid,
		Msg:  fmt.Sprintf("%s among the words: in %s the words carry no command, only -t, the matches and the target", e.Word, in),
		Hint: hint}
}

// quoteWord writes a word for a message: quoted, or "the end of the line".
func quoteWord(s string) string {
	if s == "" {
		return "the end of the line"
	}
	return strconv.Quote(s)
}

// BareName reports whether nft's command text reads s bare as one name: a
// letter or "_", then letters, digits and "_-./", and not one of the words
// nft reads as keywords there (NftKeyword: log, tcp, counter, …). A name
// that is not bare must be quoted (firewall.QuoteName), and some places of
// nft's grammar, such as a table or chain name, take no quoted name at all.
func BareName(s string) bool {
	return !NftKeyword(s) && bareChars(s)
}

// bareChars reports whether s is a letter or "_", then letters, digits
// and "_-./".
func bareChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.' || c == '/')) {
			return false
		}
	}
	return true
}

// ChainNameMsg says why nft's command text cannot name chain (a chain name
// that is not BareName).
func ChainNameMsg(chain string) string {
	if NftKeyword(chain) {
		return fmt.Sprintf("nft's command text cannot name the chain %q: nft reads %s as a keyword, bare or quoted, not as a chain name", chain, chain)
	}
	return fmt.Sprintf("nft's command text cannot name the chain %q: it reads a chain name only as a letter or _ followed by letters, digits and _-./", chain)
}

// RuleNameError returns the error for the first chain of r that nft's
// command text cannot name (BareName), the chain of -A or -I or that of -j
// or -g, with hint (what loads such a chain instead); nil when it can name
// both.
func RuleNameError(r *parse.Rule, hint string) *parse.Error {
	if c := r.Command; c != nil && !BareName(c.Chain) {
		return ChainNameError(r.Text, c.ChainPos, r.Text[c.ChainPos:c.ChainEnd()], c.Chain, hint)
	}
	if t := r.Target; t != nil && t.Kind == parse.TargetChain && !BareName(t.Name) {
		at := min(int(t.NamePos), len(r.Text))
		end := min(at+len(t.Name), len(r.Text))
		return ChainNameError(r.Text, t.NamePos, r.Text[at:end], t.Name, hint)
	}
	return nil
}

// ChainNameError is the Unsupported error for a chain that nft's command
// text cannot name, at word (at pos) of text; hint says what loads such a
// chain instead, or is empty.
func ChainNameError(text string, pos parse.Pos, word, chain, hint string) *parse.Error {
	return &parse.Error{Pos: pos, Word: word, Text: text, Kind: parse.Unsupported, Msg: ChainNameMsg(chain), Hint: hint}
}
