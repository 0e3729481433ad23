package expr_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

func iplen(op expr.Op, lo, hi uint32) expr.Match {
	return expr.Payload{Field: expr.FieldIPLength, Op: op, Lo: lo, Hi: hi}
}

func ip6len(op expr.Op, lo, hi uint32) expr.Match {
	return expr.Payload{Field: expr.FieldIP6Length, Op: op, Lo: lo, Hi: hi}
}

// The length cases join every wire test: Lower against nft's bytes, Raise
// of nft's bytes and of Lower's.
func init() {
	moreWireCases = append(moreWireCases,
		wireCase{"ip length", rule(iplen(expr.OpEq, 100, 0))},
		wireCase{"ip length neq", rule(iplen(expr.OpNeq, 100, 0))},
		wireCase{"ip length range", rule(iplen(expr.OpRange, 100, 200))},
		wireCase{"ip length not range", rule(iplen(expr.OpNotRange, 0, 99))},
		wireCase{"ip6 length", rule(ip6len(expr.OpEq, 1240, 0))},
		wireCase{"ip6 length range", rule(ip6len(expr.OpRange, 1240, 1460))},
		wireCase{"ip6 length not range", rule(ip6len(expr.OpNotRange, 60, 65495))},
		wireCase{"inet ip length", rule(nfIPv4, iplen(expr.OpRange, 0, 1500))},
		wireCase{"inet ip6 length", rule(nfIPv6, ip6len(expr.OpNeq, 0, 0))},
		wireCase{"ip length tcp dport", rule(fragFirst, tcp, iplen(expr.OpRange, 0, 99), dport(expr.OpEq, 22, 0))},
	)
}

func TestLengthText(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		want string
	}{
		{rule(iplen(expr.OpEq, 100, 0)), "ip length 100"},
		{rule(iplen(expr.OpNotRange, 0, 99)), "ip length != 0-99"},
		{rule(ip6len(expr.OpRange, 1240, 1460)), "ip6 length 1240-1460"},
		{rule(nfIPv6, ip6len(expr.OpNeq, 0, 0)), "meta nfproto ipv6 ip6 length != 0"},
	} {
		if diff := cmp.Diff(tc.want, tc.r.String()); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.r.Matches, diff)
		}
	}
}

// A load of bytes 4-5 of the network header is "ip6 length" only after an
// IPv6 header: in an ip table it is the IPv4 header's identification, which
// ctmatch does not read.
func TestLengthRaiseFamily(t *testing.T) {
	b, err := rule(ip6len(expr.OpEq, 1240, 0)).Lower(expr.FamilyIP6)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := expr.Raise(expr.FamilyIP, b); err == nil {
		t.Errorf("Raise in an ip table of a load of network header bytes 4-5 succeeded, want an error")
	}
	r, err := expr.Raise(expr.FamilyIP6, b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rule(ip6len(expr.OpEq, 1240, 0)).Matches, r.Matches); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
