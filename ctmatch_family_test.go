package ctmatch

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// Compile refuses words read for the other family (an ip6tables hl match
// compiled as iptables words would test the IPv6 header in an IPv4 rule),
// and a chain given twice, differently.
func TestCompileChecksFamilyAndChain(t *testing.T) {
	r, err := parse.ParseText("-m hl --hl-eq 1 -j DROP", parse.Options{Family: parse.IPv6})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(r, Options{}); err == nil || !strings.Contains(err.Error(), "read as ip6tables words, and is compiled as iptables words") {
		t.Errorf("Compile of ip6tables words as iptables: %v, want a refusal", err)
	}
	if _, err := Compile(r, Options{IPv6: true}); err != nil {
		t.Errorf("Compile of ip6tables words as ip6tables: %v", err)
	}
	n, err := parse.ParseText("-t nat -A PREROUTING -j NETMAP --to 10.0.0.0/8", parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(n, Options{Chain: "POSTROUTING"}); err == nil || !strings.Contains(err.Error(), `the words say -A PREROUTING, and Options.Chain POSTROUTING`) {
		t.Errorf("Compile with another chain than the words': %v, want a refusal", err)
	}
	if _, err := Compile(n, Options{Chain: "PREROUTING"}); err != nil {
		t.Errorf("Compile with the words' own chain: %v", err)
	}
}
