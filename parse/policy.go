package parse

import "strings"

// This file reads the policy match ("-m policy --dir in|out --pol
// none|ipsec"), as iptables 1.8.9 reads it (extensions/libxt_policy.c):
// --dir is required, --pol is ipsec when not given, neither takes "!", each
// at most once. --strict and the options that describe policy elements
// (--reqid, --spi, --proto, --mode, --tunnel-src, --tunnel-dst, --next) are
// read as iptables reads them and refused (Unsupported): nft reads no
// element of the IPsec state. The kernel takes --dir in only in PREROUTING,
// INPUT and FORWARD and --dir out only in FORWARD, OUTPUT and POSTROUTING
// (xt_policy.c's policy_mt_check).

// Policy is "-m policy --dir in|out --pol none|ipsec": the packet was
// (--dir in) or will be (--dir out) handled by IPsec (ipsec), or not (none).
type Policy struct {
	Module  string `json:"module"`   // "policy"
	Flag    Pos    `json:"pos"`      // the -m word
	NamePos Pos    `json:"name_pos"` // the "policy" word
	// Dir is the --dir option, Pol the --pol option (nil when not given:
	// ipsec).
	Dir *PolicyOption `json:"dir"`
	Pol *PolicyOption `json:"pol,omitempty"`
	// Out is --dir out; None is --pol none.
	Out  bool `json:"out"`
	None bool `json:"none"`
	// Element is the first option that describes a policy element
	// (--strict included), which ctmatch refuses; nil when there is none.
	Element      *FlagValue `json:"element,omitempty"`
	strict, next bool       // --strict, --next given
	elemOpts     int        // the element options since the last --next
	end          Pos
}

// PolicyOption is "--dir VALUE" or "--pol VALUE".
type PolicyOption struct {
	Flag  Pos  `json:"pos"`
	Value Word `json:"value"`
}

func (*Policy) isMatch() {}

// Pos returns the position of -m.
func (m *Policy) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Policy) End() Pos { return m.end }

func (m *Policy) module() string { return "policy" }

// String returns the match in canonical iptables-save form, e.g.
// "-m policy --dir in --pol ipsec".
func (m *Policy) String() string {
	var p printer
	m.print(&p)
	return p.b.String()
}

// policyElementOptions are the options that describe a policy element.
var policyElementOptions = map[string]bool{"reqid": true, "spi": true, "proto": true, "mode": true, "tunnel-src": true, "tunnel-dst": true}

func init() {
	specs := []optSpec{
		{long: "dir", what: "in or out", ext: "policy"},
		{long: "pol", what: "none or ipsec", ext: "policy"},
		{long: "strict", ext: "policy"},
		{long: "next", ext: "policy"},
	}
	for _, o := range []string{"reqid", "spi", "proto", "mode", "tunnel-src", "tunnel-dst"} {
		specs = append(specs, optSpec{long: o, what: "a value", ext: "policy", invertible: true})
	}
	extModules["policy"] = &extModule{
		specs: specs,
		load: func(p *parser, w, v word) (extMatch, error) {
			return &Policy{Module: "policy", Flag: w.pos, NamePos: v.pos, end: v.end}, nil
		},
	}
}

func (m *Policy) option(p *parser, w word, neg *word, spec *optSpec, v word) error {
	end := w.end
	if spec.what != "" {
		end = v.end
	}
	if end > m.end {
		m.end = end
	}
	switch spec.long {
	case "dir", "pol":
		o := &m.Dir
		if spec.long == "pol" {
			o = &m.Pol
		}
		if *o != nil {
			return p.errorf(w, "policy: option \"--%s\" can only be used once", spec.long)
		}
		switch {
		case spec.long == "dir" && (v.val == "in" || v.val == "out"):
			m.Out = v.val == "out"
		case spec.long == "pol" && (v.val == "none" || v.val == "ipsec"):
			m.None = v.val == "none"
		case spec.long == "dir":
			return p.errorf(v, "policy: invalid dir %q: expected in or out", v.val)
		default:
			return p.errorf(v, "policy: invalid policy %q: expected none or ipsec", v.val)
		}
		*o = &PolicyOption{Flag: w.pos, Value: Word{Text: v.val, At: v.pos}}
		return nil
	case "strict":
		if m.strict {
			return p.errorf(w, "policy: option \"--strict\" can only be used once")
		}
		m.strict = true
	case "next":
		m.next = true
		if m.elemOpts == 0 {
			return p.errorf(w, "policy match: empty policy element: --next follows no option that describes one")
		}
		m.elemOpts = 0
	default:
		if err := policyElementValue(p, spec.long, v); err != nil {
			return err
		}
		m.elemOpts++
	}
	if m.Element == nil {
		f := flagValue(w, neg, v)
		m.Element = &f
		if p.unsupported == nil {
			p.unsupported = p.unsupportedf(w, "--%s of the policy match is valid iptables, but ctmatch cannot translate it exactly: nft reads whether a packet has IPsec state (meta secpath, rt ipsec), not the elements of its policy (SPI, reqid, protocol, mode, tunnel addresses) nor their order", spec.long)
			p.unsupported.Hint = "leave out the policy element options to match any IPsec policy (meta secpath exists, rt ipsec exists), or keep this rule in iptables"
		}
	}
	return nil
}

// policyElementValue checks the value of a policy element option as
// iptables checks it.
func policyElementValue(p *parser, name string, v word) error {
	switch name {
	case "proto":
		switch strings.ToLower(v.val) {
		case "ah", "esp", "ipcomp", "50", "51", "108":
			return nil
		}
		return p.errorf(v, "policy match: protocol must be ah/esp/ipcomp, not %q", v.val)
	case "mode":
		if v.val == "transport" || v.val == "tunnel" {
			return nil
		}
		return p.errorf(v, "policy match: invalid mode %q: expected transport or tunnel", v.val)
	case "spi", "reqid":
		if _, ok := parseCNumber(v.val, 1<<32-1); !ok {
			return p.errorf(v, "policy: bad value %q for option \"--%s\": expected a number 0-4294967295", v.val, name)
		}
	}
	return nil
}

func (m *Policy) check(p *parser) error {
	switch {
	case m.Dir == nil:
		return p.matchError(m.NamePos, m.Module, "policy match: neither --dir in nor --dir out specified")
	case m.None && m.strict:
		return p.matchError(m.NamePos, m.Module, "policy match: policy none but --strict given")
	case m.next && !m.strict:
		return p.matchError(m.NamePos, m.Module, "policy: option \"--next\" also requires \"--strict\"")
	case m.strict && !m.None && m.elemOpts == 0:
		return p.matchError(m.NamePos, m.Module, "policy match: empty policy element: --strict is in effect, but at least one of reqid, spi, tunnel-src, tunnel-dst, proto or mode is required")
	}
	if c := p.rule.Command; c != nil {
		bad := "PREROUTING INPUT"
		if !m.Out {
			bad = "OUTPUT POSTROUTING"
		}
		if strings.Contains(" "+bad+" ", " "+c.Chain+" ") {
			e := &Error{Pos: m.Dir.Flag, Word: p.text[m.Dir.Flag:m.Dir.Value.End()], Text: p.text}
			if m.Out {
				e.Msg = "can't use -m policy --dir out in " + c.Chain + ": the kernel's policy match takes an output policy only in FORWARD, OUTPUT and POSTROUTING"
			} else {
				e.Msg = "can't use -m policy --dir in in " + c.Chain + ": the kernel's policy match takes an input policy only in PREROUTING, INPUT and FORWARD"
			}
			return e
		}
	}
	return nil
}

func (m *Policy) print(p *printer) {
	p.word("-m")
	p.word("policy")
	if m.Dir != nil {
		p.word("--dir")
		p.word(map[bool]string{false: "in", true: "out"}[m.Out])
		p.word("--pol")
		p.word(map[bool]string{false: "ipsec", true: "none"}[m.None])
	}
}
