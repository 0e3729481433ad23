package parse

// This file reads iptables' own "-f" (--fragment): the packet is an IPv4
// fragment other than the first, or, with "!", it is not. ip6tables has no
// -f ("use -m frag instead").

// Fragment is "[!] -f": the packet's IPv4 fragment offset is not 0 (or is 0,
// when negated), as the kernel's ip_packet_match tests it.
type Fragment struct {
	Flag    Pos  `json:"pos"` // the -f word
	Negated bool `json:"negated"`
	NegPos  Pos  `json:"neg_pos"` // NoPos when not negated
	end     Pos
}

// Pos returns the start of -f, or of its "!".
func (f *Fragment) Pos() Pos {
	if f.Negated {
		return f.NegPos
	}
	return f.Flag
}

// End returns the end of the -f word.
func (f *Fragment) End() Pos { return f.end }

// fragment reads -f or --fragment (which takes no value), once per rule.
func (p *parser) fragment(w word, neg *word, hasValue, long bool) error {
	if p.opts.Family == IPv6 {
		e := p.errorf(w, "-f is not supported in IPv6")
		e.Hint = "ip6tables matches fragments with -m frag"
		return e
	}
	if p.rule.Fragment != nil {
		return p.errorf(w, "multiple -f flags not allowed")
	}
	if hasValue {
		if long {
			return p.errorf(w, "option --fragment takes no value")
		}
		// "-fv": getopt reads the letters after -f as options of their own.
		return p.unsupportedf(w, "%s is valid iptables (-f and other one-letter options in one word), but ctmatch reads -f only as a word of its own", w.val)
	}
	f := &Fragment{Flag: w.pos, NegPos: NoPos, end: w.end}
	if neg != nil {
		f.Negated, f.NegPos = true, neg.pos
	}
	p.rule.Fragment = f
	return nil
}

// fragment prints -f as iptables-save does, after -p: "! -f".
func (p *printer) fragment(f *Fragment) {
	if f == nil {
		return
	}
	if f.Negated {
		p.word("!")
	}
	p.word("-f")
}
