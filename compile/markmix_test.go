package compile_test

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// CONNMARK --save-mark and --restore-mark with masks that combine both
// marks compile to the kernel's formula written out, (DST & ~MASK) ^ (SRC &
// MASK) (docs/semantics.md, "MARK and CONNMARK"), and decompile to the
// words iptables-save prints; the masks that leave one mark out keep their
// one-register forms.
func TestCombinedMarks(t *testing.T) {
	for _, tc := range []struct {
		fam   parse.Family
		words string
		text  string
	}{
		{parse.IPv4, "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff0000 --ctmask 0xff0000",
			"counter meta mark set meta mark & 0xff00ffff ^ ct mark & 0x00ff0000"},
		{parse.IPv4, "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff00",
			"counter meta mark set meta mark & 0xffffff00 ^ ct mark & 0x0000ff00"},
		{parse.IPv4, "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0x0 --ctmask 0xf0",
			"counter meta mark set meta mark ^ ct mark & 0x000000f0"},
		{parse.IPv4, "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0x0",
			"counter meta mark set meta mark & 0xffffff00 ^ ct mark & 0x00000000"},
		{parse.IPv4, "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xffffffff",
			"counter meta mark set meta mark & 0xffffff00 ^ ct mark"},
		{parse.IPv4, "-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff",
			"counter ct mark set ct mark & 0xffffff00 ^ meta mark & 0x000000ff"},
		{parse.IPv4, "-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff00",
			"counter ct mark set ct mark & 0xffff00ff ^ meta mark & 0x000000ff"},
		{parse.IPv4, "-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffff",
			"counter ct mark set ct mark & 0xffff0000 ^ meta mark"},
		{parse.IPv4, "-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0x0",
			"counter ct mark set ct mark ^ meta mark & 0x000000ff"},
		{parse.IPv6, "-t mangle -A OUTPUT -p udp -j CONNMARK --save-mark --nfmask 0xffff --ctmask 0xff",
			"meta l4proto udp counter ct mark set ct mark & 0xffffff00 ^ meta mark & 0x0000ffff"},
		// One mark left out: one register, as before.
		{parse.IPv4, "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xff",
			"counter meta mark set ct mark and 0x000000ff xor 0x00000000"},
		{parse.IPv4, "-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xffffffff",
			"counter ct mark set meta mark and 0x000000ff xor 0x00000000"},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{Family: tc.fam})
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		for _, table := range []expr.Family{map[parse.Family]expr.Family{parse.IPv4: expr.FamilyIP, parse.IPv6: expr.FamilyIP6}[tc.fam], expr.FamilyInet} {
			rules, err := compile.Rule(r, compile.Options{Table: table, Family: tc.fam, Counter: true})
			if err != nil {
				t.Fatalf("%s in %v: %v", tc.words, table, err)
			}
			want := tc.text
			if table == expr.FamilyInet {
				want = map[parse.Family]string{parse.IPv4: "meta nfproto ipv4 ", parse.IPv6: "meta nfproto ipv6 "}[tc.fam] + want
			}
			if len(rules) != 1 || rules[0].String() != want {
				t.Errorf("%s in %v: %v, want %q", tc.words, table, rules, want)
				continue
			}
			back, fam, err := compile.Decompile(rules, table)
			if err != nil {
				t.Errorf("%s in %v: Decompile: %v", tc.words, table, err)
				continue
			}
			if wantWords := r.String(); fam != tc.fam || !strings.HasSuffix(wantWords, back.String()) {
				t.Errorf("%s in %v: decompiled as %q (family %v), want %q", tc.words, table, back.String(), fam, wantWords)
			}
		}
	}
}

// A combination of marks that no CONNMARK does (another operation, the
// destination on the right) is not understood.
func TestCombinedMarksNoTarget(t *testing.T) {
	for _, s := range []expr.CombineMarks{
		{Dst: expr.MarkMeta, Left: expr.MarkTerm{Key: expr.MarkMeta, Mask: 0xff}, Op: expr.BitOr, Right: expr.MarkTerm{Key: expr.MarkCt, Mask: 0xff}},
		{Dst: expr.MarkMeta, Left: expr.MarkTerm{Key: expr.MarkCt, Mask: 0xff}, Op: expr.BitXor, Right: expr.MarkTerm{Key: expr.MarkMeta, Mask: 0xff}},
		{Dst: expr.MarkCt, Left: expr.MarkTerm{Key: expr.MarkCt, Mask: 0xff}, Op: expr.BitXor, Right: expr.MarkTerm{Key: expr.MarkCt, Mask: 0xff}},
	} {
		if r, _, err := compile.Decompile([]expr.Rule{{Counter: true, Stmts: []expr.Stmt{s}}}, expr.FamilyIP); err == nil {
			t.Errorf("%v decompiles to %q", s, r.String())
		}
	}
}
