package ctmatch_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/parse"
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

// -o json refuses a rule whose words hold bytes that are not UTF-8 (a
// latin-1 comment), at the first such byte: a JSON string would carry
// U+FFFD in their place, and nft would load other bytes than -o nft gives.
func TestJSONRefusesBytesNotUTF8(t *testing.T) {
	r, err := ctmatch.Translate("-A INPUT -m comment --comment \"caf\xe9 au lait\" -j ACCEPT", ctmatch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	d := ctmatch.NewJSONDoc(&b)
	err = ctmatch.WriteJSONCommands(d, r, "filter", "INPUT", -1, -1)
	var pe *parse.Error
	if !errors.As(err, &pe) || pe.Kind != parse.Unsupported || pe.Pos != 34 || !strings.Contains(pe.Msg, "not UTF-8") {
		t.Fatalf("error %v; want Unsupported at col 35 (the byte 0xe9)", err)
	}
	if d.Commands() != 0 {
		t.Errorf("%d commands written", d.Commands())
	}
	ok, err := ctmatch.Translate("-A INPUT -m comment --comment \"café au lait\" -j ACCEPT", ctmatch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ctmatch.WriteJSONCommands(d, ok, "filter", "INPUT", -1, -1); err != nil || d.Commands() != 1 {
		t.Errorf("a UTF-8 comment: %v, %d commands", err, d.Commands())
	}
}
