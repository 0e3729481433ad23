package expr_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

// Each address match has nft's text, and lowering then raising gives it
// back; a match of the other family's table is refused.
func TestIPAddr(t *testing.T) {
	a := netip.MustParseAddr
	for _, c := range []struct {
		fam  expr.Family
		m    expr.IPAddr
		text string
	}{
		{expr.FamilyIP, expr.IPAddr{Op: expr.OpEq, Addr: a("10.0.0.0"), Mask: a("255.0.0.0")}, "ip saddr 10.0.0.0/8"},
		{expr.FamilyIP, expr.IPAddr{Dst: true, Op: expr.OpNeq, Addr: a("10.1.2.3"), Mask: a("255.255.255.255")}, "ip daddr != 10.1.2.3"},
		{expr.FamilyInet, expr.IPAddr{Op: expr.OpNeq, Addr: a("10.16.0.0"), Mask: a("255.240.0.0")}, "ip saddr != 10.16.0.0/12"},
		{expr.FamilyIP, expr.IPAddr{Dst: true, Op: expr.OpEq, Addr: a("10.0.5.0"), Mask: a("255.0.255.0")}, "ip daddr & 255.0.255.0 == 10.0.5.0"},
		{expr.FamilyIP6, expr.IPAddr{Op: expr.OpEq, Addr: a("2001:db8::"), Mask: a("ffff:ffff::")}, "ip6 saddr 2001:db8::/32"},
		{expr.FamilyInet, expr.IPAddr{Dst: true, Op: expr.OpNeq, Addr: a("fe80::"), Mask: a("ffc0::")}, "ip6 daddr != fe80::/10"},
		{expr.FamilyIP6, expr.IPAddr{Dst: true, Op: expr.OpEq, Addr: a("2001::"), Mask: a("ffff:0:ffff::")}, "ip6 daddr & ffff:0:ffff:: == 2001::"},
	} {
		if got := c.m.String(); got != c.text {
			t.Errorf("%#v: text %q, want %q", c.m, got, c.text)
		}
		r := expr.Rule{Matches: []expr.Match{c.m}}
		b, err := r.Lower(c.fam)
		if err != nil {
			t.Errorf("%s: Lower(%v): %v", c.text, c.fam, err)
			continue
		}
		back, err := expr.Raise(c.fam, b)
		if err != nil {
			t.Errorf("%s: Raise: %v", c.text, err)
			continue
		}
		if diff := cmp.Diff(r.String(), back.String()); diff != "" {
			t.Errorf("%s: raised back (-want +got):\n%s", c.text, diff)
		}
		if len(back.Matches) != 1 || back.Matches[0] != expr.Match(c.m) {
			t.Errorf("%s: raised %#v", c.text, back.Matches)
		}
	}
	for _, c := range []struct {
		fam expr.Family
		m   expr.IPAddr
	}{
		{expr.FamilyIP6, expr.IPAddr{Op: expr.OpEq, Addr: a("10.0.0.1"), Mask: a("255.255.255.255")}},
		{expr.FamilyIP, expr.IPAddr{Op: expr.OpEq, Addr: a("::1"), Mask: a("ffff::")}},
		{expr.FamilyIP, expr.IPAddr{Op: expr.OpEq, Addr: a("10.0.0.1"), Mask: a("ffff::")}},
		{expr.FamilyIP, expr.IPAddr{Op: expr.OpRange, Addr: a("10.0.0.1"), Mask: a("255.255.255.255")}},
	} {
		if _, err := (expr.Rule{Matches: []expr.Match{c.m}}).Lower(c.fam); err == nil {
			t.Errorf("Lower(%v) of %#v: no error", c.fam, c.m)
		}
	}
}

// A one-byte load at network header + 8 is IPv4's ttl or the first byte of
// IPv6's source: the table's family, or in an inet table the meta nfproto
// before it, says which.
func TestRaiseByteEightByFamily(t *testing.T) {
	a := netip.MustParseAddr
	for _, c := range []struct {
		fam expr.Family
		r   expr.Rule
	}{
		{expr.FamilyIP6, expr.Rule{Matches: []expr.Match{expr.IPAddr{Op: expr.OpEq, Addr: a("2000::"), Mask: a("ff00::")}}}},
		{expr.FamilyInet, expr.Rule{Matches: []expr.Match{expr.Nfproto{Family: expr.FamilyIP6}, expr.IPAddr{Op: expr.OpEq, Addr: a("2000::"), Mask: a("ff00::")}}}},
		{expr.FamilyIP, expr.Rule{Matches: []expr.Match{expr.Payload{Field: expr.FieldIPTTL, Op: expr.OpEq, Lo: 32}}}},
		{expr.FamilyInet, expr.Rule{Matches: []expr.Match{expr.Nfproto{Family: expr.FamilyIP}, expr.Payload{Field: expr.FieldIPTTL, Op: expr.OpEq, Lo: 32}}}},
	} {
		b, err := c.r.Lower(c.fam)
		if err != nil {
			t.Errorf("%s: Lower(%v): %v", c.r, c.fam, err)
			continue
		}
		back, err := expr.Raise(c.fam, b)
		if err != nil {
			t.Errorf("%s in %v: Raise: %v", c.r, c.fam, err)
			continue
		}
		if diff := cmp.Diff(c.r.String(), back.String()); diff != "" {
			t.Errorf("%v: raised back (-want +got):\n%s", c.fam, diff)
		}
	}
}
