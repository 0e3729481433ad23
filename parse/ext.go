package parse

// This file is the frame of the small match extensions that each read one
// value per option and print it back (-m length, and the matches after it):
// each is a type of its own in a file named after it, loaded by -m, with
// its options among those getopt may take from then on, checked once every
// word is read, and printed as iptables-save prints it.

// extMatch is a match read through this frame.
type extMatch interface {
	Match
	module() string
	// option reads one option of the match: spec is one of the specs the
	// match's module has (extSpecs), w the option word, neg its "!" (nil
	// when not negated) and v its value (the zero word when the option
	// takes none).
	option(p *parser, w word, neg *word, spec *optSpec, v word) error
	// check checks the match once every word is read.
	check(p *parser) error
	// print writes the match's words as iptables-save does.
	print(p *printer)
}

// extModule is a module read through this frame: its options and how a
// new match of it starts.
type extModule struct {
	specs []optSpec
	// load makes the match of -m w v; it may refuse the module in the
	// rule's family, with the error iptables gives.
	load func(p *parser, w, v word) (extMatch, error)
}

// extModules are the modules read through this frame, by name; each
// module's file adds itself.
var extModules = map[string]*extModule{}

// extLoad reads -m NAME for a module of this frame.
func (p *parser) extLoad(w, v word) error {
	mod := extModules[v.val]
	m, err := mod.load(p, w, v)
	if err != nil {
		return err
	}
	p.rule.Matches = append(p.rule.Matches, m)
	for i, l := range p.lastExt {
		if l.module() == v.val {
			p.lastExt = append(p.lastExt[:i], p.lastExt[i+1:]...)
			break
		}
	}
	p.lastExt = append(p.lastExt, m)
	return nil
}

// extSpecExact returns the option named name exactly of a loaded module of
// this frame, the newest first, or nil.
func (p *parser) extSpecExact(name string) *optSpec {
	for i := len(p.lastExt) - 1; i >= 0; i-- {
		specs := extModules[p.lastExt[i].module()].specs
		for j := range specs {
			if specs[j].long == name {
				return &specs[j]
			}
		}
	}
	return nil
}

// extSpecsLoaded calls add with the options of every loaded module of this
// frame.
func (p *parser) extSpecsLoaded(add func([]optSpec)) {
	for _, m := range p.lastExt {
		add(extModules[m.module()].specs)
	}
}

// extOption reads an option of a loaded module of this frame: the last
// match of its module gets it.
func (p *parser) extOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	var m extMatch
	for i := len(p.lastExt) - 1; i >= 0; i-- {
		if p.lastExt[i].module() == spec.ext {
			m = p.lastExt[i]
			break
		}
	}
	var v word
	if spec.what != "" {
		var err error
		if v, err = p.value(w, spec, attached, hasValue); err != nil {
			return err
		}
	} else if hasValue {
		return p.errorf(w, "%s: option \"--%s\" takes no value", spec.ext, spec.long)
	}
	if neg != nil && !spec.invertible {
		return p.errorf(*neg, "%s: option \"--%s\" cannot be inverted", spec.ext, spec.long)
	}
	return m.option(p, w, neg, spec, v)
}

// matchError returns an Invalid error at the name of a match (its -m
// word's value).
func (p *parser) matchError(namePos Pos, name, msg string) *Error {
	return &Error{Pos: namePos, Word: p.text[namePos:min(int(namePos)+len(name), len(p.text))], Text: p.text, Msg: msg}
}

// flagValue returns the FlagValue of option word w, its "!" and value v.
func flagValue(w word, neg *word, v word) FlagValue {
	f := FlagValue{Flag: w.pos, NegPos: NoPos, Value: Word{Text: v.val, At: v.pos}}
	if neg != nil {
		f.Negated, f.NegPos = true, neg.pos
	}
	return f
}

// printNeg writes "!" when f is negated, then the option's name.
func (p *printer) printNeg(f FlagValue, name string) {
	if f.Negated {
		p.word("!")
	}
	p.word(name)
}

// isExtModule reports whether name is a module of this frame.
func isExtModule(name string) bool {
	_, ok := extModules[name]
	return ok
}
