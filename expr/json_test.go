package expr

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/netip"
	"sort"
	"strings"
	"testing"
)

// TestEveryMatchHasJSON reads this package's source: every type with an
// isMatch method (every Match) must have an appendJSON method too, so that
// a match added to the IR cannot be left out of the JSON output.
func TestEveryMatchHasJSON(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]map[string]bool{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 {
					continue
				}
				typ := fd.Recv.List[0].Type
				if s, ok := typ.(*ast.StarExpr); ok {
					typ = s.X
				}
				id, ok := typ.(*ast.Ident)
				if !ok {
					continue
				}
				if methods[id.Name] == nil {
					methods[id.Name] = map[string]bool{}
				}
				methods[id.Name][fd.Name.Name] = true
			}
		}
	}
	var matches []string
	for typ, ms := range methods {
		if ms["isMatch"] {
			matches = append(matches, typ)
			if !ms["appendJSON"] {
				t.Errorf("match type %s has no appendJSON method: write its libnftables JSON next to its appendText", typ)
			}
		}
	}
	sort.Strings(matches)
	if len(matches) < 12 {
		t.Errorf("found only the match types %v: the test reads the wrong files", matches)
	}
	t.Logf("match types with JSON: %v", matches)
}

func TestRuleJSON(t *testing.T) {
	for _, tc := range []struct {
		r    Rule
		want string
	}{
		{Rule{Matches: []Match{Nfproto{FamilyIP}, Ct{Key: CtState, Op: OpNone, Mask: uint32(StateNew | StateRelated)}}, Counter: true, Verdict: Verdict{Kind: VerdictAccept}},
			`[{"match":{"op":"==","left":{"meta":{"key":"nfproto"}},"right":"ipv4"}},{"match":{"op":"!","left":{"ct":{"key":"state"}},"right":["related","new"]}},{"counter":null},{"accept":null}]`},
		{Rule{Matches: []Match{Ct{Key: CtExpiration, Op: OpRange, Lo: 28000, Hi: 28999}}, Verdict: Verdict{Kind: VerdictJump, Chain: "x"}},
			`[{"match":{"op":"==","left":{"ct":{"key":"expiration"}},"right":{"range":["28000ms","28999ms"]}}},{"jump":{"target":"x"}}]`},
		{Rule{Matches: []Match{L4Proto{Op: OpEq, Proto: ProtoTCP}, Payload{Field: FieldTHDport, Op: OpNotRange, Lo: 1, Hi: 1024}}},
			`[{"match":{"op":"!=","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"range":[1,1024]}}}]`},
		{Rule{Matches: []Match{Ct{Key: CtSrcIP, Dir: DirReply, Op: OpEq, Addr: netip.MustParseAddr("10.0.5.0"), AddrMask: netip.MustParseAddr("255.0.255.0")}}},
			`[{"match":{"op":"==","left":{"&":[{"ct":{"key":"ip saddr","dir":"reply"}},"255.0.255.0"]},"right":"10.0.5.0"}}]`},
		{Rule{Matches: []Match{Ct{Key: CtStatus, Op: OpAny, Mask: 0}}},
			`[{"match":{"op":"!=","left":{"&":[{"ct":{"key":"status"}},0]},"right":0}}]`},
		{Rule{Matches: []Match{nil}}, `[{"invalid":"match \u003cnil\u003e"}]`},
	} {
		got := tc.r.JSON()
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.r, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: not valid JSON: %s", tc.r, got)
		}
	}
}
