package parse_test

import (
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/parse"
)

// joinQuoted is the rule text of argv as the CLI contract defines it: the
// words quoted as iptables-save quotes them, joined by single spaces.
func joinQuoted(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = parse.Quote(a)
	}
	return strings.Join(q, " ")
}

// treeOptions compare two parsed rules field by field, positions included.
var treeOptions = cmp.Options{
	cmp.AllowUnexported(parse.Table{}, parse.Command{}, parse.Conntrack{}, parse.Ports{}, parse.ICMP{}, parse.HL{}, parse.Comment{}, parse.Addrtype{}, parse.AddrtypeLimit{}, parse.Pkttype{}, parse.Owner{}, parse.OwnerFlag{}, parse.Limit{}, parse.Mark{}, parse.Multiport{}, parse.Length{}, parse.IPRange{}, parse.MAC{}, parse.Policy{}, parse.AH{}, parse.Recent{}, parse.Target{}, parse.TargetOption{}, parse.Counters{}, parse.TCPFlags{}, parse.Fragment{}, parse.Rule{}),
	cmpopts.EquateComparable(netip.Addr{}),
}

func TestValid(t *testing.T) {
	for _, c := range cases.Valid {
		t.Run(c.Name, func(t *testing.T) {
			opts := parse.Options{Family: c.Family}
			r, err := parse.ParseArgs(c.Args, opts)
			if err != nil {
				t.Fatalf("ParseArgs(%q):\n%+v", c.Args, err)
			}
			if diff := cmp.Diff(c.Want, r.String()); diff != "" {
				t.Errorf("ParseArgs(%q).String() (-want +got):\n%s", c.Args, diff)
			}
			text := joinQuoted(c.Args)
			if r.Text != text {
				t.Errorf("ParseArgs(%q).Text = %q, want %q", c.Args, r.Text, text)
			}
			checkPositions(t, r)

			// The same words as rule text give the same tree, positions
			// included.
			r2, err := parse.ParseText(text, opts)
			if err != nil {
				t.Fatalf("ParseText(%q):\n%+v", text, err)
			}
			if diff := cmp.Diff(r, r2, treeOptions); diff != "" {
				t.Errorf("ParseText(%q) differs from ParseArgs (-args +text):\n%s", text, diff)
			}

			// The canonical text is canonical: it prints back unchanged.
			r3, err := parse.ParseText(c.Want, opts)
			if err != nil {
				t.Fatalf("ParseText(%q) (the canonical text):\n%+v", c.Want, err)
			}
			if got := r3.String(); got != c.Want {
				t.Errorf("ParseText(%q).String() = %q, want it unchanged", c.Want, got)
			}
			checkPositions(t, r3)
		})
	}
}

// checkPositions checks that every node of r points at the word it was read
// from.
func checkPositions(t *testing.T, r *parse.Rule) {
	t.Helper()
	text := r.Text
	at := func(p parse.Pos, prefix, what string) {
		t.Helper()
		if p < 0 || int(p) > len(text) || !strings.HasPrefix(text[p:], prefix) {
			got := ""
			if p >= 0 && int(p) <= len(text) {
				got = text[p:]
			}
			t.Errorf("%s at %d: text there is %q, want it to start with %q", what, p, got, prefix)
		}
	}
	// flag checks that the option word at p is one of the spellings of an
	// option: a short form, or a prefix (at least minLong bytes) of the long
	// name, possibly followed by "=" and its value.
	flag := func(p parse.Pos, short, long string, what string) {
		t.Helper()
		at(p, "-", what)
		if p < 0 || int(p) >= len(text) {
			return
		}
		w := text[p:]
		if i := strings.IndexAny(w, " \t"); i >= 0 {
			w = w[:i]
		}
		if short != "" && strings.HasPrefix(w, short) {
			return
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
		if !strings.HasPrefix(w, "--") || name == "" || !strings.HasPrefix(long, name) {
			t.Errorf("%s at %d is %q: want %s or a prefix of --%s", what, p, w, short, long)
		}
	}
	if c := r.Counters; c != nil {
		packets, bytes := strconv.FormatUint(c.Packets, 10), strconv.FormatUint(c.Bytes, 10)
		if c.Prefix {
			at(c.Flag, "[", "counters")
			if c.Flag != 0 {
				t.Errorf("counters [P:B] at %d, want 0", c.Flag)
			}
			at(c.End()-1, "]", "end of counters")
		} else {
			flag(c.Flag, "-c", "set-counters", "-c")
			at(c.End()-parse.Pos(len(bytes)), bytes, "end of -c")
		}
		// A count may have leading zeros.
		count := func(p parse.Pos, n, what string) {
			t.Helper()
			if p < 0 || int(p) >= len(text) || !strings.HasPrefix(strings.TrimLeft(text[p:], "0"), strings.TrimLeft(n, "0")) {
				t.Errorf("%s %s at %d: the text there is not the count", what, n, p)
			}
		}
		count(c.PacketsPos, packets, "packet count")
		count(c.BytesPos, bytes, "byte count")
		if c.PacketsPos <= c.Flag || c.BytesPos <= c.PacketsPos {
			t.Errorf("counters at %d, packets at %d, bytes at %d: want them in that order", c.Flag, c.PacketsPos, c.BytesPos)
		}
	}
	if tb := r.Table; tb != nil {
		flag(tb.Flag, "-t", "table", "-t")
		at(tb.At, tb.Name, "table name")
		if want := tb.At + parse.Pos(len(tb.Name)); tb.End() != want {
			t.Errorf("table End() = %d, want %d", tb.End(), want)
		}
	}
	if c := r.Command; c != nil {
		short, long := "-A", "append"
		if c.Op == parse.Insert {
			short, long = "-I", "insert"
		}
		flag(c.Flag, short, long, c.Op.String())
		chain := parse.Quote(c.Chain)
		at(c.ChainPos, chain, "chain")
		end := c.ChainPos + parse.Pos(len(chain))
		if c.Index > 0 {
			n := strconv.Itoa(c.Index)
			at(c.IndexPos, n, "rule number")
			end = c.IndexPos + parse.Pos(len(n))
		} else if c.IndexPos != parse.NoPos {
			t.Errorf("IndexPos = %d without a rule number, want NoPos", c.IndexPos)
		}
		if c.End() != end {
			t.Errorf("command End() = %d, want %d", c.End(), end)
		}
	}
	if pr := r.Protocol; pr != nil {
		flag(pr.Flag, "-p", "protocol", "-p")
		at(pr.Value.At, pr.Value.Text, "protocol")
		if pr.Negated {
			at(pr.NegPos, "! ", "! of -p")
		}
		if pr.End() != pr.Value.End() {
			t.Errorf("-p End() = %d, want %d", pr.End(), pr.Value.End())
		}
	}
	for _, m := range r.Matches {
		if om, ok := m.(*parse.Owner); ok {
			at(om.Flag, "-m", "-m of owner")
			at(om.NamePos, "owner", "owner match name")
			end := om.NamePos + parse.Pos(len("owner"))
			for _, o := range []*parse.OwnerRange{om.UID, om.GID} {
				if o == nil {
					continue
				}
				if o.Negated {
					at(o.NegPos, "! ", "! of an owner option")
				}
				at(o.Value.At, o.Value.Text, "owner id")
				end = max(end, o.End())
			}
			for _, f := range []*parse.OwnerFlag{om.SocketExists, om.SupplGroups} {
				if f != nil {
					at(f.Flag, "--", "owner flag")
					end = max(end, f.End())
				}
			}
			if om.End() != end {
				t.Errorf("owner End() = %d, want %d", om.End(), end)
			}
			continue
		}
		if pm, ok := m.(*parse.Pkttype); ok {
			at(pm.Flag, "-m", "-m of pkttype")
			at(pm.NamePos, "pkttype", "pkttype match name")
			flag(pm.Option, "", "pkt-type", "--pkt-type")
			if pm.Negated {
				at(pm.NegPos, "! ", "! of --pkt-type")
			} else if pm.NegPos != parse.NoPos {
				t.Errorf("pkttype: NegPos %d without !", pm.NegPos)
			}
			at(pm.Value.At, pm.Value.Text, "packet type")
			if pm.End() != pm.Value.End() {
				t.Errorf("pkttype End() = %d, want %d", pm.End(), pm.Value.End())
			}
			continue
		}
		if am, ok := m.(*parse.Addrtype); ok {
			flag(am.Flag, "-m", "match", "-m")
			at(am.NamePos, "addrtype", "match name")
			end := am.NamePos + parse.Pos(len("addrtype"))
			for _, o := range []*parse.AddrtypeOption{am.Src, am.Dst} {
				if o == nil {
					continue
				}
				if w := text[o.Flag:]; !strings.HasPrefix(w, "--") {
					t.Errorf("addrtype option at %d is %q", o.Flag, w)
				}
				if o.Negated {
					at(o.NegPos, "! ", "! of an addrtype option")
				} else if o.NegPos != parse.NoPos {
					t.Errorf("addrtype option: NegPos %d without !", o.NegPos)
				}
				at(o.Value.At, o.Value.Text, "addrtype types")
				end = max(end, o.End())
			}
			if l := am.Limit; l != nil {
				flag(l.Flag, "", l.Name()[2:], "addrtype limit")
				end = max(end, l.End())
			}
			if am.End() != end {
				t.Errorf("addrtype match End() = %d, want %d", am.End(), end)
			}
			continue
		}
		if lm, ok := m.(*parse.Limit); ok {
			flag(lm.Flag, "-m", "match", "-m")
			at(lm.NamePos, "limit", "match name")
			end := lm.NamePos + parse.Pos(len("limit"))
			if o := lm.Rate; o != nil {
				if w := text[o.Flag:]; !strings.HasPrefix(w, "--limit") {
					t.Errorf("limit option at %d is %q", o.Flag, w)
				}
				at(o.Value.At, o.Value.Text, "limit rate")
				end = max(end, o.Value.End())
			}
			if o := lm.Burst; o != nil {
				if w := text[o.Flag:]; !strings.HasPrefix(w, "--limit-b") {
					t.Errorf("limit-burst option at %d is %q", o.Flag, w)
				}
				at(o.Value.At, o.Value.Text, "limit burst")
				end = max(end, o.Value.End())
			}
			if lm.End() != end {
				t.Errorf("limit match End() = %d, want %d", lm.End(), end)
			}
			continue
		}
		if mm, ok := m.(*parse.Mark); ok {
			flag(mm.Flag, "-m", "match", "-m")
			at(mm.NamePos, mm.Module, "match name")
			o := mm.Option
			if w := text[o.Flag:]; !strings.HasPrefix(w, "--mar") {
				t.Errorf("%s option at %d is %q", mm.Module, o.Flag, w)
			}
			if o.Negated {
				at(o.NegPos, "! ", "! of a "+mm.Module+" option")
			} else if o.NegPos != parse.NoPos {
				t.Errorf("%s option: NegPos %d without !", mm.Module, o.NegPos)
			}
			at(o.Word.At, o.Word.Text, mm.Module+" value")
			if mm.End() != o.End() {
				t.Errorf("%s match End() = %d, want %d", mm.Module, mm.End(), o.End())
			}
			continue
		}
		if mp, ok := m.(*parse.Multiport); ok {
			checkMultiportPositions(t, r, mp)
			continue
		}
		if am, ok := m.(*parse.AH); ok {
			end := am.Flag
			if !am.Implicit {
				flag(am.Flag, "-m", "match", "-m")
				at(am.NamePos, "ah", "match name")
				end = am.NamePos + 2
			} else if am.NamePos != parse.NoPos {
				t.Errorf("implicit ah match: NamePos %d, want NoPos", am.NamePos)
			}
			if o := am.SPI; o != nil {
				checkFlagValue(t, text, "--ahs", &o.FlagValue)
				end = max(end, o.End())
			}
			if o := am.Len; o != nil {
				checkFlagValue(t, text, "--ahl", &o.FlagValue)
				end = max(end, o.End())
			}
			if am.Res != parse.NoPos {
				flag(am.Res, "", "ahres", "--ahres")
				end = max(end, am.Res+parse.Pos(len("--ahres")))
			}
			if am.End() != end {
				t.Errorf("ah match End() = %d, want %d", am.End(), end)
			}
			continue
		}
		if pm, ok := m.(*parse.Policy); ok {
			flag(pm.Flag, "-m", "match", "-m")
			at(pm.NamePos, "policy", "match name")
			end := pm.NamePos + parse.Pos(len("policy"))
			for _, o := range []*parse.PolicyOption{pm.Dir, pm.Pol} {
				if o == nil {
					continue
				}
				if w := text[o.Flag:]; !strings.HasPrefix(w, "--dir") && !strings.HasPrefix(w, "--pol") {
					t.Errorf("policy option at %d is %q", o.Flag, w)
				}
				at(o.Value.At, o.Value.Text, "policy value")
				end = max(end, o.Value.End())
			}
			if pm.End() != end {
				t.Errorf("policy match End() = %d, want %d", pm.End(), end)
			}
			continue
		}
		if rm, ok := m.(*parse.Recent); ok {
			flag(rm.Flag, "-m", "match", "-m")
			at(rm.NamePos, "recent", "match name")
			name, _, _ := strings.Cut(strings.Fields(text[rm.ModePos:])[0], "=")
			if len(name) < 3 || !strings.HasPrefix(rm.Mode.String(), name) {
				t.Errorf("recent mode %v at %d is %q", rm.Mode, rm.ModePos, name)
			}
			if rm.Negated {
				at(rm.NegPos, "! ", "! of the recent mode")
			}
			if rm.End() < rm.ModePos+parse.Pos(len(name)) {
				t.Errorf("recent match End() = %d, before its mode's end", rm.End())
			}
			continue
		}
		if mm, ok := m.(*parse.MAC); ok {
			flag(mm.Flag, "-m", "match", "-m")
			at(mm.NamePos, "mac", "match name")
			checkFlagValue(t, text, "--mac", &mm.Option.FlagValue)
			if mm.End() != mm.Option.End() {
				t.Errorf("mac match End() = %d, want %d", mm.End(), mm.Option.End())
			}
			continue
		}
		if im, ok := m.(*parse.IPRange); ok {
			flag(im.Flag, "-m", "match", "-m")
			at(im.NamePos, "iprange", "match name")
			end := parse.Pos(0)
			for i, o := range []*parse.IPRangeOption{im.Src, im.Dst} {
				if o != nil {
					checkFlagValue(t, text, []string{"--src-r", "--dst-r"}[i], &o.FlagValue)
					end = max(end, o.End())
				}
			}
			if im.End() != end {
				t.Errorf("iprange match End() = %d, want %d", im.End(), end)
			}
			continue
		}
		if lm, ok := m.(*parse.Length); ok {
			flag(lm.Flag, "-m", "match", "-m")
			at(lm.NamePos, "length", "match name")
			checkFlagValue(t, text, "--len", &lm.Option.FlagValue)
			if lm.End() != lm.Option.End() {
				t.Errorf("length match End() = %d, want %d", lm.End(), lm.Option.End())
			}
			continue
		}
		if hm, ok := m.(*parse.HL); ok {
			flag(hm.Flag, "-m", "match", "-m")
			at(hm.NamePos, hm.Module, "match name")
			o := hm.Option
			if w := text[o.Flag:]; !strings.HasPrefix(w, "--"+hm.Module) {
				t.Errorf("%s option at %d is %q", hm.Module, o.Flag, w)
			}
			if o.Negated {
				at(o.NegPos, "! ", "! of a "+hm.Module+" option")
			} else if o.NegPos != parse.NoPos {
				t.Errorf("%s option: NegPos %d without !", hm.Module, o.NegPos)
			}
			at(o.Value.At, o.Value.Text, hm.Module+" value")
			if hm.End() != o.End() {
				t.Errorf("%s match End() = %d, want %d", hm.Module, hm.End(), o.End())
			}
			continue
		}
		if cm, ok := m.(*parse.Comment); ok {
			at(cm.Flag, "-m", "-m of comment")
			at(cm.NamePos, "comment", "comment match name")
			flag(cm.Option, "", "comment", "--comment")
			at(cm.Value.At, cm.Value.Text, "comment")
			if cm.End() != cm.Value.End() {
				t.Errorf("comment End() = %d, want %d", cm.End(), cm.Value.End())
			}
			continue
		}
		if im, ok := m.(*parse.ICMP); ok {
			o := im.Option
			if im.Implicit {
				if im.NamePos != parse.NoPos || im.Flag != o.Pos() {
					t.Errorf("implicit %s match: NamePos %d, Flag %d, want NoPos and its option", im.Module, im.NamePos, im.Flag)
				}
			} else {
				flag(im.Flag, "-m", "match", "-m")
				if w := strings.Fields(text[im.NamePos:])[0]; !strings.Contains(w, "icmp") {
					t.Errorf("match name at %d is %q", im.NamePos, w)
				}
			}
			if w := text[o.Flag:]; !strings.HasPrefix(w, "--icmp") {
				t.Errorf("icmp option at %d is %q", o.Flag, w)
			}
			if o.Negated {
				at(o.NegPos, "! ", "! of an icmp option")
			}
			at(o.Value.At, o.Value.Text, "icmp type value")
			if im.End() != o.End() {
				t.Errorf("%s match End() = %d, want %d", im.Module, im.End(), o.End())
			}
			continue
		}
		if pm, ok := m.(*parse.Ports); ok {
			if pm.Implicit {
				first := parse.Pos(-1)
				if len(pm.Options) > 0 {
					first = pm.Options[0].Pos()
				}
				if f := pm.Flags; f != nil && (first < 0 || f.Pos() < first) {
					first = f.Pos()
				}
				if pm.NamePos != parse.NoPos || first < 0 || pm.Flag != first {
					t.Errorf("implicit %s match: NamePos %d, Flag %d, want NoPos and its first option", pm.Module, pm.NamePos, pm.Flag)
				}
			} else {
				flag(pm.Flag, "-m", "match", "-m")
				at(pm.NamePos, pm.Module, "match name")
			}
			end := pm.Flag
			for _, o := range pm.Options {
				long := "destination-port"
				if o.Kind == parse.SrcPort {
					long = "source-port"
				}
				w := text[o.Flag:]
				name, _, _ := strings.Cut(strings.Fields(w)[0], "=")
				if name != "--"+o.Kind.String() && !strings.HasPrefix("--"+long, name) && !strings.HasPrefix("--"+o.Kind.String(), name) {
					t.Errorf("option %v at %d is %q", o.Kind, o.Flag, name)
				}
				if o.Negated {
					at(o.NegPos, "! ", "! of a port option")
				}
				at(o.Value.At, o.Value.Text, "port value")
				end = max(end, o.End())
			}
			if f := pm.Flags; f != nil {
				name := strings.Fields(text[f.Flag:])[0]
				name, _, _ = strings.Cut(name, "=")
				if !strings.HasPrefix("--tcp-flags", name) && !strings.HasPrefix("--syn", name) || f.Syn != strings.HasPrefix("--syn", name) {
					t.Errorf("--tcp-flags at %d is %q", f.Flag, name)
				}
				if f.Negated {
					at(f.NegPos, "! ", "! of --tcp-flags")
				}
				if !f.Syn {
					at(f.MaskWord.At, f.MaskWord.Text, "--tcp-flags mask")
					at(f.CompWord.At, parse.Quote(f.CompWord.Text), "--tcp-flags comparison")
				}
				end = max(end, f.End())
			}
			if (len(pm.Options) > 0 || pm.Flags != nil) && pm.End() != end {
				t.Errorf("%s match End() = %d, want %d", pm.Module, pm.End(), end)
			}
			continue
		}
		ct, ok := m.(*parse.Conntrack)
		if !ok {
			t.Errorf("match %T, want *parse.Conntrack", m)
			continue
		}
		flag(ct.Flag, "-m", "match", "-m")
		at(ct.NamePos, ct.Module, "match name")
		end := ct.NamePos + parse.Pos(len(ct.Module))
		for _, o := range ct.Options {
			name := o.Kind.String()
			if ct.Alias() {
				name = "state"
			}
			flag(o.Flag, "", name, "option --"+name)
			if o.Negated {
				at(o.NegPos, "! ", "! of --"+name)
				if o.NegPos >= o.Flag || o.Pos() != o.NegPos {
					t.Errorf("--%s: NegPos %d, Flag %d, Pos() %d: want the ! first, and Pos() at it", name, o.NegPos, o.Flag, o.Pos())
				}
			} else if o.NegPos != parse.NoPos || o.Pos() != o.Flag {
				t.Errorf("--%s: NegPos = %d, Pos() = %d without !, want NoPos and Flag %d", name, o.NegPos, o.Pos(), o.Flag)
			}
			v := o.Value
			if v.At <= o.Flag || v.Text == "" {
				t.Errorf("--%s: value %q at %d, want a word after the option at %d", name, v.Text, v.At, o.Flag)
			} else {
				at(v.At, v.Text, "value of --"+name)
			}
			if o.End() != v.End() {
				t.Errorf("--%s: End() = %d, want the end of the value %d", name, o.End(), v.End())
			}
			end = max(end, o.End())
			if o.Kind != parse.OptState && o.Kind != parse.OptStatus {
				if len(o.Items) != 0 {
					t.Errorf("--%s: Items = %v, want none", name, o.Items)
				}
				continue
			}
			val, start := v.Text, v.At
			if len(val) >= 2 && val[0] == '"' {
				val, start = val[1:len(val)-1], start+1
			}
			items := strings.Split(val, ",")
			if len(o.Items) != len(items) {
				t.Errorf("--%s %s: Items = %v, want %d items", name, v.Text, o.Items, len(items))
				continue
			}
			for i, item := range items {
				at(o.Items[i], item, fmt.Sprintf("item %d of --%s", i, name))
				if i == 0 && o.Items[0] != start {
					t.Errorf("--%s: first item at %d, want the start of the value %d", name, o.Items[0], start)
				}
			}
		}
		if ct.End() != end {
			t.Errorf("match End() = %d, want %d", ct.End(), end)
		}
	}
	if tg := r.Target; tg != nil {
		if tg.Goto {
			flag(tg.Flag, "-g", "goto", "-g")
		} else {
			flag(tg.Flag, "-j", "jump", "-j")
		}
		name := parse.Quote(tg.Name)
		at(tg.NamePos, name, "target name")
		if want := tg.NamePos + parse.Pos(len(name)); tg.End() != want {
			t.Errorf("target End() = %d, want %d", tg.End(), want)
		}
		// Each target option: its word starts with "--" and a prefix of
		// its name, and its value (if any) ends the option.
		for _, o := range tg.Options {
			if w := text[o.Flag:]; !strings.HasPrefix(w, "--") || !strings.HasPrefix(o.Kind.String(), strings.TrimPrefix(strings.FieldsFunc(w, func(r rune) bool { return r == ' ' || r == '=' })[0], "--")) {
				t.Errorf("--%s at %d: the text there is %q", o.Kind, o.Flag, w)
			}
			if o.Value.Text != "" && (text[o.Value.At:o.Value.End()] != o.Value.Text || o.End() != o.Value.End()) {
				t.Errorf("--%s: value %q at %d, End %d", o.Kind, o.Value.Text, o.Value.At, o.End())
			}
			if o.End() <= o.Flag || int(o.End()) > len(text) {
				t.Errorf("--%s: End %d outside the rule", o.Kind, o.End())
			}
		}
	}
}

func TestInvalid(t *testing.T) {
	for _, c := range cases.Invalid {
		t.Run(c.Name, func(t *testing.T) { checkError(t, c, parse.Invalid) })
	}
}

func TestUnsupported(t *testing.T) {
	for _, c := range cases.Unsupported {
		t.Run(c.Name, func(t *testing.T) { checkError(t, c, parse.Unsupported) })
	}
}

func kindName(k parse.ErrorKind) string {
	if k == parse.Unsupported {
		return "Unsupported"
	}
	return "Invalid"
}

// checkError checks that the case's rule is refused with an error of kind
// kind at the marked position, whose message holds c.Msg, and that the error
// prints as it must.
func checkError(t *testing.T, c cases.InvalidCase, kind parse.ErrorKind) {
	t.Helper()
	err := checkTextError(t, c, kind)
	text, _ := c.Rule()
	opts := parse.Options{Family: c.Family}
	// The same words given as argv give the same error, when the text is
	// plain words that argv would render the same way.
	if args := strings.Split(text, " "); joinQuoted(args) == text && !slices.Contains(args, "") {
		_, err2 := parse.ParseArgs(args, opts)
		if diff := cmp.Diff(err, err2); diff != "" {
			t.Errorf("ParseArgs(%q) gives another error than ParseText (-text +args):\n%s", args, diff)
		}
	}
}

// checkTextError checks the error of the case's rule as text, and returns
// it.
func checkTextError(t *testing.T, c cases.InvalidCase, kind parse.ErrorKind) error {
	t.Helper()
	text, pos := c.Rule()
	if pos == parse.NoPos {
		t.Fatalf("case %q has no %s marker", c.Text, cases.Marker)
	}
	opts := parse.Options{Family: c.Family}
	r, err := parse.ParseText(text, opts)
	if err == nil {
		t.Fatalf("ParseText(%q) = %q, want an error", text, r)
	}
	var e *parse.Error
	if !errors.As(err, &e) {
		t.Fatalf("ParseText(%q) error is %T (%v), want *parse.Error", text, err, err)
	}
	if e.Kind != kind {
		t.Errorf("ParseText(%q): %s error %q, want %s", text, kindName(e.Kind), e.Msg, kindName(kind))
	}
	if e.Pos != pos {
		want := &parse.Error{Pos: pos, Text: text, Word: e.Word}
		t.Errorf("ParseText(%q): error at %d, want %d\ngot:\n%s\nwant:\n%s", text, e.Pos, pos, e.Caret(), want.Caret())
	}
	if !strings.Contains(e.Msg, c.Msg) {
		t.Errorf("ParseText(%q): message %q, want it to contain %q", text, e.Msg, c.Msg)
	}
	if e.Text != text {
		t.Errorf("error Text = %q, want %q", e.Text, text)
	}
	if int(e.Pos) > len(text) || !strings.HasPrefix(text[e.Pos:], e.Word) {
		t.Errorf("error Word %q is not the text at %d", e.Word, e.Pos)
	}
	if atEnd := int(e.Pos) == len(text); atEnd != strings.HasPrefix(e.Msg, "found end of rule") || atEnd && e.Word != "" {
		t.Errorf("error at %d of %d bytes with word %q and message %q: the end of the rule and only it says \"found end of rule\"", e.Pos, len(text), e.Word, e.Msg)
	}

	// %v and %+v.
	short := fmt.Sprintf("col %d: %s", pos+1, e.Msg)
	if got := fmt.Sprintf("%v", err); got != short {
		t.Errorf("%%v = %q, want %q", got, short)
	}
	if got := err.Error(); got != short {
		t.Errorf("Error() = %q, want %q", got, short)
	}
	if len(text) > 400 { // shown around the word: TestCaretLongLine
		if got := fmt.Sprintf("%+v", err); !strings.HasPrefix(got, short+"\n  ") || !strings.Contains(got, "…") {
			t.Errorf("%%+v = %q, want %q, then the text around the word", got, short)
		}
		return err
	}
	lines := []string{short, "  " + text, "  " + strings.Repeat(" ", int(pos)) + strings.Repeat("^", max(1, len(e.Word)))}
	if e.Hint != "" {
		lines = append(lines, e.Hint)
	}
	if diff := cmp.Diff(strings.Join(lines, "\n"), fmt.Sprintf("%+v", err)); diff != "" {
		t.Errorf("%%+v (-want +got):\n%s", diff)
	}
	return err
}

// The example of conventions.md, exactly.
func TestErrorFormat(t *testing.T) {
	_, err := parse.ParseArgs([]string{"-m", "conntrack", "--ctstate", "NEW,BOGUS"}, parse.Options{})
	if got, want := fmt.Sprintf("%v", err), `col 28: unknown conntrack state "BOGUS"`; got != want {
		t.Errorf("%%v = %q, want %q", got, want)
	}
	want := "col 28: unknown conntrack state \"BOGUS\"\n" +
		"  -m conntrack --ctstate NEW,BOGUS\n" +
		"                             ^^^^^\n" +
		"expected INVALID, NEW, ESTABLISHED, RELATED, UNTRACKED, SNAT or DNAT"
	if diff := cmp.Diff(want, fmt.Sprintf("%+v", err)); diff != "" {
		t.Errorf("%%+v (-want +got):\n%s", diff)
	}
}

// The case tables are well formed: names are unique, every Invalid case has
// its marker, and every difference names a case.
func TestCaseTables(t *testing.T) {
	names := map[string]string{}
	add := func(table, name string) {
		if prev, ok := names[name]; ok {
			t.Errorf("case name %q is in %s and %s", name, prev, table)
		}
		names[name] = table
	}
	for _, c := range cases.Valid {
		add("Valid", c.Name)
	}
	for _, c := range cases.Invalid {
		add("Invalid", c.Name)
		if strings.Count(c.Text, cases.Marker) != 1 {
			t.Errorf("Invalid %q: want exactly one %s in %q", c.Name, cases.Marker, c.Text)
		}
	}
	for _, c := range cases.Unsupported {
		add("Unsupported", c.Name)
		if strings.Count(c.Text, cases.Marker) != 1 {
			t.Errorf("Unsupported %q: want exactly one %s in %q", c.Name, cases.Marker, c.Text)
		}
	}
	seen := map[string]bool{}
	for _, d := range cases.Differences {
		if _, ok := names[d.Name]; !ok {
			t.Errorf("difference %q names no case", d.Name)
		}
		if seen[d.Name] {
			t.Errorf("difference %q is listed twice", d.Name)
		}
		seen[d.Name] = true
		if d.Reason == "" || d.Accepts != (d.Saves != "") || d.Accepts == (d.Says != "") {
			t.Errorf("difference %q: want a reason, and Saves when iptables accepts the rule, Says when it refuses it", d.Name)
		}
	}
	if len(cases.Valid) < 120 || len(cases.Invalid) < 60 {
		t.Errorf("%d valid and %d invalid cases, want at least 120 and 60", len(cases.Valid), len(cases.Invalid))
	}
}

// TestCompleteness checks that the tables cover every option of the
// parser's dispatch table: a Valid case with the option, one with the option
// negated (for --ctdir, which cannot be negated, an Invalid case where its !
// is refused), and an Invalid case with a bad value for it; and the same for
// --state of -m state. The option of a case is found by parsing it; for an
// Invalid case, by parsing it again with the offending value replaced by a
// value known to be good.
func TestCompleteness(t *testing.T) {
	// An option is its kind, or stateAlias for --state of -m state.
	const stateAlias = parse.OptionKind(255)
	kindOf := func(m *parse.Conntrack, o *parse.Option) parse.OptionKind {
		if m.Alias() {
			return stateAlias
		}
		return o.Kind
	}
	plain := map[parse.OptionKind]string{}
	negated := map[parse.OptionKind]string{}
	good := map[parse.OptionKind][]string{}
	for _, c := range cases.Valid {
		r, err := parse.ParseArgs(c.Args, parse.Options{Family: c.Family})
		if err != nil {
			t.Fatalf("Valid %q: %v", c.Name, err)
		}
		for m, o := range options(r) {
			k := kindOf(m, o)
			if o.Negated {
				negated[k] = c.Name
			} else {
				plain[k] = c.Name
			}
			if v := o.Value.Text; !strings.ContainsAny(v, `"\`) && !slices.Contains(good[k], v) {
				good[k] = append(good[k], v)
			}
		}
	}

	badValue := map[parse.OptionKind]string{}
	negRefused := map[parse.OptionKind]string{}
	for _, c := range cases.Invalid {
		text, pos := c.Rule()
		opts := parse.Options{Family: c.Family}
		words := lex(text)
		i := slices.IndexFunc(words, func(w span) bool { return w.start <= int(pos) && int(pos) < w.end })
		if i < 0 {
			continue // the end of the rule
		}
		w := words[i]
		if text[w.start:w.end] == "!" && i+1 < len(words) {
			// Is this "!" refused before an option that parses without it?
			next := words[i+1]
			r, err := parse.ParseText(text[:w.start]+text[next.start:], opts)
			if err != nil {
				continue
			}
			for m, o := range options(r) {
				if int(o.Flag) == w.start {
					negRefused[kindOf(m, o)] = c.Name
				}
			}
			continue
		}
		// Is the error in the value of an option? Put good values in its
		// place: the option whose value it then is is the case's option.
		vstart := w.start
		if word := text[w.start:w.end]; strings.HasPrefix(word, "--") {
			eq := strings.IndexByte(word, '=')
			if eq < 0 || int(pos) < w.start+eq {
				continue
			}
			vstart = w.start + eq + 1
		}
		for k, values := range good {
			for _, v := range values {
				r, err := parse.ParseText(text[:vstart]+v+text[w.end:], opts)
				if err != nil {
					continue
				}
				for m, o := range options(r) {
					if int(o.Value.At) == vstart && kindOf(m, o) == k {
						badValue[k] = c.Name
					}
				}
			}
		}
	}

	var missing []string
	for _, k := range append(parse.Kinds(), stateAlias) {
		name := "--" + k.String()
		if k == stateAlias {
			name = "-m state --state"
		}
		if plain[k] == "" {
			missing = append(missing, fmt.Sprintf("a Valid case with %s", name))
		}
		if k.Invertible() && negated[k] == "" {
			missing = append(missing, fmt.Sprintf("a Valid case with ! %s", name))
		}
		if !k.Invertible() && negRefused[k] == "" {
			missing = append(missing, fmt.Sprintf("an Invalid case where ! %s is refused at the !", name))
		}
		if badValue[k] == "" {
			missing = append(missing, fmt.Sprintf("an Invalid case with a bad value for %s", name))
		}
	}
	if len(missing) > 0 {
		t.Errorf("the case tables of internal/cases miss:\n\t%s", strings.Join(missing, "\n\t"))
	}
}

// options yields every conntrack option of r, with its match.
func options(r *parse.Rule) iter.Seq2[*parse.Conntrack, *parse.Option] {
	return func(yield func(*parse.Conntrack, *parse.Option) bool) {
		for _, m := range r.Matches {
			ct, ok := m.(*parse.Conntrack)
			if !ok {
				continue
			}
			for _, o := range ct.Options {
				if !yield(ct, o) {
					return
				}
			}
		}
	}
}

type span struct{ start, end int }

// lex splits rule text into words as iptables-save quoting does, returning
// where each word is.
func lex(text string) []span {
	var out []span
	for i := 0; i < len(text); {
		if text[i] == ' ' || text[i] == '\t' {
			i++
			continue
		}
		start, quoted := i, false
		for ; i < len(text) && (quoted || text[i] != ' ' && text[i] != '\t'); i++ {
			switch {
			case text[i] == '\\' && quoted:
				i++
			case text[i] == '"':
				quoted = !quoted
			}
		}
		out = append(out, span{start, min(i, len(text))})
	}
	return out
}

// checkMultiportPositions checks the positions of a multiport match: -m, its
// name, the option (a prefix of one of its names), its "!", its value and
// each port of the list, where the port's words start.
func checkMultiportPositions(t *testing.T, r *parse.Rule, m *parse.Multiport) {
	t.Helper()
	text := r.Text
	if !strings.HasPrefix(text[m.Flag:], "-m") || !strings.HasPrefix(text[m.NamePos:], "multiport") {
		t.Errorf("multiport match at %d, name at %d: %q", m.Flag, m.NamePos, text[m.Flag:])
	}
	o := m.Option
	w, _, _ := strings.Cut(strings.TrimPrefix(text[o.Flag:], "--"), " ")
	w, _, _ = strings.Cut(w, "=")
	names := map[parse.MultiportKind][]string{parse.MultiSrc: {"sports", "source-ports"}, parse.MultiDst: {"dports", "destination-ports"}, parse.MultiEither: {"ports"}}
	if !slices.ContainsFunc(names[o.Kind], func(n string) bool { return w != "" && strings.HasPrefix(n, w) }) {
		t.Errorf("multiport option %v at %d is %q", o.Kind, o.Flag, w)
	}
	if o.Negated != (o.NegPos != parse.NoPos) || o.Negated && !strings.HasPrefix(text[o.NegPos:], "! ") {
		t.Errorf("multiport option: negated %v, NegPos %d", o.Negated, o.NegPos)
	}
	if !strings.HasPrefix(text[o.Value.At:], o.Value.Text) || m.End() != o.Value.End() {
		t.Errorf("multiport value at %d, end %d: %q", o.Value.At, m.End(), text[o.Value.At:])
	}
	items := strings.Split(o.Value.Text, ",")
	if len(items) != len(o.Ports) {
		t.Fatalf("%d ports for %d items of %q", len(o.Ports), len(items), o.Value.Text)
	}
	for i, p := range o.Ports {
		if !strings.HasPrefix(text[p.At:], items[i]) {
			t.Errorf("port %d at %d: %q, want %q", i+1, p.At, text[p.At:], items[i])
		}
	}
}
