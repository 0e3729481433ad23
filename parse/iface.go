package parse

import "strings"

// This file reads "-i NAME" and "-o NAME", as iptables 1.8.9 reads them
// (libxtables' xtables_parse_interface).

// IfNameSize is the kernel's IFNAMSIZ: an interface name has at most
// IfNameSize-1 bytes.
const IfNameSize = 16

// Interface is "[!] -i NAME" or "[!] -o NAME": the packet's input or output
// interface is named Name (exactly), or its name starts with Name when the
// word ends in "+" (Prefix). "-i +" matches every packet.
type Interface struct {
	Out bool `json:"out"` // -o; -i when false
	FlagValue
	Name   string `json:"name"`   // without the final "+"
	Prefix bool   `json:"prefix"` // the word ends in "+": a prefix match
}

// Flagword returns "-i" or "-o".
func (f *Interface) Flagword() string {
	if f.Out {
		return "-o"
	}
	return "-i"
}

// All reports whether the option matches every packet ("-i +"), which
// iptables-save does not print.
func (f *Interface) All() bool { return f.Prefix && f.Name == "" && !f.Negated }

// Word returns the name as iptables-save prints it: "eth0", "eth+".
func (f *Interface) Word() string {
	if f.Prefix {
		return f.Name + "+"
	}
	return f.Name
}

// iface reads -i or -o NAME. iptables refuses an empty name and one of
// IFNAMSIZ (16) bytes or more, the "+" included; it takes every other byte,
// and warns of "/" and " ", which no interface name can hold (the kernel's
// dev_valid_name).
func (p *parser) iface(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	if p.once[spec.once] {
		return p.errorf(w, "multiple %s flags not allowed", spec.once)
	}
	if p.once == nil {
		p.once = map[string]bool{}
	}
	p.once[spec.once] = true
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	if v.val == "" {
		return p.errorf(v, "empty interface is likely to be undesired")
	}
	if strings.IndexByte(v.val, 0) >= 0 {
		// No argument of a command can hold one, and iptables-restore's
		// C strings end at it.
		return p.errorf(v, "interface name %q holds a NUL byte", v.val)
	}
	if len(v.val) >= IfNameSize {
		e := p.errorf(v, "interface name `%s' must be shorter than IFNAMSIZ (%d)", v.val, IfNameSize-1)
		e.Hint = "an interface name has at most 15 bytes; a final + makes it a prefix and counts too"
		return e
	}
	f := &Interface{Out: spec.short == "o", FlagValue: FlagValue{Flag: w.pos, NegPos: NoPos, Value: Word{Text: v.val, At: v.pos}}, Name: v.val}
	if neg != nil {
		f.Negated, f.NegPos = true, neg.pos
	}
	if strings.HasSuffix(v.val, "+") {
		f.Name, f.Prefix = strings.TrimSuffix(v.val, "+"), true
	}
	if strings.ContainsAny(v.val, " \t\n\r\v\f\"\\'") && p.unsupported == nil {
		// iptables-save writes the name without quotes; nft's strings
		// hold no quote and take "\" as an escape.
		p.unsupported = p.unsupportedf(v, "interface name %q is valid iptables, but ctmatch does not support whitespace, quotes or backslashes in it (iptables-save writes it unquoted, and nft's strings cannot hold it)", v.val)
		p.unsupported.Hint = "no Linux interface can have a name with whitespace (dev_valid_name): such a rule never matches; delete it"
	}
	if f.Prefix && f.Name == "" && f.Negated && p.unsupported == nil {
		p.unsupported = p.unsupportedf(v, "%s %s %s is valid iptables and matches no packet, but nft has no interface name test that matches none", neg.val, w.val, v.val)
		p.unsupported.Hint = "delete the rule: it never matches"
	}
	if f.Out {
		p.rule.OutIface = f
	} else {
		p.rule.InIface = f
	}
	return nil
}

// checkIfaces checks what iptables checks of -i and -o once the rule is
// read: no -o in the built-in chains PREROUTING and INPUT, no -i in
// POSTROUTING and OUTPUT, where the kernel has no such interface. In a user
// chain nothing is checked: a single rule cannot know the hooks its chain is
// reached from.
func (p *parser) checkIfaces() error {
	c := p.rule.Command
	if c == nil {
		return nil
	}
	var f *Interface
	switch c.Chain {
	case "PREROUTING", "INPUT":
		f = p.rule.OutIface
	case "POSTROUTING", "OUTPUT":
		f = p.rule.InIface
	}
	if f == nil {
		return nil
	}
	e := &Error{Pos: f.Pos(), Word: p.text[f.Pos():f.Value.End()], Text: p.text}
	e.Msg = "can't use " + f.Flagword() + " with " + c.Chain
	if f.Out {
		e.Hint = "packets in " + c.Chain + " have no output interface yet"
	} else {
		e.Hint = "packets in " + c.Chain + " have no input interface"
	}
	return e
}
