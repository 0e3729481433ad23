package parse

import (
	"encoding/json"
	"math"
	"strings"
)

// This file reads the tcp match's --tcp-flags, --syn and --tcp-option, as
// iptables 1.8.9 reads them (extensions/libxt_tcp.c): flag names in any
// case, separated by commas (empty items are skipped, as strtok skips
// them), "--syn" the same as "--tcp-flags FIN,SYN,RST,ACK SYN", one of the
// two per match, and "!" before either.

// TCPFlag is a set of the TCP header's flag bits (byte 13), as --tcp-flags
// names them. iptables names the six classic flags only: ECE and CWR are
// not flags it knows.
type TCPFlag uint8

// The flags --tcp-flags names, with their bits in the TCP header.
const (
	TCPFin TCPFlag = 0x01
	TCPSyn TCPFlag = 0x02
	TCPRst TCPFlag = 0x04
	TCPPsh TCPFlag = 0x08
	TCPAck TCPFlag = 0x10
	TCPUrg TCPFlag = 0x20
	// TCPAll is ALL: the six flags.
	TCPAll = TCPFin | TCPSyn | TCPRst | TCPPsh | TCPAck | TCPUrg
)

// tcpFlagNames are libxt_tcp's tcp_flag_names but ALL and NONE (which
// tcpFlagByName reads too), in the order iptables-save prints flags.
var tcpFlagNames = []named[TCPFlag]{
	{"FIN", TCPFin}, {"SYN", TCPSyn}, {"RST", TCPRst}, {"PSH", TCPPsh}, {"ACK", TCPAck}, {"URG", TCPUrg},
}

// String returns the flags as iptables-save prints them:
// "FIN,SYN,RST,ACK", "NONE" for none (ALL is printed as its six flags).
func (f TCPFlag) String() string { return string(appendNames(nil, tcpFlagNames, f&TCPAll, "NONE")) }

// MarshalJSON returns the flags as a list of names ([] for none).
func (f TCPFlag) MarshalJSON() ([]byte, error) {
	n := splitNames(tcpFlagNames, f)
	if n == nil {
		n = []string{}
	}
	return json.Marshal(n)
}

// synMask is what --syn compares: FIN, SYN, RST and ACK.
const synMask = TCPFin | TCPSyn | TCPRst | TCPAck

// TCPFlags is "[!] --tcp-flags MASK COMP" or "[!] --syn" of the tcp match:
// the TCP header's flags, under Mask, equal Comp (or not, when negated).
// --syn is Mask FIN,SYN,RST,ACK and Comp SYN, and iptables-save prints it
// so.
type TCPFlags struct {
	Flag     Pos     `json:"pos"` // the --tcp-flags or --syn word
	Syn      bool    `json:"syn"` // written --syn
	Negated  bool    `json:"negated"`
	NegPos   Pos     `json:"neg_pos"`   // NoPos when not negated
	MaskWord Word    `json:"mask_word"` // as written; empty, at NoPos, for --syn
	CompWord Word    `json:"comp_word"` // as written; empty, at NoPos, for --syn
	Mask     TCPFlag `json:"mask"`
	Comp     TCPFlag `json:"comp"`
	flagEnd  Pos     // the end of the option word
	end      Pos     // the end of the option's last word
}

// Pos returns the start of the option: its "!" when negated.
func (f *TCPFlags) Pos() Pos {
	if f.Negated {
		return f.NegPos
	}
	return f.Flag
}

// End returns the end of the comparison word, or of --syn.
func (f *TCPFlags) End() Pos { return f.end }

// Always reports whether the option holds for every packet the tcp match
// looks at: no flag is compared, and the comparison is with no flag
// ("--tcp-flags NONE NONE"), or it is negated and compares with some flag.
// iptables-save does not print it then.
func (f *TCPFlags) Always() bool { return f.Mask == 0 && (f.Comp == 0) != f.Negated }

// Never reports whether the option holds for no packet: no flag is
// compared, and it compares with some flag ("--tcp-flags NONE SYN"), or it
// is "! --tcp-flags NONE NONE".
func (f *TCPFlags) Never() bool { return f.Mask == 0 && (f.Comp == 0) == f.Negated }

// tcpKind says which of the tcp match's flag options a spec is.
type tcpKind uint8

const (
	tcpSyn tcpKind = iota + 1
	tcpFlagsOpt
	tcpOptionOpt
)

// tcpFlagsOption reads --tcp-flags, --syn or --tcp-option into the last tcp
// match, or into the one -p tcp loads at its first option.
func (p *parser) tcpFlagsOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.portsMatch(w, neg)
	switch spec.tcp {
	case tcpOptionOpt:
		return p.tcpOptionNumber(m, w, spec, attached, hasValue)
	case tcpSyn:
		if hasValue {
			return p.errorf(w, "option --syn takes no value")
		}
	}
	if m.Flags != nil {
		return p.errorf(w, "only one of --syn or --tcp-flags allowed in one tcp match")
	}
	f := &TCPFlags{Flag: w.pos, NegPos: NoPos, flagEnd: w.end}
	if neg != nil {
		f.Negated, f.NegPos = true, neg.pos
	}
	end := w.end
	if spec.tcp == tcpSyn {
		f.Syn, f.Mask, f.Comp = true, synMask, TCPSyn
		f.MaskWord, f.CompWord = Word{At: NoPos}, Word{At: NoPos}
	} else {
		mask, err := p.value(w, spec, attached, hasValue)
		if err != nil {
			return err
		}
		// libxt_tcp takes the comparison from the next word, which may
		// not look like an option.
		if p.i == len(p.words) {
			return p.endError("--tcp-flags takes two values: expected the flags to compare after %q", mask.val)
		}
		comp := p.words[p.i]
		if strings.HasPrefix(comp.val, "-") || strings.HasPrefix(comp.val, "!") {
			e := p.errorf(comp, "--tcp-flags takes two values: expected the flags to compare, found %q", comp.val)
			e.Hint = "write --tcp-flags MASK COMP, such as --tcp-flags SYN,ACK SYN; NONE compares with no flag"
			return e
		}
		p.i++
		if f.Mask, err = p.tcpFlagList(mask); err != nil {
			return err
		}
		if f.Comp, err = p.tcpFlagList(comp); err != nil {
			return err
		}
		f.MaskWord = Word{Text: mask.val, At: mask.pos}
		f.CompWord = Word{Text: comp.val, At: comp.pos}
		end = comp.end
	}
	f.end = end
	m.Flags = f
	m.end = end
	return nil
}

// tcpFlagList reads a comma list of flag names, as libxt_tcp's
// parse_tcp_flag does: names in any case, ALL and NONE among them, empty
// items skipped (strtok), so "" is no flag.
func (p *parser) tcpFlagList(v word) (TCPFlag, error) {
	var f TCPFlag
	off := 0
	for _, item := range strings.Split(v.val, ",") {
		if item != "" {
			bit, ok := tcpFlagByName(item)
			if !ok {
				e := p.itemError(v, off, item, "unknown TCP flag %q", item)
				e.Hint = "expected FIN, SYN, RST, PSH, ACK, URG, ALL or NONE, separated by commas (iptables knows no ECE or CWR)"
				return 0, e
			}
			f |= bit
		}
		off += len(item) + 1
	}
	return f, nil
}

func tcpFlagByName(s string) (TCPFlag, bool) {
	switch {
	case strings.EqualFold(s, "ALL"):
		return TCPAll, true
	case strings.EqualFold(s, "NONE"):
		return 0, true
	}
	for _, n := range tcpFlagNames {
		if strings.EqualFold(s, n.name) {
			return n.bit, true
		}
	}
	return 0, false
}

// tcpOptionNumber reads "[!] --tcp-option N" (1-255, as libxt_tcp's
// parse_tcp_option reads it) and refuses it as unsupported: nft's tcp
// option expression does not walk the options as xt_tcpudp does
// (docs/semantics.md, "TCP flags and options").
func (p *parser) tcpOptionNumber(m *Ports, w word, spec *optSpec, attached string, hasValue bool) error {
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	if m.option {
		return p.errorf(w, "only one --tcp-option allowed in one tcp match")
	}
	m.option = true
	if n, ok := parseCNumber(v.val, math.MaxUint8); !ok || n == 0 {
		e := p.errorf(v, "bad TCP option %q", v.val)
		e.Hint = "expected a TCP option kind 1-255, such as 2 (MSS) or 8 (timestamps)"
		return e
	}
	e := p.unsupportedf(w, "%s is valid iptables, but ctmatch does not take it: nft's tcp option expression does not find an option where xt_tcpudp does (in the last byte of the options, or with a length past the header's end)", w.val)
	e.Hint = "match the option with nft's own \"tcp option NAME exists\" if that difference does not matter to you, or keep the rule in iptables"
	return e
}

// firstOptionWord returns where the first option of an implicit tcp or udp
// match was written and its word, for an error about the whole match.
func (p *parser) firstOptionWord(m *Ports) (Pos, string) {
	at, end := Pos(-1), Pos(0)
	if len(m.Options) > 0 {
		o := m.Options[0]
		at, end = o.Flag, o.Value.At
	}
	if f := m.Flags; f != nil && (at < 0 || f.Flag < at) {
		at, end = f.Flag, f.flagEnd
	}
	if at < 0 {
		return m.Flag, ""
	}
	return at, strings.TrimRight(p.text[at:max(at, end)], " ")
}

// tcpFlags prints the option as iptables-save does: "! --tcp-flags
// FIN,SYN,RST,ACK SYN" (--syn too), nothing when it holds for every packet
// and is not negated. iptables-save prints nothing for "--tcp-flags NONE
// SYN" either, which never matches; ctmatch keeps the words that mean what
// the rule does, as for "! --dport 0:65535".
func (p *printer) tcpFlags(f *TCPFlags) {
	if f == nil || f.Mask == 0 && f.Comp == 0 && !f.Negated {
		return
	}
	if f.Negated {
		p.word("!")
	}
	p.word("--tcp-flags")
	p.word(f.Mask.String())
	p.word(f.Comp.String())
}
