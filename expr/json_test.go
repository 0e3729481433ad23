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
// isMatch method (every Match) or an isStmt method (every Stmt) must have an
// appendJSON method too, so that a match or statement added to the IR
// cannot be left out of the JSON output.
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
	var matches, stmts []string
	for typ, ms := range methods {
		if ms["isMatch"] {
			matches = append(matches, typ)
			if !ms["appendJSON"] {
				t.Errorf("match type %s has no appendJSON method: write its libnftables JSON next to its appendText", typ)
			}
		}
		if ms["isStmt"] {
			stmts = append(stmts, typ)
			if !ms["appendJSON"] {
				t.Errorf("statement type %s has no appendJSON method: write its libnftables JSON next to its appendText", typ)
			}
		}
	}
	sort.Strings(matches)
	sort.Strings(stmts)
	if len(matches) < 12 || len(stmts) < 9 {
		t.Errorf("found only the match types %v and the statement types %v: the test reads the wrong files", matches, stmts)
	}
	t.Logf("match types with JSON: %v", matches)
	t.Logf("statement types with JSON: %v", stmts)
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
		{Rule{Matches: []Match{L4Proto{Op: OpEq, Proto: ProtoTCP}, Lookup{Field: FieldTHDport, Neg: true, Elems: []Interval{{22, 22}, {8000, 8100}}}}, Stmts: []Stmt{Masquerade{}}},
			`[{"match":{"op":"!=","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[22,{"range":[8000,8100]}]}}},{"masquerade":null}]`},
		{Rule{Matches: []Match{Nfproto{FamilyIP6}, IPsec{Out: true}}, Counter: true, Stmts: []Stmt{NAT{Type: SNAT, Addr: netip.MustParseAddr("2001:db8::1"), Ports: Ports{80, 90}, Flags: NATRandom | NATPersistent}}},
			`[{"match":{"op":"==","left":{"meta":{"key":"nfproto"}},"right":"ipv6"}},{"match":{"op":"==","left":{"rt":{"key":"ipsec"}},"right":false}},{"counter":null},{"snat":{"family":"ip6","addr":"2001:db8::1","port":{"range":[80,90]},"flags":["random","persistent"]}}]`},
		{Rule{Stmts: []Stmt{SetMark{Dst: MarkCt, Src: MarkMeta, Bitwise: true, And: 0xff, Xor: 1}}},
			`[{"mangle":{"key":{"ct":{"key":"mark"}},"value":{"^":[{"&":[{"meta":{"key":"mark"}},255]},1]}}}]`},
		{Rule{Stmts: []Stmt{Log{Prefix: "p", Level: 7, Flags: LogTCPSeq | LogUID}}},
			`[{"log":{"prefix":"p","level":"debug","flags":["tcp sequence","skuid"]}}]`},
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
