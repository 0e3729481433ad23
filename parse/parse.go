// Package parse reads iptables rules that use the conntrack match
// (-m conntrack, -m state) into a typed syntax tree whose every node knows
// where it was written, and prints such trees back in the canonical form
// iptables-save uses.
//
// The package is pure: names of services and hosts are looked up only through
// the Resolver the caller passes.
package parse

import (
	"fmt"
	"strings"
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

// ParseArgs parses a rule given as argv words, as a shell passes them to
// iptables. Positions refer to the words joined by single spaces, each quoted
// with Quote.
func ParseArgs(args []string, opts Options) (*Rule, error) {
	text, words := joinArgs(args)
	return parseWords(text, words, opts)
}

// ParseText parses one line of rule text with iptables-save quoting.
func ParseText(text string, opts Options) (*Rule, error) {
	words, err := splitText(text)
	if err != nil {
		return nil, err
	}
	return parseWords(text, words, opts)
}

func parseWords(text string, words []word, opts Options) (*Rule, error) {
	if opts.Resolver == nil {
		opts.Resolver = Builtin
	}
	p := &parser{text: text, words: words, opts: opts, rule: &Rule{Text: text, Matches: []Match{}}}
	// Every conntrack option is a long option ("--ctstate", "--state"):
	// the words that start with "--" bound how many options the rule has,
	// and the options are allocated together.
	p.optionPool = make([]Option, 0, countLong(words))
	if err := p.parse(); err != nil {
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
	cur *Conntrack // the match whose options come now

	optionPool []Option // where the rule's options are allocated
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
			return p.errorf(w, "unexpected word %q: expected an option", w.val)
		}
		if err := p.option(w); err != nil {
			return err
		}
	}
	return p.endMatch()
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
		if spec == nil {
			return p.errorf(w, "unknown option %q", w.val)
		}
	}
	neg := p.neg
	p.neg = nil

	if spec.ct != nil {
		return p.ctOption(w, neg, spec, value, hasValue)
	}
	if spec.unsupported != "" {
		if strings.Contains(spec.unsupported, ": ") {
			return p.unsupportedf(w, "%s is valid iptables, but ctmatch does not take %s", spellOption(w, name, long), spec.unsupported)
		}
		return p.unsupportedf(w, "%s is valid iptables, but ctmatch does not support %s yet", spellOption(w, name, long), spec.unsupported)
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
		return p.target(w, spec.frame == frameGoto, val)
	}
	return p.errorf(w, "unknown option %q", w.val)
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
	if c := p.rule.Command; c != nil {
		return p.errorf(w, "cannot use %s with %s", op, c.Op)
	}
	if err := p.checkChain(v, w.val); err != nil {
		return err
	}
	c := &Command{Op: op, Flag: w.pos, Chain: v.val, ChainPos: v.pos, IndexPos: NoPos, end: v.end}
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
	if err := p.endMatch(); err != nil {
		return err
	}
	switch {
	case v.val == "conntrack" || v.val == "state":
		// The long options after -m bound how many options the match has.
		m := &Conntrack{Module: v.val, Flag: w.pos, NamePos: v.pos, Options: make([]*Option, 0, countLong(p.words[p.i:])), end: v.end}
		p.rule.Matches = append(p.rule.Matches, m)
		p.cur = m
		return nil
	case matchNames[v.val]:
		return p.unsupportedf(v, "match -m %s is valid iptables, but ctmatch does not support it yet", v.val)
	case v.val == "" || strings.HasPrefix(v.val, "-"):
		return p.errorf(v, "expected a match name after %s, found %q", w.val, v.val)
	}
	return p.errorf(v, "unknown match %q: iptables has no such extension", v.val)
}

// endMatch checks the match whose options have been read.
func (p *parser) endMatch() error {
	m := p.cur
	p.cur = nil
	if m == nil {
		return nil
	}
	if len(m.Options) > 0 {
		return nil
	}
	e := &Error{Pos: m.NamePos, Word: p.text[m.NamePos:m.end], Text: p.text}
	if m.Alias() {
		e.Msg = "-m state needs --state"
	} else {
		e.Msg = "-m conntrack needs at least one option, such as --ctstate"
	}
	return e
}

func (p *parser) target(w word, isGoto bool, v word) error {
	if t := p.rule.Target; t != nil {
		return p.errorf(w, "multiple -j and -g flags not allowed")
	}
	if err := p.endMatch(); err != nil {
		return err
	}
	switch {
	case v.val == "" || strings.HasPrefix(v.val, "-") || v.val == "!":
		return p.errorf(v, "expected a target name after %s, found %q", w.val, v.val)
	case strings.IndexFunc(v.val, isBlankOrControl) >= 0:
		return p.errorf(v, "invalid target name %q: it contains a blank or a control character", v.val)
	case len(v.val) > maxChainName:
		return p.errorf(v, "invalid target name %q: %d characters, at most %d", v.val, len(v.val), maxChainName)
	}
	t := &Target{Goto: isGoto, Flag: w.pos, Name: v.val, NamePos: v.pos, end: v.end, Kind: TargetChain}
	switch {
	case v.val == "ACCEPT" || v.val == "DROP" || v.val == "RETURN":
		if isGoto {
			return p.errorf(v, "-g takes a user chain, not the verdict %s: use -j %s", v.val, v.val)
		}
		t.Kind = TargetVerdict
	case targetNames[v.val]:
		return p.unsupportedf(v, "target %s is valid iptables, but ctmatch does not support it yet", v.val)
	}
	p.rule.Target = t
	return nil
}

// isBlankOrControl reports whether r may not appear in a chain name.
func isBlankOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
