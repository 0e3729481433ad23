package compile_test

import (
	"errors"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// The ttl and hl matches come back as the canonical words iptables-save
// prints, in their place among the rule's matches.
func TestDecompileHLWords(t *testing.T) {
	for _, tc := range []struct {
		fam   parse.Family
		table expr.Family
		words string
	}{
		{parse.IPv4, expr.FamilyIP, "-m ttl --ttl-eq 64 -j ACCEPT"},
		{parse.IPv4, expr.FamilyInet, "-m ttl ! --ttl-eq 64"},
		{parse.IPv4, expr.FamilyIP, "-m ttl --ttl-lt 5 -m ttl --ttl-gt 1"},
		{parse.IPv4, expr.FamilyIP, "-i eth0 -p tcp -m ttl --ttl-lt 5 -m tcp --dport 22 -j DROP"},
		{parse.IPv4, expr.FamilyIP, "-p tcp -m tcp --sport 1 -m ttl --ttl-gt 3 -m tcp --dport 2"},
		{parse.IPv4, expr.FamilyIP, "-p icmp -m ttl ! --ttl-eq 1 -m icmp --icmp-type 8"},
		{parse.IPv6, expr.FamilyIP6, "-p ipv6-icmp -m hl ! --hl-eq 255 -m icmp6 --icmpv6-type 136 -j RETURN"},
		{parse.IPv6, expr.FamilyInet, "-p udp -m udp --dport 53 -m hl --hl-gt 1"},
		{parse.IPv6, expr.FamilyIP6, "-m hl --hl-lt 2 -m conntrack --ctstate NEW"},
	} {
		checkDecompiles(t, tc.fam, tc.table, tc.words, tc.words)
	}
}

// An ordered comparison of the TTL that no ttl match makes is not read as one.
func TestDecompileHLRefuses(t *testing.T) {
	for _, m := range []expr.Match{
		expr.Payload{Field: expr.FieldIPTTL, Op: expr.OpRange, Lo: 1, Hi: 5},
		expr.Payload{Field: expr.FieldIPTTL, Op: expr.OpEq, Mask: 0xf0, Lo: 0x40},
	} {
		_, _, err := compile.Decompile([]expr.Rule{{Matches: []expr.Match{m}}}, expr.FamilyIP)
		if !errors.Is(err, compile.ErrNotUnderstood) {
			t.Errorf("%v: Decompile error %v, want ErrNotUnderstood", m, err)
		}
	}
}
