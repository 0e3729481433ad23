package expr_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
)

func setMark(dst, src expr.MarkKey, bitwise bool, and, xor uint32) expr.Rule {
	return stmts(nil, expr.SetMark{Dst: dst, Src: src, Bitwise: bitwise, And: and, Xor: xor})
}

// The mark cases, with the nft text each renders as.
var markCases = []struct {
	name string
	rule expr.Rule
	text string
}{
	{"meta mark set", setMark(expr.MarkMeta, 0, false, 0, 5), "meta mark set 0x00000005"},
	{"meta mark set 0", setMark(expr.MarkMeta, 0, false, 0, 0), "meta mark set 0x00000000"},
	{"meta mark set max", setMark(expr.MarkMeta, 0, false, 0, 0xffffffff), "meta mark set 0xffffffff"},
	{"meta mark xmark", setMark(expr.MarkMeta, expr.MarkMeta, true, 0xff00ffff, 0x40000), "meta mark set meta mark and 0xff00ffff xor 0x00040000"},
	{"meta mark and", setMark(expr.MarkMeta, expr.MarkMeta, true, 0xffffff00, 0), "meta mark set meta mark and 0xffffff00 xor 0x00000000"},
	{"meta mark xor", setMark(expr.MarkMeta, expr.MarkMeta, true, 0xffffffff, 4), "meta mark set meta mark and 0xffffffff xor 0x00000004"},
	{"meta mark noop", setMark(expr.MarkMeta, expr.MarkMeta, true, 0xffffffff, 0), "meta mark set meta mark and 0xffffffff xor 0x00000000"},
	{"ct mark set", setMark(expr.MarkCt, 0, false, 0, 1), "ct mark set 0x00000001"},
	{"ct mark xmark", setMark(expr.MarkCt, expr.MarkCt, true, 0xffffff00, 1), "ct mark set ct mark and 0xffffff00 xor 0x00000001"},
	{"ct mark save", setMark(expr.MarkCt, expr.MarkMeta, false, 0, 0), "ct mark set meta mark"},
	{"ct mark save masked", setMark(expr.MarkCt, expr.MarkMeta, true, 0xff, 0), "ct mark set meta mark and 0x000000ff xor 0x00000000"},
	{"meta mark restore", setMark(expr.MarkMeta, expr.MarkCt, false, 0, 0), "meta mark set ct mark"},
	{"meta mark restore masked", setMark(expr.MarkMeta, expr.MarkCt, true, 0xff0000, 0), "meta mark set ct mark and 0x00ff0000 xor 0x00000000"},
	{"counter mark", expr.Rule{Matches: []expr.Match{tcp}, Counter: true, Stmts: []expr.Stmt{expr.SetMark{Dst: expr.MarkMeta, Xor: 7}}}, "meta l4proto tcp counter meta mark set 0x00000007"},
	{"inet mark", stmts([]expr.Match{nfIPv6}, expr.SetMark{Dst: expr.MarkCt, Src: expr.MarkMeta}), "meta nfproto ipv6 ct mark set meta mark"},
	{"notrack", stmts(nil, expr.Notrack{}), "notrack"},
	{"dscp", stmts(nil, expr.SetDSCP{Family: expr.FamilyIP, DSCP: 10}), "ip dscp set 10"},
	{"dscp 63", stmts(nil, expr.SetDSCP{Family: expr.FamilyIP, DSCP: 63}), "ip dscp set 63"},
	{"dscp6", stmts(nil, expr.SetDSCP{Family: expr.FamilyIP6, DSCP: 46}), "ip6 dscp set 46"},
	{"dscp6 0", stmts(nil, expr.SetDSCP{Family: expr.FamilyIP6}), "ip6 dscp set 0"},
	{"inet dscp", stmts([]expr.Match{nfIPv4}, expr.SetDSCP{Family: expr.FamilyIP, DSCP: 8}), "meta nfproto ipv4 ip dscp set 8"},
	{"inet dscp6", stmts([]expr.Match{nfIPv6}, expr.SetDSCP{Family: expr.FamilyIP6, DSCP: 0x3f}), "meta nfproto ipv6 ip6 dscp set 63"},
	{"counter notrack", expr.Rule{Matches: []expr.Match{udp}, Counter: true, Stmts: []expr.Stmt{expr.Notrack{}}}, "meta l4proto udp counter notrack"},
}

func init() {
	for _, c := range markCases {
		moreWireCases = append(moreWireCases, wireCase{c.name, c.rule})
	}
}

func TestMarkText(t *testing.T) {
	for _, c := range markCases {
		if got := c.rule.String(); got != c.text {
			t.Errorf("%s: %q, want %q", c.name, got, c.text)
		}
	}
}

func TestMarkLowerRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		s    expr.SetMark
		want string
	}{
		{"no dst", expr.SetMark{Xor: 1}, "no mark"},
		{"constant with bitwise", expr.SetMark{Dst: expr.MarkMeta, Bitwise: true, And: 1}, "constant mark with a bitwise"},
		{"copy with mask", expr.SetMark{Dst: expr.MarkMeta, Src: expr.MarkCt, And: 1}, "no bitwise"},
	} {
		_, err := stmts(nil, c.s).Lower(expr.FamilyIP)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Lower: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// nft's other spellings of a mark set give the same statement; a mark
// shifted on its way (lshift, rshift: no iptables target does that), and a
// header write other than the DSCP's, are refused.
func TestMarkNftSpellings(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	same := []struct {
		text string
		want expr.Stmt
	}{
		{"meta mark set 5", expr.SetMark{Dst: expr.MarkMeta, Xor: 5}},
		{"mark set 0x5", expr.SetMark{Dst: expr.MarkMeta, Xor: 5}},
		{"meta mark set mark or 0x4", expr.SetMark{Dst: expr.MarkMeta, Src: expr.MarkMeta, Bitwise: true, And: 0xfffffffb, Xor: 4}},
		{"meta mark set meta mark & 0xffff00ff | 0x100", expr.SetMark{Dst: expr.MarkMeta, Src: expr.MarkMeta, Bitwise: true, And: 0xffff00ff, Xor: 0x100}},
		{"ct mark set ct mark xor 3", expr.SetMark{Dst: expr.MarkCt, Src: expr.MarkCt, Bitwise: true, And: 0xffffffff, Xor: 3}},
		{"meta mark set ct mark & 0xff", expr.SetMark{Dst: expr.MarkMeta, Src: expr.MarkCt, Bitwise: true, And: 0xff}},
		{"ip dscp set cs1", expr.SetDSCP{Family: expr.FamilyIP, DSCP: 8}},
		{"ip dscp set af41", expr.SetDSCP{Family: expr.FamilyIP, DSCP: 0x22}},
	}
	var texts []string
	for _, s := range same {
		texts = append(texts, s.text)
	}
	texts = append(texts, "meta mark set meta mark lshift 2", "ct mark set meta mark rshift 1", "ip ttl set 5", "ip ecn set ce")
	sent := nftSends(t, ns, nftScript("ip", texts...))
	if len(sent) != len(texts) {
		t.Fatalf("nft sent %d rules for %d texts", len(sent), len(texts))
	}
	for i, s := range same {
		checkDebug(t, "ip", s.text, sent[i])
		got, err := expr.Raise(expr.FamilyIP, sent[i].exprs)
		if err != nil {
			t.Errorf("%q: Raise: %v", s.text, err)
			continue
		}
		if diff := cmp.Diff(stmts(nil, s.want), got); diff != "" {
			t.Errorf("%q: Raise (-want +got):\n%s", s.text, diff)
		}
	}
	for i := len(same); i < len(texts); i++ {
		if r, err := expr.Raise(expr.FamilyIP, sent[i].exprs); err == nil {
			t.Errorf("%q: Raise gives %v, want a refusal", texts[i], r)
		}
	}
}
