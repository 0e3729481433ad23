package compile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// extCover is one option form of a match of parse/ext.go that
// TestCasesComplete wants a case of, plain and negated, in each table
// of its families.
type extCover struct {
	key    string
	v4, v6 bool
}

// extRequired are the forms of the matches of parse/ext.go.
var extRequired = []extCover{
	{"length --length", true, true},
	{"length --length range", true, true},
	// The three shapes of an ip6tables length range (compile/length.go).
	{"length6 min>=40", false, true},
	{"length6 max<40", false, true},
	{"length6 min<40<=max", false, true},
	{"iprange --src-range", true, true},
	{"iprange --dst-range", true, true},
	{"mac --mac-source", true, true},
	{"policy --dir in --pol ipsec", true, true},
	{"policy --dir in --pol none", true, true},
	{"policy --dir out --pol ipsec", true, true},
	{"policy --dir out --pol none", true, true},
	{"ah --ahspi", true, true},
	{"ah6 --ahlen", false, true},
}

// extCovers returns the forms a match of parse/ext.go covers, and whether
// it is negated; ok is false for any other match.
func extCovers(m parse.Match, fam parse.Family) (keys []string, neg, ok bool) {
	switch m := m.(type) {
	case *parse.Length:
		o := m.Option
		keys = []string{"length --length"}
		if o.Min != o.Max {
			keys[0] += " range"
		}
		if fam == parse.IPv6 {
			switch {
			case o.Min >= 40:
				keys = append(keys, "length6 min>=40")
			case o.Max < 40:
				keys = append(keys, "length6 max<40")
			default:
				keys = append(keys, "length6 min<40<=max")
			}
		}
		return keys, o.Negated, true
	case *parse.MAC:
		return []string{"mac --mac-source"}, m.Option.Negated, true
	case *parse.AH:
		// Each option with its own "!": the key says which.
		keys = []string{"ah"}
		if o := m.SPI; o != nil {
			keys = append(keys, "ah --ahspi"+negKey(o.Negated))
		}
		if o := m.Len; o != nil && fam == parse.IPv6 {
			keys = append(keys, "ah6 --ahlen"+negKey(o.Negated))
		}
		return keys, false, true
	case *parse.Policy:
		// No option of the policy match takes "!": every form is
		// covered both ways by itself.
		return []string{m.String()[len("-m "):]}, false, true
	case *parse.IPRange:
		// Both options of one match: each is covered with its own "!";
		// report the source range's, and the destination range's when
		// it is alone.
		if o := m.Src; o != nil {
			return []string{"iprange --src-range"}, o.Negated, true
		}
		return []string{"iprange --dst-range"}, m.Dst.Negated, true
	}
	return nil, false, false
}

// negKey marks the key of a negated option whose match's other options
// are not negated with it.
func negKey(neg bool) string {
	if neg {
		return " !"
	}
	return ""
}

// checkExtCovered fails for each form of extRequired without a case.
func checkExtCovered(t *testing.T, covered func(key string, neg bool, tf expr.Family) bool) {
	t.Helper()
	for _, c := range extRequired {
		var tables []expr.Family
		if c.v4 {
			tables = append(tables, expr.FamilyIP)
		}
		if c.v6 {
			tables = append(tables, expr.FamilyIP6)
		}
		tables = append(tables, expr.FamilyInet)
		for _, neg := range []bool{false, true} {
			if neg && strings.HasPrefix(c.key, "policy ") {
				continue // no option of the policy match takes "!"
			}
			for _, tf := range tables {
				if !covered(c.key, neg, tf) && !(neg && covered(c.key+" !", false, tf)) {
					t.Errorf("no case for %s (negated %v) in an %v table", c.key, neg, tf)
				}
			}
		}
	}
}

// The length match comes back as the canonical words iptables-save
// prints, in its place among the rule's matches; an ip6tables range that
// two --length words give comes back as the one without "!".
func TestDecompileLengthWords(t *testing.T) {
	for _, tc := range []struct {
		fam         parse.Family
		table       expr.Family
		words, want string
	}{
		{parse.IPv4, expr.FamilyIP, "-m length --length 100 -j DROP", ""},
		{parse.IPv4, expr.FamilyInet, "-m length ! --length 0:99", ""},
		{parse.IPv4, expr.FamilyIP, "-p tcp -m length --length 0:99 -m tcp --dport 22 -m ttl --ttl-lt 3", ""},
		{parse.IPv4, expr.FamilyIP, "-m ttl --ttl-lt 3 -m length --length 5:9", ""},
		{parse.IPv6, expr.FamilyIP6, "-m length --length 1280:1500", ""},
		{parse.IPv6, expr.FamilyIP6, "-m length --length 0:39", ""},
		{parse.IPv6, expr.FamilyIP6, "-m length ! --length 5:39", ""},
		{parse.IPv6, expr.FamilyIP6, "-m length --length 0:1500", ""},
		{parse.IPv6, expr.FamilyIP6, "-m length ! --length 1501:65535", "-m length --length 0:1500"},
		{parse.IPv6, expr.FamilyInet, "-m length ! --length 20:100", ""},
		{parse.IPv6, expr.FamilyIP6, "-m length --length 0:65535", ""},
		{parse.IPv6, expr.FamilyIP6, "-m length ! --length 0:65535", ""},
		{parse.IPv6, expr.FamilyIP6, "-p udp -m udp --dport 53 -m length --length 512:65535 -j ACCEPT", ""},
	} {
		want := tc.want
		if want == "" {
			want = tc.words
		}
		checkDecompiles(t, tc.fam, tc.table, tc.words, want)
	}
}

// A test of the IPv6 payload length that no --length compiles to is not
// read as one.
func TestDecompileLengthRefuses(t *testing.T) {
	for _, m := range []expr.Match{
		// Payload lengths 0-65500: lengths 40-65535 and 0-4, every
		// length but 5-39, which ! --length 5:39 compiles to as
		// "ip6 length != 65501-65535": another test of the same packets,
		// which no --length gives.
		expr.Payload{Field: expr.FieldIP6Length, Op: expr.OpRange, Lo: 0, Hi: 65500},
		expr.Payload{Field: expr.FieldIPLength, Op: expr.OpEq, Mask: 0xff00, Lo: 0x100},
	} {
		fam := expr.FamilyIP
		if m.(expr.Payload).Field == expr.FieldIP6Length {
			fam = expr.FamilyIP6
		}
		_, _, err := compile.Decompile([]expr.Rule{{Matches: []expr.Match{m}}}, fam)
		if !errors.Is(err, compile.ErrNotUnderstood) {
			t.Errorf("%v: Decompile error %v, want ErrNotUnderstood", m, err)
		}
	}
}

// The iprange match comes back as the canonical words: a source range and
// the destination range after it as one match, any other order as two.
func TestDecompileIPRangeWords(t *testing.T) {
	for _, tc := range []struct {
		fam   parse.Family
		table expr.Family
		words string
	}{
		{parse.IPv4, expr.FamilyIP, "-m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.0.1.0-10.0.1.255 -j ACCEPT"},
		{parse.IPv4, expr.FamilyInet, "-m iprange ! --dst-range 10.0.1.5-10.0.1.5"},
		{parse.IPv4, expr.FamilyIP, "-p tcp -m iprange --src-range 0.0.0.0-127.255.255.255 -m tcp --dport 22"},
		{parse.IPv4, expr.FamilyIP, "-m iprange --src-range 1.1.1.1-1.1.1.2 -m iprange --src-range 1.1.1.2-1.1.1.3"},
		{parse.IPv6, expr.FamilyIP6, "-m iprange --dst-range ::1-::2 -m iprange --src-range ::3-::4"},
		{parse.IPv6, expr.FamilyInet, "-m length --length 1280 -m iprange ! --src-range 2001:db8::1-2001:db8::9"},
	} {
		checkDecompiles(t, tc.fam, tc.table, tc.words, tc.words)
	}
}

// The mac match comes back as the canonical words, in its place.
func TestDecompileMACWords(t *testing.T) {
	for _, tc := range []struct {
		fam   parse.Family
		table expr.Family
		words string
	}{
		{parse.IPv4, expr.FamilyIP, "-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT"},
		{parse.IPv4, expr.FamilyInet, "-A INPUT -i eth0 -p tcp -m mac ! --mac-source 02:00:00:00:00:01 -m tcp --dport 22"},
		{parse.IPv6, expr.FamilyIP6, "-A FORWARD -m mac ! --mac-source aa:bb:cc:dd:ee:ff -m length --length 1280"},
	} {
		want := tc.words[len("-A INPUT "):]
		if tc.words[3] == 'F' {
			want = tc.words[len("-A FORWARD "):]
		}
		checkDecompiles(t, tc.fam, tc.table, tc.words, want)
	}
}

// The policy match comes back as the canonical words, in its place.
func TestDecompilePolicyWords(t *testing.T) {
	for _, tc := range []struct {
		fam   parse.Family
		table expr.Family
		words string
	}{
		{parse.IPv4, expr.FamilyIP, "-m policy --dir in --pol ipsec -j ACCEPT"},
		{parse.IPv4, expr.FamilyInet, "-p udp -m udp --dport 500 -m policy --dir in --pol none -j ACCEPT"},
		{parse.IPv6, expr.FamilyIP6, "-m policy --dir out --pol ipsec -m conntrack --ctstate NEW"},
		{parse.IPv6, expr.FamilyInet, "-m policy --dir out --pol none -j DROP"},
	} {
		checkDecompiles(t, tc.fam, tc.table, tc.words, tc.words)
	}
}

// The ah match comes back as the canonical words: after -p ah in
// iptables, alone in ip6tables, in its place among the rule's matches.
func TestDecompileAHWords(t *testing.T) {
	for _, tc := range []struct {
		fam   parse.Family
		table expr.Family
		words string
	}{
		{parse.IPv4, expr.FamilyIP, "-p ah -m ah --ahspi 500 -j ACCEPT"},
		{parse.IPv4, expr.FamilyInet, "-p ah -m ah ! --ahspi 256:511"},
		{parse.IPv4, expr.FamilyIP, "-p ah -m ah"},
		{parse.IPv4, expr.FamilyIP, "-p ah -m length --length 100 -m ah ! --ahspi 0:4294967295"},
		{parse.IPv6, expr.FamilyIP6, "-m ah --ahspi 500 -j ACCEPT"},
		{parse.IPv6, expr.FamilyInet, "-m ah ! --ahspi 5:9 --ahlen 24 --ahres"},
		{parse.IPv6, expr.FamilyIP6, "-m length --length 1280 -m ah -m hl --hl-eq 1"},
		{parse.IPv6, expr.FamilyIP6, "-m ah ! --ahlen 16 -m conntrack --ctstate NEW"},
	} {
		checkDecompiles(t, tc.fam, tc.table, tc.words, tc.words)
	}
}
