package compile_test

import (
	"bytes"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// Every target option, and every --reject-with of each family, has a case
// in testdata/cases.txt (so in the goldens, the nft byte oracle and the
// kernel dump comparison), and every case's statements decompile back to
// its words.
func TestTargetCasesComplete(t *testing.T) {
	type cover struct {
		target string
		kind   parse.TargetOptionKind
		reject parse.RejectWith
		v6     bool
	}
	seen := map[cover]bool{}
	for _, c := range loadCases(t) {
		r, err := parse.ParseText(c.words, parse.Options{Family: c.family})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		tg := r.Target
		if tg == nil || tg.Kind != parse.TargetExtension {
			continue
		}
		v6 := c.family == parse.IPv6
		seen[cover{target: tg.Name, v6: v6}] = true
		for _, o := range tg.Options {
			seen[cover{target: tg.Name, kind: o.Kind, reject: o.Reject, v6: v6}] = true
		}
		for _, table := range []expr.Family{map[bool]expr.Family{false: expr.FamilyIP, true: expr.FamilyIP6}[v6], expr.FamilyInet} {
			rules, err := compile.Rule(r, compile.Options{Table: table, Family: c.family, Counter: true})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			want := r.String()
			if r.Table != nil || r.Command != nil {
				cp := *r
				cp.Table, cp.Command = nil, nil
				want = cp.String()
			}
			back, _, err := compile.Decompile(rules, table)
			if err != nil {
				t.Errorf("%s in %v: decompile: %v", c.name, table, err)
				continue
			}
			if got := back.String(); got != want && !sameRules(t, back, c.family, table, rules) {
				t.Errorf("%s in %v: decompiles to %q, want %q", c.name, table, got, want)
			}
			// Two targets can write the same statement (NOTRACK and CT
			// --notrack; CONNMARK --save-mark --nfmask 0 and --set-xmark
			// 0/CTMASK): from the expressions alone decompile gives one of
			// them, and a listing gives back the other from the rules'
			// group record.
			var listed []compile.Listed
			for i, nr := range rules {
				listed = append(listed, compile.Listed{Rule: nr, Grouped: true,
					Group: expr.Group{ID: 1, Index: i, Count: len(rules), IPv6: c.family == parse.IPv6, Words: want}})
			}
			ds := compile.Chain(listed, table)
			if len(ds) != 1 || ds[0].Err != nil || ds[0].Rule.String() != want {
				t.Errorf("%s in %v: listed with its record, decompiles to %+v, want %q", c.name, table, ds, want)
			}
		}
	}
	var want []cover
	for _, v6 := range []bool{false, true} {
		for _, tg := range []string{"REJECT", "MASQUERADE", "SNAT", "DNAT", "REDIRECT"} {
			want = append(want, cover{target: tg, v6: v6})
		}
		for _, o := range []struct {
			target string
			kinds  []parse.TargetOptionKind
		}{
			{"MASQUERADE", []parse.TargetOptionKind{parse.OptToPorts, parse.OptRandom, parse.OptRandomFully}},
			{"SNAT", []parse.TargetOptionKind{parse.OptToSource, parse.OptPersistent}},
			{"DNAT", []parse.TargetOptionKind{parse.OptToDestination, parse.OptPersistent}},
			{"REDIRECT", []parse.TargetOptionKind{parse.OptToPorts, parse.OptRandom}},
		} {
			for _, k := range o.kinds {
				want = append(want, cover{target: o.target, kind: k, v6: v6})
			}
		}
		for w := parse.RejectNetUnreachable; w <= parse.Reject6RejectRoute; w++ {
			if w == parse.RejectTCPReset || w.IPv6() == v6 {
				if w == parse.RejectPortUnreachable || w == parse.Reject6PortUnreachable {
					continue // the default: the case without --reject-with
				}
				want = append(want, cover{target: "REJECT", kind: parse.OptRejectWith, reject: w, v6: v6})
			}
		}
	}
	want = append(want,
		cover{target: "SNAT", kind: parse.OptRandom}, cover{target: "SNAT", kind: parse.OptRandomFully},
		cover{target: "DNAT", kind: parse.OptRandom})
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no case in testdata/cases.txt for %+v", w)
		}
	}
}

// sameRules reports whether back compiles to nft rules that lower to the
// same bytes as want.
func sameRules(t *testing.T, back *parse.Rule, fam parse.Family, table expr.Family, want []expr.Rule) bool {
	t.Helper()
	got, err := compile.Rule(back, compile.Options{Table: table, Family: fam, Counter: true})
	if err != nil || len(got) != len(want) {
		return false
	}
	for i := range got {
		g, err1 := got[i].Lower(table)
		w, err2 := want[i].Lower(table)
		if err1 != nil || err2 != nil || !bytes.Equal(g, w) {
			return false
		}
	}
	return true
}
