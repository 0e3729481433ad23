package expr_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

func ether(op expr.Op, a ...byte) expr.Match {
	return expr.EtherSaddr{Op: op, Addr: [6]byte(a)}
}

// The Ethernet source address joins every wire test: Lower against nft's
// bytes, Raise of nft's bytes and of Lower's.
func init() {
	moreWireCases = append(moreWireCases,
		wireCase{"ether saddr", rule(ether(expr.OpEq, 0, 0x11, 0x22, 0x33, 0x44, 0x55))},
		wireCase{"ether saddr neq", rule(ether(expr.OpNeq, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff))},
		wireCase{"inet ether saddr", rule(nfIPv6, ether(expr.OpEq, 2, 0, 0, 0, 0, 1))},
		wireCase{"ether saddr tcp dport", rule(fragFirst, tcp, ether(expr.OpEq, 2, 0, 0, 0, 0, 1), dport(expr.OpEq, 22, 0))},
	)
}

func TestEtherSaddrText(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		want string
	}{
		{rule(ether(expr.OpEq, 0, 0x11, 0x22, 0x33, 0x44, 0x55)), "ether saddr 00:11:22:33:44:55"},
		{rule(ether(expr.OpNeq, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff)), "ether saddr != aa:bb:cc:dd:ee:ff"},
	} {
		if diff := cmp.Diff(tc.want, tc.r.String()); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.r.Matches, diff)
		}
	}
}

// The bytes are nft 1.0.6's for "ether saddr 00:11:22:33:44:55" in an ip
// table (nft --debug=netlink): the iiftype test nft adds, then the load.
func TestEtherSaddrLowerLines(t *testing.T) {
	b, err := rule(ether(expr.OpNeq, 0, 0x11, 0x22, 0x33, 0x44, 0x55)).Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	got, err := expr.DebugLines(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[ meta load iiftype => reg 1 ]",
		"[ cmp eq reg 1 0x00000001 ]",
		"[ payload load 6b @ link header + 6 => reg 1 ]",
		"[ cmp neq reg 1 0x33221100 0x00005544 ]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
