package expr_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
)

func netmap(t expr.NATType, prefix string) expr.Stmt {
	return expr.Netmap{Type: t, Prefix: netip.MustParsePrefix(prefix)}
}

// The netmap cases, with the nft text each renders as; they join every
// wire test (Lower against nft's bytes, DebugLines, Raise of nft's bytes,
// of Lower's and of the kernel's dumps) as the statement cases do.
var netmapCases = []struct {
	name string
	rule expr.Rule
	text string
}{
	{"netmap snat", stmts(nil, netmap(expr.SNAT, "192.0.2.0/24")), "snat prefix to 192.0.2.0/24"},
	{"netmap dnat", stmts(nil, netmap(expr.DNAT, "10.0.0.0/8")), "dnat prefix to 10.0.0.0/8"},
	{"netmap one address", stmts(nil, netmap(expr.DNAT, "10.1.2.3/32")), "dnat prefix to 10.1.2.3/32"},
	{"netmap everything", stmts(nil, netmap(expr.SNAT, "0.0.0.0/0")), "snat prefix to 0.0.0.0/0"},
	{"netmap odd prefix", stmts([]expr.Match{tcp}, netmap(expr.SNAT, "10.1.2.0/23")), "meta l4proto tcp snat prefix to 10.1.2.0/23"},
	{"netmap6 snat", stmts(nil, netmap(expr.SNAT, "2001:db8:2::/64")), "snat prefix to 2001:db8:2::/64"},
	{"netmap6 dnat", stmts(nil, netmap(expr.DNAT, "2001:db8::/36")), "dnat prefix to 2001:db8::/36"},
	{"netmap6 one address", stmts(nil, netmap(expr.DNAT, "2001:db8::5/128")), "dnat prefix to 2001:db8::5/128"},
	{"inet netmap", stmts([]expr.Match{nfIPv4}, netmap(expr.SNAT, "192.0.2.0/24")), "meta nfproto ipv4 snat ip prefix to 192.0.2.0/24"},
	{"inet netmap6", stmts([]expr.Match{nfIPv6}, netmap(expr.DNAT, "2001:db8::/64")), "meta nfproto ipv6 dnat ip6 prefix to 2001:db8::/64"},
	{"counter netmap", expr.Rule{Counter: true, Stmts: []expr.Stmt{netmap(expr.DNAT, "10.0.0.0/24")}}, "counter dnat prefix to 10.0.0.0/24"},
}

func init() {
	for _, c := range netmapCases {
		moreWireCases = append(moreWireCases, wireCase{c.name, c.rule})
	}
}

func TestNetmapText(t *testing.T) {
	for _, c := range netmapCases {
		if got := c.rule.String(); got != c.text {
			t.Errorf("%s: %q, want %q", c.name, got, c.text)
		}
	}
}

// nft 1.0.6 sends the first and the last address of the prefix, both even
// for a /32, and NF_NAT_RANGE_NETMAP alone; the kernel dumps it with
// NF_NAT_RANGE_MAP_IPS added, which Raise reads back.
func TestNetmapLowerLines(t *testing.T) {
	b, err := stmts(nil, netmap(expr.SNAT, "10.1.2.3/32")).Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	lines, _ := expr.DebugLines(b)
	want := []string{
		"[ immediate reg 1 0x0302010a ]",
		"[ immediate reg 2 0x0302010a ]",
		"[ nat snat ip addr_min reg 1 addr_max reg 2 flags 0x40 ]",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("DebugLines (-want +got):\n%s", diff)
	}
}

// Lower refuses a netmap it cannot send for its meaning.
func TestNetmapLowerRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		f    expr.Family
		r    expr.Rule
		want string
	}{
		{"netmap6 in ip", expr.FamilyIP, stmts(nil, netmap(expr.SNAT, "2001:db8::/64")), "other family"},
		{"host bits", expr.FamilyIP, stmts(nil, netmap(expr.SNAT, "10.0.0.5/24")), "host bits"},
		{"no prefix", expr.FamilyIP, stmts(nil, expr.Netmap{Type: expr.DNAT}), "without a prefix"},
		{"nat type", expr.FamilyIP, stmts(nil, expr.Netmap{Type: 2, Prefix: netip.MustParsePrefix("10.0.0.0/8")}), "nat type 2"},
	} {
		_, err := c.r.Lower(c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Lower: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// nft's other spellings of a netmap give the same statement (the address
// written with host bits, the family written in an ip table); a nat to the
// same range without "prefix" is an address range, no netmap. (nft 1.0.6
// takes no dotted mask and no ports after "prefix to".)
func TestNetmapNftSpellings(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	same := []struct {
		text string
		want expr.Stmt
	}{
		{"snat ip prefix to 10.0.0.7/24", netmap(expr.SNAT, "10.0.0.0/24")},
		{"dnat prefix to 10.0.255.255/16", netmap(expr.DNAT, "10.0.0.0/16")},
		{"snat to 10.0.0.0/24", nat(expr.SNAT, "10.0.0.0", "10.0.0.255", 0, 0, 0)},
	}
	var texts []string
	for _, s := range same {
		texts = append(texts, s.text)
	}
	sent := nftSends(t, ns, nftScript("ip", texts...))
	if len(sent) != len(texts) {
		t.Fatalf("nft sent %d rules for %d texts", len(sent), len(texts))
	}
	for i, s := range same {
		got, err := expr.Raise(expr.FamilyIP, sent[i].exprs)
		if err != nil {
			t.Errorf("%q: Raise: %v", s.text, err)
			continue
		}
		if diff := cmp.Diff([]expr.Stmt{s.want}, got.Stmts, cmpAddr); diff != "" {
			t.Errorf("%q: Raise (-want +got):\n%s", s.text, diff)
		}
	}
}

// Raise refuses a netmap whose two addresses are not one prefix's first and
// last, which nft's text cannot write.
func TestNetmapRaiseRefusesHoles(t *testing.T) {
	good, err := stmts(nil, netmap(expr.DNAT, "10.0.0.0/24")).Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := expr.Raise(expr.FamilyIP, good); err != nil {
		t.Fatalf("Raise of Lower's bytes: %v", err)
	}
	for _, last := range [][]byte{{10, 0, 0, 254}, {10, 255, 0, 255}} {
		bad := slices.Clone(good)
		i := bytesIndex(bad, []byte{10, 0, 0, 255})
		if i < 0 {
			t.Fatal("the last address is not in Lower's bytes")
		}
		copy(bad[i:], last)
		if r, err := expr.Raise(expr.FamilyIP, bad); err == nil || !strings.Contains(err.Error(), "not one prefix") {
			t.Errorf("last address %v: Raise gives %v, %v; want a refusal", last, r, err)
		}
	}
}

func bytesIndex(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if slices.Equal(b[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
