package parse_test

import (
	"net/netip"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// TestAddrStringInvalid checks that an Addr built by hand with a missing
// address or mask prints as netip.Addr.String does, as it always has.
func TestAddrStringInvalid(t *testing.T) {
	for _, c := range []struct {
		a    parse.Addr
		want string
	}{
		{parse.Addr{}, "invalid IP"},
		{parse.Addr{Mask: netip.MustParseAddr("255.255.255.0")}, "invalid IP/24"},
		{parse.Addr{Addr: netip.MustParseAddr("10.0.0.1")}, "10.0.0.1/0"},
		{parse.Addr{Addr: netip.MustParseAddr("10.0.0.1"), Mask: netip.MustParseAddr("255.0.255.0")}, "10.0.0.1/255.0.255.0"},
	} {
		if got := c.a.String(); got != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.a, got, c.want)
		}
	}
}
