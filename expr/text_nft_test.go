package expr_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/internal/nftforms"
)

// nftFamilies are the table families the rules are loaded into.
var nftFamilies = []string{"ip", "ip6", "inet"}

// fitsFamily reports whether nft takes the rule in a table of the family:
// IPv4 address keys only in ip and inet, IPv6 address keys only in ip6 and
// inet, meta nfproto only in inet.
func fitsFamily(r expr.Rule, family string) bool {
	if !stmtsFit(r, family) {
		return false
	}
	for _, m := range r.Matches {
		switch m := m.(type) {
		case expr.Nfproto:
			if family != "inet" {
				return false
			}
		case expr.Exthdr:
			if family != "ip6" {
				return false // ip refuses it; inet needs meta nfproto ipv6 first
			}
		case expr.Payload:
			if m.Field == expr.FieldIPFragOff && family != "ip" {
				return false // ip6 refuses it; inet needs meta nfproto ipv4 first
			}
			v4, v6 := m.Field == expr.FieldIPTTL || m.Field == expr.FieldIPLength, m.Field == expr.FieldIP6HopLimit || m.Field == expr.FieldIP6Length
			if v4 && family == "ip6" || v6 && family == "ip" {
				return false // the other family's header
			}
			if (v4 || v6) && family == "inet" && !slices.ContainsFunc(r.Matches, func(m expr.Match) bool { _, ok := m.(expr.Nfproto); return ok }) {
				return false // nft puts meta nfproto before it
			}
		case expr.IPAddr:
			// inet tables need meta nfproto first.
			if m.Addr.Is4() && family != "ip" || !m.Addr.Is4() && family != "ip6" {
				return false
			}
		case expr.IPRange:
			if m.Lo.Is4() && family != "ip" || !m.Lo.Is4() && family != "ip6" {
				return false
			}
		case expr.Ct:
			switch m.Key {
			case expr.CtSrcIP, expr.CtDstIP:
				if family == "ip6" {
					return false
				}
			case expr.CtSrcIP6, expr.CtDstIP6:
				if family == "ip" {
					return false
				}
			}
		}
	}
	return true
}

// nftRuleText is the text a case loads in a table of the family: its
// rendering, after "ct original protocol 6 " when it matches a port, since nft
// 1.0.6 parses a port match only after an L4 protocol equality; in inet tables
// that equality itself needs "meta nfproto ipv4 " (or ipv6) before it.
func nftRuleText(r expr.Rule, family string) string {
	prefix, v6 := "", false
	for _, m := range r.Matches {
		if c, ok := m.(expr.Ct); ok {
			switch c.Key {
			case expr.CtProtoSrc, expr.CtProtoDst:
				prefix = "ct original protocol 6 "
			case expr.CtSrcIP6, expr.CtDstIP6:
				v6 = true
			}
		}
	}
	if prefix != "" && family == "inet" {
		if v6 {
			prefix = "meta nfproto ipv6 " + prefix
		} else {
			prefix = "meta nfproto ipv4 " + prefix
		}
	}
	return prefix + r.String()
}

// nftScript is an nft -f input that adds each rule to chain c of table t of
// the family; the rules are on lines 4 on.
func nftScript(family string, rules ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "add table %[1]s t\nadd chain %[1]s t c\nadd chain %[1]s t target\n", family)
	for _, r := range rules {
		fmt.Fprintf(&b, "add rule %s t c %s\n", family, r)
	}
	return b.String()
}

// Every case that nft 1.0.6 can express loads, in every family that takes it;
// every other case is refused, at the rule.
func TestTextLoadsInNft(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	for _, family := range nftFamilies {
		var cases []textCase
		var rules []string
		for _, tc := range textCases {
			if !tc.rejected && fitsFamily(tc.rule, family) {
				cases = append(cases, tc)
				rules = append(rules, nftRuleText(tc.rule, family))
			}
		}
		if len(cases) == 0 {
			t.Fatalf("no case for family %s", family)
		}
		_, stderr, err := ktest.Exec(ns, nftScript(family, rules...), "nft", "-f", "-")
		if err == nil {
			continue
		}
		// The batch is atomic: find the rules that fail on their own.
		found := false
		for i, tc := range cases {
			if _, stderr, err := ktest.Exec(ns, nftScript(family, rules[i]), "nft", "-f", "-"); err != nil {
				t.Errorf("%s: nft refused %q in family %s: %v\n%s", tc.name, rules[i], family, err, stderr)
				found = true
			}
		}
		if !found {
			t.Errorf("nft refused the %s batch, although each rule loads alone: %v\n%s", family, err, stderr)
		}
	}
	for _, tc := range textCases {
		if !tc.rejected {
			continue
		}
		family := ""
		for _, f := range nftFamilies {
			if fitsFamily(tc.rule, f) {
				family = f
				break
			}
		}
		rule := nftRuleText(tc.rule, family)
		_, stderr, err := ktest.Exec(ns, nftScript(family, rule), "nft", "-f", "-")
		switch {
		case err == nil:
			t.Errorf("%s: nft loaded %q in family %s, want it refused", tc.name, rule, family)
		case !strings.HasPrefix(stderr, "/dev/stdin:4:"):
			t.Errorf("%s: nft refused %q in family %s, but not at the rule:\n%s", tc.name, rule, family, stderr)
		}
	}
}

// nftDebug returns the expressions nft sends for text in a table of the
// family, as nft --debug=netlink prints them.
func nftDebug(t *testing.T, ns *netns.NS, family, text string) []string {
	t.Helper()
	out := ktest.Run(t, ns, nftScript(family, text), "nft", "--debug=netlink", "-f", "-")
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  [") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

// word is how nft --debug=netlink prints the 4 bytes b: as a native uint32.
func word(b []byte) string { return fmt.Sprintf("0x%08x", binary.NativeEndian.Uint32(b)) }

// hostWord and bigWord print v stored in host order and big endian.
func hostWord(v uint32) string { return word(binary.NativeEndian.AppendUint32(nil, v)) }
func bigWord(v uint32) string  { return word(binary.BigEndian.AppendUint32(nil, v)) }

// The text means the IR: the time values of every expiration case load as the
// intended milliseconds (exact compares in host order, ranges after byteorder
// in big endian, as nft 1.0.6 sends them), and the empty masks, /0 prefixes and
// flag tests give nft the bitwise and cmp the IR describes.
func TestTextNftMeaning(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	nf := newForms(t)
	const (
		load = "[ ct load expiration => reg 1 ]"
		hton = "[ byteorder reg 1 = hton(reg 1, 4, 4) ]"
	)
	n := 0
	for _, tc := range textCases {
		if tc.rejected || len(tc.rule.Matches) != 1 {
			continue
		}
		c, ok := tc.rule.Matches[0].(expr.Ct)
		if !ok || c.Key != expr.CtExpiration {
			continue
		}
		var want []string
		switch c.Op {
		case expr.OpEq:
			want = []string{load, "[ cmp eq reg 1 " + hostWord(c.Lo) + " ]"}
		case expr.OpNeq:
			want = []string{load, "[ cmp neq reg 1 " + hostWord(c.Lo) + " ]"}
		case expr.OpRange:
			want = []string{load, hton, "[ cmp gte reg 1 " + bigWord(c.Lo) + " ]", "[ cmp lte reg 1 " + bigWord(c.Hi) + " ]"}
		case expr.OpNotRange:
			want = []string{load, hton, "[ range neq reg 1 " + bigWord(c.Lo) + " " + bigWord(c.Hi) + " ]"}
		}
		got := nftDebug(t, ns, "ip", tc.rule.String())
		if nf {
			// nft 1.1.2's forms of ranges (internal/nftforms).
			want, got = nftforms.Lines(want), nftforms.Lines(got)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: nft sends for %q (-want +got):\n%s", tc.name, tc.rule, diff)
		}
		n++
	}
	if n < 10 {
		t.Errorf("only %d expiration cases checked", n)
	}

	const (
		zero  = "0x00000000"
		zero6 = zero + " " + zero + " " + zero + " " + zero
	)
	for _, tc := range []struct {
		name   string // of a case in textCases
		family string
		want   []string
	}{
		{"state any empty", "ip", []string{
			"[ ct load state => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & " + zero + " ) ^ " + zero + " ]",
			"[ cmp neq reg 1 " + zero + " ]",
		}},
		{"status none empty", "ip", []string{
			"[ ct load status => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & " + zero + " ) ^ " + zero + " ]",
			"[ cmp eq reg 1 " + zero + " ]",
		}},
		{"state none new,related", "ip", []string{
			"[ ct load state => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & " + hostWord(0x0c) + " ) ^ " + zero + " ]",
			"[ cmp eq reg 1 " + zero + " ]",
		}},
		{"status any unnamed", "ip", []string{
			"[ ct load status => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & " + hostWord(0x200) + " ) ^ " + zero + " ]",
			"[ cmp neq reg 1 " + zero + " ]",
		}},
		{"status none named and unnamed", "ip6", []string{
			"[ ct load status => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & " + hostWord(0x211) + " ) ^ " + zero + " ]",
			"[ cmp eq reg 1 " + zero + " ]",
		}},
		{"ip /0", "ip", []string{
			"[ ct load dst_ip => reg 1 , dir reply ]",
			"[ bitwise reg 1 = ( reg 1 & " + zero + " ) ^ " + zero + " ]",
			"[ cmp eq reg 1 " + zero + " ]",
		}},
		{"ip neq /0", "inet", []string{
			"[ ct load src_ip => reg 1 , dir original ]",
			"[ bitwise reg 1 = ( reg 1 & " + zero + " ) ^ " + zero + " ]",
			"[ cmp neq reg 1 " + zero + " ]",
		}},
		{"ip6 /0", "ip6", []string{
			"[ ct load dst_ip6 => reg 1 , dir reply ]",
			"[ bitwise reg 1 = ( reg 1 & " + zero6 + " ) ^ " + zero6 + " ]",
			"[ cmp eq reg 1 " + zero6 + " ]",
		}},
		{"ip6 neq /0", "inet", []string{
			"[ ct load src_ip6 => reg 1 , dir original ]",
			"[ bitwise reg 1 = ( reg 1 & " + zero6 + " ) ^ " + zero6 + " ]",
			"[ cmp neq reg 1 " + zero6 + " ]",
		}},
		{"ip host bits outside prefix", "ip", []string{
			"[ ct load src_ip => reg 1 , dir original ]",
			"[ bitwise reg 1 = ( reg 1 & " + word([]byte{255, 0, 0, 0}) + " ) ^ " + zero + " ]",
			"[ cmp eq reg 1 " + word([]byte{10, 1, 2, 3}) + " ]",
		}},
		{"protocol eq", "ip", []string{
			"[ ct load protocol => reg 1 , dir original ]",
			"[ cmp eq reg 1 " + word([]byte{6, 0, 0, 0}) + " ]",
		}},
		{"direction neq reply", "ip", []string{
			"[ ct load direction => reg 1 ]",
			"[ cmp neq reg 1 " + word([]byte{1, 0, 0, 0}) + " ]",
		}},
	} {
		r, ok := findCase(tc.name)
		if !ok {
			t.Errorf("no case named %q", tc.name)
			continue
		}
		if diff := cmp.Diff(tc.want, nftDebug(t, ns, tc.family, r.String())); diff != "" {
			t.Errorf("%s: nft sends for %q (-want +got):\n%s", tc.name, r, diff)
		}
	}
}

func findCase(name string) (expr.Rule, bool) {
	for _, tc := range textCases {
		if tc.name == name {
			return tc.rule, true
		}
	}
	return expr.Rule{}, false
}
