package compile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// A second icmp match in one rule is refused: nft 1.0.6 sends "icmp type 3
// icmp code 3 icmp type 8" as a 1-byte load of the type and a 2-byte load
// compared with 03 08, which no order of the fields gives.
func TestICMPTwiceRefused(t *testing.T) {
	for _, words := range []string{
		"-A INPUT -p icmp -m icmp --icmp-type 3/3 -m icmp ! --icmp-type 8",
		"-A INPUT -p icmp --icmp-type 8 -m icmp --icmp-type 0",
	} {
		r, err := parse.ParseText(words, parse.Options{})
		if err != nil {
			t.Fatalf("%s: %v", words, err)
		}
		_, err = compile.Rule(r, compile.Options{Table: expr.FamilyIP})
		if err == nil || !strings.Contains(err.Error(), "a second icmp match") {
			t.Errorf("%s: compile.Rule error %v, want a refusal of the second icmp match", words, err)
		}
	}
}

// An icmp match comes back from ctmatch's rules with and without the
// fragment test; a hand-written rule without it comes back only where the
// test changes nothing: an ICMPv6 type, not negated, other than 96 to 111
// (on a non-first IPv6 fragment "icmpv6 type" reads the IPv6 header's first
// byte, 0x60 to 0x6f). Otherwise it is not read as an icmp match.
func TestDecompileICMPFragments(t *testing.T) {
	for _, tc := range []struct {
		fam   parse.Family
		table expr.Family
		words string
	}{
		{parse.IPv6, expr.FamilyIP6, "-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT"},
		{parse.IPv6, expr.FamilyInet, "-p ipv6-icmp -m icmp6 --icmpv6-type 1/4"},
		{parse.IPv6, expr.FamilyIP6, "-p ipv6-icmp -m icmp6 --icmpv6-type 96"},
		{parse.IPv6, expr.FamilyIP6, "-p ipv6-icmp -m icmp6 ! --icmpv6-type 128"},
		{parse.IPv6, expr.FamilyInet, "-p ipv6-icmp -m icmp6 ! --icmpv6-type 1/4"},
		{parse.IPv4, expr.FamilyIP, "-p icmp -m icmp --icmp-type 8"},
	} {
		checkDecompiles(t, tc.fam, tc.table, tc.words, tc.words)
	}
	l4 := func(p uint8) expr.Match { return expr.L4Proto{Op: expr.OpEq, Proto: p} }
	typ := func(op expr.Op, v uint32) expr.Match {
		return expr.Payload{Field: expr.FieldICMPType, Op: op, Lo: v}
	}
	for _, tc := range []struct {
		table expr.Family
		ms    []expr.Match
		want  string // "" for not understood
	}{
		{expr.FamilyIP6, []expr.Match{l4(58), typ(expr.OpEq, 128)}, "-p ipv6-icmp -m icmp6 --icmpv6-type 128"},
		{expr.FamilyIP6, []expr.Match{l4(58), typ(expr.OpEq, 95)}, "-p ipv6-icmp -m icmp6 --icmpv6-type 95"},
		{expr.FamilyIP6, []expr.Match{l4(58), typ(expr.OpEq, 112)}, "-p ipv6-icmp -m icmp6 --icmpv6-type 112"},
		{expr.FamilyIP6, []expr.Match{l4(58), typ(expr.OpEq, 96)}, ""},
		{expr.FamilyIP6, []expr.Match{l4(58), typ(expr.OpEq, 111)}, ""},
		{expr.FamilyIP6, []expr.Match{l4(58), typ(expr.OpNeq, 128)}, ""},
		{expr.FamilyIP6, []expr.Match{l4(58), expr.Payload{Field: expr.FieldTHSport, Op: expr.OpNeq, Lo: 0x0104}}, ""},
		{expr.FamilyIP, []expr.Match{l4(1), typ(expr.OpEq, 8)}, ""},
	} {
		r, _, err := compile.Decompile([]expr.Rule{{Matches: tc.ms}}, tc.table)
		switch {
		case tc.want == "" && !errors.Is(err, compile.ErrNotUnderstood):
			t.Errorf("%v: Decompile gives %v, %v; want ErrNotUnderstood", tc.ms, r, err)
		case tc.want != "" && (err != nil || r.String() != tc.want):
			t.Errorf("%v: Decompile gives %v, %v; want %q", tc.ms, r, err, tc.want)
		}
	}
}
