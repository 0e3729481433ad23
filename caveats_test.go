package ctmatch_test

import (
	"testing"

	"github.com/ctmatch/ctmatch"
)

// ip6tables' -p names the header after an AH header, nft's meta l4proto the
// AH header itself: every ip6tables -p but all and ah carries that caveat,
// at the -p words; iptables' -p (the IPv4 header's own field) none.
func TestCaveatsAH(t *testing.T) {
	for _, c := range []struct {
		words string
		ipv6  bool
		want  string // the caveat's word, "" for none
	}{
		{"-A INPUT -p tcp --dport 22 -j ACCEPT", true, "-p tcp"},
		{"-A INPUT ! -p udp -j DROP", true, "! -p udp"},
		{"-A INPUT -p ipv6-icmp -j ACCEPT", true, "-p ipv6-icmp"},
		{"-A INPUT -p tcp --dport 22 -j ACCEPT", false, ""},
		{"-A INPUT -p all -j ACCEPT", true, ""},
		{"-A INPUT -p ah -j DROP", true, ""},
		{"-A INPUT -m conntrack --ctstate NEW -j ACCEPT", true, ""},
	} {
		r, err := ctmatch.Translate(c.words, ctmatch.Options{IPv6: c.ipv6})
		if err != nil {
			t.Fatalf("%s: %v", c.words, err)
		}
		got := ""
		if len(r.Caveats) > 0 {
			got = r.Caveats[0].Word
		}
		if got != c.want || len(r.Caveats) > 1 {
			t.Errorf("%s (ipv6 %v): caveats %v, want one at %q", c.words, c.ipv6, r.Caveats, c.want)
		}
	}
}

// A ct port match without a protocol test before it has a text caveat at
// its option (nft 1.0.6 cannot parse its text), and no caveat of the rule
// itself: add rule and apply, which load it over netlink, say nothing.
func TestCtPortTextCaveat(t *testing.T) {
	for words, want := range map[string]string{
		"-A INPUT -m conntrack --ctstate NEW --ctorigdstport 22 -j ACCEPT":             "--ctorigdstport 22",
		"-A INPUT -m conntrack ! --ctrepldstport 1000:2000 -j ACCEPT":                  "! --ctrepldstport 1000:2000",
		"-A INPUT -m conntrack --ctproto tcp --ctorigdstport 22 -j ACCEPT":             "",
		"-A INPUT -m conntrack --ctproto 47 --ctorigdstport 22 -j ACCEPT":              "--ctorigdstport 22",
		"-A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT":              "",
		"-A INPUT -m conntrack --ctorigsrcport 1:2 -m conntrack --ctproto udp -j DROP": "--ctorigsrcport 1:2",
	} {
		r, err := ctmatch.Translate(words, ctmatch.Options{})
		if err != nil {
			t.Fatalf("%s: %v", words, err)
		}
		got := ""
		if len(r.TextCaveats) == 1 {
			got = r.TextCaveats[0].Word
		}
		if got != want || len(r.TextCaveats) > 1 || len(r.Caveats) != 0 {
			t.Errorf("%s: text caveats %v (at %q), caveats %v; want one at %q, or none for \"\"", words, r.TextCaveats, got, r.Caveats, want)
		}
	}
}
