package parse

import "net/netip"

// Node is every part of a parsed rule: it knows where it starts and ends.
type Node interface {
	Pos() Pos // first byte of the node
	End() Pos // first byte after the node
}

// Rule is one iptables rule: an optional table and command, the matches in
// the order written, and an optional target.
type Rule struct {
	Text     string     `json:"text"`                    // the text the positions refer to
	Counters *Counters  `json:"counters,omitempty"`      // [PACKETS:BYTES] or -c PACKETS BYTES; nil when not written
	Table    *Table     `json:"table,omitempty"`         // -t TABLE; nil when not written (filter)
	Command  *Command   `json:"command,omitempty"`       // -A CHAIN or -I CHAIN [N]; nil when not written
	Src      *Address   `json:"source,omitempty"`        // -s ADDR; nil when not written
	Dst      *Address   `json:"destination,omitempty"`   // -d ADDR; nil when not written
	InIface  *Interface `json:"in_interface,omitempty"`  // -i NAME; nil when not written
	OutIface *Interface `json:"out_interface,omitempty"` // -o NAME; nil when not written
	Protocol *Protocol  `json:"protocol,omitempty"`      // -p PROTO; nil when not written
	Fragment *Fragment  `json:"fragment,omitempty"`      // -f; nil when not written
	Matches  []Match    `json:"matches"`                 // -m …, in the order written
	Target   *Target    `json:"target,omitempty"`        // -j or -g; nil when not written

	// tcpmssClamp is the --clamp-mss-to-pmtu of a TCPMSS target that
	// counts (tcpmss.go): the rule is refused as Unsupported, and what was
	// read keeps it for the hooks check of a chain given apart from the
	// words (hooks.go).
	tcpmssClamp *Word

	// family is what the words were read as, plus one: 0 for a rule not
	// read by ParseText or ParseArgs (see ParsedFamily).
	family uint8
}

// ParsedFamily returns what the rule's words were read as (Options.Family
// of ParseText or ParseArgs), and false for a Rule not made by them.
func (r *Rule) ParsedFamily() (Family, bool) {
	if r.family == 0 {
		return 0, false
	}
	return Family(r.family - 1), true
}

// Pos returns the start of the rule text.
func (r *Rule) Pos() Pos { return 0 }

// End returns the end of the rule text.
func (r *Rule) End() Pos { return Pos(len(r.Text)) }

// TableName returns the iptables table the rule is for: the -t word, or
// "filter".
func (r *Rule) TableName() string {
	if r.Table == nil {
		return "filter"
	}
	return r.Table.Name
}

// Word is one word of the rule text, where it was written.
type Word struct {
	Text string `json:"text"`
	At   Pos    `json:"pos"`
}

// Pos returns the start of the word.
func (w Word) Pos() Pos { return w.At }

// End returns the first byte after the word as written (quotes included when
// the word was quoted).
func (w Word) End() Pos { return w.At + Pos(len(w.Text)) }

// Counters are the packet and byte counters a rule is given: "[PACKETS:BYTES]"
// first on a line of rule text, as iptables-save -c writes them and
// iptables-restore reads them, or "-c PACKETS BYTES" (also "-c PACKETS,BYTES",
// --set-counters) among the words. They say what the rule's counter starts
// from; they do not change what the rule matches.
type Counters struct {
	Flag       Pos    `json:"pos"`    // the "[" of [PACKETS:BYTES], or the -c word
	Prefix     bool   `json:"prefix"` // written [PACKETS:BYTES] before the words, rather than -c
	Packets    uint64 `json:"packets"`
	Bytes      uint64 `json:"bytes"`
	PacketsPos Pos    `json:"packets_pos"`
	BytesPos   Pos    `json:"bytes_pos"`
	end        Pos
}

// Pos returns the position of "[" or -c.
func (c *Counters) Pos() Pos { return c.Flag }

// End returns the end of "]" or of the byte count.
func (c *Counters) End() Pos { return c.end }

// Table is "-t NAME".
type Table struct {
	Flag Pos    `json:"pos"` // the -t word
	Name string `json:"name"`
	At   Pos    `json:"name_pos"` // the name
	end  Pos
}

// Pos returns the position of -t.
func (t *Table) Pos() Pos { return t.Flag }

// End returns the end of the table name.
func (t *Table) End() Pos { return t.end }

// CommandOp is the rule command.
type CommandOp uint8

// Commands.
const (
	Append CommandOp = iota + 1 // -A CHAIN
	Insert                      // -I CHAIN [N]
)

// String returns "-A" or "-I".
func (op CommandOp) String() string {
	if op == Insert {
		return "-I"
	}
	return "-A"
}

// MarshalText returns "append" or "insert".
func (op CommandOp) MarshalText() ([]byte, error) {
	if op == Insert {
		return []byte("insert"), nil
	}
	return []byte("append"), nil
}

// Command is "-A CHAIN" or "-I CHAIN [N]".
type Command struct {
	Op       CommandOp `json:"op"`
	Flag     Pos       `json:"pos"` // the -A or -I word
	Chain    string    `json:"chain"`
	ChainPos Pos       `json:"chain_pos"`
	Index    int       `json:"index,omitempty"` // the 1-based rule number of -I CHAIN N; 0 when not written
	IndexPos Pos       `json:"index_pos"`       // NoPos when not written
	chainEnd Pos
	end      Pos
}

// ChainEnd returns the end of the chain's word as written (quotes
// included).
func (c *Command) ChainEnd() Pos { return c.chainEnd }

// Pos returns the position of -A or -I.
func (c *Command) Pos() Pos { return c.Flag }

// End returns the end of the chain name or rule number.
func (c *Command) End() Pos { return c.end }

// Match is one "-m NAME …" of a rule. It is sealed: the implementations are
// the types of this package (*Conntrack and *Ports for now).
type Match interface {
	Node
	isMatch()
}

// Conntrack is "-m conntrack OPTIONS" or, when Alias is set, "-m state
// --state STATES" (which means the same as --ctstate).
type Conntrack struct {
	Module  string    `json:"module"` // "conntrack" or "state"
	Flag    Pos       `json:"pos"`    // the -m word
	NamePos Pos       `json:"name_pos"`
	Options []*Option `json:"options"` // in the order written
	end     Pos
}

func (*Conntrack) isMatch() {}

// Pos returns the position of -m.
func (m *Conntrack) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Conntrack) End() Pos { return m.end }

// Alias reports whether the match was written "-m state".
func (m *Conntrack) Alias() bool { return m.Module == "state" }

// Option returns the match's option of kind k, or nil.
func (m *Conntrack) Option(k OptionKind) *Option {
	for _, o := range m.Options {
		if o.Kind == k {
			return o
		}
	}
	return nil
}

// Option is one option of a conntrack match, such as "! --ctstate NEW,DNAT".
// Which value fields are set depends on Kind.
type Option struct {
	Kind    OptionKind `json:"option"`
	Flag    Pos        `json:"pos"`             // the option word
	Negated bool       `json:"negated"`         // "!" was written before the option
	NegPos  Pos        `json:"neg_pos"`         // the "!"; NoPos when not negated
	Value   Word       `json:"value"`           // the value word as written
	Items   []Pos      `json:"items,omitempty"` // start of each list item (states, statuses)

	States   State  `json:"states,omitempty"`   // OptState
	Statuses Status `json:"statuses,omitempty"` // OptStatus (0 is NONE)
	Proto    uint8  `json:"proto,omitempty"`    // OptProto
	Addr     Addr   `json:"addr,omitzero"`      // the address options
	Lo       uint32 `json:"lo,omitempty"`       // ports and OptExpire: the inclusive range Lo..Hi
	Hi       uint32 `json:"hi,omitempty"`
	Dir      Dir    `json:"dir,omitempty"` // OptDir
}

// Pos returns the start of the option: its "!" when negated.
func (o *Option) Pos() Pos {
	if o.Negated {
		return o.NegPos
	}
	return o.Flag
}

// End returns the end of the option's value.
func (o *Option) End() Pos { return o.Value.End() }

// Addr is an address with a mask of the same family. A mask need not be
// contiguous; Addr keeps the host bits as written (they are ignored when
// matching).
type Addr struct {
	Addr netip.Addr `json:"addr"`
	Mask netip.Addr `json:"mask"`
}

// IsZero reports whether a is the zero Addr.
func (a Addr) IsZero() bool { return !a.Addr.IsValid() }

// Bits returns the prefix length of the mask, or -1 when the mask is not
// contiguous.
func (a Addr) Bits() int {
	b := a.Mask.AsSlice()
	n := 0
	for n < len(b)*8 && b[n/8]&(0x80>>(n%8)) != 0 {
		n++
	}
	for i := n; i < len(b)*8; i++ {
		if b[i/8]&(0x80>>(i%8)) != 0 {
			return -1
		}
	}
	return n
}

// Masked returns the address with the host bits cleared.
func (a Addr) Masked() netip.Addr {
	x, m := a.Addr.AsSlice(), a.Mask.AsSlice()
	for i := range x {
		x[i] &= m[i]
	}
	r, _ := netip.AddrFromSlice(x)
	return r
}

// Target is "-j NAME" or "-g CHAIN".
type Target struct {
	Kind    TargetKind `json:"kind"`
	Goto    bool       `json:"goto"` // -g rather than -j
	Flag    Pos        `json:"pos"`  // the -j or -g word
	Name    string     `json:"name"`
	NamePos Pos        `json:"name_pos"`
	// Options are a target extension's options (target.go), in the order
	// written; nil for verdicts and chains.
	Options []*TargetOption `json:"options,omitempty"`
	v6      bool            // read as ip6tables words (REJECT's default answer)
	end     Pos
}

// Pos returns the position of -j or -g.
func (t *Target) Pos() Pos { return t.Flag }

// End returns the end of the target name.
func (t *Target) End() Pos { return t.end }

// TargetKind says what a target name means.
type TargetKind uint8

// Target kinds.
const (
	TargetVerdict TargetKind = iota + 1 // ACCEPT, DROP or RETURN
	TargetChain                         // a user-defined chain

	// TargetExtension is a target extension ctmatch reads (target.go):
	// REJECT, MASQUERADE, SNAT, DNAT, REDIRECT.
	TargetExtension
)

// MarshalText returns "verdict", "chain" or "extension".
func (k TargetKind) MarshalText() ([]byte, error) {
	if k == TargetVerdict {
		return []byte("verdict"), nil
	}
	if k == TargetExtension {
		return []byte("extension"), nil
	}
	return []byte("chain"), nil
}

// FlagValue is what an option with one value (-s, -d, -i, -o, the ports,
// the icmp types) records of its words: the flag, the "!" before it, and the value as
// written.
type FlagValue struct {
	Flag    Pos  `json:"pos"`
	Negated bool `json:"negated"`
	NegPos  Pos  `json:"neg_pos"` // NoPos when not negated
	Value   Word `json:"value"`   // as written
}

// Pos returns the start of the flag, or of its "!".
func (f *FlagValue) Pos() Pos {
	if f.Negated {
		return f.NegPos
	}
	return f.Flag
}

// End returns the end of the value.
func (f *FlagValue) End() Pos { return f.Value.End() }
