// Package parse reads iptables rules that use the conntrack match
// (-m conntrack, -m state), -p and the tcp and udp matches into a typed
// syntax tree whose every node knows where it was written, and prints such
// trees back in the canonical form iptables-save uses.
//
// The package is pure: names of services and hosts are looked up only through
// the Resolver the caller passes.
package parse

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Family says whether the words are iptables (IPv4) or ip6tables (IPv6) words.
type Family uint8

// Families.
const (
	IPv4 Family = iota // iptables
	IPv6               // ip6tables
)

// Options configure a parse.
type Options struct {
	Family Family
	// Resolver looks up service names (ports) and, when it can, host names
	// (addresses). Nil means Builtin: the built-in table of IANA service names
	// and no host names.
	Resolver Resolver
}

// MaxWords is the most words one rule may have: iptables-restore stores a
// rule line's words in an array of 255 (MAX_ARGC in iptables/xshared.h),
// which also holds its own name, -t, the table and a closing NULL, and
// refuses a longer line ("Parser cannot handle more arguments"). The
// counters of a line, [PACKETS:BYTES], are not among its words.
const MaxWords = 251

// ParseArgs parses a rule given as argv words, as a shell passes them to
// iptables. When the error is Unsupported (valid iptables that ctmatch does
// not take), the rule read so far comes with it: without what ctmatch does
// not take, and not for use but to check it further. Positions refer to the words joined by single spaces, each quoted
// with Quote. iptables' command line has no limit on the number of words, but
// ctmatch takes no more than MaxWords: past them, the rule is refused as
// Unsupported (after every word was checked, so that an invalid word still
// makes it Invalid).
func ParseArgs(args []string, opts Options) (*Rule, error) {
	text, words := joinArgs(args)
	return parseWords(text, words, nil, opts)
}

// ParseText parses one line of rule text with iptables-save quoting, as
// iptables-restore reads a rule line: "[PACKETS:BYTES]" at its very start
// gives the rule's counters (as iptables-save -c writes them), and a line of
// more than MaxWords words, or with a word of more than MaxWordBytes bytes,
// is refused as Invalid. An Unsupported error comes
// with the rule read so far, as with ParseArgs.
func ParseText(text string, opts Options) (*Rule, error) {
	counters, start, err := splitCounters(text)
	if err != nil {
		return nil, err
	}
	buf := wordsPool.Get().(*[]word)
	defer putWords(buf)
	words, err := splitText((*buf)[:0], text, start, MaxWords)
	*buf = words
	if err != nil {
		return nil, err
	}
	return parseWords(text, words, counters, opts)
}

// The words of a rule and its parser are needed only while it is parsed
// (the rule copies what it keeps of them): they are kept for the next
// rule, which saves two allocations of each rule a file has.
var (
	wordsPool  = sync.Pool{New: func() any { return new([]word) }}
	parserPool = sync.Pool{New: func() any { return new(parser) }}
)

// maxPooledWords bounds the arrays of words kept for the next rule.
const maxPooledWords = 64

func putWords(buf *[]word) {
	if cap(*buf) > maxPooledWords {
		return
	}
	clear(*buf) // the words refer to the text
	*buf = (*buf)[:0]
	wordsPool.Put(buf)
}

func putParser(p *parser) {
	*p = parser{}
	parserPool.Put(p)
}

func parseWords(text string, words []word, counters *Counters, opts Options) (*Rule, error) {
	if opts.Resolver == nil {
		opts.Resolver = Builtin
	}
	a := newRuleAlloc(text, counters)
	p := parserPool.Get().(*parser)
	defer putParser(p)
	*p = parser{text: text, words: words, opts: opts, rule: &a.rule, alloc: a}
	a.rule.family = uint8(opts.Family) + 1
	// Every conntrack option is a long option ("--ctstate", "--state"):
	// the words that start with "--" bound how many options the rule has,
	// and the options are allocated together.
	if n := countLong(words); n <= len(a.options) {
		p.optionPool, p.ptrPool = a.options[:0:n], a.optPtrs[:0:n]
	} else {
		p.optionPool, p.ptrPool = make([]Option, 0, n), make([]*Option, 0, n)
	}
	if err := p.parse(); err != nil {
		if e, ok := err.(*Error); ok && e.Kind == Unsupported {
			// What was read, for a caller that refuses the rule for
			// another reason, which must outweigh this one (a missing -A
			// in translate).
			return p.rule, err
		}
		return nil, err
	}
	return p.rule, nil
}

type parser struct {
	text  string
	words []word
	i     int
	opts  Options
	rule  *Rule

	neg *word      // a pending "!" (an element of words)
	cur *Conntrack // the match of the option being read

	// The matches whose options may come now: as iptables merges the
	// options of every extension it loads into one getopt table, newest
	// first, an option belongs to the last match loaded that defines it,
	// wherever it is written after that match's -m.
	lastCT        *Conntrack      // the last -m conntrack
	lastState     *Conntrack      // the last -m state
	foreign       bool            // an extension ctmatch does not know was loaded (-p, another match or target)
	lastPorts     *Ports          // the last tcp or udp match, loaded with -m or by -p
	lastICMP      *ICMP           // the last icmp or icmp6 match, loaded with -m or by -p
	lastHL        *HL             // the last ttl or hl match
	lastComment   *Comment        // the last comment match
	lastAddrtype  *Addrtype       // the last addrtype match
	lastPkttype   *Pkttype        // the last pkttype match
	lastOwner     *Owner          // the last owner match
	protoMatch    string          // the match -p loads that ctmatch does not read ("sctp"), or ""
	lastLimit     *Limit          // the last limit match
	lastMark      *Mark           // the last mark or connmark match
	lastMultiport *Multiport      // the last multiport match
	lastExt       []extMatch      // the last match of each module of ext.go, in the order loaded
	refused       []*refusedUse   // the matches of refused.go, in the order loaded
	targetGiven   map[string]bool // the options of the -j target that ctmatch does not take, given so far

	// What iptables checks of the rule as a whole.
	cmdFlag      string          // the first command (-A, -I, -D, …) as written, "" before one
	once         map[string]bool // the flags given that iptables allows only once
	target       bool            // -j or -g was given
	listing      *word           // the first listing option (-n, -x, --line-numbers), nil before one
	wait         bool            // -w was given
	waitInterval *word           // -W, which iptables takes only with -w; nil before one

	// unsupported is the first Unsupported error: it is returned only when
	// the rule has no Invalid word, which would make iptables refuse it.
	unsupported *Error

	optionPool []Option // where the rule's options are allocated
	// ptrPool holds the matches' Options slices: the last match to get an
	// option owns its end and grows there; another one appends anew.
	ptrPool  []*Option
	ptrOwner *Conntrack

	alloc *ruleAlloc // the rule and room for its common parts
}

// countLong returns how many of words start with "--".
func countLong(words []word) int {
	n := 0
	for _, w := range words {
		if strings.HasPrefix(w.val, "--") {
			n++
		}
	}
	return n
}

// errorf returns an Invalid error at w.
func (p *parser) errorf(w word, format string, args ...any) *Error {
	return &Error{Pos: w.pos, Word: p.text[w.pos:w.end], Text: p.text, Msg: fmt.Sprintf(format, args...)}
}

// unsupportedf returns an Unsupported error at w.
func (p *parser) unsupportedf(w word, format string, args ...any) *Error {
	e := p.errorf(w, format, args...)
	e.Kind = Unsupported
	return e
}

// keepUnsupported keeps an error to return at the end when it is Unsupported (the
// first one is kept), and returns it otherwise.
func (p *parser) keepUnsupported(err error) error {
	e, ok := err.(*Error)
	if !ok || e.Kind != Unsupported {
		return err
	}
	if p.unsupported == nil {
		p.unsupported = e
	}
	return nil
}

// endError returns an Invalid error at the end of the rule text.
func (p *parser) endError(format string, args ...any) *Error {
	return &Error{Pos: Pos(len(p.text)), Text: p.text, Msg: "found end of rule: " + fmt.Sprintf(format, args...)}
}

// itemError returns an Invalid error at item [off, off+len(item)) of w's value.
func (p *parser) itemError(w word, off int, item, format string, args ...any) *Error {
	if item == "" && off > 0 && off == len(w.val) {
		// An empty item at the end of the value ("NEW,", "10.0.0.1/") is
		// shown at the separator before it: it must not look like the end
		// of the rule, nor point at the blank after the word.
		off--
		item = w.val[off:]
	}
	pos := w.at(off)
	end := pos + Pos(len(item))
	if end > w.end {
		end = w.end
	}
	if pos > end {
		pos = end
	}
	return &Error{Pos: pos, Word: p.text[pos:end], Text: p.text, Msg: fmt.Sprintf(format, args...)}
}

// parse reads the words. An Invalid error ends it at once; an Unsupported
// one is kept, and the words after it are still read, so that a rule
// iptables would refuse is called Invalid whatever else it holds.
func (p *parser) parse() error {
	for p.i < len(p.words) {
		w := p.words[p.i]
		p.i++
		if w.val == "!" {
			if p.neg != nil {
				return p.errorf(w, "multiple consecutive ! not allowed")
			}
			if p.i == len(p.words) {
				return p.endError("expected an option after !")
			}
			p.neg = &p.words[p.i-1]
			continue
		}
		if !strings.HasPrefix(w.val, "-") || w.val == "-" {
			if p.neg != nil {
				return p.errorf(w, "unexpected word %q after !: expected an option", w.val)
			}
			e := p.errorf(w, "unexpected word %q: expected an option", w.val)
			switch {
			case isCounters(w.val):
				e.Hint = "[PACKETS:BYTES] counters come only first on a line of rule text, as iptables-save -c writes them; among argv words, write -c PACKETS BYTES"
			case p.i == 1 && commandNames[w.val]:
				e.Hint = "leave out the command's name: the words are what follows it (-A INPUT …)"
			}
			return e
		}
		if err := p.keepUnsupported(p.option(w)); err != nil {
			return err
		}
	}
	if err := p.checkMatches(); err != nil {
		return err
	}
	if err := p.checkRefused(); err != nil {
		return err
	}
	if err := p.checkIfaces(); err != nil {
		return err
	}
	if c := p.rule.Command; c != nil {
		if err := CheckHooks(p.rule, c.Chain); err != nil {
			return err
		}
	}
	if err := p.checkAddressLists(); err != nil {
		return err
	}
	if err := p.checkTarget(); err != nil {
		return err
	}
	if p.waitInterval != nil && !p.wait {
		return p.errorf(*p.waitInterval, "%s goes only with -w (--wait)", p.waitInterval.val)
	}
	if p.listing != nil && p.rule.Command != nil {
		return p.errorf(*p.listing, "illegal option %s with %s: it goes only with the commands that list rules", p.listing.val, p.rule.Command.Op)
	}
	if len(p.words) > MaxWords && p.unsupported == nil {
		// Only argv gets here: text stops at MaxWords words.
		p.unsupported = p.unsupportedf(p.words[MaxWords], "the rule has more than %d words: iptables-restore reads no more in a rule line, and neither does ctmatch", MaxWords)
		p.unsupported.Hint = "split the rule into several rules"
	}
	if p.unsupported != nil {
		return p.unsupported
	}
	return nil
}

// isCounters reports whether s looks like "[PACKETS:BYTES]".
func isCounters(s string) bool {
	return len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && strings.Contains(s, ":")
}

// option handles one option word and its value.
func (p *parser) option(w word) error {
	name, value, hasValue, long := splitOption(w.val)
	var spec *optSpec
	if long {
		var err error
		spec, err = p.lookupLong(w, name)
		if err != nil {
			return err
		}
	} else {
		spec = lookupShort(name)
	}
	neg := p.neg
	p.neg = nil
	if spec == nil && long && p.protoMatch == "ah" && p.protoOption(name) {
		return p.implicitAH(w, neg, name, value, hasValue)
	}
	if spec == nil && long && p.protoOption(name) {
		if p.unsupported == nil {
			p.unsupported = p.unsupportedf(w, "%s is valid iptables (an option of the %s match that -p %s loads), but ctmatch does not support that match yet", w.val, p.protoMatch, p.rule.Protocol.Value.Text)
		}
		if neg != nil {
			p.neg = nil
		}
		p.skipValues(-1)
		return nil
	}
	if spec == nil {
		if !p.foreign {
			return p.errorf(w, "unknown option %q", w.val)
		}
		// An option of an extension ctmatch does not know (loaded by -p,
		// by another -m or by the target): that extension is already
		// reported; skip the words that look like its values.
		p.skipValues(-1)
		return nil
	}

	if spec.ct != nil {
		return p.ctOption(w, neg, spec, value, hasValue)
	}
	if spec.port != 0 {
		return p.portOption(w, neg, spec, value, hasValue)
	}
	if spec.tcp != 0 {
		return p.tcpFlagsOption(w, neg, spec, value, hasValue)
	}
	if spec.fragment {
		return p.fragment(w, neg, hasValue, long)
	}
	if spec.iface {
		return p.iface(w, neg, spec, value, hasValue)
	}
	if spec.addr {
		return p.address(w, neg, spec, value, hasValue)
	}
	if spec.comment {
		return p.commentOption(w, neg, spec, value, hasValue)
	}
	if spec.icmp {
		return p.icmpOption(w, neg, spec, value, hasValue)
	}
	if spec.hl != 0 {
		return p.hlOption(w, neg, spec, value, hasValue)
	}
	if spec.addrtype != 0 {
		return p.addrtypeOption(w, neg, spec, value, hasValue)
	}
	if spec.pkttype {
		return p.pkttypeOption(w, neg, spec, value, hasValue)
	}
	if spec.owner != 0 {
		return p.ownerOption(w, neg, spec, value, hasValue)
	}
	if spec.limit != 0 {
		return p.limitOption(w, neg, spec, value, hasValue)
	}
	if spec.mark {
		return p.markOption(w, neg, spec, value, hasValue)
	}
	if spec.target != 0 {
		return p.targetOption(w, neg, spec, value, hasValue)
	}
	if spec.multiport != 0 {
		return p.multiportOption(w, neg, spec, value, hasValue)
	}
	if spec.ext != "" {
		return p.extOption(w, neg, spec, value, hasValue)
	}
	if spec.frame == frameProtocol {
		val, err := p.value(w, spec, value, hasValue)
		if err != nil {
			return err
		}
		return p.protocol(w, neg, val)
	}
	if spec.refused != "" {
		if err := p.refusedGiven(w, spec); err != nil {
			return err
		}
		if err := p.refusedValue(w, neg, spec, value, hasValue); err != nil {
			return err
		}
	}
	if spec.family != 0 {
		return p.familyOption(w, neg, spec, name, long, hasValue)
	}
	if spec.unsupported != "" {
		if err := p.targetOptionOnce(w, neg, spec); err != nil {
			return err
		}
		return p.unsupportedOption(w, neg, spec, name, long, hasValue)
	}
	if neg != nil {
		return p.errorf(*neg, "cannot have ! before %s", spellOption(w, name, long))
	}
	val, err := p.value(w, spec, value, hasValue)
	if err != nil {
		return err
	}
	switch spec.frame {
	case frameTable:
		return p.table(w, val)
	case frameAppend, frameInsert:
		return p.command(w, spec.frame, val)
	case frameMatch:
		return p.match(w, val)
	case frameJump, frameGoto:
		return p.jump(w, spec.frame == frameGoto, val)
	case frameCounters:
		return p.setCounters(w, val)
	}
	return p.errorf(w, "unknown option %q", w.val)
}

// familyOption reads -4 (--ipv4) or -6 (--ipv6): iptables takes the one of
// its own family and does nothing with it (the rule is as without it), and
// exits 2 at the other ("Try `iptables -h'"), where iptables-restore skips
// the line instead (IsOtherFamily, which script.SaveReader reads so).
func (p *parser) familyOption(w word, neg *word, spec *optSpec, name string, long, hasValue bool) error {
	spell := spellOption(w, name, long)
	switch {
	case neg != nil:
		return p.errorf(*neg, "cannot have ! before %s", spell)
	case hasValue:
		return p.errorf(w, "option %s takes no value", spell)
	case spec.family.is(p.opts.Family):
		return nil
	case spec.family == family6:
		e := p.errorf(w, "%s makes the rule an ip6tables rule, and these are iptables words: iptables exits 2 (iptables-restore skips such a line)", spell)
		e.Hint = "leave it out, or give the rule to ip6tables (ctmatch's own -6 before --, or --file6)"
		return e
	}
	e := p.errorf(w, "%s makes the rule an iptables rule, and these are ip6tables words: ip6tables exits 2 (ip6tables-restore skips such a line)", spell)
	e.Hint = "leave it out, or give the rule to iptables (without ctmatch's -6, or -f)"
	return e
}

// IsOtherFamily reports whether err is the refusal of -4 among ip6tables
// words or -6 among iptables words (familyOption): an error on a command
// line, and a line iptables-restore skips.
func IsOtherFamily(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Kind != Invalid {
		return false
	}
	return strings.Contains(e.Msg, " makes the rule an ip") && (e.Word == "-4" || e.Word == "-6" || strings.HasPrefix(e.Word, "--ipv"))
}

// commandNames are the names a rule's words may be given with by mistake,
// as a shell script calls them.
var commandNames = map[string]bool{"iptables": true, "ip6tables": true, "iptables-nft": true, "ip6tables-nft": true,
	"iptables-legacy": true, "ip6tables-legacy": true, "/sbin/iptables": true, "/sbin/ip6tables": true,
	"/usr/sbin/iptables": true, "/usr/sbin/ip6tables": true, "$IPTABLES": true, "$IP6TABLES": true}

// unsupportedOption reads an option of iptables that ctmatch does not
// support: it checks what iptables checks of it and skips its values, and
// returns the Unsupported error.
func (p *parser) unsupportedOption(w word, neg *word, spec *optSpec, name string, long, hasValue bool) error {
	spell := spellOption(w, name, long)
	if neg != nil && !spec.invertible {
		return p.errorf(*neg, "cannot have ! before %s", spell)
	}
	if spec.once != "" {
		if p.once[spec.once] {
			return p.errorf(w, "multiple %s flags not allowed", spec.once)
		}
		if p.once == nil {
			p.once = map[string]bool{}
		}
		p.once[spec.once] = true
	}
	if spec.command {
		if err := p.checkCommand(w, "-"+spec.short); err != nil {
			return err
		}
	}
	if spec.listing && p.listing == nil {
		p.listing = &p.words[p.i-1]
	}
	switch spec.long {
	case "wait":
		p.wait = true
	case "wait-interval":
		p.waitInterval = &p.words[p.i-1]
	}
	args := spec.args
	if hasValue && args == 0 && spec.optArgs == 0 {
		if long {
			return p.errorf(w, "option %s takes no value", spell)
		}
		// "-vn": getopt reads several short options in one word; one that
		// takes a value takes the rest of the word.
		for rest := w.val[2:]; rest != ""; rest = rest[1:] {
			s2 := lookupShort(rest[:1])
			if s2 == nil {
				return p.errorf(w, "unknown option \"-%s\" in %q", rest[:1], w.val)
			}
			if s2.listing && p.listing == nil {
				p.listing = &p.words[p.i-1]
			}
			if s2.args > 0 || s2.optArgs > 0 || s2.frame != frameNone || s2.addr || s2.iface {
				// The last letter of the word takes the next word as its
				// value ("-vp tcp"); what follows may be options of an
				// extension it loads.
				if rest[1:] == "" && (s2.args > 0 || s2.frame != frameNone || s2.addr || s2.iface) {
					if p.i == len(p.words) {
						return p.endError("expected a value after -%s in %s", rest[:1], w.val)
					}
					p.i++
				}
				p.foreign = true
				break
			}
		}
		hasValue = false
	}
	if hasValue {
		args--
	}
	for ; args > 0; args-- {
		if p.i == len(p.words) {
			return p.endError("expected a value after %s", w.val)
		}
		p.i++
	}
	p.skipValues(spec.optArgs)
	if spec.foreign {
		p.foreign = true
	}
	if strings.Contains(spec.unsupported, ": ") {
		return p.unsupportedf(w, "%s is valid iptables, but ctmatch does not take %s", spell, spec.unsupported)
	}
	return p.unsupportedf(w, "%s is valid iptables, but ctmatch does not support %s yet", spell, spec.unsupported)
}

// skipValues skips up to n words (any number when n < 0) that iptables
// would take as optional values: words that do not start with "-" or "!".
func (p *parser) skipValues(n int) {
	for ; n != 0 && p.i < len(p.words); n-- {
		v := p.words[p.i].val
		if strings.HasPrefix(v, "-") || strings.HasPrefix(v, "!") {
			return
		}
		p.i++
	}
}

// checkCommand checks that a rule has one command, as iptables does (-Z
// goes with -L and -S).
func (p *parser) checkCommand(w word, flag string) error {
	prev := p.cmdFlag
	if prev == "" {
		p.cmdFlag = flag
		return nil
	}
	pair := prev + flag
	if pair == "-L-Z" || pair == "-Z-L" || pair == "-S-Z" || pair == "-Z-S" {
		return nil
	}
	return p.errorf(w, "cannot use %s with %s", flag, prev)
}

// splitOption splits "--name=value", "--name", "-Xvalue" and "-X".
func splitOption(s string) (name, value string, hasValue, long bool) {
	if strings.HasPrefix(s, "--") {
		name = s[2:]
		if i := strings.IndexByte(name, '='); i >= 0 {
			return name[:i], name[i+1:], true, true
		}
		return name, "", false, true
	}
	if len(s) > 2 {
		return s[1:2], s[2:], true, false
	}
	return s[1:], "", false, false
}

func spellOption(w word, name string, long bool) string {
	if long {
		return "--" + name
	}
	return "-" + name
}

// value returns the value of an option: attached (--opt=value, -Xvalue) or the
// next word.
func (p *parser) value(w word, spec *optSpec, attached string, hasValue bool) (word, error) {
	if hasValue {
		off := len(w.val) - len(attached)
		if attached == "" {
			// An empty value ("--opt=") has no byte of its own: place it at
			// the "=", so that an error about it never points past the word.
			off--
		}
		return word{val: attached, pos: w.at(off), end: w.end, quoted: false}, nil
	}
	if p.i == len(p.words) {
		return word{}, p.endError("expected %s after %s", spec.what, w.val)
	}
	v := p.words[p.i]
	p.i++
	return v, nil
}

func (p *parser) table(w, v word) error {
	if !tableNames[v.val] {
		return p.errorf(v, "unknown table %q: expected filter, nat, mangle, raw or security", v.val)
	}
	if t := p.rule.Table; t != nil {
		if t.Name != v.val {
			return p.errorf(w, "-t given twice, with %q and %q", t.Name, v.val)
		}
		return nil
	}
	p.rule.Table = &Table{Flag: w.pos, Name: v.val, At: v.pos, end: v.end}
	return nil
}

var tableNames = map[string]bool{"filter": true, "nat": true, "mangle": true, "raw": true, "security": true}

func (p *parser) command(w word, f frameOpt, v word) error {
	op := Append
	if f == frameInsert {
		op = Insert
	}
	if err := p.checkCommand(w, op.String()); err != nil {
		return err
	}
	if err := p.checkChain(v, w.val); err != nil {
		return err
	}
	c := p.newCommand()
	*c = Command{Op: op, Flag: w.pos, Chain: v.val, ChainPos: v.pos, IndexPos: NoPos, chainEnd: v.end, end: v.end}
	if op == Insert && p.i < len(p.words) {
		n := p.words[p.i]
		if !strings.HasPrefix(n.val, "-") && n.val != "!" {
			p.i++
			idx, ok := parseDecimal(n.val, 1<<31-1)
			if !ok || idx == 0 {
				return p.errorf(n, "invalid rule number %q: expected a number from 1", n.val)
			}
			c.Index, c.IndexPos, c.end = int(idx), n.pos, n.end
		}
	}
	p.rule.Command = c
	return nil
}

// checkChain checks a chain name as iptables does.
func (p *parser) checkChain(v word, after string) error {
	switch {
	case v.val == "":
		return p.errorf(v, "expected a chain name after %s, found an empty word", after)
	case strings.HasPrefix(v.val, "-") || v.val == "!":
		return p.errorf(v, "expected a chain name after %s, found %q", after, v.val)
	case strings.IndexFunc(v.val, isBlankOrControl) >= 0:
		return p.errorf(v, "invalid chain name %q: it contains a blank or a control character", v.val)
	case len(v.val) > maxChainName:
		return p.errorf(v, "invalid chain name %q: %d characters, at most %d", v.val, len(v.val), maxChainName)
	}
	return nil
}

// maxChainName is the longest chain name iptables takes.
const maxChainName = 28

func (p *parser) match(w, v word) error {
	switch {
	case v.val == "conntrack" || v.val == "state":
		m := p.newConntrack()
		*m = Conntrack{Module: v.val, Flag: w.pos, NamePos: v.pos, end: v.end}
		p.rule.Matches = append(p.rule.Matches, m)
		if m.Alias() {
			p.lastState = m
		} else {
			p.lastCT = m
		}
		return nil
	case portModules[v.val] != 0:
		m := p.newPorts()
		*m = Ports{Module: v.val, Flag: w.pos, NamePos: v.pos, end: v.end}
		p.rule.Matches = append(p.rule.Matches, m)
		p.lastPorts = m
		return nil
	case v.val == "comment":
		m := &Comment{Module: "comment", Flag: w.pos, NamePos: v.pos, end: v.end}
		p.rule.Matches = append(p.rule.Matches, m)
		p.lastComment = m
		return nil
	case p.icmpModule(v.val) != "":
		m := &ICMP{Module: p.icmpModule(v.val), Flag: w.pos, NamePos: v.pos, end: v.end}
		p.rule.Matches = append(p.rule.Matches, m)
		p.lastICMP = m
		return nil
	case v.val == "ttl" || v.val == "hl":
		return p.hlMatch(w, v)
	case v.val == "addrtype":
		return p.addrtypeMatch(w, v)
	case v.val == "pkttype":
		return p.pkttypeMatch(w, v)
	case v.val == "owner":
		return p.ownerMatch(w, v)
	case v.val == "limit":
		return p.limitMatch(w, v)
	case v.val == "mark" || v.val == "connmark":
		return p.markMatch(w, v)
	case v.val == "multiport":
		return p.multiportMatch(w, v)
	case isExtModule(v.val):
		return p.extLoad(w, v)
	case refusedModules[v.val] != nil:
		return p.refusedLoad(v)
	case matchNames[v.val]:
		p.foreign = true
		return p.unsupportedf(v, "match -m %s is an iptables match that ctmatch does not support yet (nor check its options)", v.val)
	case v.val == "" || strings.HasPrefix(v.val, "-"):
		return p.errorf(v, "expected a match name after %s, found %q", w.val, v.val)
	}
	return p.errorf(v, "unknown match %q: iptables has no such extension", v.val)
}

// checkMatches checks, once every word is read, that each match got an
// option, as iptables checks each match in order after reading the rule.
func (p *parser) checkMatches() error {
	for _, mm := range p.rule.Matches {
		if pm, ok := mm.(*Ports); ok {
			if err := p.checkPorts(pm); err != nil {
				return err
			}
			continue
		}
		if cm, ok := mm.(*Comment); ok {
			if err := p.checkComment(cm); err != nil {
				return err
			}
			continue
		}
		if im, ok := mm.(*ICMP); ok {
			if err := p.checkICMP(im); err != nil {
				return err
			}
			continue
		}
		if hm, ok := mm.(*HL); ok {
			if err := p.checkHL(hm); err != nil {
				return err
			}
			continue
		}
		if am, ok := mm.(*Addrtype); ok {
			if err := p.checkAddrtype(am); err != nil {
				return err
			}
			continue
		}
		if pm, ok := mm.(*Pkttype); ok {
			if err := p.checkPkttype(pm); err != nil {
				return err
			}
			continue
		}
		if om, ok := mm.(*Owner); ok {
			if err := p.checkOwner(om); err != nil {
				return err
			}
			continue
		}
		if lm, ok := mm.(*Limit); ok {
			p.checkLimit(lm)
			continue
		}
		if mk, ok := mm.(*Mark); ok {
			if err := p.checkMark(mk); err != nil {
				return err
			}
			continue
		}
		if mp, ok := mm.(*Multiport); ok {
			if err := p.checkMultiport(mp); err != nil {
				return err
			}
			continue
		}
		if em, ok := mm.(extMatch); ok {
			if err := em.check(p); err != nil {
				return err
			}
			continue
		}
		m, ok := mm.(*Conntrack)
		if !ok || len(m.Options) > 0 {
			continue
		}
		e := &Error{Pos: m.NamePos, Word: p.text[m.NamePos:m.end], Text: p.text}
		if m.Alias() {
			e.Msg = "-m state needs --state"
		} else {
			e.Msg = "-m conntrack needs at least one option, such as --ctstate"
		}
		return e
	}
	return nil
}

// jump reads -j and -g.
func (p *parser) jump(w word, isGoto bool, v word) error {
	if p.target {
		return p.errorf(w, "multiple -j and -g flags not allowed")
	}
	p.target = true
	switch {
	case v.val == "" || strings.HasPrefix(v.val, "-") || v.val == "!":
		return p.errorf(v, "expected a target name after %s, found %q", w.val, v.val)
	case strings.IndexFunc(v.val, isBlankOrControl) >= 0:
		return p.errorf(v, "invalid target name %q: it contains a blank or a control character", v.val)
	case len(v.val) > maxChainName:
		return p.errorf(v, "invalid target name %q: %d characters, at most %d", v.val, len(v.val), maxChainName)
	}
	t := p.newTarget()
	*t = Target{Goto: isGoto, Flag: w.pos, Name: v.val, NamePos: v.pos, end: v.end, Kind: TargetChain}
	switch {
	case v.val == "ACCEPT" || v.val == "DROP" || v.val == "RETURN":
		if isGoto {
			return p.errorf(v, "-g takes a user chain, not the verdict %s: use -j %s", v.val, v.val)
		}
		t.Kind = TargetVerdict
	case targetSpecs[v.val] != nil:
		if isGoto {
			return p.errorf(v, "-g takes a user chain, not the target %s: use -j %s", v.val, v.val)
		}
		t.Kind, t.v6 = TargetExtension, p.opts.Family == IPv6
	case refusedTargets[v.val] != nil:
		if isGoto {
			return p.errorf(v, "-g takes a user chain, not the target %s: use -j %s", v.val, v.val)
		}
		return p.refusedTargetLoad(v)
	case targetNames[v.val]:
		// Its options, wherever they come, are the target's.
		p.foreign = true
		return p.unsupportedf(v, "target %s is an iptables target that ctmatch does not support yet (nor check its options)", v.val)
	}
	p.rule.Target = t
	return nil
}

// isBlankOrControl reports whether r may not appear in a chain name.
func isBlankOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
