package compile_test

import (
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
			back, _, err := compile.Decompile(rules, table)
			if err != nil {
				t.Errorf("%s in %v: decompile: %v", c.name, table, err)
				continue
			}
			want := r.String()
			if r.Table != nil || r.Command != nil {
				cp := *r
				cp.Table, cp.Command = nil, nil
				want = cp.String()
			}
			if got := back.String(); got != want {
				t.Errorf("%s in %v: decompiles to %q, want %q", c.name, table, got, want)
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
