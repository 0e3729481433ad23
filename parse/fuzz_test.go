package parse_test

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/parse"
)

// canonRule is what a parsed rule means, without where it was written: the
// structure that parse → print → parse must keep.
type canonRule struct {
	Counters *[2]uint64 // packets and bytes
	Table    string     // "filter" when not written: the printer leaves -t filter out
	Command  *canonCommand
	Protocol *canonProtocol
	Matches  []canonMatch
	Target   *canonTarget
}

type canonCommand struct {
	Op    parse.CommandOp
	Chain string
	Index int
}

type canonMatch struct {
	Module  string
	Options []canonOption  // in canonical order, as printed
	Ports   []canonPort    // of a tcp or udp match, in canonical order
	ICMP    *canonICMP     // of an icmp or icmp6 match
	HL      *canonHL       // of a ttl or hl match
	Ext     string         // of a match of parse/ext.go, as printed
	Comment string         // of a comment match
	Addr    *canonAddrtype // of an addrtype match
	Pkt     *canonPkttype  // of a pkttype match
	Owner   string         // of an owner match: its canonical text
	Limit   *[2]uint32     // avg and burst of a limit match
	Mark    *canonMark     // of a mark or connmark match
	// Multiport is the option of a multiport match, its ports without
	// their positions.
	Multiport *canonMultiport
}

type canonPkttype struct {
	Type    parse.PktType
	Negated bool
}

type canonAddrtype struct {
	Src, Dst       parse.AddrTypes
	SrcNeg, DstNeg bool
	Limit          string
}

type canonMark struct {
	Negated     bool
	Value, Mask uint32
}

type canonMultiport struct {
	Kind    parse.MultiportKind
	Negated bool
	Ports   [][2]uint16
}

type canonHL struct {
	Kind    parse.HLKind
	Negated bool
	N       uint8
}

type canonICMP struct {
	Negated          bool
	Type             uint8
	CodeMin, CodeMax uint8
}

type canonProtocol struct {
	Num     uint8
	Negated bool
}

type canonPort struct {
	Kind    parse.PortKind
	Negated bool
	Lo, Hi  uint16
}

type canonOption struct {
	Kind     parse.OptionKind
	Negated  bool
	States   parse.State
	Statuses parse.Status
	Proto    uint8
	Addr     netip.Addr
	Mask     netip.Addr
	Lo, Hi   uint32
	Dir      parse.Dir
}

type canonTarget struct {
	Kind    parse.TargetKind
	Goto    bool
	Name    string
	Options []string // each target option's name and value as iptables-save prints it, sorted
}

func canon(r *parse.Rule) canonRule {
	c := canonRule{Table: r.TableName()}
	if r.Counters != nil {
		c.Counters = &[2]uint64{r.Counters.Packets, r.Counters.Bytes}
	}
	if r.Command != nil {
		c.Command = &canonCommand{Op: r.Command.Op, Chain: r.Command.Chain, Index: r.Command.Index}
	}
	if pr := r.Protocol; pr != nil && pr.Num != 0 {
		c.Protocol = &canonProtocol{Num: pr.Num, Negated: pr.Negated}
	}
	for _, m := range r.Matches {
		if pm, ok := m.(*parse.Ports); ok {
			cm := canonMatch{Module: pm.Module}
			for _, o := range pm.Options {
				if o.All() && !o.Negated {
					continue // printed as nothing
				}
				cm.Ports = append(cm.Ports, canonPort{Kind: o.Kind, Negated: o.Negated, Lo: o.Lo, Hi: o.Hi})
			}
			slices.SortStableFunc(cm.Ports, func(a, b canonPort) int { return int(a.Kind) - int(b.Kind) })
			c.Matches = append(c.Matches, cm)
			continue
		}
		if cm, ok := m.(*parse.Comment); ok {
			c.Matches = append(c.Matches, canonMatch{Module: "comment", Comment: cm.Text})
			continue
		}
		if im, ok := m.(*parse.ICMP); ok {
			o := im.Option
			ci := &canonICMP{Negated: o.Negated, Type: o.Type, CodeMin: o.CodeMin, CodeMax: o.CodeMax}
			if !im.V6() && o.Type == 255 {
				ci.CodeMin, ci.CodeMax = 0, 255 // printed as "any"
			}
			c.Matches = append(c.Matches, canonMatch{Module: im.Module, ICMP: ci})
			continue
		}
		if lm, ok := m.(*parse.Limit); ok {
			c.Matches = append(c.Matches, canonMatch{Module: "limit", Limit: &[2]uint32{lm.Avg(), lm.BurstN()}})
			continue
		}
		if mm, ok := m.(*parse.Mark); ok {
			o := mm.Option
			c.Matches = append(c.Matches, canonMatch{Module: mm.Module, Mark: &canonMark{Negated: o.Negated, Value: o.Value, Mask: o.Mask}})
			continue
		}
		if am, ok := m.(*parse.AH); ok {
			c.Matches = append(c.Matches, canonMatch{Module: "ah", Ext: am.String()})
			continue
		}
		if pm, ok := m.(*parse.Policy); ok {
			c.Matches = append(c.Matches, canonMatch{Module: "policy", Ext: pm.String()})
			continue
		}
		if mm, ok := m.(*parse.MAC); ok {
			c.Matches = append(c.Matches, canonMatch{Module: "mac", Ext: mm.String()})
			continue
		}
		if im, ok := m.(*parse.IPRange); ok {
			c.Matches = append(c.Matches, canonMatch{Module: "iprange", Ext: im.String()})
			continue
		}
		if rm, ok := m.(*parse.Recent); ok {
			c.Matches = append(c.Matches, canonMatch{Module: "recent", Ext: rm.String()})
			continue
		}
		if lm, ok := m.(*parse.Length); ok {
			c.Matches = append(c.Matches, canonMatch{Module: "length", Ext: lm.String()})
			continue
		}
		if hm, ok := m.(*parse.HL); ok {
			o := hm.Option
			c.Matches = append(c.Matches, canonMatch{Module: hm.Module, HL: &canonHL{Kind: o.Kind, Negated: o.Negated, N: o.N}})
			continue
		}
		if om, ok := m.(*parse.Owner); ok {
			c.Matches = append(c.Matches, canonMatch{Module: om.Module, Owner: om.String()})
			continue
		}
		if pm, ok := m.(*parse.Pkttype); ok {
			c.Matches = append(c.Matches, canonMatch{Module: pm.Module, Pkt: &canonPkttype{Type: pm.Type, Negated: pm.Negated}})
			continue
		}
		if am, ok := m.(*parse.Addrtype); ok {
			ca := &canonAddrtype{}
			if o := am.Src; o != nil {
				ca.Src, ca.SrcNeg = o.Types, o.Negated
			}
			if o := am.Dst; o != nil {
				ca.Dst, ca.DstNeg = o.Types, o.Negated
			}
			if am.Limit != nil {
				ca.Limit = am.Limit.Name()
			}
			c.Matches = append(c.Matches, canonMatch{Module: am.Module, Addr: ca})
			continue
		}
		if mp, ok := m.(*parse.Multiport); ok {
			o := mp.Option
			cmp := &canonMultiport{Kind: o.Kind, Negated: o.Negated}
			for _, r := range o.Ports {
				cmp.Ports = append(cmp.Ports, [2]uint16{r.Lo, r.Hi})
			}
			c.Matches = append(c.Matches, canonMatch{Module: "multiport", Multiport: cmp})
			continue
		}
		ct := m.(*parse.Conntrack)
		cm := canonMatch{Module: ct.Module}
		for _, o := range ct.Options {
			cm.Options = append(cm.Options, canonOption{
				Kind: o.Kind, Negated: o.Negated, States: o.States, Statuses: o.Statuses, Proto: o.Proto,
				Addr: o.Addr.Addr, Mask: o.Addr.Mask, Lo: o.Lo, Hi: o.Hi, Dir: o.Dir,
			})
		}
		slices.SortStableFunc(cm.Options, func(a, b canonOption) int { return int(a.Kind) - int(b.Kind) })
		c.Matches = append(c.Matches, cm)
	}
	if t := r.Target; t != nil {
		c.Target = &canonTarget{Kind: t.Kind, Goto: t.Goto, Name: t.Name}
		for _, o := range t.Options {
			v := o.ValueString()
			switch {
			case o.Kind == parse.OptNflogRange,
				o.Kind == parse.OptLogLevel && o.Num == parse.DefaultLogLevel,
				(o.Kind == parse.OptNflogGroup || o.Kind == parse.OptNflogThreshold) && o.Num == 0:
				continue // what iptables-save leaves out
			}
			if o.Reject == parse.RejectPortUnreachable || o.Reject == parse.Reject6PortUnreachable {
				v = "" // the default, which iptables-save prints
			}
			c.Target.Options = append(c.Target.Options, o.Kind.String()+"="+v)
		}
		if t.Name == "DSCP" {
			c.Target.Options = []string{fmt.Sprint(t.DSCP())}
		}
		if t.Name == "MARK" || t.Name == "CONNMARK" {
			c.Target.Options = []string{fmt.Sprintf("%+v", t.MarkInfo())} // what iptables-save prints
		}
		if t.Name == "CT" {
			// What iptables-save prints: --notrack, and the zone the
			// zone options add up to, unless it is id 0 without mark.
			c.Target.Options = nil
			if t.Option(parse.OptNotrack) != nil {
				c.Target.Options = append(c.Target.Options, "notrack")
			}
			if id, dir, mark, _ := t.CTZone(); mark || id != 0 {
				c.Target.Options = append(c.Target.Options, fmt.Sprint("zone=", id, dir, mark))
			}
		}
		if t.Name == "REJECT" && t.Option(parse.OptRejectWith) == nil {
			c.Target.Options = append(c.Target.Options, "reject-with=")
		}
		slices.Sort(c.Target.Options)
	}
	return c
}

// FuzzParse checks that parsing never panics, that every error points into
// the text (at its end only for "found end of rule"), and that printing is
// the inverse of parsing: parse(print(parse(x))) means parse(x), and prints
// the same text again.
func FuzzParse(f *testing.F) {
	for _, c := range cases.Valid {
		f.Add(joinQuoted(c.Args), c.Family == parse.IPv6)
	}
	for _, c := range slices.Concat(cases.Invalid, cases.Unsupported) {
		text, _ := c.Rule()
		f.Add(text, c.Family == parse.IPv6)
	}
	for _, c := range slices.Concat(cases.Lines, cases.BadLines) {
		text, _ := c.Rule()
		f.Add(text, c.Family == parse.IPv6)
	}
	f.Fuzz(func(t *testing.T, text string, v6 bool) {
		opts := parse.Options{Family: parse.IPv4}
		if v6 {
			opts.Family = parse.IPv6
		}
		r, err := parse.ParseText(text, opts)
		checkParse(t, text, r, err, opts)
		// The same text as argv words, split at spaces (empty words
		// included): positions then refer to the joined, quoted words.
		args := strings.Split(text, " ")
		r, err = parse.ParseArgs(args, opts)
		checkParse(t, joinQuoted(args), r, err, opts)
	})
}

func checkParse(t *testing.T, text string, r *parse.Rule, err error, opts parse.Options) {
	t.Helper()
	if err != nil {
		var e *parse.Error
		if !errors.As(err, &e) {
			t.Fatalf("parse %q: error %T (%v), want *parse.Error", text, err, err)
		}
		if e.Text != text {
			t.Fatalf("parse %q: error Text %q", text, e.Text)
		}
		if e.Pos < 0 || int(e.Pos) > len(text) {
			t.Fatalf("parse %q: error at %d, outside the text (%d bytes): %v", text, e.Pos, len(text), e.Msg)
		}
		if atEnd := int(e.Pos) == len(text); atEnd != strings.HasPrefix(e.Msg, "found end of rule") {
			t.Fatalf("parse %q: error at %d of %d bytes: %q: the end of the rule and only it says \"found end of rule\"", text, e.Pos, len(text), e.Msg)
		}
		if !strings.HasPrefix(text[e.Pos:], e.Word) {
			t.Fatalf("parse %q: error word %q is not the text at %d", text, e.Word, e.Pos)
		}
		if e.Msg == "" || e.Kind != parse.Invalid && e.Kind != parse.Unsupported {
			t.Fatalf("parse %q: error without a message or of unknown kind: %#v", text, e)
		}
		return
	}
	if r.Text != text {
		t.Fatalf("parse %q: rule Text %q", text, r.Text)
	}
	s := r.String()
	r2, err := parse.ParseText(s, opts)
	if err != nil && (len(strings.Fields(s)) > parse.MaxWords || strings.Contains(err.Error(), "a word of")) {
		// The canonical form spells "--opt=value" and "-Xvalue" as two
		// words, and a value in full ("0x10:" is "16:4294967295"): a line
		// within iptables-restore's limits can print as one beyond them,
		// which it refuses too (iptables-save prints such a rule the same
		// way).
		return
	}
	if err != nil {
		t.Fatalf("parse %q printed %q, which does not parse:\n%+v", text, s, err)
	}
	if diff := cmp.Diff(canon(r), canon(r2), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Fatalf("parse %q printed %q, which parses to another rule (-first +second):\n%s", text, s, diff)
	}
	if s2 := r2.String(); s2 != s {
		t.Fatalf("parse %q printed %q, which prints as %q", text, s, s2)
	}
}
