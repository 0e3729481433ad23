package parse

import "strings"

// MACAddr is an Ethernet address.
type MACAddr [6]byte

// String returns the address as iptables-save prints it:
// "00:11:22:33:44:55".
func (a MACAddr) String() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 17)
	for i, c := range a {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return string(b)
}

// MarshalText gives the address in the JSON syntax tree as String does.
func (a MACAddr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// This file reads the mac match ("-m mac [!] --mac-source XX:XX:XX:XX:XX:XX"),
// as iptables 1.8.9 reads it (extensions/libxt_mac.c: one option, required,
// invertible, at most once per match; six parts of one or two hex digits
// separated by ":") and as iptables-save prints it (two lower-case digits a
// part). The kernel takes the match only in PREROUTING, INPUT and FORWARD
// (xt_mac.c's .hooks): iptables-nft's rule is refused ("Invalid argument")
// in OUTPUT and POSTROUTING.

// MAC is "-m mac [!] --mac-source ADDR": the packet came in through an
// Ethernet device with ADDR as its source address, or, when negated, from
// another address (still through an Ethernet device).
type MAC struct {
	Module  string `json:"module"`   // "mac"
	Flag    Pos    `json:"pos"`      // the -m word
	NamePos Pos    `json:"name_pos"` // the "mac" word
	// The --mac-source option; nil until it is read.
	Option *MACOption `json:"option"`
	end    Pos
}

// MACOption is "[!] --mac-source ADDR".
type MACOption struct {
	FlagValue
	Addr MACAddr `json:"addr"`
}

func (*MAC) isMatch() {}

// Pos returns the position of -m.
func (m *MAC) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *MAC) End() Pos { return m.end }

func (m *MAC) module() string { return "mac" }

// String returns the match in canonical iptables-save form, e.g.
// "-m mac ! --mac-source 00:11:22:33:44:55".
func (m *MAC) String() string {
	var p printer
	m.print(&p)
	return p.b.String()
}

func init() {
	extModules["mac"] = &extModule{
		specs: []optSpec{{long: "mac-source", what: "a MAC address", ext: "mac", invertible: true}},
		load: func(p *parser, w, v word) (extMatch, error) {
			return &MAC{Module: "mac", Flag: w.pos, NamePos: v.pos, end: v.end}, nil
		},
	}
}

func (m *MAC) option(p *parser, w word, neg *word, spec *optSpec, v word) error {
	if m.Option != nil {
		return p.errorf(w, "mac: option \"--mac-source\" can only be used once")
	}
	a, ok := parseMAC(v.val)
	if !ok {
		e := p.errorf(v, "invalid MAC address %q specified", v.val)
		e.Hint = "expected six parts of one or two hex digits separated by \":\", such as 00:11:22:33:44:55"
		return e
	}
	m.Option = &MACOption{FlagValue: flagValue(w, neg, v), Addr: a}
	m.end = v.end
	return nil
}

// parseMAC reads six parts of one or two hex digits separated by ":".
func parseMAC(s string) (MACAddr, bool) {
	var a MACAddr
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return a, false
	}
	for i, part := range parts {
		if len(part) == 0 || len(part) > 2 {
			return a, false
		}
		n, ok := parseCNumber("0x"+part, 0xff)
		if !ok {
			return a, false
		}
		a[i] = byte(n)
	}
	return a, true
}

func (m *MAC) check(p *parser) error {
	if m.Option == nil {
		return p.matchError(m.NamePos, m.Module, "mac: option \"--mac-source\" must be specified")
	}
	if c := p.rule.Command; c != nil && (c.Chain == "OUTPUT" || c.Chain == "POSTROUTING") {
		e := p.matchError(m.NamePos, m.Module, "can't use -m mac in "+c.Chain+": the kernel's mac match is valid only in PREROUTING, INPUT and FORWARD")
		e.Hint = "a packet in " + c.Chain + " has no link-layer header yet"
		return e
	}
	return nil
}

func (m *MAC) print(p *printer) {
	p.word("-m")
	p.word("mac")
	if o := m.Option; o != nil {
		p.printNeg(o.FlagValue, "--mac-source")
		p.word(o.Addr.String())
	}
}
