package expr_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

func combine(dst expr.MarkKey, lk expr.MarkKey, lm uint32, op expr.BitOp, rk expr.MarkKey, rm uint32) expr.Stmt {
	return expr.CombineMarks{Dst: dst, Left: expr.MarkTerm{Key: lk, Mask: lm}, Op: op, Right: expr.MarkTerm{Key: rk, Mask: rm}}
}

// The two-mark statements: their text (nft 1.1.2's), JSON and the libnftnl
// debug lines of their bytes (nftables 1.1.2's tests/py/inet/meta.t.payload
// gives the same shape for "meta mark set ct mark & 0xffff0000 | meta mark &
// 0x0000ffff").
var combineCases = []struct {
	name  string
	stmt  expr.Stmt
	text  string
	json  string
	debug []string
}{
	{"restore", combine(expr.MarkMeta, expr.MarkMeta, 0xffffff00, expr.BitXor, expr.MarkCt, 0xff),
		"meta mark set meta mark & 0xffffff00 ^ ct mark & 0x000000ff",
		`{"mangle":{"key":{"meta":{"key":"mark"}},"value":{"^":[{"&":[{"meta":{"key":"mark"}},4294967040]},{"&":[{"ct":{"key":"mark"}},255]}]}}}`,
		[]string{
			"[ meta load mark => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & 0xffffff00 ) ^ 0x00000000 ]",
			"[ ct load mark => reg 2 ]",
			"[ bitwise reg 2 = ( reg 2 & 0x000000ff ) ^ 0x00000000 ]",
			"[ bitwise reg 1 = ( reg 1 ^ reg 2 ) ]",
			"[ meta set mark with reg 1 ]",
		}},
	{"save", combine(expr.MarkCt, expr.MarkCt, 0xff00ffff, expr.BitXor, expr.MarkMeta, 0xff),
		"ct mark set ct mark & 0xff00ffff ^ meta mark & 0x000000ff",
		`{"mangle":{"key":{"ct":{"key":"mark"}},"value":{"^":[{"&":[{"ct":{"key":"mark"}},4278255615]},{"&":[{"meta":{"key":"mark"}},255]}]}}}`,
		[]string{
			"[ ct load mark => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & 0xff00ffff ) ^ 0x00000000 ]",
			"[ meta load mark => reg 2 ]",
			"[ bitwise reg 2 = ( reg 2 & 0x000000ff ) ^ 0x00000000 ]",
			"[ bitwise reg 1 = ( reg 1 ^ reg 2 ) ]",
			"[ ct set mark with reg 1 ]",
		}},
	{"save full nfmask", combine(expr.MarkCt, expr.MarkCt, 0xffff0000, expr.BitXor, expr.MarkMeta, 0xffffffff),
		"ct mark set ct mark & 0xffff0000 ^ meta mark",
		`{"mangle":{"key":{"ct":{"key":"mark"}},"value":{"^":[{"&":[{"ct":{"key":"mark"}},4294901760]},{"meta":{"key":"mark"}}]}}}`,
		[]string{
			"[ ct load mark => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & 0xffff0000 ) ^ 0x00000000 ]",
			"[ meta load mark => reg 2 ]",
			"[ bitwise reg 1 = ( reg 1 ^ reg 2 ) ]",
			"[ ct set mark with reg 1 ]",
		}},
	{"restore nfmask 0", combine(expr.MarkMeta, expr.MarkMeta, 0xffffffff, expr.BitXor, expr.MarkCt, 0xf0),
		"meta mark set meta mark ^ ct mark & 0x000000f0", "", nil},
	{"or", combine(expr.MarkMeta, expr.MarkCt, 0xffff0000, expr.BitOr, expr.MarkMeta, 0xffff),
		"meta mark set ct mark & 0xffff0000 | meta mark & 0x0000ffff", "",
		[]string{
			"[ ct load mark => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & 0xffff0000 ) ^ 0x00000000 ]",
			"[ meta load mark => reg 2 ]",
			"[ bitwise reg 2 = ( reg 2 & 0x0000ffff ) ^ 0x00000000 ]",
			"[ bitwise reg 1 = ( reg 1 | reg 2 ) ]",
			"[ meta set mark with reg 1 ]",
		}},
	{"and", combine(expr.MarkCt, expr.MarkCt, 0xffffffff, expr.BitAnd, expr.MarkMeta, 0xffffffff),
		"ct mark set ct mark & meta mark", "", nil},
}

func TestCombineMarks(t *testing.T) {
	for _, c := range combineCases {
		for _, m := range [][]expr.Match{nil, {tcp}} {
			r := stmts(m, c.stmt)
			text := c.text
			if m != nil {
				text = "meta l4proto tcp " + text
			}
			if got := r.String(); got != text {
				t.Errorf("%s: text %q, want %q", c.name, got, text)
			}
			if c.json != "" && m == nil && !strings.Contains(r.JSON(), c.json) {
				t.Errorf("%s: JSON %s, want it to hold %s", c.name, r.JSON(), c.json)
			}
			for _, f := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
				b, err := r.Lower(f)
				if err != nil {
					t.Fatalf("%s: Lower(%v): %v", c.name, f, err)
				}
				got, err := expr.Raise(f, b)
				if err != nil {
					t.Errorf("%s: Raise(Lower(%v)): %v", c.name, f, err)
				} else if diff := cmp.Diff(r, got); diff != "" {
					t.Errorf("%s: Raise(Lower(%v)) (-want +got):\n%s", c.name, f, diff)
				}
				if c.debug == nil || m != nil {
					continue
				}
				lines, err := expr.DebugLines(b)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(c.debug, lines); diff != "" {
					t.Errorf("%s: debug lines (-want +got):\n%s", c.name, diff)
				}
			}
		}
	}
}

// A statement of no mark, of no operation, renders as invalid and does not
// lower.
func TestCombineMarksInvalid(t *testing.T) {
	for _, s := range []expr.Stmt{
		expr.CombineMarks{Left: expr.MarkTerm{Key: expr.MarkMeta}, Op: expr.BitXor, Right: expr.MarkTerm{Key: expr.MarkCt}},
		expr.CombineMarks{Dst: expr.MarkMeta, Op: expr.BitXor, Right: expr.MarkTerm{Key: expr.MarkCt}},
		expr.CombineMarks{Dst: expr.MarkMeta, Left: expr.MarkTerm{Key: expr.MarkMeta}, Right: expr.MarkTerm{Key: expr.MarkCt}},
	} {
		r := stmts(nil, s)
		if !strings.Contains(r.String(), "(invalid") {
			t.Errorf("%#v renders as %q", s, r.String())
		}
		if _, err := r.Lower(expr.FamilyIP); err == nil {
			t.Errorf("%#v lowers", s)
		}
	}
}
