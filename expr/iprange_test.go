package expr_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

func iprange(dst bool, op expr.Op, lo, hi string) expr.Match {
	return expr.IPRange{Dst: dst, Op: op, Lo: netip.MustParseAddr(lo), Hi: netip.MustParseAddr(hi)}
}

// The address ranges join every wire test: Lower against nft's bytes,
// Raise of nft's bytes and of Lower's.
func init() {
	moreWireCases = append(moreWireCases,
		wireCase{"ip saddr range", rule(iprange(false, expr.OpRange, "10.0.0.1", "10.0.0.9"))},
		wireCase{"ip daddr not range", rule(iprange(true, expr.OpNotRange, "10.0.1.0", "10.0.1.255"))},
		wireCase{"ip saddr range one", rule(iprange(false, expr.OpRange, "10.0.0.5", "10.0.0.5"))},
		wireCase{"ip saddr range all", rule(iprange(false, expr.OpRange, "0.0.0.0", "255.255.255.255"))},
		wireCase{"ip6 saddr range", rule(iprange(false, expr.OpRange, "2001:db8::1", "2001:db8::9"))},
		wireCase{"ip6 daddr not range", rule(iprange(true, expr.OpNotRange, "::1", "::2"))},
		wireCase{"inet ip both ranges", rule(nfIPv4, iprange(false, expr.OpNotRange, "10.0.0.1", "10.0.0.9"), iprange(true, expr.OpRange, "192.168.0.1", "192.168.255.254"))},
		wireCase{"inet ip6 range", rule(nfIPv6, iprange(true, expr.OpRange, "fe80::", "fe80::ffff"))},
	)
}

func TestIPRangeText(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		want string
	}{
		{rule(iprange(false, expr.OpRange, "10.0.0.1", "10.0.0.9")), "ip saddr 10.0.0.1-10.0.0.9"},
		{rule(iprange(true, expr.OpNotRange, "10.0.1.0", "10.0.1.255")), "ip daddr != 10.0.1.0-10.0.1.255"},
		{rule(iprange(false, expr.OpRange, "2001:db8::1", "2001:db8::9")), "ip6 saddr 2001:db8::1-2001:db8::9"},
	} {
		if diff := cmp.Diff(tc.want, tc.r.String()); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.r.Matches, diff)
		}
	}
}

func TestIPRangeLowerRefuses(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		fam  expr.Family
		want string
	}{
		{rule(iprange(false, expr.OpRange, "10.0.0.9", "10.0.0.1")), expr.FamilyIP, "reversed"},
		{rule(iprange(false, expr.OpRange, "10.0.0.1", "10.0.0.9")), expr.FamilyIP6, "IPv4 address range in an ip6 table"},
		{rule(iprange(false, expr.OpEq, "10.0.0.1", "10.0.0.9")), expr.FamilyIP, "operator"},
		{rule(iprange(false, expr.OpRange, "10.0.0.1", "::1")), expr.FamilyIP, "one family"},
	} {
		_, err := tc.r.Lower(tc.fam)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v in %v: Lower error %v, want one containing %q", tc.r, tc.fam, err, tc.want)
		}
	}
}
