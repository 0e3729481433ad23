package compile_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// A list of address types compiles to one rule per type, or to one test !=
// per type; its pieces decompile to the one match with the list, in the
// kernel's order, as iptables-save prints it.
func TestDecompileAddrtypeListWords(t *testing.T) {
	for _, tc := range []struct {
		table expr.Family
		words string
		n     int // the number of nft rules
	}{
		{expr.FamilyIP, "-m addrtype --dst-type LOCAL,BROADCAST -j ACCEPT", 2},
		{expr.FamilyInet, "-m addrtype ! --src-type BROADCAST,MULTICAST", 1},
		{expr.FamilyIP, "-m addrtype --src-type UNICAST,LOCAL ! --dst-type LOCAL,BROADCAST --limit-iface-out", 2},
		{expr.FamilyIP, "-m addrtype ! --src-type UNSPEC,LOCAL --dst-type UNICAST,BROADCAST,MULTICAST", 3},
		{expr.FamilyInet, "-m addrtype --src-type UNICAST,LOCAL --dst-type LOCAL,BROADCAST,MULTICAST -j DROP", 6},
		{expr.FamilyIP, "-p tcp -m multiport --ports 22,80 -m addrtype --dst-type BROADCAST,MULTICAST -m conntrack --ctstate NEW", 4},
		{expr.FamilyIP, "-p tcp -m addrtype --dst-type BROADCAST,MULTICAST -m multiport --ports 22,80", 4},
		{expr.FamilyIP, "-m addrtype --dst-type LOCAL -m addrtype --dst-type BROADCAST,MULTICAST", 2},
		{expr.FamilyIP, "-m addrtype ! --dst-type MULTICAST -m addrtype ! --dst-type LOCAL", 1},
		{expr.FamilyIP, "-m addrtype --dst-type UNSPEC,UNICAST,LOCAL,BROADCAST,ANYCAST,MULTICAST,BLACKHOLE,UNREACHABLE,PROHIBIT,THROW,NAT,XRESOLVE", 12},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{Family: parse.IPv4})
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		rules, err := compile.Rule(r, compile.Options{Table: tc.table, Family: parse.IPv4, Counter: true})
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		if len(rules) != tc.n {
			t.Errorf("%s: %d nft rules, want %d", tc.words, len(rules), tc.n)
		}
		back, _, err := compile.Decompile(rules, tc.table)
		if err != nil {
			t.Errorf("%s in %v: Decompile: %v", tc.words, tc.table, err)
			continue
		}
		if back.String() != tc.words {
			t.Errorf("%s in %v: decompiled as %q", tc.words, tc.table, back.String())
		}
	}
}
