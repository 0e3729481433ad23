package parse

import (
	"net/netip"
	"strings"
)

// This file reads the iprange match ("-m iprange [!] --src-range A[-B]
// [!] --dst-range A[-B]"), as iptables 1.8.9 reads it
// (extensions/libxt_iprange.c, revision 1: each option invertible, at most
// once per match, at least one of them; an address alone is the range of
// that address; addresses are numeric, of the rule's family) and as
// iptables-save prints it (--src-range before --dst-range, always "A-B").

// IPRange is "-m iprange [!] --src-range A-B [!] --dst-range A-B": the
// packet's source (destination) address is in the inclusive range, or not,
// when negated.
type IPRange struct {
	Module  string `json:"module"`   // "iprange"
	Flag    Pos    `json:"pos"`      // the -m word
	NamePos Pos    `json:"name_pos"` // the "iprange" word
	// The --src-range and --dst-range options; nil when not given.
	Src *IPRangeOption `json:"src_range,omitempty"`
	Dst *IPRangeOption `json:"dst_range,omitempty"`
	end Pos
}

// IPRangeOption is "[!] --src-range A-B" or "[!] --dst-range A-B".
type IPRangeOption struct {
	FlagValue
	Lo netip.Addr `json:"lo"`
	Hi netip.Addr `json:"hi"`
}

func (*IPRange) isMatch() {}

// Pos returns the position of -m.
func (m *IPRange) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *IPRange) End() Pos { return m.end }

func (m *IPRange) module() string { return "iprange" }

// String returns the match in canonical iptables-save form, e.g.
// "-m iprange ! --src-range 10.0.0.1-10.0.0.9".
func (m *IPRange) String() string {
	var p printer
	m.print(&p)
	return p.b.String()
}

func init() {
	extModules["iprange"] = &extModule{
		specs: []optSpec{
			{long: "src-range", what: "an address range A-B", ext: "iprange", invertible: true},
			{long: "dst-range", what: "an address range A-B", ext: "iprange", invertible: true},
		},
		load: func(p *parser, w, v word) (extMatch, error) {
			return &IPRange{Module: "iprange", Flag: w.pos, NamePos: v.pos, end: v.end}, nil
		},
	}
}

func (m *IPRange) option(p *parser, w word, neg *word, spec *optSpec, v word) error {
	o := &m.Src
	if spec.long == "dst-range" {
		o = &m.Dst
	}
	if *o != nil {
		return p.errorf(w, "iprange: option \"--%s\" can only be used once", spec.long)
	}
	first, second, isRange := strings.Cut(v.val, "-")
	addr := func(s string, off int) (netip.Addr, error) {
		a, err := p.rangeAddr(v, s, off, spec.long)
		if e, ok := err.(*Error); ok && e.Kind == Unsupported {
			// Valid iptables: the option is given, and the words after
			// it are still read.
			if p.unsupported == nil {
				p.unsupported = e
			}
			return a, nil
		}
		return a, err
	}
	lo, err := addr(first, 0)
	if err != nil {
		return err
	}
	hi := lo
	if isRange {
		if hi, err = addr(second, len(first)+1); err != nil {
			return err
		}
	}
	*o = &IPRangeOption{FlagValue: flagValue(w, neg, v), Lo: lo, Hi: hi}
	if v.end > m.end {
		m.end = v.end
	}
	// A reversed range (Hi below Lo) is taken as iptables takes it:
	// libxt_iprange warns "range … is reversed and will never match" and
	// adds the rule, which xt_iprange never matches (every packet with !).
	return nil
}

// rangeAddr reads one address of an iprange option: numeric, of the rule's
// family (xtables_numeric_to_ipaddr or _ip6addr: no host names).
func (p *parser) rangeAddr(v word, s string, off int, option string) (netip.Addr, error) {
	v6 := p.opts.Family == IPv6
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" && a.Is6() == v6 {
		return a, nil
	}
	if !v6 && looksInetAton(s) {
		e := p.itemError(v, off, s, "address %q is not a plain dotted quad: iptables reads it the way inet_aton does", s)
		e.Kind = Unsupported
		e.Hint = "write the address as four decimal numbers, such as 10.0.0.1"
		return netip.Addr{}, e
	}
	e := p.itemError(v, off, s, "iprange: bad value %q for option \"--%s\"", s, option)
	if off == 0 && s == v.val {
		e = p.errorf(v, "iprange: bad value %q for option \"--%s\"", s, option) // the whole word, quotes included
	}
	if v6 {
		e.Hint = "expected an IPv6 address or a range of two, ADDR-ADDR"
	} else {
		e.Hint = "expected an IPv4 address or a range of two, ADDR-ADDR"
	}
	return netip.Addr{}, e
}

func (m *IPRange) check(p *parser) error {
	if m.Src != nil || m.Dst != nil {
		return nil
	}
	return p.matchError(m.NamePos, m.Module, "iprange: one of the options \"--src-range\", \"--dst-range\" must be specified")
}

func (m *IPRange) print(p *printer) {
	p.word("-m")
	p.word("iprange")
	for _, o := range []struct {
		o    *IPRangeOption
		name string
	}{{m.Src, "--src-range"}, {m.Dst, "--dst-range"}} {
		if o.o == nil {
			continue
		}
		p.printNeg(o.o.FlagValue, o.name)
		p.word(o.o.Lo.String() + "-" + o.o.Hi.String())
	}
}
