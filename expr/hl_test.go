package expr_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

func ttl(op expr.Op, v uint32) expr.Match {
	return expr.Payload{Field: expr.FieldIPTTL, Op: op, Lo: v}
}

func hoplimit(op expr.Op, v uint32) expr.Match {
	return expr.Payload{Field: expr.FieldIP6HopLimit, Op: op, Lo: v}
}

var (
	nfIPv4 = expr.Nfproto{Family: expr.FamilyIP}
	nfIPv6 = expr.Nfproto{Family: expr.FamilyIP6}
)

// The ttl and hop limit cases join every wire test: Lower against nft's
// bytes, Raise of nft's bytes and of Lower's.
func init() {
	moreWireCases = append(moreWireCases,
		wireCase{"ip ttl", rule(ttl(expr.OpEq, 64))},
		wireCase{"ip ttl neq", rule(ttl(expr.OpNeq, 64))},
		wireCase{"ip ttl lt", rule(ttl(expr.OpLt, 5))},
		wireCase{"ip ttl gt", rule(ttl(expr.OpGt, 1))},
		wireCase{"ip ttl lt 0", rule(ttl(expr.OpLt, 0))},
		wireCase{"ip ttl gt 255", rule(ttl(expr.OpGt, 255))},
		wireCase{"ip6 hoplimit", rule(hoplimit(expr.OpEq, 255))},
		wireCase{"ip6 hoplimit neq", rule(hoplimit(expr.OpNeq, 64))},
		wireCase{"ip6 hoplimit lt", rule(hoplimit(expr.OpLt, 2))},
		wireCase{"ip6 hoplimit gt", rule(hoplimit(expr.OpGt, 1))},
		wireCase{"inet ip ttl lt", rule(nfIPv4, ttl(expr.OpLt, 5))},
		wireCase{"inet ip6 hoplimit gt", rule(nfIPv6, hoplimit(expr.OpGt, 1))},
		wireCase{"ip first fragment tcp dport ttl", rule(fragFirst, tcp, dport(expr.OpEq, 22, 0), ttl(expr.OpEq, 64))},
		wireCase{"ip6 hoplimit tcp dport", rule(expr.Exthdr{Test: expr.FragMissing}, hoplimit(expr.OpGt, 1), tcp, dport(expr.OpEq, 22, 0))},
		wireCase{"ip ttl twice", rule(ttl(expr.OpGt, 1), ttl(expr.OpLt, 9))},
	)
}

func TestHLText(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		want string
	}{
		{rule(ttl(expr.OpEq, 64)), "ip ttl 64"},
		{rule(ttl(expr.OpNeq, 64)), "ip ttl != 64"},
		{rule(ttl(expr.OpLt, 5)), "ip ttl < 5"},
		{rule(ttl(expr.OpGt, 1)), "ip ttl > 1"},
		{rule(hoplimit(expr.OpEq, 255)), "ip6 hoplimit 255"},
		{rule(hoplimit(expr.OpNeq, 64)), "ip6 hoplimit != 64"},
		{rule(hoplimit(expr.OpLt, 2)), "ip6 hoplimit < 2"},
		{rule(hoplimit(expr.OpGt, 1)), "ip6 hoplimit > 1"},
		{rule(nfIPv4, ttl(expr.OpLt, 5)), "meta nfproto ipv4 ip ttl < 5"},
		{rule(fragFirst, tcp, dport(expr.OpEq, 22, 0), ttl(expr.OpEq, 64)), "ip frag-off & 0x1fff == 0 tcp dport 22 ip ttl 64"},
	} {
		if diff := cmp.Diff(tc.want, tc.r.String()); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.r.Matches, diff)
		}
	}
}

// The bytes of an ordered comparison are one cmp lt or gt of the field's
// byte, as nft 1.0.6 sends for "ip ttl < 5" (nft --debug=mnl: payload base 1
// offset 8 len 1, cmp op 2 data 05).
func TestHLLowerLines(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		fam  expr.Family
		want []string
	}{
		{rule(ttl(expr.OpLt, 5)), expr.FamilyIP, []string{
			"[ payload load 1b @ network header + 8 => reg 1 ]",
			"[ cmp lt reg 1 0x00000005 ]",
		}},
		{rule(hoplimit(expr.OpGt, 1)), expr.FamilyIP6, []string{
			"[ payload load 1b @ network header + 7 => reg 1 ]",
			"[ cmp gt reg 1 0x00000001 ]",
		}},
	} {
		b, err := tc.r.Lower(tc.fam)
		if err != nil {
			t.Fatalf("%v: Lower: %v", tc.r, err)
		}
		got, err := expr.DebugLines(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.r, diff)
		}
	}
}

func TestHLLowerRefuses(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		fam  expr.Family
		want string
	}{
		{rule(ttl(expr.OpEq, 64)), expr.FamilyIP6, "IPv4 header in an ip6 table"},
		{rule(hoplimit(expr.OpEq, 64)), expr.FamilyIP, "IPv6 header in an ip table"},
		{rule(ttl(expr.OpLt, 256)), expr.FamilyIP, "value 256 above 255"},
		{rule(tcp, dport(expr.OpLt, 22, 0)), expr.FamilyIP, "ordered comparison of the dport field"},
		{rule(expr.Payload{Field: expr.FieldIPTTL, Mask: 0xf, Op: expr.OpGt, Lo: 1}), expr.FamilyIP, "ordered comparison of a masked field"},
	} {
		_, err := tc.r.Lower(tc.fam)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v in %v: Lower error %v, want one containing %q", tc.r, tc.fam, err, tc.want)
		}
	}
}
