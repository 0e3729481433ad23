package expr_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

// The IPsec tests join every wire test: Lower against nft's bytes, Raise of
// nft's bytes and of Lower's.
func init() {
	moreWireCases = append(moreWireCases,
		wireCase{"meta secpath exists", rule(expr.IPsec{Exists: true})},
		wireCase{"meta secpath missing", rule(expr.IPsec{})},
		wireCase{"rt ipsec exists", rule(expr.IPsec{Out: true, Exists: true})},
		wireCase{"rt ipsec missing", rule(expr.IPsec{Out: true})},
		wireCase{"inet secpath udp dport", rule(nfIPv4, fragFirst, udp, dport(expr.OpEq, 500, 0), expr.IPsec{Exists: true})},
	)
}

func TestIPsecText(t *testing.T) {
	for _, tc := range []struct {
		m    expr.Match
		want string
	}{
		{expr.IPsec{Exists: true}, "meta secpath exists"},
		{expr.IPsec{}, "meta secpath missing"},
		{expr.IPsec{Out: true, Exists: true}, "rt ipsec exists"},
		{expr.IPsec{Out: true}, "rt ipsec missing"},
	} {
		if diff := cmp.Diff(tc.want, rule(tc.m).String()); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.m, diff)
		}
	}
}

// The bytes are nft 1.0.6's (nft --debug=netlink): a load of one byte and
// a cmp eq with 1 or 0.
func TestIPsecLowerLines(t *testing.T) {
	for _, tc := range []struct {
		m    expr.Match
		want []string
	}{
		{expr.IPsec{Exists: true}, []string{"[ meta load secpath => reg 1 ]", "[ cmp eq reg 1 0x00000001 ]"}},
		{expr.IPsec{Out: true}, []string{"[ rt load ipsec => reg 1 ]", "[ cmp eq reg 1 0x00000000 ]"}},
	} {
		b, err := rule(tc.m).Lower(expr.FamilyIP)
		if err != nil {
			t.Fatal(err)
		}
		got, err := expr.DebugLines(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.m, diff)
		}
	}
}
