package parse

import (
	"math"
	"strconv"
	"strings"
)

// This file reads "-p PROTO" and the tcp and udp matches' port options,
// as iptables 1.8.9 reads them.

// Protocol is "-p PROTO" or "! -p PROTO": the packet's protocol (for
// ip6tables, the header after the extension headers).
type Protocol struct {
	Flag    Pos   `json:"pos"` // the -p word
	Negated bool  `json:"negated"`
	NegPos  Pos   `json:"neg_pos"` // NoPos when not negated
	Value   Word  `json:"value"`   // as written
	Num     uint8 `json:"num"`     // 0 is "all": every packet
}

// Pos returns the start of -p, or of its "!".
func (p *Protocol) Pos() Pos {
	if p.Negated {
		return p.NegPos
	}
	return p.Flag
}

// End returns the end of the protocol word.
func (p *Protocol) End() Pos { return p.Value.End() }

// Name returns the protocol as iptables-save prints it: "tcp", "udp",
// "ipv6-icmp", "gre", or the number when it has no name.
func (p *Protocol) Name() string { return ProtocolName(p.Num) }

// ProtocolName returns protocol n as iptables-save prints it after -p.
func ProtocolName(n uint8) string {
	if s := protocolPrintNames[n]; s != "" {
		return s
	}
	return uitoa(uint64(n))
}

func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }

// Protocol numbers of the matches that read ports.
const (
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
	ProtoDCCP uint8 = 33  // the dccp match's ports (sctpdccp.go)
	ProtoSCTP uint8 = 132 // the sctp match's ports (sctpdccp.go)
)

// Ports is the tcp, udp, sctp or dccp match: "-m tcp" or "-m udp" with
// --sport and --dport (and the tcp match's --tcp-flags), or the same match
// that iptables loads by itself for -p tcp, -p udp, -p sctp or -p dccp at
// the first option that belongs to it (Implicit; iptables-save prints it
// with its -m word).
type Ports struct {
	Module   string        `json:"module"` // "tcp", "udp", "sctp" or "dccp"
	Implicit bool          `json:"implicit"`
	Flag     Pos           `json:"pos"`      // the -m word; the first option when implicit
	NamePos  Pos           `json:"name_pos"` // NoPos when implicit
	Options  []*PortOption `json:"options"`  // in the order written
	// Flags is the tcp match's --tcp-flags or --syn; nil when not written.
	Flags  *TCPFlags `json:"tcp_flags,omitempty"`
	option bool      // --tcp-option was read (ctmatch refuses it)
	end    Pos
}

func (*Ports) isMatch() {}

// Pos returns the position of -m, or of the first option when implicit.
func (m *Ports) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Ports) End() Pos { return m.end }

// Proto returns the protocol number the match reads ports of.
func (m *Ports) Proto() uint8 { return portModules[m.Module] }

// Option returns the match's option of kind k, or nil.
func (m *Ports) Option(k PortKind) *PortOption {
	for _, o := range m.Options {
		if o.Kind == k {
			return o
		}
	}
	return nil
}

// PortKind says which port an option of the tcp or udp match tests.
type PortKind uint8

// Port options, in the order iptables-save prints them.
const (
	SrcPort PortKind = iota + 1 // --sport, --source-port
	DstPort                     // --dport, --destination-port
)

// String returns "sport" or "dport".
func (k PortKind) String() string {
	if k == SrcPort {
		return "sport"
	}
	return "dport"
}

// MarshalText returns "--sport" or "--dport".
func (k PortKind) MarshalText() ([]byte, error) { return []byte("--" + k.String()), nil }

// PortOption is "[!] --sport P[:Q]" or "[!] --dport P[:Q]": the port is in
// the inclusive range Lo..Hi, or not, when negated.
type PortOption struct {
	Kind PortKind `json:"option"`
	FlagValue
	Lo uint16 `json:"lo"`
	Hi uint16 `json:"hi"`
}

// All reports whether the range is every port, which iptables-save does not
// print.
func (o *PortOption) All() bool { return o.Lo == 0 && o.Hi == math.MaxUint16 }

// portSpecs are the options of the tcp and udp matches that ctmatch reads.
// The tcp match's other options are valid iptables that ctmatch does not
// support yet.
var portSpecs = []optSpec{
	{long: "source-port", what: "a port or port range", port: SrcPort},
	{long: "sport", what: "a port or port range", port: SrcPort},
	{long: "destination-port", what: "a port or port range", port: DstPort},
	{long: "dport", what: "a port or port range", port: DstPort},
}

// tcpOnlySpecs are the tcp match's other options (tcpflags.go).
var tcpOnlySpecs = []optSpec{
	{long: "syn", what: "nothing", tcp: tcpSyn},
	{long: "tcp-flags", what: "a list of TCP flags", tcp: tcpFlagsOpt},
	{long: "tcp-option", what: "a TCP option number 1-255", tcp: tcpOptionOpt},
}

var portByName = byName(portSpecs)
var tcpOnlyByName = byName(tcpOnlySpecs)

// protoMatches are the protocols whose -p makes iptables load a match of
// that name at the first option no other extension knows (libxtables'
// xtables_chain_protos with a match of its own) and that ctmatch does not
// read yet: their options are valid iptables that ctmatch does not support.
var protoMatches = map[uint8]string{50: "esp", 51: "ah", 135: "mh"}

// protoMatchOptions are the long options of the matches in protoMatches
// (iptables 1.8.9's extensions/libxt_*.c and libip6t_*.c).
var protoMatchOptions = map[string][]string{
	"sctp": {"source-port", "sport", "destination-port", "dport", "chunk-types"},
	"dccp": {"source-port", "sport", "destination-port", "dport", "dccp-types", "dccp-option"},
	"esp":  {"espspi"},
	"ah":   {"ahspi", "ahlen", "ahres"},
	"mh":   {"mh-type"},
}

// protoOption reports whether name is an option, or an unambiguous prefix
// of one, of the match that -p loaded and ctmatch does not read.
func (p *parser) protoOption(name string) bool {
	if p.protoMatch == "" || name == "" {
		return false
	}
	for _, o := range protoMatchOptions[p.protoMatch] {
		if strings.HasPrefix(o, name) {
			return true
		}
	}
	return false
}

// protocol reads "-p PROTO" as iptables does: the word in lower case, "all",
// a number 0-255 (0x hex, 0 octal) or a name.
func (p *parser) protocol(w word, neg *word, v word) error {
	if p.rule.Protocol != nil {
		return p.errorf(w, "multiple -p flags not allowed")
	}
	s := strings.ToLower(v.val)
	n, ok := parseCNumber(s, math.MaxUint8)
	if !ok && s == "all" {
		n, ok = 0, true
	}
	if !ok {
		num, known := protocolNames.lookup(s)
		if !known {
			e := p.errorf(v, "unknown protocol %q specified", v.val)
			e.Hint = "expected all, a number 0-255 or a name from /etc/protocols such as tcp, udp or icmp"
			return e
		}
		n = uint64(num)
	}
	pr := p.newProtocol()
	*pr = Protocol{Flag: w.pos, Value: Word{Text: v.val, At: v.pos}, Num: uint8(n), NegPos: NoPos}
	if neg != nil {
		if n == 0 {
			return p.errorf(v, "rule would never match protocol: ! -p %s matches no packet", v.val)
		}
		pr.Negated, pr.NegPos = true, neg.pos
	}
	p.rule.Protocol = pr
	if m, ok := protoMatches[pr.Num]; ok {
		// Its options come after it, anywhere in the rule.
		p.protoMatch = m
	}
	return nil
}

// portsLoaded reports whether the options of a tcp or udp match may come
// now: one was loaded with -m, or -p names tcp or udp (iptables loads the
// match at its first option).
func (p *parser) portsLoaded() bool {
	if p.lastPorts != nil {
		return true
	}
	pr := p.rule.Protocol
	return pr != nil && portModuleOf(pr.Num) != ""
}

// portOption reads --sport or --dport into the last tcp or udp match, or into
// the match -p loads at its first option.
func (p *parser) portOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.portsMatch(w, neg)
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	if m.Option(spec.port) != nil {
		long := "--source-port"
		if spec.port == DstPort {
			long = "--destination-port"
		}
		return p.errorf(w, "only one %s allowed in one %s match", long, m.Module)
	}
	o := p.newPortOption(m)
	*o = PortOption{Kind: spec.port, FlagValue: FlagValue{Flag: w.pos, NegPos: NoPos, Value: Word{Text: v.val, At: v.pos}}}
	if neg != nil {
		o.Negated, o.NegPos = true, neg.pos
	}
	lo, hi, err := p.rangeOf(v, 0, math.MaxUint16, false, func(s string, off int) (uint64, error) {
		return p.modulePort(m.Module, v, s, off)
	})
	if err != nil {
		return err
	}
	o.Lo, o.Hi = uint16(lo), uint16(hi)
	m.Options = append(m.Options, o)
	m.end = v.end
	return nil
}

// portsMatch returns the last tcp or udp match, or loads the one -p names at
// its first option w (with "!" neg before it, or nil).
func (p *parser) portsMatch(w word, neg *word) *Ports {
	if m := p.lastPorts; m != nil {
		return m
	}
	module := portModuleOf(p.rule.Protocol.Num)
	m := p.newPorts()
	*m = Ports{Module: module, Implicit: true, Flag: w.pos, NamePos: NoPos}
	if neg != nil {
		m.Flag = neg.pos
	}
	p.rule.Matches = append(p.rule.Matches, m)
	p.lastPorts = m
	return m
}

// port reads one port of the tcp or udp match: a number as C's strtoul with
// base 0 reads it (iptables takes --dport 0x16 as 22 and 022 as 18), else a
// service name.
func (p *parser) port(v word, s string, off int) (uint64, error) {
	// A number first, then a service name, in xtables_parse_port's order;
	// a number then never costs the resolver a read of /etc/services.
	if n, ok := parseCNumber(s, math.MaxUint16); ok {
		return n, nil
	}
	if port, ok := p.opts.Resolver.Service(s); ok {
		return uint64(port), nil
	}
	e := p.itemError(v, off, s, "invalid port/service %q specified", s)
	e.Hint = "expected a port number 0-65535 or a service name such as ssh or http"
	return 0, e
}

// checkPorts checks, once every word is read, what iptables and the kernel
// check of a tcp or udp match: -p names its protocol, without "!" (the
// kernel refuses a match whose protocol the rule does not fix; iptables-nft
// takes it and then reads the ports of any other protocol).
func (p *parser) checkPorts(m *Ports) error {
	pr := p.rule.Protocol
	if pr != nil && pr.Num == m.Proto() && !pr.Negated {
		return nil
	}
	e := &Error{Pos: m.NamePos, Text: p.text}
	if m.Implicit {
		e.Pos, e.Word = p.firstOptionWord(m)
	} else {
		e.Word = p.text[m.NamePos:min(int(m.NamePos)+len(m.Module), len(p.text))]
	}
	switch {
	case pr == nil || pr.Num != m.Proto():
		e.Msg = "the " + m.Module + " match needs -p " + m.Module
		return e
	case pr.Negated:
		e.Msg = "the " + m.Module + " match needs -p " + m.Module + " without !: the kernel refuses it after ! -p"
		return e
	}
	return nil
}

// tcpLoaded reports whether the tcp match's options may come now.
func (p *parser) tcpLoaded() bool {
	if p.lastPorts != nil {
		return p.lastPorts.Module == "tcp"
	}
	return p.rule.Protocol.Num == ProtoTCP
}
