// Package cases holds the iptables rules that ctmatch's tests share: the
// parser's own tests (parse/) run every case through the parser, and the
// kernel oracle (e2e/) runs every case through the installed iptables, so
// that the two can never drift apart.
//
// It is data only: no test dependencies, nothing that touches the system.
//
// Expected errors are marked inline, as go/parser's error_test.go does: the
// text of an InvalidCase holds Marker immediately before the word or item
// the error must point at, or at the very end when the error is "found end of
// rule". Rule strips the marker and returns the expected position.
package cases

import (
	"strings"

	"github.com/ctmatch/ctmatch/parse"
)

// ValidCase is a rule that iptables and ctmatch both accept.
type ValidCase struct {
	Name   string
	Family parse.Family
	Args   []string // the rule as argv words
	Want   string   // the canonical text: what iptables-save prints for the rule
}

// InvalidCase is a rule that ctmatch refuses, with the error it must give.
type InvalidCase struct {
	Name   string
	Family parse.Family
	Text   string // rule text with Marker where the error points
	Msg    string // a substring of the error message
}

// Marker marks where an Invalid case's error points.
const Marker = "/*ERR*/"

// Rule returns the case's rule text (the marker removed) and the position the
// marker stood at.
func (c InvalidCase) Rule() (text string, pos parse.Pos) {
	i := strings.Index(c.Text, Marker)
	if i < 0 {
		return c.Text, parse.NoPos
	}
	return c.Text[:i] + c.Text[i+len(Marker):], parse.Pos(i)
}

// Difference is a case on which the installed iptables, 1.8.9, does not
// behave as iptables 1.8.13 (the syntax ctmatch follows) does, or on which
// ctmatch is deliberately stricter than iptables. The kernel oracle checks
// each one against what 1.8.9 does, so that it says so the day the oracle
// changes.
type Difference struct {
	Name   string // the Name of a case in Valid, Invalid or Unsupported
	Reason string // why iptables 1.8.9 and ctmatch disagree
	// Accepts says whether iptables 1.8.9 accepts the rule. When it does,
	// Saves is the -A line iptables-save 1.8.9 then prints for it (rules
	// without -A are added with -A INPUT); when it does not, Says is part of
	// its error message.
	Accepts bool
	Saves   string
	Says    string
}

// argv splits s at blanks; for cases whose words hold none.
func argv(s string) []string { return strings.Fields(s) }

const (
	v4 = parse.IPv4
	v6 = parse.IPv6
)

// Valid holds every option of the conntrack and state matches, plain and
// negated, in every form of value iptables takes, and the rule frame around
// them.
var Valid = []ValidCase{
	// --ctstate: names in any case, abbreviations (the first name in
	// iptables' order that starts with the item), duplicates.
	{"ctstate/new", v4, argv("-m conntrack --ctstate NEW"), "-m conntrack --ctstate NEW"},
	{"ctstate/all", v4, argv("-m conntrack --ctstate INVALID,NEW,ESTABLISHED,RELATED,UNTRACKED,SNAT,DNAT"), "-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT"},
	{"ctstate/all-lower", v4, argv("-m conntrack --ctstate new,established,related,invalid,untracked,snat,dnat"), "-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT"},
	{"ctstate/mixed-case", v4, argv("-m conntrack --ctstate EsTaBlIsHeD,Related"), "-m conntrack --ctstate RELATED,ESTABLISHED"},
	{"ctstate/abbrev-est-n", v4, argv("-m conntrack --ctstate est,n"), "-m conntrack --ctstate NEW,ESTABLISHED"},
	{"ctstate/abbrev-S-is-SNAT", v4, argv("-m conntrack --ctstate S"), "-m conntrack --ctstate SNAT"},
	{"ctstate/abbrev-d", v4, argv("-m conntrack --ctstate d"), "-m conntrack --ctstate DNAT"},
	{"ctstate/abbrev-u", v4, argv("-m conntrack --ctstate u"), "-m conntrack --ctstate UNTRACKED"},
	{"ctstate/abbrev-r-i", v4, argv("-m conntrack --ctstate r,i"), "-m conntrack --ctstate INVALID,RELATED"},
	{"ctstate/abbrev-E", v4, argv("-m conntrack --ctstate E"), "-m conntrack --ctstate ESTABLISHED"},
	{"ctstate/abbrev-SN-DN", v4, argv("-m conntrack --ctstate SN,DN"), "-m conntrack --ctstate SNAT,DNAT"},
	{"ctstate/duplicates", v4, argv("-m conntrack --ctstate ESTABLISHED,NEW,ESTABLISHED"), "-m conntrack --ctstate NEW,ESTABLISHED"},
	{"ctstate/new-dnat", v4, argv("-m conntrack --ctstate NEW,DNAT"), "-m conntrack --ctstate NEW,DNAT"},
	{"ctstate/established-related-accept", v4, argv("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"), "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"},
	{"ctstate/negated", v4, argv("-m conntrack ! --ctstate NEW"), "-m conntrack ! --ctstate NEW"},
	{"ctstate/negated-list", v4, argv("-m conntrack ! --ctstate untracked,INVALID"), "-m conntrack ! --ctstate INVALID,UNTRACKED"},
	{"ctstate/negated-snat", v4, argv("-m conntrack ! --ctstate SNAT"), "-m conntrack ! --ctstate SNAT"},
	{"ctstate/equals", v4, argv("-m conntrack --ctstate=NEW,RELATED"), "-m conntrack --ctstate NEW,RELATED"},
	{"ctstate/ipv6", v6, argv("-m conntrack --ctstate INVALID -j DROP"), "-m conntrack --ctstate INVALID -j DROP"},

	// --ctproto: numbers (decimal, 0x hex, leading-0 octal) and names.
	{"ctproto/tcp", v4, argv("-m conntrack --ctproto tcp"), "-m conntrack --ctproto 6"},
	{"ctproto/TCP", v4, argv("-m conntrack --ctproto TCP"), "-m conntrack --ctproto 6"},
	{"ctproto/udp", v4, argv("-m conntrack --ctproto udp"), "-m conntrack --ctproto 17"},
	{"ctproto/UDP", v4, argv("-m conntrack --ctproto UDP"), "-m conntrack --ctproto 17"},
	{"ctproto/icmp", v4, argv("-m conntrack --ctproto icmp"), "-m conntrack --ctproto 1"},
	{"ctproto/sctp", v4, argv("-m conntrack --ctproto sctp"), "-m conntrack --ctproto 132"},
	{"ctproto/dccp", v4, argv("-m conntrack --ctproto dccp"), "-m conntrack --ctproto 33"},
	{"ctproto/udplite", v4, argv("-m conntrack --ctproto udplite"), "-m conntrack --ctproto 136"},
	{"ctproto/gre", v4, argv("-m conntrack --ctproto gre"), "-m conntrack --ctproto 47"},
	{"ctproto/esp", v4, argv("-m conntrack --ctproto esp"), "-m conntrack --ctproto 50"},
	{"ctproto/ah", v4, argv("-m conntrack --ctproto ah"), "-m conntrack --ctproto 51"},
	{"ctproto/decimal", v4, argv("-m conntrack --ctproto 6"), "-m conntrack --ctproto 6"},
	{"ctproto/one", v4, argv("-m conntrack --ctproto 1"), "-m conntrack --ctproto 1"},
	{"ctproto/hex", v4, argv("-m conntrack --ctproto 0x11"), "-m conntrack --ctproto 17"},
	{"ctproto/octal", v4, argv("-m conntrack --ctproto 017"), "-m conntrack --ctproto 15"},
	{"ctproto/255", v4, argv("-m conntrack --ctproto 255"), "-m conntrack --ctproto 255"},
	{"ctproto/hex-ff", v4, argv("-m conntrack --ctproto 0xff"), "-m conntrack --ctproto 255"},
	{"ctproto/octal-377", v4, argv("-m conntrack --ctproto 0377"), "-m conntrack --ctproto 255"},
	{"ctproto/ipv6-icmp", v6, argv("-m conntrack --ctproto ipv6-icmp"), "-m conntrack --ctproto 58"},
	{"ctproto/icmpv6", v6, argv("-m conntrack --ctproto icmpv6"), "-m conntrack --ctproto 58"},
	{"ctproto/icmpv6-in-iptables", v4, argv("-m conntrack --ctproto icmpv6"), "-m conntrack --ctproto 58"},
	{"ctproto/negated", v4, argv("-m conntrack ! --ctproto tcp"), "-m conntrack ! --ctproto 6"},
	{"ctproto/negated-number", v6, argv("-m conntrack ! --ctproto 17"), "-m conntrack ! --ctproto 17"},

	// Addresses: ADDR, ADDR/LEN (decimal, hex, octal), ADDR/MASK (contiguous
	// or not); host bits are kept.
	{"ctorigsrc/host", v4, argv("-m conntrack --ctorigsrc 10.0.0.1"), "-m conntrack --ctorigsrc 10.0.0.1"},
	{"ctorigsrc/prefix", v4, argv("-m conntrack --ctorigsrc 10.0.0.0/8"), "-m conntrack --ctorigsrc 10.0.0.0/8"},
	{"ctorigsrc/host-bits-kept", v4, argv("-m conntrack --ctorigsrc 10.1.2.3/8"), "-m conntrack --ctorigsrc 10.1.2.3/8"},
	{"ctorigsrc/slash32", v4, argv("-m conntrack --ctorigsrc 10.1.2.3/32"), "-m conntrack --ctorigsrc 10.1.2.3"},
	{"ctorigsrc/slash0", v4, argv("-m conntrack --ctorigsrc 10.1.2.3/0"), "-m conntrack --ctorigsrc 10.1.2.3/0"},
	{"ctorigsrc/any", v4, argv("-m conntrack --ctorigsrc 0.0.0.0/0"), "-m conntrack --ctorigsrc 0.0.0.0/0"},
	{"ctorigsrc/len-hex", v4, argv("-m conntrack --ctorigsrc 10.0.0.0/0x10"), "-m conntrack --ctorigsrc 10.0.0.0/16"},
	{"ctorigsrc/len-octal", v4, argv("-m conntrack --ctorigsrc 10.0.0.0/010"), "-m conntrack --ctorigsrc 10.0.0.0/8"},
	{"ctorigsrc/len-hex-32", v4, argv("-m conntrack --ctorigsrc 10.1.2.3/0x20"), "-m conntrack --ctorigsrc 10.1.2.3"},
	{"ctorigsrc/mask-24", v4, argv("-m conntrack --ctorigsrc 10.0.0.0/255.255.255.0"), "-m conntrack --ctorigsrc 10.0.0.0/24"},
	{"ctorigsrc/mask-25", v4, argv("-m conntrack --ctorigsrc 10.1.2.3/255.255.255.128"), "-m conntrack --ctorigsrc 10.1.2.3/25"},
	{"ctorigsrc/mask-1", v4, argv("-m conntrack --ctorigsrc 10.1.2.3/128.0.0.0"), "-m conntrack --ctorigsrc 10.1.2.3/1"},
	{"ctorigsrc/mask-0", v4, argv("-m conntrack --ctorigsrc 10.0.0.0/0.0.0.0"), "-m conntrack --ctorigsrc 10.0.0.0/0"},
	{"ctorigsrc/mask-32", v4, argv("-m conntrack --ctorigsrc 10.0.0.0/255.255.255.255"), "-m conntrack --ctorigsrc 10.0.0.0"},
	{"ctorigsrc/mask-non-contiguous", v4, argv("-m conntrack --ctorigsrc 10.1.2.3/255.0.255.0"), "-m conntrack --ctorigsrc 10.1.2.3/255.0.255.0"},
	{"ctorigsrc/negated", v4, argv("-m conntrack ! --ctorigsrc 192.168.0.0/16"), "-m conntrack ! --ctorigsrc 192.168.0.0/16"},
	{"ctorigdst/host", v4, argv("-m conntrack --ctorigdst 192.0.2.1"), "-m conntrack --ctorigdst 192.0.2.1"},
	{"ctorigdst/prefix", v4, argv("-m conntrack --ctorigdst 192.0.2.0/24"), "-m conntrack --ctorigdst 192.0.2.0/24"},
	{"ctorigdst/negated", v4, argv("-m conntrack ! --ctorigdst 192.0.2.1/255.255.255.0"), "-m conntrack ! --ctorigdst 192.0.2.1/24"},
	{"ctreplsrc/host", v4, argv("-m conntrack --ctreplsrc 198.51.100.7"), "-m conntrack --ctreplsrc 198.51.100.7"},
	{"ctreplsrc/negated", v4, argv("-m conntrack ! --ctreplsrc 198.51.100.0/0x18"), "-m conntrack ! --ctreplsrc 198.51.100.0/24"},
	{"ctrepldst/prefix", v4, argv("-m conntrack --ctrepldst 203.0.113.0/25"), "-m conntrack --ctrepldst 203.0.113.0/25"},
	{"ctrepldst/negated", v4, argv("-m conntrack ! --ctrepldst 203.0.113.9"), "-m conntrack ! --ctrepldst 203.0.113.9"},
	{"ctorigsrc/ipv6-prefix", v6, argv("-m conntrack --ctorigsrc 2001:db8::/32"), "-m conntrack --ctorigsrc 2001:db8::/32"},
	{"ctorigsrc/ipv6-host-bits-kept", v6, argv("-m conntrack --ctorigsrc 2001:db8::1/64"), "-m conntrack --ctorigsrc 2001:db8::1/64"},
	{"ctorigsrc/ipv6-any", v6, argv("-m conntrack --ctorigsrc ::/0"), "-m conntrack --ctorigsrc ::/0"},
	{"ctorigsrc/ipv6-mapped", v6, argv("-m conntrack --ctorigsrc ::ffff:1.2.3.4"), "-m conntrack --ctorigsrc ::ffff:1.2.3.4"},
	{"ctorigsrc/ipv6-upper-case", v6, argv("-m conntrack --ctorigsrc 2001:DB8::1"), "-m conntrack --ctorigsrc 2001:db8::1"},
	{"ctorigsrc/ipv6-slash128", v6, argv("-m conntrack --ctorigsrc 2001:db8::1/128"), "-m conntrack --ctorigsrc 2001:db8::1"},
	{"ctorigsrc/ipv6-len-hex", v6, argv("-m conntrack --ctorigsrc 2001:db8::1/0x40"), "-m conntrack --ctorigsrc 2001:db8::1/64"},
	{"ctorigsrc/ipv6-mask", v6, argv("-m conntrack --ctorigsrc 2001:db8::1/ffff:ffff::"), "-m conntrack --ctorigsrc 2001:db8::1/32"},
	{"ctorigsrc/ipv6-mask-zero", v6, argv("-m conntrack --ctorigsrc 2001:db8::1/::"), "-m conntrack --ctorigsrc 2001:db8::1/0"},
	{"ctorigsrc/ipv6-mask-non-contiguous", v6, argv("-m conntrack --ctorigsrc 2001:db8::1/ffff:0:ffff::"), "-m conntrack --ctorigsrc 2001:db8::1/ffff:0:ffff::"},
	{"ctorigsrc/ipv6-negated", v6, argv("-m conntrack ! --ctorigsrc fe80::/10"), "-m conntrack ! --ctorigsrc fe80::/10"},
	{"ctorigdst/ipv6", v6, argv("-m conntrack --ctorigdst 2001:db8::53"), "-m conntrack --ctorigdst 2001:db8::53"},
	{"ctreplsrc/ipv6-loopback", v6, argv("-m conntrack --ctreplsrc ::1"), "-m conntrack --ctreplsrc ::1"},
	{"ctrepldst/ipv6-negated", v6, argv("-m conntrack ! --ctrepldst 2001:db8::/48 --ctreplsrc ::1"), "-m conntrack --ctreplsrc ::1 ! --ctrepldst 2001:db8::/48"},

	// Ports: P, P:Q, :Q, P:, :, decimal only (010 is ten), service names.
	{"ctorigsrcport/single", v4, argv("-m conntrack --ctorigsrcport 1024"), "-m conntrack --ctorigsrcport 1024"},
	{"ctorigsrcport/range", v4, argv("-m conntrack --ctorigsrcport 1024:2048"), "-m conntrack --ctorigsrcport 1024:2048"},
	{"ctorigsrcport/to", v4, argv("-m conntrack --ctorigsrcport :1024"), "-m conntrack --ctorigsrcport 0:1024"},
	{"ctorigsrcport/from", v4, argv("-m conntrack --ctorigsrcport 1024:"), "-m conntrack --ctorigsrcport 1024:65535"},
	{"ctorigsrcport/all", v4, argv("-m conntrack --ctorigsrcport :"), "-m conntrack --ctorigsrcport 0:65535"},
	{"ctorigsrcport/equal-bounds", v4, argv("-m conntrack --ctorigsrcport 22:22"), "-m conntrack --ctorigsrcport 22"},
	{"ctorigsrcport/zero", v4, argv("-m conntrack --ctorigsrcport 0"), "-m conntrack --ctorigsrcport 0"},
	{"ctorigsrcport/zero-zero", v4, argv("-m conntrack --ctorigsrcport 0:0"), "-m conntrack --ctorigsrcport 0"},
	{"ctorigsrcport/max", v4, argv("-m conntrack --ctorigsrcport 65535"), "-m conntrack --ctorigsrcport 65535"},
	{"ctorigsrcport/full-range", v4, argv("-m conntrack --ctorigsrcport 0:65535"), "-m conntrack --ctorigsrcport 0:65535"},
	{"ctorigsrcport/leading-zero-is-decimal", v4, argv("-m conntrack --ctorigsrcport 010"), "-m conntrack --ctorigsrcport 10"},
	{"ctorigsrcport/negated", v4, argv("-m conntrack ! --ctorigsrcport 1:1023"), "-m conntrack ! --ctorigsrcport 1:1023"},
	{"ctorigdstport/ssh", v4, argv("-m conntrack --ctorigdstport ssh"), "-m conntrack --ctorigdstport 22"},
	{"ctorigdstport/domain", v4, argv("-m conntrack --ctorigdstport domain"), "-m conntrack --ctorigdstport 53"},
	{"ctorigdstport/service-range", v4, argv("-m conntrack --ctorigdstport ssh:http"), "-m conntrack --ctorigdstport 22:80"},
	{"ctorigdstport/service-from", v4, argv("-m conntrack --ctorigdstport http:"), "-m conntrack --ctorigdstport 80:65535"},
	{"ctorigdstport/service-to", v4, argv("-m conntrack --ctorigdstport :ssh"), "-m conntrack --ctorigdstport 0:22"},
	{"ctorigdstport/negated", v4, argv("-m conntrack ! --ctorigdstport 22"), "-m conntrack ! --ctorigdstport 22"},
	{"ctreplsrcport/http", v4, argv("-m conntrack --ctreplsrcport http"), "-m conntrack --ctreplsrcport 80"},
	{"ctreplsrcport/negated", v4, argv("-m conntrack ! --ctreplsrcport :1023"), "-m conntrack ! --ctreplsrcport 0:1023"},
	{"ctrepldstport/range", v4, argv("-m conntrack --ctrepldstport 32768:60999"), "-m conntrack --ctrepldstport 32768:60999"},
	{"ctrepldstport/negated", v4, argv("-m conntrack ! --ctrepldstport domain:"), "-m conntrack ! --ctrepldstport 53:65535"},
	{"ctorigdstport/ipv6", v6, argv("-m conntrack --ctorigdstport https"), "-m conntrack --ctorigdstport 443"},

	// --ctstatus: names in any case, abbreviations (S is SEEN_REPLY here),
	// NONE (the empty set).
	{"ctstatus/none", v4, argv("-m conntrack --ctstatus NONE"), "-m conntrack --ctstatus NONE"},
	{"ctstatus/none-lower", v4, argv("-m conntrack --ctstatus none"), "-m conntrack --ctstatus NONE"},
	{"ctstatus/abbrev-n-is-none", v4, argv("-m conntrack --ctstatus n"), "-m conntrack --ctstatus NONE"},
	{"ctstatus/none-twice", v4, argv("-m conntrack --ctstatus none,none"), "-m conntrack --ctstatus NONE"},
	{"ctstatus/none-and-assured", v4, argv("-m conntrack --ctstatus NONE,ASSURED"), "-m conntrack --ctstatus ASSURED"},
	{"ctstatus/abbrev-S-is-SEEN_REPLY", v4, argv("-m conntrack --ctstatus S"), "-m conntrack --ctstatus SEEN_REPLY"},
	{"ctstatus/abbrev-all", v4, argv("-m conntrack --ctstatus c,a,s,e"), "-m conntrack --ctstatus EXPECTED,SEEN_REPLY,ASSURED,CONFIRMED"},
	{"ctstatus/abbrev-words", v4, argv("-m conntrack --ctstatus EXP,SEEN,ASS,CONF"), "-m conntrack --ctstatus EXPECTED,SEEN_REPLY,ASSURED,CONFIRMED"},
	{"ctstatus/lower", v4, argv("-m conntrack --ctstatus seen_reply"), "-m conntrack --ctstatus SEEN_REPLY"},
	{"ctstatus/order", v4, argv("-m conntrack --ctstatus ASSURED,SEEN_REPLY"), "-m conntrack --ctstatus SEEN_REPLY,ASSURED"},
	{"ctstatus/expected", v4, argv("-m conntrack --ctstatus EXPECTED"), "-m conntrack --ctstatus EXPECTED"},
	{"ctstatus/negated-none", v4, argv("-m conntrack ! --ctstatus NONE"), "-m conntrack ! --ctstatus NONE"},
	{"ctstatus/negated", v4, argv("-m conntrack ! --ctstatus ASSURED"), "-m conntrack ! --ctstatus ASSURED"},

	// --ctexpire: A, A:B, :B, A:, :, in seconds (decimal, 0x hex, leading-0
	// octal).
	{"ctexpire/single", v4, argv("-m conntrack --ctexpire 10"), "-m conntrack --ctexpire 10"},
	{"ctexpire/range", v4, argv("-m conntrack --ctexpire 10:20"), "-m conntrack --ctexpire 10:20"},
	{"ctexpire/hex-from", v4, argv("-m conntrack --ctexpire 0x10:"), "-m conntrack --ctexpire 16:4294967295"},
	{"ctexpire/hex", v4, argv("-m conntrack --ctexpire 0x10"), "-m conntrack --ctexpire 16"},
	{"ctexpire/octal", v4, argv("-m conntrack --ctexpire 010"), "-m conntrack --ctexpire 8"},
	{"ctexpire/to", v4, argv("-m conntrack --ctexpire :5"), "-m conntrack --ctexpire 0:5"},
	{"ctexpire/from", v4, argv("-m conntrack --ctexpire 5:"), "-m conntrack --ctexpire 5:4294967295"},
	{"ctexpire/all", v4, argv("-m conntrack --ctexpire :"), "-m conntrack --ctexpire 0:4294967295"},
	{"ctexpire/equal-bounds", v4, argv("-m conntrack --ctexpire 3:3"), "-m conntrack --ctexpire 3"},
	{"ctexpire/zero", v4, argv("-m conntrack --ctexpire 0"), "-m conntrack --ctexpire 0"},
	{"ctexpire/zero-zero", v4, argv("-m conntrack --ctexpire 0:0"), "-m conntrack --ctexpire 0"},
	{"ctexpire/max", v4, argv("-m conntrack --ctexpire 4294967295"), "-m conntrack --ctexpire 4294967295"},
	{"ctexpire/max-hex", v4, argv("-m conntrack --ctexpire 0xffffffff"), "-m conntrack --ctexpire 4294967295"},
	{"ctexpire/full-range", v4, argv("-m conntrack --ctexpire 0:4294967295"), "-m conntrack --ctexpire 0:4294967295"},
	{"ctexpire/negated", v4, argv("-m conntrack ! --ctexpire 10:20"), "-m conntrack ! --ctexpire 10:20"},

	// --ctdir: whole words in any case; it cannot be negated.
	{"ctdir/original", v4, argv("-m conntrack --ctdir ORIGINAL"), "-m conntrack --ctdir ORIGINAL"},
	{"ctdir/reply", v4, argv("-m conntrack --ctdir REPLY"), "-m conntrack --ctdir REPLY"},
	{"ctdir/reply-lower", v4, argv("-m conntrack --ctdir reply"), "-m conntrack --ctdir REPLY"},
	{"ctdir/original-mixed", v4, argv("-m conntrack --ctdir Original"), "-m conntrack --ctdir ORIGINAL"},
	{"ctdir/prefix-option", v4, argv("-m conntrack --ctdi reply"), "-m conntrack --ctdir REPLY"},
	{"ctdir/equals", v6, argv("-m conntrack --ctdir=reply"), "-m conntrack --ctdir REPLY"},

	// -m state --state.
	{"state/new", v4, argv("-m state --state NEW"), "-m state --state NEW"},
	{"state/abbrev", v4, argv("-m state --state est,n"), "-m state --state NEW,ESTABLISHED"},
	{"state/abbrev-all", v4, argv("-m state --state N,E,R,I,U"), "-m state --state INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED"},
	{"state/negated", v4, argv("-m state ! --state INVALID"), "-m state ! --state INVALID"},
	{"state/prefix-option", v4, argv("-m state --sta NEW"), "-m state --state NEW"},
	{"state/equals", v4, argv("-m state --state=related,established -j ACCEPT"), "-m state --state RELATED,ESTABLISHED -j ACCEPT"},
	{"state/ipv6", v6, argv("-A INPUT -m state --state NEW -j ACCEPT"), "-A INPUT -m state --state NEW -j ACCEPT"},

	// Several matches in one rule.
	{"matches/two-conntrack", v4, argv("-m conntrack --ctstate NEW -m conntrack ! --ctstate INVALID -j ACCEPT"), "-m conntrack --ctstate NEW -m conntrack ! --ctstate INVALID -j ACCEPT"},
	{"matches/conntrack-and-state", v4, argv("-m conntrack --ctstate NEW -m state ! --state INVALID -j DROP"), "-m conntrack --ctstate NEW -m state ! --state INVALID -j DROP"},
	{"matches/state-and-conntrack", v6, argv("-m state --state ESTABLISHED -m conntrack --ctstate NEW,SNAT --ctdir REPLY"), "-m state --state ESTABLISHED -m conntrack --ctstate NEW,SNAT --ctdir REPLY"},

	// Every option at once, in scrambled order: printed in canonical order.
	{"all/scrambled", v4, argv("-A INPUT -m conntrack --ctdir REPLY --ctexpire 5:6 --ctstatus ASSURED --ctrepldstport 4 --ctreplsrcport 3 --ctorigdstport 22 --ctorigsrcport 1:2 --ctrepldst 192.168.0.0/16 --ctreplsrc 10.0.0.2 --ctorigdst 10.0.0.1 --ctorigsrc 10.0.0.0/8 --ctproto tcp --ctstate NEW -j ACCEPT"),
		"-A INPUT -m conntrack --ctstate NEW --ctproto 6 --ctorigsrc 10.0.0.0/8 --ctorigdst 10.0.0.1 --ctreplsrc 10.0.0.2 --ctrepldst 192.168.0.0/16 --ctorigsrcport 1:2 --ctorigdstport 22 --ctreplsrcport 3 --ctrepldstport 4 --ctstatus ASSURED --ctexpire 5:6 --ctdir REPLY -j ACCEPT"},
	{"all/scrambled-negated", v4, argv("-m conntrack --ctdir ORIGINAL ! --ctexpire 7 ! --ctstatus SEEN_REPLY ! --ctrepldstport 8 ! --ctreplsrcport 9: ! --ctorigdstport :10 ! --ctorigsrcport 11:12 ! --ctrepldst 10.0.0.4 ! --ctreplsrc 10.0.0.3/255.255.0.0 ! --ctorigdst 10.0.0.2/31 ! --ctorigsrc 10.0.0.1 ! --ctproto udp ! --ctstate INVALID,UNTRACKED -j DROP"),
		"-m conntrack ! --ctstate INVALID,UNTRACKED ! --ctproto 17 ! --ctorigsrc 10.0.0.1 ! --ctorigdst 10.0.0.2/31 ! --ctreplsrc 10.0.0.3/16 ! --ctrepldst 10.0.0.4 ! --ctorigsrcport 11:12 ! --ctorigdstport 0:10 ! --ctreplsrcport 9:65535 ! --ctrepldstport 8 ! --ctstatus SEEN_REPLY ! --ctexpire 7 --ctdir ORIGINAL -j DROP"},
	{"all/scrambled-ipv6", v6, argv("-A FORWARD -m conntrack --ctexpire 100: --ctrepldst 2001:db8::2 --ctorigsrc 2001:db8::/64 ! --ctproto icmpv6 --ctstatus EXPECTED,CONFIRMED --ctorigdstport 443 --ctstate RELATED -j ACCEPT"),
		"-A FORWARD -m conntrack --ctstate RELATED ! --ctproto 58 --ctorigsrc 2001:db8::/64 --ctrepldst 2001:db8::2 --ctorigdstport 443 --ctstatus EXPECTED,CONFIRMED --ctexpire 100:4294967295 -j ACCEPT"},

	// The rule frame: commands, targets, tables, long options.
	{"frame/append-accept", v4, argv("-A INPUT -m conntrack --ctstate NEW -j ACCEPT"), "-A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/append-drop", v4, argv("-A FORWARD -m conntrack --ctstate INVALID -j DROP"), "-A FORWARD -m conntrack --ctstate INVALID -j DROP"},
	{"frame/append-return", v4, argv("-A OUTPUT -m conntrack --ctstate NEW -j RETURN"), "-A OUTPUT -m conntrack --ctstate NEW -j RETURN"},
	{"frame/no-target", v4, argv("-A INPUT -m conntrack --ctstate NEW"), "-A INPUT -m conntrack --ctstate NEW"},
	{"frame/no-command", v4, argv("-m conntrack --ctstate NEW -j DROP"), "-m conntrack --ctstate NEW -j DROP"},
	{"frame/target-first", v4, argv("-A INPUT -j ACCEPT -m conntrack --ctstate NEW"), "-A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/jump-user-chain", v4, argv("-A INPUT -m conntrack --ctstate NEW -j MYCHAIN"), "-A INPUT -m conntrack --ctstate NEW -j MYCHAIN"},
	{"frame/goto-user-chain", v4, argv("-A INPUT -m conntrack --ctstate NEW -g MYCHAIN"), "-A INPUT -m conntrack --ctstate NEW -g MYCHAIN"},
	{"frame/goto-long", v4, argv("-A INPUT -m conntrack --ctstate NEW --goto MYCHAIN"), "-A INPUT -m conntrack --ctstate NEW -g MYCHAIN"},
	{"frame/user-chain-append", v4, argv("-A MYCHAIN -m conntrack --ctstate NEW -j RETURN"), "-A MYCHAIN -m conntrack --ctstate NEW -j RETURN"},
	{"frame/jump-chain-28-chars", v4, argv("-A INPUT -m conntrack --ctstate NEW -j ABCDEFGHIJKLMNOPQRSTUVWXYZAB"), "-A INPUT -m conntrack --ctstate NEW -j ABCDEFGHIJKLMNOPQRSTUVWXYZAB"},
	{"frame/jump-chain-with-quote", v4, []string{"-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "MY'CH"}, `-A INPUT -m conntrack --ctstate NEW -j "MY'CH"`},
	{"frame/insert", v4, argv("-I INPUT -m conntrack --ctstate NEW -j ACCEPT"), "-I INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/insert-index", v4, argv("-I INPUT 2 -m conntrack --ctstate NEW -j ACCEPT"), "-I INPUT 2 -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/insert-long-index", v4, argv("--insert INPUT 1 -m conntrack --ctstate NEW"), "-I INPUT 1 -m conntrack --ctstate NEW"},
	{"frame/long-options", v4, argv("--append INPUT --match conntrack --ctstate NEW --jump ACCEPT"), "-A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/long-prefixes", v4, argv("--app INPUT --ma conntrack --ctstate NEW --ju ACCEPT"), "-A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/long-equals", v4, argv("--append=INPUT --match=conntrack --ctstate=NEW"), "-A INPUT -m conntrack --ctstate NEW"},
	{"frame/short-attached", v4, argv("-AINPUT -mconntrack --ctstate NEW"), "-A INPUT -m conntrack --ctstate NEW"},
	{"frame/jump-equals", v4, argv("-A INPUT -m conntrack --ctstate NEW --jump=ACCEPT"), "-A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/jump-attached", v4, argv("-A INPUT -m conntrack --ctstate NEW -jDROP"), "-A INPUT -m conntrack --ctstate NEW -j DROP"},
	{"frame/table-filter", v4, argv("-t filter -A INPUT -m conntrack --ctstate NEW -j ACCEPT"), "-A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/table-nat-prerouting", v4, argv("-t nat -A PREROUTING -m conntrack --ctstate NEW -j ACCEPT"), "-t nat -A PREROUTING -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/table-nat-postrouting", v4, argv("-t nat -A POSTROUTING -m conntrack --ctstate DNAT -j RETURN"), "-t nat -A POSTROUTING -m conntrack --ctstate DNAT -j RETURN"},
	{"frame/table-nat-twice", v4, argv("-t nat -t nat -A OUTPUT -m conntrack --ctstate NEW"), "-t nat -A OUTPUT -m conntrack --ctstate NEW"},
	{"frame/table-last", v4, argv("-A INPUT -m conntrack --ctstate NEW -t nat"), "-t nat -A INPUT -m conntrack --ctstate NEW"},
	{"frame/table-mangle", v4, argv("-t mangle -A FORWARD -m conntrack --ctstate NEW -j RETURN"), "-t mangle -A FORWARD -m conntrack --ctstate NEW -j RETURN"},
	{"frame/table-mangle-prerouting", v4, argv("-t mangle -A PREROUTING -m conntrack --ctstatus ASSURED"), "-t mangle -A PREROUTING -m conntrack --ctstatus ASSURED"},
	{"frame/table-raw-prerouting", v4, argv("-t raw -A PREROUTING -m conntrack --ctstate UNTRACKED -j ACCEPT"), "-t raw -A PREROUTING -m conntrack --ctstate UNTRACKED -j ACCEPT"},
	{"frame/table-raw-output", v4, argv("--table raw -A OUTPUT -m conntrack --ctstate NEW -j DROP"), "-t raw -A OUTPUT -m conntrack --ctstate NEW -j DROP"},
	{"frame/table-security", v4, argv("-t security -A INPUT -m conntrack --ctstate NEW -j ACCEPT"), "-t security -A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"frame/ipv6-append", v6, argv("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"), "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"},
	{"frame/ipv6-nat", v6, argv("-t nat -A PREROUTING -m conntrack --ctorigdst 2001:db8::/64 -j RETURN"), "-t nat -A PREROUTING -m conntrack --ctorigdst 2001:db8::/64 -j RETURN"},

	// Options after -j, -g, -A, -t or another -m: iptables reads its words
	// with getopt, which permutes them, and each option belongs to the
	// last match loaded that defines it.
	{"permute/ctstate-after-jump", v4, argv("-A INPUT -m conntrack -j ACCEPT --ctstate NEW"), "-A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"permute/state-after-jump", v4, argv("-A INPUT -m state -j ACCEPT --state NEW"), "-A INPUT -m state --state NEW -j ACCEPT"},
	{"permute/ctstatus-after-jump", v4, argv("-A INPUT -m conntrack --ctstate NEW -j ACCEPT --ctstatus ASSURED"), "-A INPUT -m conntrack --ctstate NEW --ctstatus ASSURED -j ACCEPT"},
	{"permute/negated-after-jump", v4, argv("-A INPUT -m conntrack -j ACCEPT ! --ctstate NEW"), "-A INPUT -m conntrack ! --ctstate NEW -j ACCEPT"},
	{"permute/after-goto", v4, argv("-A INPUT -m conntrack -g MYCHAIN --ctdir REPLY"), "-A INPUT -m conntrack --ctdir REPLY -g MYCHAIN"},
	{"permute/after-append", v4, argv("-m conntrack -A INPUT --ctstate NEW -j DROP"), "-A INPUT -m conntrack --ctstate NEW -j DROP"},
	{"permute/after-table", v4, argv("-m conntrack -t nat --ctstate DNAT -A PREROUTING -j RETURN"), "-t nat -A PREROUTING -m conntrack --ctstate DNAT -j RETURN"},
	{"permute/state-option-after-conntrack", v4, argv("-A INPUT -m state -m conntrack --state NEW --ctstate INVALID"), "-A INPUT -m state --state NEW -m conntrack --ctstate INVALID"},
	{"permute/conntrack-option-after-state", v4, argv("-A INPUT -m conntrack -m state --state NEW --ctstatus ASSURED"), "-A INPUT -m conntrack --ctstatus ASSURED -m state --state NEW"},
	{"permute/second-conntrack-takes-it", v4, argv("-A INPUT -m conntrack --ctstate NEW -m conntrack --ctstatus ASSURED"), "-A INPUT -m conntrack --ctstate NEW -m conntrack --ctstatus ASSURED"},
	{"permute/second-conntrack-same-option", v4, argv("-A INPUT -m conntrack --ctstate NEW -m conntrack -j DROP --ctstate INVALID"), "-A INPUT -m conntrack --ctstate NEW -m conntrack --ctstate INVALID -j DROP"},
	{"permute/every-option-after-jump", v6, argv("-A FORWARD -m conntrack -j ACCEPT --ctdir REPLY ! --ctexpire 5 --ctorigsrc 2001:db8::/32 --ctstate NEW"), "-A FORWARD -m conntrack --ctstate NEW --ctorigsrc 2001:db8::/32 ! --ctexpire 5 --ctdir REPLY -j ACCEPT"},

	// Counters: -c PACKETS BYTES (or PACKETS,BYTES, or --set-counters)
	// anywhere among the words; printed first, as iptables-save -c writes
	// them. IPv4 only: ip6tables-nft 1.8.9 drops them (see Lines).
	{"counters/c", v4, argv("-A INPUT -c 1 2 -m conntrack --ctstate NEW"), "[1:2] -A INPUT -m conntrack --ctstate NEW"},
	{"counters/c-comma", v4, argv("-A INPUT -c 1,2 -m conntrack --ctstate NEW"), "[1:2] -A INPUT -m conntrack --ctstate NEW"},
	{"counters/c-attached", v4, argv("-A INPUT -c1,2 -m conntrack --ctstate NEW"), "[1:2] -A INPUT -m conntrack --ctstate NEW"},
	{"counters/long", v4, argv("-A INPUT --set-counters 3 4 -m conntrack --ctstate NEW"), "[3:4] -A INPUT -m conntrack --ctstate NEW"},
	{"counters/long-equals", v4, argv("-A INPUT --set-counters=5,6 -m conntrack --ctstate NEW"), "[5:6] -A INPUT -m conntrack --ctstate NEW"},
	{"counters/long-equals-then-word", v4, argv("-A INPUT --set-counters=7 8 -m conntrack --ctstate NEW"), "[7:8] -A INPUT -m conntrack --ctstate NEW"},
	{"counters/after-jump", v4, argv("-A INPUT -m conntrack --ctstate NEW -j ACCEPT -c 9 10"), "[9:10] -A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{"counters/leading-zeros", v4, argv("-A INPUT -c 018 0 -m conntrack --ctstate NEW"), "[18:0] -A INPUT -m conntrack --ctstate NEW"},
	{"counters/max", v4, argv("-A INPUT -c 18446744073709551615 18446744073709551615 -m state --state NEW"), "[18446744073709551615:18446744073709551615] -A INPUT -m state --state NEW"},
	{"counters/insert", v4, argv("-I INPUT 1 -c 22 23 -m conntrack --ctstate NEW"), "[22:23] -I INPUT 1 -m conntrack --ctstate NEW"},
	// -p and the tcp and udp matches: the match -p loads at its first
	// option is printed with its -m word, --sport before --dport.
	{"ports/dport", v4, argv("-A INPUT -p tcp --dport 22"), "-A INPUT -p tcp -m tcp --dport 22"},
	{"ports/dport-negated-range", v4, argv("-A INPUT -p tcp ! --dport 1:1024"), "-A INPUT -p tcp -m tcp ! --dport 1:1024"},
	{"ports/dport-open-high", v4, argv("-p tcp --dport 80:"), "-p tcp -m tcp --dport 80:65535"},
	{"ports/dport-open-low", v4, argv("-p tcp --dport :80"), "-p tcp -m tcp --dport 0:80"},
	{"ports/dport-every-port", v4, argv("-p tcp --dport :"), "-p tcp -m tcp"},
	{"ports/sport-every-port", v4, argv("-p tcp --sport 0:65535"), "-p tcp -m tcp"},
	{"ports/dport-one-port-range", v4, argv("-p udp --sport 30:30"), "-p udp -m udp --sport 30"},
	{"ports/dport-zero", v4, argv("-p tcp --dport 0:0"), "-p tcp -m tcp --dport 0"},
	{"ports/dport-1-65535", v4, argv("-p tcp --dport 1:65535"), "-p tcp -m tcp --dport 1:65535"},
	{"ports/protocol-number", v4, argv("-p 6 --dport 7"), "-p tcp -m tcp --dport 7"},
	{"ports/explicit-udp", v4, argv("-p udp -m udp --sport 53"), "-p udp -m udp --sport 53"},
	{"ports/explicit-udp-number", v4, argv("-p 17 -m udp --dport 34"), "-p udp -m udp --dport 34"},
	{"ports/explicit-no-option", v4, argv("-p tcp -m tcp"), "-p tcp -m tcp"},
	{"ports/service", v4, argv("-p tcp --dport ssh"), "-p tcp -m tcp --dport 22"},
	{"ports/service-range", v4, argv("-p tcp --dport http:https"), "-p tcp -m tcp --dport 80:443"},
	{"ports/hex", v4, argv("-p tcp --dport 0x16"), "-p tcp -m tcp --dport 22"},
	{"ports/octal", v4, argv("-p tcp --dport 022"), "-p tcp -m tcp --dport 18"},
	{"ports/hex-range-attached", v4, argv("-p tcp --dport=0x50:0x51"), "-p tcp -m tcp --dport 80:81"},
	{"ports/protocol-upper-case", v4, argv("-p TCP --dport 22"), "-p tcp -m tcp --dport 22"},
	{"ports/long-names", v4, argv("-p tcp --source-port 5 --destination-port 6"), "-p tcp -m tcp --sport 5 --dport 6"},
	{"ports/abbreviated-sport", v4, argv("-p tcp --sp 25"), "-p tcp -m tcp --sport 25"},
	{"ports/abbreviated-dport", v4, argv("-p tcp --dpor 26"), "-p tcp -m tcp --dport 26"},
	{"ports/sport-attached", v4, argv("-p tcp --sport=7"), "-p tcp -m tcp --sport 7"},
	{"ports/both-negated", v4, argv("-p tcp ! --sport 27 ! --dport 28"), "-p tcp -m tcp ! --sport 27 ! --dport 28"},
	{"ports/sport-after-conntrack", v4, argv("-p tcp --dport 10 -m conntrack --ctstate NEW --sport 11"), "-p tcp -m tcp --sport 11 --dport 10 -m conntrack --ctstate NEW"},
	{"ports/after-conntrack", v4, argv("-m conntrack --ctstate NEW -p tcp --dport 12"), "-p tcp -m conntrack --ctstate NEW -m tcp --dport 12"},
	{"ports/after-target", v4, argv("-A INPUT -p tcp --dport 13 -j ACCEPT --sport 14"), "-A INPUT -p tcp -m tcp --sport 14 --dport 13 -j ACCEPT"},
	{"ports/conntrack-permuted", v4, argv("-A INPUT -p tcp --dport 22 -m conntrack -j ACCEPT --ctstate NEW"), "-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"},
	{"ports/two-matches", v4, argv("-p tcp --dport 2 -m tcp --dport 3"), "-p tcp -m tcp --dport 2 -m tcp --dport 3"},
	{"ports/ipv6-udp", v6, argv("-p udp --dport 1"), "-p udp -m udp --dport 1"},
	{"ports/ipv6-tcp-negated", v6, argv("-p tcp ! --sport 1024:"), "-p tcp -m tcp ! --sport 1024:65535"},
	{"icmp/type", v4, argv("-A INPUT -p icmp --icmp-type 8 -j ACCEPT"), "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT"},
	{"icmp/name", v4, argv("-p icmp --icmp-type echo-request"), "-p icmp -m icmp --icmp-type 8"},
	{"icmp/name-alias", v4, argv("-p icmp --icmp-type pong"), "-p icmp -m icmp --icmp-type 0"},
	{"icmp/name-case", v4, argv("-p icmp --icmp-type Echo-Request"), "-p icmp -m icmp --icmp-type 8"},
	{"icmp/name-prefix", v4, argv("-p icmp --icmp-type source-q"), "-p icmp -m icmp --icmp-type 4"},
	{"icmp/name-code", v4, argv("-p icmp --icmp-type port-unreachable"), "-p icmp -m icmp --icmp-type 3/3"},
	{"icmp/name-code-zero", v4, argv("-p icmp --icmp-type network-redirect"), "-p icmp -m icmp --icmp-type 5/0"},
	{"icmp/type-code", v4, argv("-p icmp --icmp-type 3/4"), "-p icmp -m icmp --icmp-type 3/4"},
	{"icmp/type-code-zero", v4, argv("-p icmp --icmp-type 8/0"), "-p icmp -m icmp --icmp-type 8/0"},
	{"icmp/hex", v4, argv("-p icmp --icmp-type 0x8"), "-p icmp -m icmp --icmp-type 8"},
	{"icmp/hex-code", v4, argv("-p icmp --icmp-type 3/0x3"), "-p icmp -m icmp --icmp-type 3/3"},
	{"icmp/type-1", v4, argv("-p icmp --icmp-type 1"), "-p icmp -m icmp --icmp-type 1"},
	{"icmp/negated", v4, argv("-p icmp ! --icmp-type 8"), "-p icmp -m icmp ! --icmp-type 8"},
	{"icmp/negated-code", v4, argv("-p icmp ! --icmp-type 3/3"), "-p icmp -m icmp ! --icmp-type 3/3"},
	{"icmp/any", v4, argv("-p icmp --icmp-type any"), "-p icmp -m icmp --icmp-type any"},
	{"icmp/any-negated", v4, argv("-p icmp ! --icmp-type any"), "-p icmp -m icmp ! --icmp-type any"},
	{"icmp/255", v4, argv("-p icmp --icmp-type 255"), "-p icmp -m icmp --icmp-type any"},
	{"icmp/255-code", v4, argv("-p icmp --icmp-type 255/3"), "-p icmp -m icmp --icmp-type any"},
	{"icmp/explicit", v4, argv("-p icmp -m icmp --icmp-type 0"), "-p icmp -m icmp --icmp-type 0"},
	{"icmp/abbreviated", v4, argv("-p icmp --icmp-t 11"), "-p icmp -m icmp --icmp-type 11"},
	{"icmp/attached", v4, argv("-p icmp --icmp-type=13"), "-p icmp -m icmp --icmp-type 13"},
	{"icmp/protocol-number", v4, argv("-p 1 --icmp-type 0"), "-p icmp -m icmp --icmp-type 0"},
	{"icmp/two-matches", v4, argv("-p icmp -m icmp --icmp-type 3 -m icmp --icmp-type 4"), "-p icmp -m icmp --icmp-type 3 -m icmp --icmp-type 4"},
	{"icmp/after-conntrack", v4, argv("-A INPUT -m conntrack --ctstate NEW -p icmp --icmp-type 8 -j ACCEPT"), "-A INPUT -p icmp -m conntrack --ctstate NEW -m icmp --icmp-type 8 -j ACCEPT"},
	{"icmp/after-target", v4, argv("-A INPUT -p icmp -j ACCEPT --icmp-type 8"), "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT"},
	{"icmpv6/type", v6, argv("-A INPUT -p icmpv6 --icmpv6-type 128 -j ACCEPT"), "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT"},
	{"icmpv6/name", v6, argv("-p ipv6-icmp --icmpv6-type neighbor-solicitation"), "-p ipv6-icmp -m icmp6 --icmpv6-type 135"},
	{"icmpv6/name-british", v6, argv("-p ipv6-icmp --icmpv6-type neighbour-advertisement"), "-p ipv6-icmp -m icmp6 --icmpv6-type 136"},
	{"icmpv6/name-upper-case", v6, argv("-p icmpv6 --icmpv6-type ECHO-REQUEST"), "-p ipv6-icmp -m icmp6 --icmpv6-type 128"},
	{"icmpv6/name-code", v6, argv("-p icmpv6 --icmpv6-type port-unreachable"), "-p ipv6-icmp -m icmp6 --icmpv6-type 1/4"},
	{"icmpv6/negated-code", v6, argv("-p icmpv6 ! --icmpv6-type 1/4"), "-p ipv6-icmp -m icmp6 ! --icmpv6-type 1/4"},
	{"icmpv6/negated", v6, argv("-p icmpv6 ! --icmpv6-type 2"), "-p ipv6-icmp -m icmp6 ! --icmpv6-type 2"},
	{"icmpv6/mld-query", v6, argv("-p icmpv6 --icmpv6-type 130"), "-p ipv6-icmp -m icmp6 --icmpv6-type 130"},
	{"icmpv6/255", v6, argv("-p icmpv6 --icmpv6-type 255"), "-p ipv6-icmp -m icmp6 --icmpv6-type 255"},
	{"icmpv6/explicit", v6, argv("-p ipv6-icmp -m icmp6 --icmpv6-type 130"), "-p ipv6-icmp -m icmp6 --icmpv6-type 130"},
	{"icmpv6/explicit-icmpv6", v6, argv("-p icmpv6 -m icmpv6 --icmpv6-type 129"), "-p ipv6-icmp -m icmp6 --icmpv6-type 129"},
	{"icmpv6/explicit-ipv6-icmp", v6, argv("-p icmpv6 -m ipv6-icmp --icmpv6-type 129"), "-p ipv6-icmp -m icmp6 --icmpv6-type 129"},

	// The ttl match (iptables) and the hl match (ip6tables): one option,
	// a number 0-255 as strtoul with base 0 reads it, "!" before the
	// equality only, --ttl and --hl names of the equality.
	{"ttl/eq", v4, argv("-A INPUT -m ttl --ttl-eq 64 -j ACCEPT"), "-A INPUT -m ttl --ttl-eq 64 -j ACCEPT"},
	{"ttl/eq-negated", v4, argv("-m ttl ! --ttl-eq 64"), "-m ttl ! --ttl-eq 64"},
	{"ttl/lt", v4, argv("-m ttl --ttl-lt 5"), "-m ttl --ttl-lt 5"},
	{"ttl/gt", v4, argv("-m ttl --ttl-gt 1"), "-m ttl --ttl-gt 1"},
	{"ttl/zero", v4, argv("-m ttl --ttl-eq 0"), "-m ttl --ttl-eq 0"},
	{"ttl/255", v4, argv("-m ttl --ttl-eq 255"), "-m ttl --ttl-eq 255"},
	{"ttl/lt-0", v4, argv("-m ttl --ttl-lt 0"), "-m ttl --ttl-lt 0"},
	{"ttl/gt-255", v4, argv("-m ttl --ttl-gt 255"), "-m ttl --ttl-gt 255"},
	{"ttl/hex", v4, argv("-m ttl --ttl-eq 0x10"), "-m ttl --ttl-eq 16"},
	{"ttl/octal", v4, argv("-m ttl --ttl-eq 010"), "-m ttl --ttl-eq 8"},
	{"ttl/alias", v4, argv("-m ttl --ttl 5"), "-m ttl --ttl-eq 5"},
	{"ttl/alias-negated", v4, argv("-m ttl ! --ttl 5"), "-m ttl ! --ttl-eq 5"},
	{"ttl/abbreviated", v4, argv("-m ttl --ttl-l 5"), "-m ttl --ttl-lt 5"},
	{"ttl/attached", v4, argv("-m ttl --ttl-eq=5"), "-m ttl --ttl-eq 5"},
	{"ttl/two-matches", v4, argv("-m ttl --ttl-eq 64 -m ttl --ttl-gt 3"), "-m ttl --ttl-eq 64 -m ttl --ttl-gt 3"},
	{"ttl/with-ports", v4, argv("-A INPUT -p tcp -m ttl --ttl-lt 5 --dport 22 -j DROP"), "-A INPUT -p tcp -m ttl --ttl-lt 5 -m tcp --dport 22 -j DROP"},
	{"hl/eq", v6, argv("-A INPUT -m hl --hl-eq 255 -j ACCEPT"), "-A INPUT -m hl --hl-eq 255 -j ACCEPT"},
	{"hl/eq-negated", v6, argv("-m hl ! --hl-eq 64"), "-m hl ! --hl-eq 64"},
	{"hl/lt", v6, argv("-m hl --hl-lt 5"), "-m hl --hl-lt 5"},
	{"hl/gt", v6, argv("-m hl --hl-gt 1"), "-m hl --hl-gt 1"},
	{"hl/hex", v6, argv("-m hl --hl-eq 0x10"), "-m hl --hl-eq 16"},
	{"hl/alias", v6, argv("-m hl --hl 5"), "-m hl --hl-eq 5"},
	{"hl/alias-negated", v6, argv("-m hl ! --hl 5"), "-m hl ! --hl-eq 5"},
	{"hl/lt-0", v6, argv("-m hl --hl-lt 0"), "-m hl --hl-lt 0"},
	{"protocol/negated", v4, argv("! -p tcp"), "! -p tcp"},
	{"protocol/all", v4, argv("-p all -m conntrack --ctstate NEW"), "-m conntrack --ctstate NEW"},
	{"protocol/zero", v4, argv("-p 0 -m conntrack --ctstate NEW"), "-m conntrack --ctstate NEW"},
	{"protocol/gre", v4, argv("-p 47"), "-p gre"},
	{"protocol/no-name", v4, argv("-p 250"), "-p 250"},
	{"protocol/hex", v4, argv("-p 0x11"), "-p udp"},
	{"protocol/name-case", v4, argv("-p IPv6-ICMP"), "-p ipv6-icmp"},
	{"protocol/icmpv6", v6, argv("-p icmpv6"), "-p ipv6-icmp"},
	{"protocol/long", v4, argv("--protocol udp -m conntrack --ctstate NEW"), "-p udp -m conntrack --ctstate NEW"},

	// -i and -o: printed before -p, -i before -o; "-i +" matches every
	// packet and is not printed.
	{"iface/in", v4, argv("-A INPUT -i eth0 -j ACCEPT"), "-A INPUT -i eth0 -j ACCEPT"},
	{"iface/in-negated", v4, argv("-A INPUT ! -i lo -j ACCEPT"), "-A INPUT ! -i lo -j ACCEPT"},
	{"iface/in-wildcard", v4, argv("-A FORWARD -i eth+"), "-A FORWARD -i eth+"},
	{"iface/in-wildcard-negated", v4, argv("-A FORWARD ! -i veth+"), "-A FORWARD ! -i veth+"},
	{"iface/in-every", v4, argv("-A INPUT -i + -j ACCEPT"), "-A INPUT -j ACCEPT"},
	{"iface/out", v4, argv("-A OUTPUT -o eth1"), "-A OUTPUT -o eth1"},
	{"iface/out-negated", v4, argv("-A FORWARD ! -o eth1"), "-A FORWARD ! -o eth1"},
	{"iface/out-wildcard", v4, argv("-t nat -A POSTROUTING -o ppp+ -j ACCEPT"), "-t nat -A POSTROUTING -o ppp+ -j ACCEPT"},
	{"iface/out-wildcard-negated", v4, argv("-A OUTPUT ! -o br-+"), "-A OUTPUT ! -o br-+"},
	{"iface/both-user-chain", v4, argv("-A U -o eth0 -i eth1"), "-A U -i eth1 -o eth0"},
	{"iface/before-protocol", v4, argv("-A INPUT -p tcp --dport 22 -i eth0 -j ACCEPT"), "-A INPUT -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT"},
	{"iface/long-names", v4, argv("-A FORWARD --in-interface a --out-interface b"), "-A FORWARD -i a -o b"},
	{"iface/abbreviated", v4, argv("-A FORWARD --in-int a --out b"), "-A FORWARD -i a -o b"},
	{"iface/attached", v4, argv("-A FORWARD -ieth0"), "-A FORWARD -i eth0"},
	{"iface/attached-long", v4, argv("-A FORWARD --out-interface=eth1"), "-A FORWARD -o eth1"},
	{"iface/fifteen-bytes", v4, argv("-i 0123456789abcde"), "-i 0123456789abcde"},
	{"iface/fifteen-bytes-wildcard", v4, argv("-A FORWARD -o 0123456789abcd+"), "-A FORWARD -o 0123456789abcd+"},
	{"iface/two-plus", v4, argv("-i eth++"), "-i eth++"},
	{"iface/plus-inside", v4, argv("-i e+th"), "-i e+th"},
	{"iface/star", v4, argv("-i eth*"), "-i eth*"},
	{"iface/star-prefix", v4, argv("-i a*b+"), "-i a*b+"},
	{"iface/odd-characters", v4, argv("-i e:t.h-0_@"), "-i e:t.h-0_@"},
	{"iface/bang", v4, argv("-A FORWARD -i ! -j ACCEPT"), "-A FORWARD -i ! -j ACCEPT"},
	{"iface/slash", v4, argv("-i e/th"), "-i e/th"},
	{"iface/ipv6", v6, argv("-A FORWARD -i wg0 ! -o eth+ -p udp"), "-A FORWARD -i wg0 ! -o eth+ -p udp"},
	{"iface/forward-both", v4, argv("-A FORWARD -o docker0 -i docker0 -j ACCEPT"), "-A FORWARD -i docker0 -o docker0 -j ACCEPT"},

	// -s and -d: iptables-save clears the host bits and always writes the
	// mask, /32 and /128 included, a prefix as its length.
	{"addr/src-host", v4, argv("-A INPUT -s 10.1.2.3 -j ACCEPT"), "-A INPUT -s 10.1.2.3/32 -j ACCEPT"},
	{"addr/src-prefix", v4, argv("-A INPUT -s 10.0.0.0/8"), "-A INPUT -s 10.0.0.0/8"},
	{"addr/src-host-bits-cleared", v4, argv("-A INPUT -s 10.1.2.3/8"), "-A INPUT -s 10.0.0.0/8"},
	{"addr/src-negated", v4, argv("-A INPUT ! -s 192.168.0.0/16 -j DROP"), "-A INPUT ! -s 192.168.0.0/16 -j DROP"},
	{"addr/dst-host", v4, argv("-A OUTPUT -d 1.2.3.4"), "-A OUTPUT -d 1.2.3.4/32"},
	{"addr/dst-negated", v4, argv("-A OUTPUT ! -d 10.16.0.0/12"), "-A OUTPUT ! -d 10.16.0.0/12"},
	{"addr/dst-mask-prefix", v4, argv("-A INPUT -d 192.168.1.9/255.255.255.0"), "-A INPUT -d 192.168.1.0/24"},
	{"addr/dst-mask-non-contiguous", v4, argv("-A INPUT -d 5.6.7.8/255.0.255.0"), "-A INPUT -d 5.0.7.0/255.0.255.0"},
	{"addr/src-mask-non-contiguous-negated", v4, argv("-A INPUT ! -s 1.2.3.4/0.255.0.0"), "-A INPUT ! -s 0.2.0.0/0.255.0.0"},
	{"addr/src-len-hex", v4, argv("-A INPUT -s 10.0.0.0/0x10"), "-A INPUT -s 10.0.0.0/16"},
	{"addr/src-len-octal", v4, argv("-A INPUT -s 10.0.0.0/010"), "-A INPUT -s 10.0.0.0/8"},
	{"addr/src-every", v4, argv("-A INPUT -s 0.0.0.0/0 -j ACCEPT"), "-A INPUT -j ACCEPT"},
	{"addr/src-every-mask", v4, argv("-A INPUT -s 10.0.0.0/0.0.0.0"), "-A INPUT"},
	{"addr/long-names", v4, argv("-A FORWARD --source 10.0.0.1 --destination 10.0.0.2"), "-A FORWARD -s 10.0.0.1/32 -d 10.0.0.2/32"},
	{"addr/src-dst-names", v4, argv("-A FORWARD --src 10.0.0.1 --dst 10.0.0.2"), "-A FORWARD -s 10.0.0.1/32 -d 10.0.0.2/32"},
	{"addr/abbreviated", v4, argv("-A FORWARD --sr 10.0.0.1 --dest 10.0.0.2"), "-A FORWARD -s 10.0.0.1/32 -d 10.0.0.2/32"},
	{"addr/attached", v4, argv("-A INPUT -s10.0.0.1"), "-A INPUT -s 10.0.0.1/32"},
	{"addr/order", v4, argv("-A INPUT -p tcp --dport 22 -i eth0 -d 10.0.0.1 -s 10.0.0.0/24 -j ACCEPT"), "-A INPUT -s 10.0.0.0/24 -d 10.0.0.1/32 -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT"},
	{"addr/after-target", v4, argv("-A INPUT -m conntrack -j ACCEPT --ctstate NEW -s 10.0.0.0/8"), "-A INPUT -s 10.0.0.0/8 -m conntrack --ctstate NEW -j ACCEPT"},
	{"addr/ipv6-host", v6, argv("-A INPUT -s 2001:db8::1 -j ACCEPT"), "-A INPUT -s 2001:db8::1/128 -j ACCEPT"},
	{"addr/ipv6-prefix-host-bits", v6, argv("-A INPUT -s 2001:db8::1/64"), "-A INPUT -s 2001:db8::/64"},
	{"addr/ipv6-negated", v6, argv("-A INPUT ! -d fe80::/10"), "-A INPUT ! -d fe80::/10"},
	{"addr/ipv6-mask", v6, argv("-A INPUT -d 2001:db8::1/ffff:ffff::"), "-A INPUT -d 2001:db8::/32"},
	{"addr/ipv6-mask-non-contiguous", v6, argv("-A INPUT -s 2001:db8::1/ffff:0:ffff::"), "-A INPUT -s 2001::/ffff:0:ffff::"},
	{"addr/ipv6-upper-case", v6, argv("-A INPUT -s 2001:DB8::1"), "-A INPUT -s 2001:db8::1/128"},
	// -m comment: iptables-save quotes a comment unless it is only letters,
	// digits, "_" and "-", and escapes ", \ and ' inside the quotes.
	{"comment/plain", v4, argv("-A INPUT -m comment --comment ssh-in_1 -j ACCEPT"), "-A INPUT -m comment --comment ssh-in_1 -j ACCEPT"},
	{"comment/blank", v4, []string{"-A", "INPUT", "-m", "comment", "--comment", "allow ssh", "-j", "ACCEPT"}, `-A INPUT -m comment --comment "allow ssh" -j ACCEPT`},
	{"comment/punctuation", v4, argv("-m comment --comment a.b:c/d,e"), `-m comment --comment "a.b:c/d,e"`},
	{"comment/apostrophe", v4, []string{"-m", "comment", "--comment", "it's"}, `-m comment --comment "it\'s"`},
	{"comment/backslash", v4, []string{"-m", "comment", "--comment", `a\b`}, `-m comment --comment "a\\b"`},
	{"comment/tab", v4, []string{"-m", "comment", "--comment", "a\tb"}, "-m comment --comment \"a\tb\""},
	{"comment/utf8", v4, []string{"-m", "comment", "--comment", "é€"}, `-m comment --comment "é€"`},
	{"comment/empty", v4, []string{"-m", "comment", "--comment", ""}, `-m comment --comment ""`},
	{"comment/equals", v4, argv("-m comment --comment=x"), "-m comment --comment x"},
	{"comment/prefix", v4, argv("-m comment --comm x"), "-m comment --comment x"},
	{"comment/dollar", v6, argv("-m comment --comment $x"), `-m comment --comment "$x"`},
	{"comment/nft-longest", v4, argv("-m comment --comment " + strings.Repeat("c", parse.MaxNftComment)), "-m comment --comment " + strings.Repeat("c", parse.MaxNftComment)},
	{"comment/permuted", v4, argv("-A INPUT -p tcp -m comment --dport 22 --comment ssh -j ACCEPT"), "-A INPUT -p tcp -m comment --comment ssh -m tcp --dport 22 -j ACCEPT"},
	{"comment/with-conntrack", v4, argv("-A INPUT -m conntrack --ctstate NEW -m comment --comment new"), "-A INPUT -m conntrack --ctstate NEW -m comment --comment new"},

	// REJECT: every --reject-with of iptables and ip6tables, by name, alias,
	// prefix (the first entry of iptables' table that the value starts, in
	// any case) and the default each tool prints.
	{"reject/default", v4, argv("-A INPUT -j REJECT"), "-A INPUT -j REJECT --reject-with icmp-port-unreachable"},
	{"reject/net-unreachable", v4, argv("-A INPUT -j REJECT --reject-with icmp-net-unreachable"), "-A INPUT -j REJECT --reject-with icmp-net-unreachable"},
	{"reject/host-unreachable", v4, argv("-A FORWARD -j REJECT --reject-with icmp-host-unreachable"), "-A FORWARD -j REJECT --reject-with icmp-host-unreachable"},
	{"reject/proto-unreachable", v4, argv("-A OUTPUT -j REJECT --reject-with icmp-proto-unreachable"), "-A OUTPUT -j REJECT --reject-with icmp-proto-unreachable"},
	{"reject/port-unreachable", v4, argv("-A INPUT -j REJECT --reject-with icmp-port-unreachable"), "-A INPUT -j REJECT --reject-with icmp-port-unreachable"},
	{"reject/net-prohibited", v4, argv("-A INPUT -j REJECT --reject-with icmp-net-prohibited"), "-A INPUT -j REJECT --reject-with icmp-net-prohibited"},
	{"reject/host-prohibited", v4, argv("-A INPUT -j REJECT --reject-with icmp-host-prohibited"), "-A INPUT -j REJECT --reject-with icmp-host-prohibited"},
	{"reject/admin-prohibited", v4, argv("-A INPUT -j REJECT --reject-with icmp-admin-prohibited"), "-A INPUT -j REJECT --reject-with icmp-admin-prohibited"},
	{"reject/tcp-reset", v4, argv("-A INPUT -p tcp -j REJECT --reject-with tcp-reset"), "-A INPUT -p tcp -j REJECT --reject-with tcp-reset"},
	{"reject/aliases", v4, argv("-A INPUT -j REJECT --reject-with net-unreach"), "-A INPUT -j REJECT --reject-with icmp-net-unreachable"},
	{"reject/alias-host-prohib", v4, argv("-A INPUT -j REJECT --reject-with host-prohib"), "-A INPUT -j REJECT --reject-with icmp-host-prohibited"},
	{"reject/alias-tcp-rst", v4, argv("-A INPUT -p tcp -j REJECT --reject-with tcp-rst"), "-A INPUT -p tcp -j REJECT --reject-with tcp-reset"},
	{"reject/alias-admin-prohib", v4, argv("-A INPUT -j REJECT --reject-with admin-prohib"), "-A INPUT -j REJECT --reject-with icmp-admin-prohibited"},
	{"reject/alias-port-unreach", v4, argv("-A INPUT -j REJECT --reject-with port-unreach"), "-A INPUT -j REJECT --reject-with icmp-port-unreachable"},
	{"reject/alias-proto-unreach", v4, argv("-A INPUT -j REJECT --reject-with proto-unreach"), "-A INPUT -j REJECT --reject-with icmp-proto-unreachable"},
	{"reject/alias-net-prohib", v4, argv("-A INPUT -j REJECT --reject-with net-prohib"), "-A INPUT -j REJECT --reject-with icmp-net-prohibited"},
	{"reject/alias-host-unreach", v4, argv("-A INPUT -j REJECT --reject-with host-unreach"), "-A INPUT -j REJECT --reject-with icmp-host-unreachable"},
	{"reject/prefix-p", v4, argv("-A INPUT -j REJECT --reject-with p"), "-A INPUT -j REJECT --reject-with icmp-proto-unreachable"},
	{"reject/prefix-icmp", v4, argv("-A INPUT -j REJECT --reject-with icmp-"), "-A INPUT -j REJECT --reject-with icmp-net-unreachable"},
	{"reject/empty", v4, []string{"-A", "INPUT", "-j", "REJECT", "--reject-with", ""}, "-A INPUT -j REJECT --reject-with icmp-net-unreachable"},
	{"reject/upper", v4, argv("-A INPUT -j REJECT --reject-with ICMP-HOST-PROHIB"), "-A INPUT -j REJECT --reject-with icmp-host-prohibited"},
	{"reject/option-prefix", v4, argv("-A INPUT -p tcp -j REJECT --rej=tcp-reset"), "-A INPUT -p tcp -j REJECT --reject-with tcp-reset"},
	{"reject/tcp-reset-before-p", v4, argv("-A INPUT -j REJECT --reject-with tcp-reset -p tcp"), "-A INPUT -p tcp -j REJECT --reject-with tcp-reset"},
	{"reject/user-chain", v4, argv("-A reject_chain -j REJECT"), "-A reject_chain -j REJECT --reject-with icmp-port-unreachable"},
	{"reject/with-state", v4, argv("-A INPUT -m conntrack -j REJECT --reject-with icmp-port-unreachable --ctstate INVALID"), "-A INPUT -m conntrack --ctstate INVALID -j REJECT --reject-with icmp-port-unreachable"},
	{"reject6/default", v6, argv("-A INPUT -j REJECT"), "-A INPUT -j REJECT --reject-with icmp6-port-unreachable"},
	{"reject6/no-route", v6, argv("-A INPUT -j REJECT --reject-with icmp6-no-route"), "-A INPUT -j REJECT --reject-with icmp6-no-route"},
	{"reject6/no-route-alias", v6, argv("-A INPUT -j REJECT --reject-with no-route"), "-A INPUT -j REJECT --reject-with icmp6-no-route"},
	{"reject6/adm-prohibited", v6, argv("-A FORWARD -j REJECT --reject-with icmp6-adm-prohibited"), "-A FORWARD -j REJECT --reject-with icmp6-adm-prohibited"},
	{"reject6/adm-prohibited-alias", v6, argv("-A INPUT -j REJECT --reject-with adm-prohibited"), "-A INPUT -j REJECT --reject-with icmp6-adm-prohibited"},
	{"reject6/addr-unreachable", v6, argv("-A OUTPUT -j REJECT --reject-with icmp6-addr-unreachable"), "-A OUTPUT -j REJECT --reject-with icmp6-addr-unreachable"},
	{"reject6/addr-unreach-alias", v6, argv("-A INPUT -j REJECT --reject-with addr-unreach"), "-A INPUT -j REJECT --reject-with icmp6-addr-unreachable"},
	{"reject6/port-unreachable", v6, argv("-A INPUT -j REJECT --reject-with icmp6-port-unreachable"), "-A INPUT -j REJECT --reject-with icmp6-port-unreachable"},
	{"reject6/port-unreach-alias", v6, argv("-A INPUT -j REJECT --reject-with port-unreach"), "-A INPUT -j REJECT --reject-with icmp6-port-unreachable"},
	{"reject6/policy-fail", v6, argv("-A INPUT -j REJECT --reject-with icmp6-policy-fail"), "-A INPUT -j REJECT --reject-with icmp6-policy-fail"},
	{"reject6/policy-fail-alias", v6, argv("-A INPUT -j REJECT --reject-with policy-fail"), "-A INPUT -j REJECT --reject-with icmp6-policy-fail"},
	{"reject6/reject-route", v6, argv("-A INPUT -j REJECT --reject-with icmp6-reject-route"), "-A INPUT -j REJECT --reject-with icmp6-reject-route"},
	{"reject6/reject-route-alias", v6, argv("-A INPUT -j REJECT --reject-with reject-route"), "-A INPUT -j REJECT --reject-with icmp6-reject-route"},
	{"reject6/tcp-reset", v6, argv("-A INPUT -p tcp -j REJECT --reject-with tcp-reset"), "-A INPUT -p tcp -j REJECT --reject-with tcp-reset"},
	{"reject6/prefix-p", v6, argv("-A INPUT -j REJECT --reject-with p"), "-A INPUT -j REJECT --reject-with icmp6-port-unreachable"},
	{"reject6/prefix-t", v6, argv("-A INPUT -p tcp -j REJECT --reject-with t"), "-A INPUT -p tcp -j REJECT --reject-with tcp-reset"},
	{"reject6/empty", v6, []string{"-A", "INPUT", "-j", "REJECT", "--reject-with", ""}, "-A INPUT -j REJECT --reject-with icmp6-no-route"},

	// The NAT targets, in the nat table's chains their hooks allow.
	{"masquerade/plain", v4, argv("-t nat -A POSTROUTING -o eth0 -j MASQUERADE"), "-t nat -A POSTROUTING -o eth0 -j MASQUERADE"},
	{"masquerade/port", v4, argv("-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024"), "-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024"},
	{"masquerade/all", v4, argv("-t nat -A POSTROUTING -p udp -j MASQUERADE --random-fully --random --to-ports 1024-2000"), "-t nat -A POSTROUTING -p udp -j MASQUERADE --to-ports 1024-2000 --random --random-fully"},
	{"masquerade/service", v4, argv("-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports ssh"), "-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 22"},
	{"masquerade/sctp", v4, argv("-t nat -A POSTROUTING -p sctp -j MASQUERADE --to-ports 5-6"), "-t nat -A POSTROUTING -p sctp -j MASQUERADE --to-ports 5-6"},
	{"masquerade/with-state", v4, argv("-t nat -A POSTROUTING -m conntrack --ctstate NEW -j MASQUERADE"), "-t nat -A POSTROUTING -m conntrack --ctstate NEW -j MASQUERADE"},
	{"masquerade6/random-fully", v6, argv("-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 80-90 --random-fully"), "-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 80-90 --random-fully"},
	{"snat/address", v4, argv("-t nat -A POSTROUTING -s 10.0.0.0/24 -o eth0 -j SNAT --to-source 144.76.28.6"), "-t nat -A POSTROUTING -s 10.0.0.0/24 -o eth0 -j SNAT --to-source 144.76.28.6"},
	{"snat/all", v4, argv("-t nat -A POSTROUTING -p udp -j SNAT --to-source 1.2.3.4-1.2.3.9:80-90 --persistent --random-fully --random"), "-t nat -A POSTROUTING -p udp -j SNAT --to-source 1.2.3.4-1.2.3.9:80-90 --random --random-fully --persistent"},
	{"snat/input", v4, argv("-t nat -A INPUT -j SNAT --to-source 1.2.3.4"), "-t nat -A INPUT -j SNAT --to-source 1.2.3.4"},
	{"snat/one-address-range", v4, argv("-t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4-1.2.3.4"), "-t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4"},
	{"snat/port", v4, argv("-t nat -A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:80"), "-t nat -A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:80"},
	{"snat/permuted", v4, argv("-t nat -A POSTROUTING -m conntrack -s 10.0.0.0/24 -o eth0 -j SNAT --ctstate NEW --to-source 144.76.28.6"), "-t nat -A POSTROUTING -s 10.0.0.0/24 -o eth0 -m conntrack --ctstate NEW -j SNAT --to-source 144.76.28.6"},
	{"snat6/persistent", v6, argv("-t nat -A POSTROUTING -p tcp -j SNAT --to-source 2001:db8::1 --persistent"), "-t nat -A POSTROUTING -p tcp -j SNAT --to-source 2001:db8::1 --persistent"},
	{"dnat/address", v4, argv("-t nat -A PREROUTING -m conntrack --ctstate NEW -j DNAT --to-destination 10.0.0.1"), "-t nat -A PREROUTING -m conntrack --ctstate NEW -j DNAT --to-destination 10.0.0.1"},
	{"dnat/port", v4, argv("-t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080"), "-t nat -A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080"},
	{"dnat/output-flags", v4, argv("-t nat -A OUTPUT -p tcp -j DNAT --persistent --to-destination 1.2.3.4:5-6 --random"), "-t nat -A OUTPUT -p tcp -j DNAT --to-destination 1.2.3.4:5-6 --random --persistent"},
	{"dnat/prefixes", v4, argv("-t nat -A PREROUTING -p tcp -j DNAT --to-d 1.2.3.4 --rand"), "-t nat -A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4 --random"},
	{"dnat/service", v4, argv("-t nat -A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:ssh"), "-t nat -A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:22"},
	{"dnat/user-chain", v4, argv("-t nat -A nat_chain -j DNAT --to-destination 10.0.0.1"), "-t nat -A nat_chain -j DNAT --to-destination 10.0.0.1"},
	{"dnat6/address", v6, argv("-t nat -A PREROUTING -j DNAT --to-destination ::1"), "-t nat -A PREROUTING -j DNAT --to-destination ::1"},
	{"dnat6/brackets", v6, argv("-t nat -A PREROUTING -j DNAT --to-destination [::1]"), "-t nat -A PREROUTING -j DNAT --to-destination ::1"},
	{"dnat6/port", v6, argv("-t nat -A PREROUTING -p tcp -j DNAT --to-destination [2001:db8::1]:80"), "-t nat -A PREROUTING -p tcp -j DNAT --to-destination [2001:db8::1]:80"},
	{"dnat6/range", v6, argv("-t nat -A PREROUTING -p tcp -j DNAT --to-destination ::1-::5"), "-t nat -A PREROUTING -p tcp -j DNAT --to-destination ::1-::5"},
	{"dnat6/range-ports", v6, argv("-t nat -A PREROUTING -p tcp -j DNAT --to-destination [::1-::5]:80-90"), "-t nat -A PREROUTING -p tcp -j DNAT --to-destination [::1-::5]:80-90"},
	{"redirect/plain", v4, argv("-t nat -A PREROUTING -p tcp -j REDIRECT"), "-t nat -A PREROUTING -p tcp -j REDIRECT"},
	{"redirect/port", v4, argv("-t nat -A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080"), "-t nat -A PREROUTING -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080"},
	{"redirect/random", v4, argv("-t nat -A OUTPUT -p tcp -j REDIRECT --random --to-ports 8080-8090"), "-t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 8080-8090 --random"},
	{"redirect6/port", v6, argv("-t nat -A PREROUTING -p udp -j REDIRECT --to-ports 53"), "-t nat -A PREROUTING -p udp -j REDIRECT --to-ports 53"},

	// LOG and NFLOG, in any table and chain: level names and numbers, the
	// default level and group that iptables-save leaves out, prefixes cut
	// to what iptables keeps, --nflog-range dropped as iptables-nft does.
	{"log/plain", v4, argv("-A INPUT -j LOG"), "-A INPUT -j LOG"},
	{"log/prefix-level", v4, []string{"-A", "INPUT", "-j", "LOG", "--log-prefix", "ab c", "--log-level", "debug"}, `-A INPUT -j LOG --log-prefix "ab c" --log-level 7`},
	{"log/level-number", v4, argv("-A FORWARD -j LOG --log-level 7"), "-A FORWARD -j LOG --log-level 7"},
	{"log/level-hex", v4, argv("-A INPUT -j LOG --log-level 0x3"), "-A INPUT -j LOG --log-level 3"},
	{"log/level-warning", v4, argv("-A INPUT -j LOG --log-level warning"), "-A INPUT -j LOG"},
	{"log/level-4", v4, argv("-A INPUT -j LOG --log-level 4"), "-A INPUT -j LOG"},
	{"log/level-panic", v4, argv("-A INPUT -j LOG --log-level panic"), "-A INPUT -j LOG --log-level 0"},
	{"log/level-names", v4, argv("-A INPUT -j LOG --log-level notice"), "-A INPUT -j LOG --log-level 5"},
	{"log/level-error", v4, argv("-A INPUT -j LOG --log-level error"), "-A INPUT -j LOG --log-level 3"},
	{"log/level-alert", v4, argv("-A INPUT -j LOG --log-level alert"), "-A INPUT -j LOG --log-level 1"},
	{"log/level-crit", v4, argv("-A INPUT -j LOG --log-level crit"), "-A INPUT -j LOG --log-level 2"},
	{"log/level-info", v4, argv("-A INPUT -j LOG --log-level info"), "-A INPUT -j LOG --log-level 6"},
	{"log/level-emerg", v4, argv("-A INPUT -j LOG --log-level emerg"), "-A INPUT -j LOG --log-level 0"},
	{"log/flags", v4, argv("-A INPUT -j LOG --log-macdecode --log-uid --log-ip-options --log-tcp-options --log-tcp-sequence"), "-A INPUT -j LOG --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode"},
	{"log/all", v4, argv("-A OUTPUT -p tcp -j LOG --log-prefix drop: --log-level 6 --log-tcp-options"), `-A OUTPUT -p tcp -j LOG --log-prefix "drop:" --log-level 6 --log-tcp-options`},
	{"log/prefix-longest", v4, argv("-A INPUT -j LOG --log-prefix " + strings.Repeat("p", 29)), "-A INPUT -j LOG --log-prefix " + strings.Repeat("p", 29)},
	{"log/prefix-cut", v4, argv("-A INPUT -j LOG --log-prefix " + strings.Repeat("p", 40)), "-A INPUT -j LOG --log-prefix " + strings.Repeat("p", 29)},
	{"log/option-prefixes", v4, argv("-A INPUT -j LOG --log-p x --log-l 1 --log-tcp-s"), "-A INPUT -j LOG --log-prefix x --log-level 1 --log-tcp-sequence"},
	{"log/nat", v4, argv("-t nat -A PREROUTING -j LOG --log-prefix nat"), "-t nat -A PREROUTING -j LOG --log-prefix nat"},
	{"log/mangle", v4, argv("-t mangle -A POSTROUTING -j LOG"), "-t mangle -A POSTROUTING -j LOG"},
	{"log/raw", v4, argv("-t raw -A PREROUTING -j LOG"), "-t raw -A PREROUTING -j LOG"},
	{"log/with-state", v4, argv("-A INPUT -m conntrack -j LOG --ctstate INVALID --log-prefix inv"), "-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix inv"},
	{"log6/plain", v6, argv("-A INPUT -j LOG --log-level 1 --log-ip-options"), "-A INPUT -j LOG --log-level 1 --log-ip-options"},
	{"nflog/plain", v4, argv("-A INPUT -j NFLOG"), "-A INPUT -j NFLOG"},
	{"nflog/all", v4, argv("-A INPUT -j NFLOG --nflog-threshold 3 --nflog-size 100 --nflog-group 5 --nflog-prefix x"), "-A INPUT -j NFLOG --nflog-prefix x --nflog-group 5 --nflog-size 100 --nflog-threshold 3"},
	{"nflog/group-0", v4, argv("-A INPUT -j NFLOG --nflog-group 0"), "-A INPUT -j NFLOG"},
	{"nflog/group-max", v4, argv("-A INPUT -j NFLOG --nflog-group 65535 --nflog-threshold 65535"), "-A INPUT -j NFLOG --nflog-group 65535 --nflog-threshold 65535"},
	{"nflog/threshold-0", v4, argv("-A INPUT -j NFLOG --nflog-threshold 0"), "-A INPUT -j NFLOG"},
	{"nflog/threshold-1", v4, argv("-A INPUT -j NFLOG --nflog-threshold 1"), "-A INPUT -j NFLOG --nflog-threshold 1"},
	{"nflog/size-0", v4, argv("-A INPUT -j NFLOG --nflog-size 0"), "-A INPUT -j NFLOG --nflog-size 0"},
	{"nflog/size-max", v4, argv("-A INPUT -j NFLOG --nflog-size 4294967295"), "-A INPUT -j NFLOG --nflog-size 4294967295"},
	{"nflog/range", v4, argv("-A INPUT -j NFLOG --nflog-range 100"), "-A INPUT -j NFLOG"},
	{"nflog/hex-group", v4, argv("-A INPUT -j NFLOG --nflog-group 0x10"), "-A INPUT -j NFLOG --nflog-group 16"},
	{"nflog/prefix-longest", v4, argv("-A INPUT -j NFLOG --nflog-prefix " + strings.Repeat("p", 63)), "-A INPUT -j NFLOG --nflog-prefix " + strings.Repeat("p", 63)},
	{"nflog/prefix-spaces", v4, []string{"-A", "INPUT", "-j", "NFLOG", "--nflog-prefix", "a b"}, `-A INPUT -j NFLOG --nflog-prefix "a b"`},
	{"nflog/mangle", v4, argv("-t mangle -A FORWARD -j NFLOG --nflog-group 2"), "-t mangle -A FORWARD -j NFLOG --nflog-group 2"},
	{"nflog6/group", v6, argv("-A INPUT -j NFLOG --nflog-group 7 --nflog-prefix six"), "-A INPUT -j NFLOG --nflog-prefix six --nflog-group 7"},

	// MARK and CONNMARK, in any table: every operation becomes the kernel's
	// (mark & ~mask) ^ value, which iptables-save prints as --set-xmark;
	// --mask overwrites the mask of a --set-mark before it.
	{"mark/set", v4, argv("-t mangle -A PREROUTING -j MARK --set-mark 1"), "-t mangle -A PREROUTING -j MARK --set-xmark 0x1/0xffffffff"},
	{"mark/set-mask", v4, argv("-t mangle -A PREROUTING -j MARK --set-mark 0x10/0xf0"), "-t mangle -A PREROUTING -j MARK --set-xmark 0x10/0xf0"},
	{"mark/set-mask-or", v4, argv("-t mangle -A PREROUTING -j MARK --set-mark 0x110/0xf0"), "-t mangle -A PREROUTING -j MARK --set-xmark 0x110/0x1f0"},
	{"mark/set-xmark", v4, argv("-t mangle -A PREROUTING -j MARK --set-xmark 0x40000/0xff0000"), "-t mangle -A PREROUTING -j MARK --set-xmark 0x40000/0xff0000"},
	{"mark/set-xmark-plain", v4, argv("-t mangle -A OUTPUT -j MARK --set-xmark 5"), "-t mangle -A OUTPUT -j MARK --set-xmark 0x5/0xffffffff"},
	{"mark/and", v4, argv("-t mangle -A FORWARD -j MARK --and-mark 0xff"), "-t mangle -A FORWARD -j MARK --set-xmark 0x0/0xffffff00"},
	{"mark/or", v4, argv("-t mangle -A FORWARD -j MARK --or-mark 0x4"), "-t mangle -A FORWARD -j MARK --set-xmark 0x4/0x4"},
	{"mark/xor", v4, argv("-t mangle -A FORWARD -j MARK --xor-mark 4"), "-t mangle -A FORWARD -j MARK --set-xmark 0x4/0x0"},
	{"mark/zero", v4, argv("-t mangle -A INPUT -j MARK --set-mark 0"), "-t mangle -A INPUT -j MARK --set-xmark 0x0/0xffffffff"},
	{"mark/noop", v4, argv("-t mangle -A INPUT -j MARK --set-xmark 0/0"), "-t mangle -A INPUT -j MARK --set-xmark 0x0/0x0"},
	{"mark/octal", v4, argv("-t mangle -A INPUT -j MARK --set-mark 010"), "-t mangle -A INPUT -j MARK --set-xmark 0x8/0xffffffff"},
	{"mark/max", v4, argv("-t mangle -A INPUT -j MARK --set-xmark 0xffffffff/0xffffffff"), "-t mangle -A INPUT -j MARK --set-xmark 0xffffffff/0xffffffff"},
	{"mark/filter", v4, argv("-A INPUT -j MARK --set-mark 1"), "-A INPUT -j MARK --set-xmark 0x1/0xffffffff"},
	{"mark/nat", v4, argv("-t nat -A PREROUTING -j MARK --set-mark 1"), "-t nat -A PREROUTING -j MARK --set-xmark 0x1/0xffffffff"},
	{"mark6/or", v6, argv("-t mangle -A PREROUTING -j MARK --or-mark 0x100"), "-t mangle -A PREROUTING -j MARK --set-xmark 0x100/0x100"},
	{"connmark/set", v4, argv("-t mangle -A PREROUTING -j CONNMARK --set-mark 1"), "-t mangle -A PREROUTING -j CONNMARK --set-xmark 0x1/0xffffffff"},
	{"connmark/set-mask", v4, argv("-t mangle -A PREROUTING -j CONNMARK --set-mark 1/0xff"), "-t mangle -A PREROUTING -j CONNMARK --set-xmark 0x1/0xff"},
	{"connmark/set-then-mask", v4, argv("-t mangle -A PREROUTING -j CONNMARK --set-mark 1 --mask 0xff"), "-t mangle -A PREROUTING -j CONNMARK --set-xmark 0x1/0xff"},
	{"connmark/mask-then-set", v4, argv("-t mangle -A PREROUTING -j CONNMARK --mask 0xff --set-mark 1"), "-t mangle -A PREROUTING -j CONNMARK --set-xmark 0x1/0xffffffff"},
	{"connmark/set-ctmask", v4, argv("-t mangle -A PREROUTING -j CONNMARK --set-xmark 1 --ctmask 0xf"), "-t mangle -A PREROUTING -j CONNMARK --set-xmark 0x1/0xf"},
	{"connmark/and", v4, argv("-t mangle -A PREROUTING -j CONNMARK --and-mark 0xff"), "-t mangle -A PREROUTING -j CONNMARK --set-xmark 0x0/0xffffff00"},
	{"connmark/or", v4, argv("-t mangle -A PREROUTING -j CONNMARK --or-mark 0xff"), "-t mangle -A PREROUTING -j CONNMARK --set-xmark 0xff/0xff"},
	{"connmark/xor", v4, argv("-t mangle -A PREROUTING -j CONNMARK --xor-mark 0xff"), "-t mangle -A PREROUTING -j CONNMARK --set-xmark 0xff/0x0"},
	{"connmark/save", v4, argv("-t mangle -A POSTROUTING -j CONNMARK --save-mark"), "-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff"},
	{"connmark/restore", v4, argv("-t mangle -A PREROUTING -j CONNMARK --restore-mark"), "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"},
	{"connmark/save-nfmask", v4, argv("-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0xff"), "-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xffffffff"},
	{"connmark/restore-ctmask", v4, argv("-t mangle -A PREROUTING -j CONNMARK --ctmask 0xff --restore-mark"), "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xff"},
	{"connmark/restore-ctmask-only", v4, argv("-t mangle -A PREROUTING -j CONNMARK --restore-mark --ctmask 0xff0000"), "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xff0000"},
	{"connmark/save-nfmask-zero", v4, argv("-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0 --ctmask 0xff"), "-t mangle -A POSTROUTING -j CONNMARK --save-mark --nfmask 0x0 --ctmask 0xff"},
	{"ct/notrack", v4, argv("-t raw -A PREROUTING -j CT --notrack"), "-t raw -A PREROUTING -j CT --notrack"},
	{"ct/notrack-output", v4, argv("-t raw -A OUTPUT -p udp --dport 53 -j CT --notrack"), "-t raw -A OUTPUT -p udp -m udp --dport 53 -j CT --notrack"},
	{"ct/notrack-prefix", v4, argv("-t raw -A PREROUTING -j CT --notr"), "-t raw -A PREROUTING -j CT --notrack"},
	{"ct/notrack-target", v4, argv("-t raw -A PREROUTING -j NOTRACK"), "-t raw -A PREROUTING -j NOTRACK"},
	{"ct6/notrack", v6, argv("-t raw -A OUTPUT -j CT --notrack"), "-t raw -A OUTPUT -j CT --notrack"},
	{"ct6/notrack-target", v6, argv("-t raw -A PREROUTING -j NOTRACK"), "-t raw -A PREROUTING -j NOTRACK"},
	{"connmark6/restore", v6, argv("-t mangle -A OUTPUT -j CONNMARK --restore-mark"), "-t mangle -A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"},
}

// Invalid holds rules that iptables itself refuses (exit code 2), each with
// the error ctmatch gives and where it points.
var Invalid = []InvalidCase{
	// -m comment
	{"comment/negated", v4, "-m comment " + Marker + "! --comment x", `option "--comment" cannot be inverted`},
	{"comment/twice", v4, "-m comment --comment a " + Marker + "--comment b", `option "--comment" can only be used once`},
	{"comment/missing", v4, "-m " + Marker + "comment -j ACCEPT", `option "--comment" must be specified`},
	{"comment/no-value", v4, "-m comment --comment" + Marker, "expected a comment after --comment"},
	{"comment/without-match", v4, Marker + "--comment x", `unknown option "--comment"`},
	// --ctstate
	{"ctstate/bogus-item", v4, "-m conntrack --ctstate NEW," + Marker + "BOGUS", `unknown conntrack state "BOGUS"`},
	{"ctstate/bogus", v4, "-m conntrack --ctstate " + Marker + "BOGUS", `unknown conntrack state "BOGUS"`},
	{"ctstate/longer-than-name", v4, "-m conntrack --ctstate " + Marker + "NEWX", `unknown conntrack state "NEWX"`},
	{"ctstate/trailing-comma", v4, "-m conntrack --ctstate NEW" + Marker + ",", `empty state in "NEW,"`},
	{"ctstate/trailing-comma-then-more", v4, "-m conntrack --ctstate NEW" + Marker + ", -j ACCEPT", `empty state in "NEW,"`},
	{"ctstate/leading-comma", v4, "-m conntrack --ctstate " + Marker + ",NEW", `empty state in ",NEW"`},
	{"ctstate/double-comma", v4, "-m conntrack --ctstate NEW," + Marker + ",RELATED", `empty state in "NEW,,RELATED"`},
	{"ctstate/empty", v4, `-m conntrack --ctstate "` + Marker + `"`, `empty state in ""`},
	{"ctstate/empty-equals", v4, "-m conntrack --ctstate" + Marker + "=", `empty state in ""`},
	{"ctstate/blank-in-list", v4, `-m conntrack --ctstate "` + Marker + `NEW ESTABLISHED"`, `unknown conntrack state "NEW ESTABLISHED"`},
	{"ctstate/bang-as-value", v4, "-m conntrack --ctstate " + Marker + "! NEW", `unknown conntrack state "!"`},
	{"ctstate/option-as-value", v4, "-m conntrack --ctstate " + Marker + "--ctdir REPLY", `unknown conntrack state "--ctdir"`},
	{"ctstate/twice", v4, "-m conntrack --ctstate NEW " + Marker + "--ctstate INVALID", "option --ctstate can only be used once in a match"},
	{"ctstate/twice-equals", v4, "-m conntrack --ctstate NEW ! " + Marker + "--ctstate=INVALID", "option --ctstate can only be used once in a match"},
	{"ctstate/missing-value", v4, "-m conntrack --ctstate" + Marker, "found end of rule: expected a list of states after --ctstate"},

	// -m state
	{"state/snat", v4, "-m state --state " + Marker + "SNAT", `unknown state "SNAT"`},
	{"state/dnat-item", v4, "-m state --state NEW," + Marker + "DNAT", `unknown state "DNAT"`},
	{"state/bogus", v4, "-m state --state " + Marker + "BOGUS", `unknown state "BOGUS"`},
	{"state/trailing-comma", v4, "-m state --state NEW" + Marker + ",", `empty state in "NEW,"`},
	{"state/no-state", v4, "-A INPUT -m " + Marker + "state", "-m state needs --state"},
	{"state/no-state-before-target", v4, "-m state --state NEW -m " + Marker + "state -j ACCEPT", "-m state needs --state"},
	{"state/ctstate-option", v4, "-m state --state NEW " + Marker + "--ctstate INVALID", `unknown option "--ctstate"`},
	{"state/twice", v4, "-m state --state NEW " + Marker + "--state INVALID", "option --state can only be used once in a match"},

	// --ctproto
	{"ctproto/zero", v4, "-m conntrack --ctproto " + Marker + "0", "would never match"},
	{"ctproto/all", v4, "-m conntrack --ctproto " + Marker + "all", "would never match"},
	{"ctproto/negated-zero", v4, "-m conntrack ! --ctproto " + Marker + "0", "would match every packet with a conntrack"},
	{"ctproto/256", v4, "-m conntrack --ctproto " + Marker + "256", `unknown protocol "256"`},
	{"ctproto/hex-256", v4, "-m conntrack --ctproto " + Marker + "0x100", `unknown protocol "0x100"`},
	{"ctproto/bad-octal", v4, "-m conntrack --ctproto " + Marker + "08", `unknown protocol "08"`},
	{"ctproto/negative", v4, "-m conntrack --ctproto " + Marker + "-1", `unknown protocol "-1"`},
	{"ctproto/trailing-junk", v4, "-m conntrack --ctproto " + Marker + "6x", `unknown protocol "6x"`},
	{"ctproto/unknown-name", v4, "-m conntrack --ctproto " + Marker + "bogus", `unknown protocol "bogus"`},
	{"ctproto/case-sensitive", v4, "-m conntrack --ctproto " + Marker + "Tcp", `unknown protocol "Tcp"`},
	{"ctproto/leading-blank", v4, `-m conntrack --ctproto ` + Marker + `" 6"`, `unknown protocol " 6"`},
	{"ctproto/empty", v6, `-m conntrack --ctproto ` + Marker + `""`, `unknown protocol ""`},

	// Addresses
	{"ctorigsrc/bad-octal-len", v4, "-m conntrack --ctorigsrc 10.1.2.3/" + Marker + "08", `bad mask "08"`},
	{"ctorigdst/negative-len", v4, "-m conntrack --ctorigdst 10.0.0.1/" + Marker + "-1", `bad mask "-1"`},
	{"ctreplsrc/mask-256", v4, "-m conntrack --ctreplsrc 10.0.0.1/" + Marker + "255.0.256.0", `bad mask "255.0.256.0"`},
	{"ctrepldst/two-masks", v4, "-m conntrack --ctrepldst 1.2.3.4/" + Marker + "8/8", `bad mask "8/8"`},
	{"ctorigsrc/empty-mask", v4, "-m conntrack --ctorigsrc 10.0.0.1" + Marker + "/", `bad mask ""`},
	{"ctorigsrc/no-address", v4, "-m conntrack --ctorigsrc " + Marker + "/8", "expected an address before the mask"},
	{"ctorigsrc/empty", v4, `-m conntrack --ctorigsrc "` + Marker + `"`, "expected an address"},
	{"ctorigsrc/ipv6-in-iptables", v4, "-m conntrack --ctorigsrc " + Marker + "::1", "IPv6 address ::1 in an iptables rule"},
	{"ctorigdst/ipv6-prefix-in-iptables", v4, "-m conntrack ! --ctorigdst " + Marker + "2001:db8::/32", "IPv6 address 2001:db8:: in an iptables rule"},
	{"ctorigsrc/ipv4-in-ip6tables", v6, "-m conntrack --ctorigsrc " + Marker + "10.0.0.1", "IPv4 address 10.0.0.1 in an ip6tables rule"},
	{"ctorigsrc/ipv6-len-129", v6, "-m conntrack --ctorigsrc 2001:db8::1/" + Marker + "129", `bad mask "129"`},
	{"ctorigsrc/ipv6-len-hex-too-big", v6, "-m conntrack --ctorigsrc 2001:db8::1/" + Marker + "0xffff", `bad mask "0xffff"`},
	{"ctorigsrc/ipv6-ipv4-mask", v6, "-m conntrack --ctorigsrc 2001:db8::1/" + Marker + "255.255.0.0", `bad mask "255.255.0.0"`},
	{"ctorigsrc/ipv6-zone", v6, "-m conntrack --ctorigsrc " + Marker + "fe80::1%lo", `bad address "fe80::1%lo"`},
	{"ctorigsrc/ipv6-bad", v6, "-m conntrack --ctorigsrc " + Marker + "2001:db8:::1", `bad address "2001:db8:::1"`},

	// Ports
	{"ctorigsrcport/65536", v4, "-m conntrack --ctorigsrcport " + Marker + "65536", "port 65536 is out of range"},
	{"ctorigdstport/70000", v4, "-m conntrack --ctorigdstport " + Marker + "70000", "port 70000 is out of range"},
	{"ctreplsrcport/huge", v4, "-m conntrack --ctreplsrcport " + Marker + "99999999999", "port 99999999999 is out of range"},
	{"ctreplsrcport/reversed", v4, "-m conntrack --ctreplsrcport 100:" + Marker + "50", `reversed range "100:50"`},
	{"ctrepldstport/reversed-to-zero", v4, "-m conntrack --ctrepldstport 22:" + Marker + "0", `reversed range "22:0"`},
	{"ctorigsrcport/three-parts", v4, "-m conntrack --ctorigsrcport 1:2" + Marker + ":3", `too many parts in "1:2:3"`},
	{"ctorigsrcport/unknown-service", v4, "-m conntrack --ctorigsrcport " + Marker + "bogusservice", `unknown service "bogusservice"`},
	{"ctorigdstport/unknown-service-high", v4, "-m conntrack --ctorigdstport 22:" + Marker + "bogus", `unknown service "bogus"`},
	{"ctorigsrcport/hex", v4, "-m conntrack --ctorigsrcport " + Marker + "0x10", `unknown service "0x10"`},
	{"ctorigsrcport/negative", v4, "-m conntrack --ctorigsrcport " + Marker + "-1", `unknown service "-1"`},
	{"ctorigsrcport/empty", v4, "-m conntrack --ctorigsrcport " + Marker + `""`, "expected a value, found an empty word"},
	{"ctrepldstport/missing-value", v6, "-m conntrack --ctrepldstport" + Marker, "found end of rule: expected a port or port range after --ctrepldstport"},

	// --ctstatus
	{"ctstatus/bogus", v4, "-m conntrack --ctstatus " + Marker + "BOGUS", `unknown conntrack status "BOGUS"`},
	{"ctstatus/bogus-item", v4, "-m conntrack ! --ctstatus EXPECTED," + Marker + "BOGUS", `unknown conntrack status "BOGUS"`},
	{"ctstatus/state-name", v4, "-m conntrack --ctstatus " + Marker + "NEW", `unknown conntrack status "NEW"`},
	{"ctstatus/trailing-comma", v4, "-m conntrack --ctstatus EXPECTED" + Marker + ",", `empty status in "EXPECTED,"`},
	{"ctstatus/empty", v4, `-m conntrack --ctstatus "` + Marker + `"`, `empty status in ""`},

	// --ctexpire
	{"ctexpire/reversed", v4, "-m conntrack --ctexpire 5:" + Marker + "3", `reversed range "5:3"`},
	{"ctexpire/reversed-to-zero", v4, "-m conntrack --ctexpire 5:" + Marker + "0", `reversed range "5:0"`},
	{"ctexpire/too-big", v4, "-m conntrack --ctexpire " + Marker + "4294967296", `bad time "4294967296"`},
	{"ctexpire/too-big-high", v4, "-m conntrack --ctexpire 10:" + Marker + "4294967296", `bad time "4294967296"`},
	{"ctexpire/negative", v4, "-m conntrack --ctexpire " + Marker + "-1", `bad time "-1"`},
	{"ctexpire/not-a-number", v4, "-m conntrack ! --ctexpire " + Marker + "abc", `bad time "abc"`},
	{"ctexpire/bad-octal", v4, "-m conntrack --ctexpire " + Marker + "08", `bad time "08"`},
	{"ctexpire/three-parts", v4, "-m conntrack --ctexpire 1:2" + Marker + ":3", `too many parts in "1:2:3"`},
	{"ctexpire/empty", v4, "-m conntrack --ctexpire " + Marker + `""`, "expected a value, found an empty word"},

	// --ctdir
	{"ctdir/abbreviated", v4, "-m conntrack --ctdir " + Marker + "r", `bad --ctdir "r"`},
	{"ctdir/prefix", v4, "-m conntrack --ctdir " + Marker + "ORIG", `bad --ctdir "ORIG"`},
	{"ctdir/empty", v4, `-m conntrack --ctdir ` + Marker + `""`, `bad --ctdir ""`},
	{"ctdir/negated", v4, "-m conntrack " + Marker + "! --ctdir REPLY", "option --ctdir cannot be negated"},
	{"ctdir/twice", v4, "-m conntrack --ctdir REPLY " + Marker + "--ctdir ORIGINAL", "option --ctdir can only be used once in a match"},
	{"ctdir/missing-value", v4, "-m conntrack --ctstate NEW --ctdir" + Marker, "found end of rule: expected ORIGINAL or REPLY after --ctdir"},

	// "!" in the wrong place
	{"bang/trailing", v4, "-m conntrack --ctstate NEW !" + Marker, "found end of rule: expected an option after !"},
	{"bang/double", v4, "-m conntrack ! " + Marker + "! --ctstate NEW", "multiple consecutive ! not allowed"},
	{"bang/before-match", v4, "-A INPUT " + Marker + "! -m conntrack --ctstate NEW", "cannot have ! before -m"},
	{"bang/before-jump", v4, "-m conntrack --ctstate NEW " + Marker + "! -j ACCEPT", "cannot have ! before -j"},
	{"bang/before-append", v4, Marker + "! -A INPUT -m conntrack --ctstate NEW", "cannot have ! before -A"},
	{"bang/before-word", v4, "-m conntrack ! " + Marker + "NEW", `unexpected word "NEW" after !`},

	// Options
	{"option/unknown", v4, "-m conntrack --ctstate NEW " + Marker + "--bogus", `unknown option "--bogus"`},
	{"option/ambiguous", v4, "-m conntrack " + Marker + "--ctst NEW", `ambiguous option "--ctst": it could be --ctstate, --ctstatus`},
	{"option/ambiguous-frame", v4, "-A INPUT " + Marker + "--m conntrack --ctstate NEW", `ambiguous option "--m"`},
	{"option/before-match", v4, "-A INPUT " + Marker + "--ctstate NEW -m conntrack", "write -m conntrack before it"},
	{"option/state-before-match", v4, "-A INPUT " + Marker + "--state NEW", "write -m state before it"},
	{"option/conntrack-no-options", v4, "-A INPUT -m " + Marker + "conntrack", "-m conntrack needs at least one option"},
	{"option/conntrack-no-options-before-target", v4, "-m " + Marker + "conntrack -j ACCEPT", "-m conntrack needs at least one option"},
	{"option/second-conntrack-empty", v6, "-m conntrack --ctstate NEW -m " + Marker + "conntrack", "-m conntrack needs at least one option"},
	{"option/bare-word", v4, "-m conntrack --ctstate NEW " + Marker + "extra", `unexpected word "extra"`},
	{"option/bare-value", v4, "-m conntrack " + Marker + "NEW", `unexpected word "NEW"`},
	{"option/append-index", v4, "-A INPUT " + Marker + "1 -m conntrack --ctstate NEW", `unexpected word "1"`},

	// Frame
	{"frame/insert-zero", v4, "-I INPUT " + Marker + "0 -m conntrack --ctstate NEW", `invalid rule number "0"`},
	{"frame/insert-word", v4, "-I INPUT " + Marker + "foo -m conntrack --ctstate NEW", `invalid rule number "foo"`},
	{"frame/append-twice", v4, "-A INPUT " + Marker + "-A INPUT -m conntrack --ctstate NEW", "cannot use -A with -A"},
	{"frame/insert-after-append", v4, "-A INPUT " + Marker + "-I INPUT -m conntrack --ctstate NEW", "cannot use -I with -A"},
	{"frame/append-missing-chain", v4, "-m conntrack --ctstate NEW -A" + Marker, "found end of rule: expected a chain name after -A"},
	{"frame/append-option-as-chain", v4, "-A " + Marker + "-m conntrack --ctstate NEW", `expected a chain name after -A, found "-m"`},
	{"frame/append-empty-chain", v4, `-A ` + Marker + `"" -m conntrack --ctstate NEW`, "expected a chain name after -A, found an empty word"},
	{"frame/chain-29-chars", v4, "-A " + Marker + "ABCDEFGHIJKLMNOPQRSTUVWXYZABC -m conntrack --ctstate NEW", "29 characters, at most 28"},
	{"frame/jump-twice", v4, "-A INPUT -m conntrack --ctstate NEW -j ACCEPT " + Marker + "-j DROP", "multiple -j and -g flags not allowed"},
	{"frame/jump-and-goto", v4, "-A INPUT -j ACCEPT " + Marker + "-g MYCHAIN -m conntrack --ctstate NEW", "multiple -j and -g flags not allowed"},
	{"frame/target-29-chars", v4, "-m conntrack --ctstate NEW -j " + Marker + "ABCDEFGHIJKLMNOPQRSTUVWXYZABC", "29 characters, at most 28"},
	{"frame/target-blank", v4, `-m conntrack --ctstate NEW -j ` + Marker + `"MY CHAIN"`, "contains a blank"},
	{"frame/target-empty", v4, `-m conntrack --ctstate NEW -j ` + Marker + `""`, "expected a target name after -j"},
	{"frame/target-option", v4, "-m conntrack --ctstate NEW -j " + Marker + "-m", `expected a target name after -j, found "-m"`},
	{"frame/target-missing", v4, "-m conntrack --ctstate NEW -j" + Marker, "found end of rule: expected a target name after -j"},
	{"frame/goto-verdict", v4, "-A INPUT -m conntrack --ctstate NEW -g " + Marker + "ACCEPT", "-g takes a user chain, not the verdict ACCEPT"},
	{"frame/table-bogus", v4, "-t " + Marker + "bogus -A INPUT -m conntrack --ctstate NEW", `unknown table "bogus"`},
	{"frame/table-upper-case", v4, "-t " + Marker + "NAT -A PREROUTING -m conntrack --ctstate NEW", `unknown table "NAT"`},
	{"frame/table-twice", v4, "-t nat " + Marker + "-t filter -A INPUT -m conntrack --ctstate NEW", "-t given twice"},
	{"frame/match-unknown", v4, "-A INPUT -m " + Marker + "CONNTRACK --ctstate NEW", `unknown match "CONNTRACK"`},
	{"frame/match-empty", v4, `-A INPUT -m ` + Marker + `"" --ctstate NEW`, "expected a match name after -m"},
	{"frame/match-missing", v4, "-m conntrack --ctstate NEW -m" + Marker, "found end of rule: expected a match name after -m"},
	{"frame/unterminated-quote", v4, `-m conntrack --ctstate ` + Marker + `"NEW`, "unterminated quoted word"},

	// Options after -j or another -m go to the last match that defines
	// them; every match needs an option of its own.
	{"permute/first-conntrack-empty", v4, "-A INPUT -m " + Marker + "conntrack -m conntrack --ctstate NEW", "-m conntrack needs at least one option"},
	{"permute/conntrack-empty-after-state", v4, "-A INPUT -m state -m " + Marker + "conntrack --state NEW", "-m conntrack needs at least one option"},
	{"permute/state-empty", v4, "-A INPUT -m conntrack --ctstate NEW -m " + Marker + "state --ctstatus ASSURED", "-m state needs --state"},
	{"permute/ctstate-twice-across-state", v4, "-A INPUT -m conntrack --ctstate NEW -m state " + Marker + "--ctstate INVALID", "option --ctstate can only be used once in a match"},
	{"permute/twice-after-jump", v4, "-A INPUT -m conntrack --ctstate NEW -j ACCEPT " + Marker + "--ctstate INVALID", "option --ctstate can only be used once in a match"},
	{"permute/ctstate-for-state", v4, "-A INPUT -m state --state NEW -j ACCEPT " + Marker + "--ctstate NEW", `unknown option "--ctstate"`},
	{"permute/bang-before-jump", v4, "-A INPUT -m conntrack " + Marker + "! -j ACCEPT --ctstate NEW", "cannot have ! before -j"},
	{"permute/ctdir-negated-after-jump", v4, "-A INPUT -m conntrack -j ACCEPT " + Marker + "! --ctdir REPLY", "option --ctdir cannot be negated"},

	// -c PACKETS BYTES
	{"counters/missing-bytes", v4, "-A INPUT -c 1 " + Marker + "-m conntrack --ctstate NEW", `expected the byte count after -c 1, found "-m"`},
	{"counters/missing-bytes-at-end", v4, "-A INPUT -m conntrack --ctstate NEW -c 1" + Marker, "found end of rule: expected the byte count after -c 1"},
	{"counters/missing-value", v4, "-A INPUT -m conntrack --ctstate NEW -c" + Marker, "found end of rule: expected the packet count after -c"},
	{"counters/not-numeric", v4, "-A INPUT -c " + Marker + "a b -m conntrack --ctstate NEW", `bad packet count "a"`},
	{"counters/bytes-not-numeric", v4, "-A INPUT -c 1 " + Marker + "b -m conntrack --ctstate NEW", `bad byte count "b"`},
	{"counters/empty-bytes", v4, "-A INPUT -c 1" + Marker + ", 2 -m conntrack --ctstate NEW", "missing byte count"},
	{"counters/negative", v4, "-A INPUT -c " + Marker + "-1 2 -m conntrack --ctstate NEW", `bad packet count "-1"`},
	{"counters/trailing-junk", v4, "-A INPUT -c 1 " + Marker + "2x -m conntrack --ctstate NEW", `bad byte count "2x"`},
	{"counters/overflow", v4, "-A INPUT -c " + Marker + "18446744073709551616 0 -m conntrack --ctstate NEW", `bad packet count "18446744073709551616"`},
	{"counters/three", v4, "-A INPUT -c 1," + Marker + "2,3 -m conntrack --ctstate NEW", `bad byte count "2,3"`},
	{"counters/twice", v4, "-A INPUT -c 1 2 " + Marker + "-c 3 4 -m conntrack --ctstate NEW", "multiple -c flags not allowed"},
	{"counters/negated", v4, "-A INPUT " + Marker + "! -c 1 2 -m conntrack --ctstate NEW", "cannot have ! before -c"},
	{"counters/prefix-not-first", v4, "-A INPUT " + Marker + "[0:0] -m conntrack --ctstate NEW", `unexpected word "[0:0]"`},

	// An invalid word makes the rule invalid, whatever unsupported words it
	// also has: iptables refuses it.
	{"mixed/protocol-then-bad-state", v4, "-A INPUT -p tcp -m conntrack --ctstate " + Marker + "BOGUS", `unknown conntrack state "BOGUS"`},
	{"mixed/multiport-then-bad-state", v4, "-A INPUT -p tcp -m multiport --dports 22,80 -m conntrack --ctstate NEW," + Marker + "BOGUS -j ACCEPT", `unknown conntrack state "BOGUS"`},
	{"mixed/target-then-negated-ctdir", v4, "-A INPUT -j LOG --log-prefix x -m conntrack " + Marker + "! --ctdir REPLY", "option --ctdir cannot be negated"},
	{"mixed/host-then-twice", v4, "-A INPUT -m conntrack --ctorigsrc localhost " + Marker + "--ctorigsrc 10.0.0.1", "option --ctorigsrc can only be used once in a match"},
	{"mixed/protocol-twice", v4, "-A INPUT -p tcp " + Marker + "-p udp -m conntrack --ctstate NEW", "multiple -p flags not allowed"},
	{"mixed/source-twice", v4, "-A INPUT -s 10.0.0.1 " + Marker + "--src 10.0.0.2 -m conntrack --ctstate NEW", "multiple -s flags not allowed"},
	{"mixed/two-commands", v4, "-A INPUT " + Marker + "-D INPUT -m conntrack --ctstate NEW", "cannot use -D with -A"},
	{"mixed/negated-verbose", v4, "-A INPUT " + Marker + "! -v -m conntrack --ctstate NEW", "cannot have ! before -v"},
	{"mixed/unknown-option-after-source", v4, "-A INPUT -s 10.0.0.1 " + Marker + "--bogus -m conntrack --ctstate NEW", `unknown option "--bogus"`},
	{"mixed/bare-word-after-protocol", v4, "-A INPUT -p tcp " + Marker + "extra -m conntrack --ctstate NEW", `unexpected word "extra"`},
	{"mixed/unsupported-then-empty-conntrack", v4, "-A INPUT -i lo -m " + Marker + "conntrack -j ACCEPT", "-m conntrack needs at least one option"},
	{"mixed/numeric-with-append", v4, "-A INPUT " + Marker + "-n -m conntrack --ctstate NEW", "illegal option -n with -A"},
	{"mixed/line-numbers-with-insert", v4, "-m conntrack --ctstate NEW " + Marker + "--line-numbers -I INPUT", "illegal option --line-numbers with -I"},
	{"mixed/wait-interval-without-wait", v4, "-A INPUT " + Marker + "-W 5 -m conntrack --ctstate NEW", "-W goes only with -w"},
	{"mixed/short-options-in-one-word", v4, "-A INPUT " + Marker + "-vq -m conntrack --ctstate NEW", `unknown option "-q" in "-vq"`},
	{"mixed/numeric-after-verbose-in-one-word", v4, "-A INPUT " + Marker + "-vn -m conntrack --ctstate NEW", "illegal option -vn with -A"},
	{"mixed/protocol-last-in-one-word-without-value", v4, "-A INPUT -m conntrack --ctstate NEW -vp" + Marker, "expected a value after -p in -vp"},
	// -p and the tcp and udp matches.
	{"ports/without-protocol", v4, "-A INPUT " + Marker + "--dport 22", `unknown option "--dport"`},
	{"ports/protocol-all-negated", v4, "! -p " + Marker + "all", "rule would never match protocol"},
	{"ports/dport-twice", v4, "-p tcp -m tcp --dport 1 " + Marker + "--dport 2", "only one --destination-port allowed"},
	{"ports/sport-twice-implicit", v4, "-p udp --sport 1 " + Marker + "--source-port 2", "only one --source-port allowed"},
	{"ports/reversed", v4, "-p tcp --dport 1024:" + Marker + "1", "reversed range"},
	{"ports/65536", v4, "-p tcp --dport " + Marker + "65536", `invalid port/service "65536"`},
	{"ports/70000-range", v4, "-p tcp --dport " + Marker + "70000:80000", `invalid port/service "70000"`},
	{"ports/negative", v4, "-p tcp --dport " + Marker + "-1", `invalid port/service "-1"`},
	{"ports/list", v4, "-p tcp --dport " + Marker + "22,23", `invalid port/service "22,23"`},
	{"ports/bogus-service", v4, "-p tcp --dport " + Marker + "bogus", `invalid port/service "bogus"`},
	{"ports/empty", v4, `-p tcp --dport ` + Marker + `""`, `expected a value`},
	{"ports/leading-blank", v4, `-p tcp --dport "` + Marker + ` 17"`, `invalid port/service " 17"`},
	{"ports/udp-match-after-tcp", v4, "-p tcp -m " + Marker + "udp --dport 29", "the udp match needs -p udp"},
	{"ports/tcp-match-without-protocol", v4, "-m " + Marker + "tcp --dport 35", "the tcp match needs -p tcp"},
	{"ports/negated-protocol", v4, "! -p tcp " + Marker + "--dport 22", "the tcp match needs -p tcp without !"},
	{"ports/icmp-has-no-dport", v4, "-p icmp " + Marker + "--dport 31", `unknown option "--dport"`},
	{"ports/udplite-has-no-match", v4, "-p udplite " + Marker + "--dport 32", `unknown option "--dport"`},
	{"ports/dports-is-multiport", v4, "-p tcp " + Marker + "--dports 24", `unknown option "--dports"`},
	{"icmp/leading-blank", v4, `-p icmp --icmp-type ` + Marker + `" 3"`, `unknown ICMP type " 3"`},
	{"icmp/ambiguous", v4, "-p icmp --icmp-type " + Marker + "echo", `ambiguous ICMP type "echo"`},
	{"icmp/empty", v4, `-p icmp --icmp-type ` + Marker + `""`, `ambiguous ICMP type ""`},
	{"icmp/256", v4, "-p icmp --icmp-type " + Marker + "256", `unknown ICMP type "256"`},
	{"icmp/negative", v4, "-p icmp --icmp-type " + Marker + "-1", `unknown ICMP type "-1"`},
	{"icmp/code-256", v4, "-p icmp --icmp-type " + Marker + "3/256", `unknown ICMP code "3/256"`},
	{"icmp/code-missing", v4, "-p icmp --icmp-type " + Marker + "3/", `unknown ICMP code "3/"`},
	{"icmp/type-missing", v4, "-p icmp --icmp-type " + Marker + "/3", `unknown ICMP type "/3"`},
	{"icmp/twice", v4, "-p icmp -m icmp --icmp-type 8 " + Marker + "--icmp-type 0", `option "--icmp-type" can only be used once`},
	{"icmp/twice-implicit", v4, "-p icmp --icmp-type 8 " + Marker + "--icmp-type 0", `option "--icmp-type" can only be used once`},
	{"icmp/no-option", v4, "-p icmp -m " + Marker + "icmp", `option "--icmp-type" must be specified`},
	{"icmp/without-protocol", v4, "-A INPUT " + Marker + "--icmp-type 8", `unknown option "--icmp-type"`},
	{"icmp/match-without-protocol", v4, "-m " + Marker + "icmp --icmp-type 8", "the icmp match needs -p icmp"},
	{"icmp/negated-protocol", v4, "! -p icmp " + Marker + "--icmp-type 8", "the icmp match needs -p icmp without !"},
	{"icmp/icmpv6-type-in-iptables", v4, "-p icmp " + Marker + "--icmpv6-type 8", `unknown option "--icmpv6-type"`},
	{"icmpv6/any", v6, "-p icmpv6 --icmpv6-type " + Marker + "any", `unknown ICMPv6 type "any"`},
	{"icmpv6/icmp-type-in-ip6tables", v6, "-p icmpv6 " + Marker + "--icmp-type 8", `unknown option "--icmp-type"`},
	{"icmpv6/icmp-protocol", v6, "-p icmp " + Marker + "--icmp-type 8", `unknown option "--icmp-type"`},
	{"icmpv6/no-option", v6, "-p icmpv6 -m " + Marker + "icmp6", `option "--icmpv6-type" must be specified`},
	{"icmpv6/match-without-protocol", v6, "-m " + Marker + "icmp6 --icmpv6-type 1", "the icmp6 match needs -p ipv6-icmp"},
	{"ttl/256", v4, "-m ttl --ttl-eq " + Marker + "256", `ttl: bad value "256" for option "--ttl-eq"`},
	{"ttl/negative", v4, "-m ttl --ttl-eq " + Marker + "-1", `ttl: bad value "-1"`},
	{"ttl/empty", v4, `-m ttl --ttl-eq ` + Marker + `""`, `ttl: bad value ""`},
	{"ttl/junk", v4, "-m ttl --ttl-eq " + Marker + "5x", `ttl: bad value "5x"`},
	{"ttl/octal-8", v4, "-m ttl --ttl-eq " + Marker + "08", `ttl: bad value "08"`},
	{"ttl/hex-empty", v4, "-m ttl --ttl-eq " + Marker + "0x", `ttl: bad value "0x"`},
	{"ttl/leading-blank", v4, `-m ttl --ttl-eq ` + Marker + `" 5"`, `ttl: bad value " 5"`},
	{"ttl/plus", v4, "-m ttl --ttl-eq " + Marker + "+5", `ttl: bad value "+5"`},
	{"ttl/lt-negated", v4, "-m ttl " + Marker + "! --ttl-lt 5", `ttl: option "--ttl-lt" cannot be inverted`},
	{"ttl/gt-negated", v4, "-m ttl " + Marker + "! --ttl-gt 1", `ttl: option "--ttl-gt" cannot be inverted`},
	{"ttl/twice", v4, "-m ttl --ttl-eq 5 " + Marker + "--ttl-eq 6", `ttl: option "--ttl-eq" can only be used once`},
	{"ttl/twice-alias", v4, "-m ttl --ttl-eq 5 " + Marker + "--ttl 6", `ttl: option "--ttl-eq" can only be used once`},
	{"ttl/eq-and-lt", v4, "-m ttl --ttl-eq 64 " + Marker + "--ttl-lt 3", `ttl: option "--ttl-lt" cannot be used together with "--ttl-eq"`},
	{"ttl/lt-and-gt", v4, "-m ttl --ttl-lt 5 " + Marker + "--ttl-gt 3", `cannot be used together`},
	{"ttl/no-option", v4, "-m " + Marker + "ttl", `ttl: one of the options "--ttl-eq", "--ttl-lt", "--ttl-gt" must be specified`},
	{"ttl/ambiguous", v4, "-m ttl " + Marker + "--ttl- 5", `ambiguous option "--ttl-"`},
	{"ttl/without-match", v4, "-A INPUT " + Marker + "--ttl-eq 5", `unknown option "--ttl-eq"`},
	{"ttl/in-ip6tables", v6, "-m " + Marker + "ttl --ttl-eq 5", `unknown match "ttl": ip6tables has no ttl match`},
	{"hl/in-iptables", v4, "-m " + Marker + "hl --hl-eq 5", `unknown match "hl": iptables has no hl match`},
	{"hl/256", v6, "-m hl --hl-eq " + Marker + "256", `hl: bad value "256" for option "--hl-eq"`},
	{"hl/lt-negated", v6, "-m hl " + Marker + "! --hl-lt 5", `hl: option "--hl-lt" cannot be inverted`},
	{"hl/gt-negated", v6, "-m hl " + Marker + "! --hl-gt 1", `hl: option "--hl-gt" cannot be inverted`},
	{"hl/eq-and-gt", v6, "-m hl --hl-eq 64 " + Marker + "--hl-gt 3", `hl: option "--hl-gt" cannot be used together with "--hl-eq"`},
	{"hl/twice", v6, "-m hl --hl-eq 5 " + Marker + "--hl-eq 6", `hl: option "--hl-eq" can only be used once`},
	{"hl/no-option", v6, "-m " + Marker + "hl", `hl: one of the options "--hl-eq", "--hl-lt", "--hl-gt" must be specified`},
	{"protocol/256", v4, "-p " + Marker + "256", `unknown protocol "256" specified`},
	{"protocol/twice", v4, "-p tcp " + Marker + "-p udp", "multiple -p flags not allowed"},
	{"iface/empty", v4, `-i ` + Marker + `""`, "empty interface is likely to be undesired"},
	{"iface/sixteen-bytes", v4, "-i " + Marker + "0123456789abcdef", "must be shorter than IFNAMSIZ (15)"},
	{"iface/sixteen-bytes-wildcard", v4, "-o " + Marker + "0123456789abcde+", "must be shorter than IFNAMSIZ (15)"},
	{"iface/in-twice", v4, "-i a " + Marker + "-i b", "multiple -i flags not allowed"},
	{"iface/out-twice-long", v4, "-o a " + Marker + "--out-interface b", "multiple -o flags not allowed"},
	{"iface/old-negation", v4, "-i ! " + Marker + "eth0", `unexpected word "eth0"`},
	{"iface/missing", v4, "-i" + Marker, "expected an interface name"},
	{"iface/out-in-input", v4, "-A INPUT " + Marker + "-o eth0", "can't use -o with INPUT"},
	{"iface/out-in-prerouting", v4, "-t nat -A PREROUTING -i eth0 " + Marker + "! -o eth1", "can't use -o with PREROUTING"},
	{"iface/in-in-output", v4, "-A OUTPUT " + Marker + "-i eth0", "can't use -i with OUTPUT"},
	{"iface/in-in-postrouting", v4, "-t nat -A POSTROUTING " + Marker + "-i eth+ -j ACCEPT", "can't use -i with POSTROUTING"},
	{"addr/src-twice", v4, "-s 10.0.0.1 " + Marker + "--source 10.0.0.2", "multiple -s flags not allowed"},
	{"addr/dst-twice", v4, "-d 10.0.0.1 " + Marker + "--dst 10.0.0.2", "multiple -d flags not allowed"},
	{"addr/negated-list", v4, Marker + "! -s 10.0.0.1,10.0.0.2", "! not allowed with multiple source or destination IP addresses"},
	{"addr/list-empty-item", v4, "-s 10.0.0.1," + Marker + ",10.0.0.2", "expected an address"},
	{"addr/list-empty-last-item", v4, "-s 10.0.0.1" + Marker + ",", "expected an address, found nothing"},
	{"addr/list-empty-first-item", v4, "-s " + Marker + ",10.0.0.1", "expected an address, found nothing"},
	{"addr/empty-mask", v4, "-s 10.0.0.1" + Marker + "/", `bad mask ""`},
	{"addr/no-address", v4, "-d " + Marker + "/8", "expected an address before the mask"},
	{"addr/ipv6-in-iptables", v4, "-s " + Marker + "::1", "IPv6 address ::1 in an iptables rule"},
	{"addr/ipv4-in-ip6tables", v6, "-d " + Marker + "10.0.0.1", "IPv4 address 10.0.0.1 in an ip6tables rule"},
	{"addr/ipv6-len-129", v6, "-s 2001:db8::1/" + Marker + "129", `bad mask "129"`},
	{"addr/missing", v4, "-s" + Marker, "expected an address"},
	{"mixed/snat-then-bad-state", v4, "-t nat -A POSTROUTING -m conntrack -s 10.0.0.0/24 -o eth0 -j SNAT --ctstate " + Marker + "BOGUS --to-source 144.76.28.6", `unknown conntrack state "BOGUS"`},

	// The target extensions' options.
	{"reject/unknown", v4, "-A INPUT -j REJECT --reject-with " + Marker + "bogus", `unknown reject type "bogus"`},
	{"reject/echo-reply", v4, "-A INPUT -j REJECT --reject-with " + Marker + "echo-reply", `unknown reject type "echo-reply"`},
	{"reject/twice", v4, "-A INPUT -j REJECT --reject-with icmp-port-unreachable " + Marker + "--reject-with icmp-host-prohibited", `"--reject-with" can only be used once`},
	{"reject/negated", v4, "-A INPUT -p tcp -j REJECT " + Marker + "! --reject-with tcp-reset", "cannot be inverted"},
	{"reject/no-value", v4, "-A INPUT -j REJECT --reject-with" + Marker, "expected a reject type"},
	{"reject/before-target", v4, "-A INPUT " + Marker + "--reject-with icmp-port-unreachable -j REJECT", `unknown option "--reject-with"`},
	{"reject/tcp-reset-no-proto", v4, "-A INPUT -j REJECT --reject-with " + Marker + "tcp-reset", "needs -p tcp"},
	{"reject/tcp-reset-udp", v4, "-A INPUT -p udp -j REJECT --reject-with " + Marker + "tcp-rst", "needs -p tcp"},
	{"reject/tcp-reset-not-tcp", v4, "-A INPUT ! -p tcp -j REJECT --reject-with " + Marker + "tcp-reset", "needs -p tcp"},
	{"reject6/icmp4-name", v6, "-A INPUT -j REJECT --reject-with " + Marker + "icmp-port-unreachable", `unknown reject type "icmp-port-unreachable"`},
	{"reject6/tcp-rst", v6, "-A INPUT -p tcp -j REJECT --reject-with " + Marker + "tcp-rst", `unknown reject type "tcp-rst"`},
	{"reject6/tcp-reset-no-proto", v6, "-A INPUT -j REJECT --reject-with " + Marker + "t", "needs -p tcp"},
	{"masquerade/port-no-proto", v4, "-t nat -A POSTROUTING -j MASQUERADE --to-ports " + Marker + "1024", "need TCP, UDP, SCTP or DCCP"},
	{"masquerade/port-proto-after", v4, "-t nat -A POSTROUTING -j MASQUERADE --to-ports " + Marker + "1024 -p tcp", "need TCP, UDP, SCTP or DCCP"},
	{"masquerade/port-udplite", v4, "-t nat -A POSTROUTING -p udplite -j MASQUERADE --to-ports " + Marker + "1024", "need TCP, UDP, SCTP or DCCP"},
	{"masquerade/reversed", v4, "-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 2000-" + Marker + "1024", "is reversed"},
	{"masquerade/colon", v4, "-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024" + Marker + ":2000", "use a dash"},
	{"masquerade/too-big", v4, "-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports " + Marker + "65536", `port "65536" not valid`},
	{"masquerade/empty-last", v4, "-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 5" + Marker + "-", `port "" not valid`},
	{"masquerade/random-twice", v4, "-t nat -A POSTROUTING -j MASQUERADE --random " + Marker + "--random", `"--random" can only be used once`},
	{"masquerade/persistent", v4, "-t nat -A POSTROUTING -j MASQUERADE " + Marker + "--persistent", `unknown option "--persistent"`},
	{"snat/missing", v4, "-t nat -A POSTROUTING -j " + Marker + "SNAT", `"--to-source" must be specified`},
	{"snat/twice", v4, "-t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4 " + Marker + "--to-source 1.2.3.5", `"--to-source" can only be used once`},
	{"snat/port-no-proto", v4, "-t nat -A POSTROUTING -j SNAT --to-source " + Marker + "1.2.3.4:80", "need TCP, UDP, SCTP or DCCP"},
	{"snat/bad-address", v4, "-t nat -A POSTROUTING -j SNAT --to-source " + Marker + "host", `bad IP address "host"`},
	{"snat/prefix", v4, "-t nat -A POSTROUTING -j SNAT --to-source " + Marker + "1.2.3.4/24", `bad IP address "1.2.3.4/24"`},
	{"snat/octal", v4, "-t nat -A POSTROUTING -j SNAT --to-source " + Marker + "001.2.3.4", `bad IP address "001.2.3.4"`},
	{"snat/empty-last-address", v4, "-t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4" + Marker + "-", `bad IP address ""`},
	{"snat/two-colons", v4, "-t nat -A POSTROUTING -p udp -j SNAT --to-source 1.2.3.4:80" + Marker + ":90", "use a dash"},
	{"snat/ports-reversed", v4, "-t nat -A POSTROUTING -p udp -j SNAT --to-source 1.2.3.4:80-" + Marker + "70", "is reversed"},
	{"dnat/random-fully", v4, "-t nat -A PREROUTING -j DNAT --to-destination 1.2.3.4 " + Marker + "--random-fully", `unknown option "--random-fully"`},
	{"dnat/to-source", v4, "-t nat -A PREROUTING -j DNAT --to-destination 1.2.3.4 " + Marker + "--to-source 1.2.3.4", `unknown option "--to-source"`},
	{"dnat/empty-port", v4, "-t nat -A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4" + Marker + ":", `port "" not valid`},
	{"dnat/service-last", v4, "-t nat -A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:22-" + Marker + "ssh", `port "ssh" not valid`},
	{"dnat6/ipv4", v6, "-t nat -A PREROUTING -j DNAT --to-destination " + Marker + "1.2.3.4", `bad IP address "1.2.3.4"`},
	{"dnat6/bracket-range", v6, "-t nat -A PREROUTING -p tcp -j DNAT --to-destination [::1]" + Marker + "-[::5]:80-90", "not valid"},
	{"redirect/port-no-proto", v4, "-t nat -A PREROUTING -j REDIRECT --to-ports " + Marker + "80", "need TCP, UDP, SCTP or DCCP"},
	{"redirect/random-fully", v4, "-t nat -A PREROUTING -j REDIRECT " + Marker + "--random-fully", `unknown option "--random-fully"`},
	{"redirect/empty", v4, "-t nat -A PREROUTING -p tcp -j REDIRECT --to-ports \"" + Marker + "\"", `port "" not valid`},

	{"log/level-warn", v4, "-A INPUT -j LOG --log-level " + Marker + "warn", `log level "warn" unknown`},
	{"log/level-err", v4, "-A INPUT -j LOG --log-level " + Marker + "err", `log level "err" unknown`},
	{"log/level-8", v4, "-A INPUT -j LOG --log-level " + Marker + "8", `log level "8" unknown`},
	{"log/level-upper", v4, "-A INPUT -j LOG --log-level " + Marker + "DEBUG", `log level "DEBUG" unknown`},
	{"log/prefix-empty", v4, "-A INPUT -j LOG --log-prefix " + Marker + "\"\"", "minimum length of 1"},
	{"log/twice", v4, "-A INPUT -j LOG --log-uid " + Marker + "--log-uid", `option "--log-uid" can only be used once`},
	{"log/negated", v4, "-A INPUT -j LOG " + Marker + "! --log-uid", "cannot be inverted"},
	{"log/nflog-option", v4, "-A INPUT -j LOG " + Marker + "--nflog-group 1", `unknown option "--nflog-group"`},
	{"nflog/group-65536", v4, "-A INPUT -j NFLOG --nflog-group " + Marker + "65536", "out of range (0-65535)"},
	{"nflog/threshold-65536", v4, "-A INPUT -j NFLOG --nflog-threshold " + Marker + "65536", "out of range (0-65535)"},
	{"nflog/size-range", v4, "-A INPUT -j NFLOG --nflog-size 100 --nflog-range " + Marker + "50", `"--nflog-range" cannot be used together with "--nflog-size"`},
	{"nflog/size-negative", v4, "-A INPUT -j NFLOG --nflog-size " + Marker + "-1", "out of range"},
	{"nflog/prefix-empty", v4, "-A INPUT -j NFLOG --nflog-prefix " + Marker + "\"\"", "minimum length of 1"},
	{"nflog/log-option", v4, "-A INPUT -j NFLOG " + Marker + "--log-prefix x", `unknown option "--log-prefix"`},
	{"mark/none", v4, "-t mangle -A INPUT -j " + Marker + "MARK", "One of the --set-xmark, --{and,or,xor,set}-mark options is required"},
	{"mark/two-ops", v4, "-t mangle -A INPUT -j MARK --set-mark 1 " + Marker + "--or-mark 2", `MARK: option "--set-mark" cannot be used together with "--or-mark".`},
	{"mark/twice", v4, "-t mangle -A INPUT -j MARK --set-mark 1 " + Marker + "--set-mark 2", `option "--set-mark" can only be used once`},
	{"mark/too-big", v4, "-t mangle -A INPUT -j MARK --set-mark " + Marker + "4294967296", `bad integer value for option "--set-mark"`},
	{"mark/negative", v4, "-t mangle -A INPUT -j MARK --set-mark " + Marker + "-1", `bad integer value for option "--set-mark"`},
	{"mark/empty-mask", v4, "-t mangle -A INPUT -j MARK --set-mark " + Marker + "1/", `bad integer value for option "--set-mark"`},
	{"mark/two-masks", v4, "-t mangle -A INPUT -j MARK --set-xmark " + Marker + "1/2/3", "trailing garbage"},
	{"mark/and-mask", v4, "-t mangle -A INPUT -j MARK --and-mark " + Marker + "1/2", `bad value for option "--and-mark"`},
	{"mark/save", v4, "-t mangle -A INPUT -j MARK " + Marker + "--save-mark", `unknown option "--save-mark"`},
	{"ct/notrack-twice", v4, "-t raw -A PREROUTING -j CT --notrack " + Marker + "--notrack", `option "--notrack" can only be used once`},
	{"ct/notrack-option", v4, "-t raw -A PREROUTING -j NOTRACK " + Marker + "--notrack", `unknown option "--notrack"`},
	{"connmark/none", v4, "-t mangle -A INPUT -j " + Marker + "CONNMARK", "CONNMARK target: No operation specified"},
	{"connmark/save-restore", v4, "-t mangle -A INPUT -j CONNMARK --save-mark " + Marker + "--restore-mark", `CONNMARK: option "--save-mark" cannot be used together with "--restore-mark".`},
	{"connmark/mask-nfmask", v4, "-t mangle -A INPUT -j CONNMARK --save-mark --mask 0xff " + Marker + "--nfmask 0xf", `CONNMARK: option "--nfmask" cannot be used together with "--mask".`},
}

// Unsupported holds valid iptables that ctmatch refuses (exit code 1): other
// matches and targets, host names, and the address forms of inet_aton.
var Unsupported = []InvalidCase{
	{"comment/too-long-for-nft", v4, "-m comment --comment " + Marker + strings.Repeat("c", parse.MaxNftComment+1), "a comment of 129 bytes is valid iptables, but nft takes at most 128"},
	{"comment/cut", v4, "-m comment --comment " + Marker + strings.Repeat("c", 300), "a comment of 300 bytes is valid iptables (iptables keeps its first 255), but nft takes at most 128"},
	{"comment/double-quote", v4, `-m comment --comment ` + Marker + `"a\"b"`, "nft's strings cannot hold one"},
	{"comment/two-matches", v4, "-m comment --comment a " + Marker + "-m comment --comment b", "an nft rule has one comment"},
	{"protocol-sctp-port", v4, "-p sctp " + Marker + "--dport 33", "--dport is valid iptables (an option of the sctp match that -p sctp loads)"},
	{"protocol-esp-spi", v4, "-p esp " + Marker + "--espspi 8", "an option of the esp match"},
	{"tcp-syn", v4, "-p tcp " + Marker + "--syn", "--syn is valid iptables"},
	{"in-interface-every-negated", v4, "-A INPUT ! -i " + Marker + "+ -j ACCEPT", "matches no packet, but nft has no interface name test that matches none"},
	{"in-interface-space", v4, `-A INPUT -i ` + Marker + `"e th" -j ACCEPT`, "does not support whitespace"},
	{"out-interface-quote", v4, `-A FORWARD -o ` + Marker + `"e\"th"`, "does not support whitespace, quotes or backslashes"},
	{"match-multiport", v4, "-m conntrack --ctstate NEW -m " + Marker + "multiport -p tcp --dports 22,80", "match -m multiport is valid iptables, but ctmatch does not support it yet"},
	{"match-mark", v4, "-m " + Marker + "mark --mark 1 -m conntrack --ctstate NEW", "match -m mark is valid iptables"},
	// Target options that are valid iptables but that ctmatch does not
	// translate.
	{"masquerade/not-tcp-port", v4, "-t nat -A POSTROUTING ! -p tcp -j MASQUERADE --to-ports " + Marker + "1024", "ctmatch does not translate them"},
	{"masquerade/icmp-port", v4, "-t nat -A POSTROUTING -p icmp -j MASQUERADE --to-ports " + Marker + "1024", "ctmatch does not translate them"},
	{"masquerade/port-0", v4, "-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports " + Marker + "0", "port 0 is valid iptables"},
	{"snat/port-only", v4, "-t nat -A POSTROUTING -p udp -j SNAT --to-source " + Marker + ":80", "ports without an address"},
	{"snat/reversed-range", v4, "-t nat -A POSTROUTING -j SNAT --to-source " + Marker + "1.2.3.9-1.2.3.4", "reversed address range"},
	{"snat/shifted", v4, "-t nat -A POSTROUTING -p udp -j SNAT --to-source 1.2.3.4:80-90" + Marker + "/100", "shifted by a base port"},
	{"dnat/not-tcp-port", v4, "-t nat -A PREROUTING ! -p tcp -j DNAT --to-destination " + Marker + "1.2.3.4:80", "ctmatch does not translate them"},
	{"target-nfqueue", v4, "-A INPUT -m conntrack --ctstate NEW -j " + Marker + "NFQUEUE", "target NFQUEUE is valid iptables, but ctmatch does not support it yet"},
	{"hostname", v4, "-m conntrack --ctorigsrc " + Marker + "localhost", `host name "localhost": ctmatch does not resolve names unless asked`},
	{"hostname-with-mask", v4, "-m conntrack ! --ctrepldst " + Marker + "localhost/8", `host name "localhost"`},
	{"inet-aton-three-parts", v4, "-m conntrack --ctorigsrc " + Marker + "10.1.2", `address "10.1.2" is not a plain dotted quad`},
	{"inet-aton-octal", v4, "-m conntrack --ctorigdst " + Marker + "010.1.2.3", `address "010.1.2.3" is not a plain dotted quad`},
	{"inet-aton-hex", v4, "-m conntrack --ctreplsrc " + Marker + "0x0a.0.0.1", `address "0x0a.0.0.1" is not a plain dotted quad`},
	{"inet-aton-mask-octal", v4, "-m conntrack --ctorigsrc 10.1.2.3/" + Marker + "0377.0.0.0", `mask "0377.0.0.0" is not a plain dotted quad`},
	{"inet-aton-mask-three-parts", v4, "-m conntrack --ctorigsrc 10.0.0.0/" + Marker + "255.0.255", `mask "255.0.255" is not a plain dotted quad`},
	{"inet-aton-mask-33", v4, "-m conntrack --ctorigsrc 10.1.2.3/" + Marker + "33", `mask "33" is above 32`},
	{"log/prefix-quote", v4, `-A INPUT -j LOG --log-prefix ` + Marker + `"a\"b"`, "nft's text cannot hold it"},
	{"nflog/prefix-dollar", v4, "-A INPUT -j NFLOG --nflog-prefix " + Marker + "a$b", "nft's text cannot hold it"},
	{"connmark/restore-masks", v4, "-t mangle -A PREROUTING -j CONNMARK " + Marker + "--restore-mark --nfmask 0xff0000 --ctmask 0xff0000", "NFTA_BITWISE_SREG2"},
	{"connmark/save-mask", v4, "-t mangle -A POSTROUTING -j CONNMARK " + Marker + "--save-mark --mask 0xff", "NFTA_BITWISE_SREG2"},
	{"connmark/restore-ctmask-zero", v4, "-t mangle -A PREROUTING -j CONNMARK " + Marker + "--restore-mark --nfmask 0xff --ctmask 0", "NFTA_BITWISE_SREG2"},
	{"ct/plain", v4, "-t raw -A PREROUTING -j " + Marker + "CT", "-j CT without --notrack"},
	{"ct/helper", v4, "-t raw -A PREROUTING -p tcp -j CT " + Marker + "--helper ftp", "does not exist yet in a raw chain"},
	{"ct/zone", v4, "-t raw -A PREROUTING -j CT " + Marker + "--zone 1", "CT's --zone"},
	{"ct/notrack-zone", v4, "-t raw -A PREROUTING -j CT --notrack " + Marker + "--zone-orig mark", "CT's --zone-orig"},
	{"ct/ctevents", v4, "-t raw -A PREROUTING -j CT " + Marker + "--ctevents new,related", "CT's --ctevents"},
	{"tcpmss/clamp", v4, "-t mangle -A FORWARD -p tcp -j " + Marker + "TCPMSS --clamp-mss-to-pmtu", "adds an MSS option to a SYN that has none"},
	{"tcpmss/set", v4, "-t mangle -A POSTROUTING -p tcp -j " + Marker + "TCPMSS --set-mss 1400", "adds an MSS option to a SYN that has none"},
	{"dscp/set", v4, "-t mangle -A POSTROUTING -j " + Marker + "DSCP --set-dscp 10", "ip dscp set"},
	{"connmark/left-shift", v4, "-t mangle -A INPUT -j CONNMARK --save-mark " + Marker + "--left-shift-mark 2", "CONNMARK's --left-shift-mark"},

	// Options after the target: the rule is read as far as its end.
	{"multiport-then-conntrack", v4, "-A INPUT -p tcp -m " + Marker + "multiport --dports 22,80 -m conntrack -j ACCEPT --ctstate NEW", "match -m multiport is valid iptables"},
	{"recent-set", v4, "-A INPUT -m " + Marker + "recent --set --name x -m conntrack --ctstate NEW", "match -m recent is valid iptables"},
	{"verbose-twice-in-one-word", v4, "-A INPUT " + Marker + "-vv -m conntrack --ctstate NEW", "-v is valid iptables"},
	{"protocol-after-verbose-in-one-word", v4, "-A INPUT -m conntrack --ctstate NEW " + Marker + "-vp tcp -j ACCEPT", "-v is valid iptables"},
	{"source-after-verbose-in-one-word", v4, "-A INPUT " + Marker + "-vs 10.0.0.1 -m conntrack --ctstate NEW", "-v is valid iptables"},
	{"interface-after-verbose-in-one-word", v4, "-A INPUT " + Marker + "-vi eth0 -m conntrack --ctstate NEW", "-v is valid iptables"},
	{"match-after-verbose-in-one-word", v4, "-A INPUT " + Marker + "-vm comment --comment x -m conntrack --ctstate NEW", "-v is valid iptables"},
	{"wait-with-value", v4, "-A INPUT " + Marker + "-w 5 -m conntrack --ctstate NEW", "-w is valid iptables"},
	{"wait-interval-with-wait", v4, "-A INPUT " + Marker + "-W 5 -w -m conntrack --ctstate NEW", "-W is valid iptables"},
	{"fragment-negated", v4, "-A INPUT ! " + Marker + "-f -m conntrack --ctstate NEW", "-f is valid iptables"},
	{"addr/list", v4, "-A INPUT -s " + Marker + "10.0.0.1,10.0.0.2 -j ACCEPT", "ctmatch reads one address per rule"},
	{"addr/lists-both", v4, "-A INPUT -s 10.0.0.1 -d " + Marker + "10.0.0.3,10.0.0.4", "ctmatch reads one address per rule"},
	{"addr/ipv6-list", v6, "-A INPUT -d " + Marker + "2001:db8::1,::1", "ctmatch reads one address per rule"},
	{"addr/hostname", v4, "-A INPUT -s " + Marker + "localhost", `host name "localhost": ctmatch does not resolve names unless asked`},
	{"addr/inet-aton-octal", v4, "-A INPUT -d " + Marker + "010.1.2.3", `address "010.1.2.3" is not a plain dotted quad`},
}

// Differences lists the cases on which iptables 1.8.9 (installed here, the
// kernel oracle) and ctmatch disagree, and why.
var Differences = []Difference{
	{Name: "ttl/leading-blank", Accepts: true, Saves: "-A INPUT -m ttl --ttl-eq 5",
		Reason: "iptables reads a TTL with strtoul, which skips leading blanks; ctmatch is deliberately stricter, as for ports and ICMP types"},
	{Name: "ttl/plus", Accepts: true, Saves: "-A INPUT -m ttl --ttl-eq 5",
		Reason: "iptables reads a TTL with strtoul, which takes a leading +; ctmatch is deliberately stricter, as for ports and ICMP types"},
	{Name: "ports/leading-blank", Accepts: true, Saves: "-A INPUT -p tcp -m tcp --dport 17",
		Reason: "iptables reads a port number with strtoul, which skips leading blanks; ctmatch is deliberately stricter, as for --ctproto"},
	{Name: "icmp/leading-blank", Accepts: true, Saves: "-A INPUT -p icmp -m icmp --icmp-type 3",
		Reason: "iptables reads an ICMP type number with strtoul, which skips leading blanks; ctmatch is deliberately stricter, as for ports"},
	{Name: "ports/two-matches", Accepts: true, Saves: "-A INPUT -p tcp -m tcp --dport 3",
		Reason: "iptables-nft 1.8.9 stores both tcp matches (nft lists tcp dport 2 tcp dport 3) but iptables-save prints only the last; iptables-legacy-save prints both, as ctmatch does"},
	{Name: "ports/negated-protocol", Accepts: true, Saves: "-A INPUT ! -p tcp -m tcp --dport 22",
		Reason: "iptables-nft 1.8.9 stores it as meta l4proto != tcp th dport 22, which reads the \"port\" of any other protocol; the kernel's xt_check_match refuses a tcp match after ! -p tcp (iptables-legacy: Invalid argument), and ctmatch refuses it too"},
	{Name: "ctorigsrc/mask-non-contiguous", Accepts: true, Saves: "-A INPUT -m conntrack --ctorigsrc 10.1.2.3",
		Reason: "iptables 1.8.9 turns a non-contiguous mask into /32 (xtopt_parse_plenmask ignored masks that are not a prefix; fixed in 1.8.10, \"libxtables: xtoptions: Fix for non-CIDR-compatible hostmasks\"); 1.8.13 keeps /255.0.255.0"},
	{Name: "ctorigsrc/ipv6-mask-non-contiguous", Accepts: true, Saves: "-A INPUT -m conntrack --ctorigsrc 2001:db8::1",
		Reason: "ip6tables 1.8.9 turns a non-contiguous mask into /128 (the same bug as for IPv4); 1.8.13 keeps /ffff:0:ffff::"},
	{Name: "frame/jump-equals", Accepts: false, Says: "Chain '--jump=ACCEPT' does not exist",
		Reason: "iptables 1.8.9 reads -j's value from the whole word (argv[optind-1]) instead of optarg, so --jump=X and -jX name a chain \"--jump=X\"; fixed in 1.8.10 (\"xshared: Fix parsing of option arguments in same word\"), as getopt_long intends"},
	{Name: "frame/jump-attached", Accepts: false, Says: "Chain '-jDROP' does not exist",
		Reason: "the same iptables 1.8.9 bug as --jump=ACCEPT, for the short form -jDROP"},
	{Name: "frame/jump-chain-with-quote", Accepts: true, Saves: "-A INPUT -m conntrack --ctstate NEW -j MY'CH",
		Reason: "iptables-save prints chain names as they are, so a name with a quote or a backslash does not restore; ctmatch's canonical text quotes such a word (parse.Quote) so that it parses back"},
	{Name: "addr/attached", Accepts: false, Says: "host/network `-s10.0.0.1' not found",
		Reason: "the same iptables 1.8.9 bug as -jDROP: it reads the whole word -s10.0.0.1 as the address; fixed in 1.8.10, as getopt_long intends"},
	{Name: "iface/attached", Accepts: true, Saves: "-A FORWARD -i -ieth0",
		Reason: "the same iptables 1.8.9 bug as -jDROP: -ieth0 names the interface \"-ieth0\"; fixed in 1.8.10, as getopt_long intends"},
	{Name: "iface/attached-long", Accepts: false, Says: "interface name `--out-interface=eth1' must be shorter than IFNAMSIZ (15)",
		Reason: "the same iptables 1.8.9 bug as --jump=ACCEPT: --out-interface=eth1 names the interface \"--out-interface=eth1\"; fixed in 1.8.10"},
	{Name: "ctreplsrcport/reversed", Accepts: true, Saves: "-A INPUT -m conntrack --ctreplsrcport 100:50",
		Reason: "iptables 1.8.9 accepts a reversed port range (it never matches) and saves it as typed; ctmatch follows iptables 1.8.13, which refuses it"},
	{Name: "ctrepldstport/reversed-to-zero", Accepts: true, Saves: "-A INPUT -m conntrack --ctrepldstport 22",
		Reason: "iptables 1.8.9 accepts 22:0 and, taking a high bound of 0 for none, saves it as the single port 22; ctmatch follows iptables 1.8.13, which refuses a reversed range"},
	{Name: "ctexpire/reversed", Accepts: true, Saves: "-A INPUT -m conntrack --ctexpire 5:3",
		Reason: "iptables 1.8.9 accepts a reversed --ctexpire range (it never matches) and saves it as typed; ctmatch follows iptables 1.8.13, which refuses it"},
	{Name: "ctexpire/reversed-to-zero", Accepts: true, Saves: "-A INPUT -m conntrack --ctexpire 5:0",
		Reason: "iptables 1.8.9 accepts --ctexpire 5:0 and saves it as typed; ctmatch follows iptables 1.8.13, which refuses a reversed range"},
	{Name: "ctproto/zero", Accepts: true, Saves: "-A INPUT -m conntrack --ctproto 0",
		Reason: "iptables 1.8.9 accepts --ctproto 0, which never matches; 1.8.13 refuses it (\"rule would never match protocol\")"},
	{Name: "ctproto/all", Accepts: true, Saves: "-A INPUT -m conntrack --ctproto 0",
		Reason: "iptables 1.8.9 accepts --ctproto all (protocol 0), which never matches; 1.8.13 refuses it"},
	{Name: "ctproto/negated-zero", Accepts: true, Saves: "-A INPUT -m conntrack ! --ctproto 0",
		Reason: "iptables 1.8.9 accepts ! --ctproto 0; 1.8.13 refuses it (\"condition would always match protocol\")"},
	{Name: "ctorigsrcport/65536", Accepts: true, Saves: "-A INPUT -m conntrack --ctorigsrcport 0",
		Reason: "iptables silently wraps a port above 65535 (65536 becomes 0); ctmatch is deliberately stricter and says so"},
	{Name: "ctorigdstport/70000", Accepts: true, Saves: "-A INPUT -m conntrack --ctorigdstport 4464",
		Reason: "iptables silently wraps a port above 65535 (70000 becomes 4464); ctmatch is deliberately stricter and says so"},
	{Name: "ctreplsrcport/huge", Accepts: true, Saves: "-A INPUT -m conntrack --ctreplsrcport 59391",
		Reason: "iptables silently wraps a port above 65535 (99999999999 becomes 59391); ctmatch is deliberately stricter and says so"},
	{Name: "ctorigsrcport/empty", Accepts: true, Saves: "-A INPUT -m conntrack --ctorigsrcport 0",
		Reason: "iptables 1.8.9 takes an empty port as 0; ctmatch is deliberately stricter: an empty word is a mistake"},
	{Name: "ctexpire/empty", Accepts: true, Saves: "-A INPUT -m conntrack --ctexpire 0",
		Reason: "iptables 1.8.9 takes an empty --ctexpire as 0; ctmatch is deliberately stricter: an empty word is a mistake"},
	{Name: "ctproto/leading-blank", Accepts: true, Saves: "-A INPUT -m conntrack --ctproto 6",
		Reason: "iptables reads --ctproto with strtoul, which skips leading blanks; ctmatch is deliberately stricter and takes numbers without blanks"},
	{Name: "frame/table-twice", Accepts: true, Saves: "-A INPUT -m conntrack --ctstate NEW",
		Reason: "iptables accepts several -t and keeps the last one (the rule lands in filter); ctmatch is deliberately stricter and refuses two different tables"},
	{Name: "ctorigsrc/ipv6-zone", Accepts: true, Saves: "-A INPUT -m conntrack --ctorigsrc fe80::1",
		Reason: "ip6tables resolves the address with getaddrinfo, which accepts a zone, and silently drops the zone; ctmatch is stricter and refuses the zone"},
	{Name: "inet-aton-mask-33", Accepts: true, Saves: "-A INPUT -m conntrack --ctorigsrc 10.1.2.3",
		Reason: "iptables 1.8.9 reads /33 (too long for a prefix) as the inet_aton mask 0.0.0.33 and then, by its non-contiguous mask bug, saves /32; 1.8.13 keeps the mask 0.0.0.33. ctmatch refuses inet_aton forms as unsupported"},
	{Name: "counters/negative", Accepts: true, Saves: "-A INPUT -m conntrack --ctstate NEW",
		Reason: "iptables reads -c's counts with sscanf(\"%llu\"), which takes -1 as 2^64-1; ctmatch takes decimal numbers only"},
	{Name: "counters/trailing-junk", Accepts: true, Saves: "-A INPUT -m conntrack --ctstate NEW",
		Reason: "sscanf(\"%llu\") stops at the first byte that is not a digit, so -c 1 2x sets 1 and 2; ctmatch refuses the junk"},
	{Name: "counters/overflow", Accepts: true, Saves: "-A INPUT -m conntrack --ctstate NEW",
		Reason: "sscanf(\"%llu\") saturates a count above 2^64-1; ctmatch refuses it"},
	{Name: "counters/three", Accepts: true, Saves: "-A INPUT -m conntrack --ctstate NEW",
		Reason: "iptables takes -c 1,2,3 as 1 and 2 (sscanf stops at the second comma); ctmatch refuses the third part"},
	{Name: "inet-aton-mask-three-parts", Accepts: true, Saves: "-A INPUT -m conntrack --ctorigsrc 10.0.0.0",
		Reason: "iptables 1.8.9 reads the mask 255.0.255 as inet_aton does (255.0.0.255) and then, by its non-contiguous mask bug, saves /32; 1.8.13 keeps 255.0.0.255. ctmatch refuses inet_aton forms as unsupported"},
}

// LineCase is a line of rule text as iptables-restore reads it inside a
// table (the table is filter): it may start with [PACKETS:BYTES], and it
// cannot be given as argv. Valid lines have the canonical text in Want; the
// others have Marker where the error points and part of the message in Msg.
type LineCase struct {
	Name   string
	Family parse.Family
	Text   string
	Want   string // valid lines: the canonical text, what iptables-save -c prints for it
	Msg    string // refused lines: a substring of the error message
}

// Rule returns the line (the marker removed) and the position the marker
// stood at, or NoPos.
func (c LineCase) Rule() (text string, pos parse.Pos) {
	return InvalidCase{Text: c.Text}.Rule()
}

// wordsLine returns "-I INPUT 1" and conntrack matches up to n words in
// all, each match with every option of the same values.
func LineWords(n int) string {
	all := []string{"--ctstate", "NEW", "--ctproto", "6", "--ctorigsrc", "10.0.0.1", "--ctorigdst", "10.0.0.2",
		"--ctreplsrc", "10.0.0.3", "--ctrepldst", "10.0.0.4", "--ctorigsrcport", "1", "--ctorigdstport", "2",
		"--ctreplsrcport", "3", "--ctrepldstport", "4", "--ctstatus", "ASSURED", "--ctexpire", "5", "--ctdir", "REPLY"}
	w := []string{"-I", "INPUT", "1"}
	for len(w) < n {
		w = append(w, "-m", "conntrack")
		for i := 0; i < len(all) && len(w) < n; i += 2 {
			w = append(w, all[i], all[i+1])
		}
	}
	return strings.Join(w, " ")
}

// longStates returns a --ctstate list of n bytes: "N,N,…", ending in "N" or
// "NE" (both NEW).
func longStates(n int) string {
	if n%2 == 1 {
		return strings.Repeat("N,", n/2) + "N"
	}
	return strings.Repeat("N,", (n-2)/2) + "NE"
}

// Lines are valid lines of rule text. The lines with counters are IPv4
// lines: ip6tables-nft 1.8.9 drops the counters of -c and [PACKETS:BYTES]
// (fixed in 1.8.10, "iptables: Fix setting of ipv6 counters"), so it
// cannot show them; the oracle checks that it still does.
var Lines = []LineCase{
	{Name: "line/counters", Family: v4, Text: "[1:2] -A INPUT -m conntrack --ctstate NEW", Want: "[1:2] -A INPUT -m conntrack --ctstate NEW"},
	{Name: "line/counters-no-blank", Family: v4, Text: "[3:4]-A INPUT -m conntrack --ctstate NEW", Want: "[3:4] -A INPUT -m conntrack --ctstate NEW"},
	{Name: "line/counters-tab", Family: v4, Text: "[39:40]\t-A INPUT -m conntrack --ctstate NEW", Want: "[39:40] -A INPUT -m conntrack --ctstate NEW"},
	{Name: "line/counters-zero", Family: v4, Text: "[0:0] -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", Want: "[0:0] -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"},
	{Name: "line/counters-max", Family: v4, Text: "[18446744073709551615:18446744073709551615] -A INPUT -m state --state NEW", Want: "[18446744073709551615:18446744073709551615] -A INPUT -m state --state NEW"},
	{Name: "line/counters-leading-zeros", Family: v4, Text: "[007:0] -A INPUT -m state --state NEW", Want: "[7:0] -A INPUT -m state --state NEW"},
	{Name: "line/counters-permuted", Family: v4, Text: "[5:6] -A INPUT -m conntrack -j ACCEPT --ctstate NEW", Want: "[5:6] -A INPUT -m conntrack --ctstate NEW -j ACCEPT"},
	{Name: "line/c", Family: v4, Text: "-A INPUT -c 29 30 -m conntrack --ctstate NEW", Want: "[29:30] -A INPUT -m conntrack --ctstate NEW"},
	{Name: "line/words-251", Family: v4, Text: LineWords(parse.MaxWords), Want: LineWords(parse.MaxWords)},
	{Name: "line/word-1023-bytes", Family: v4, Text: "-A INPUT -m conntrack --ctstate " + longStates(parse.MaxWordBytes), Want: "-A INPUT -m conntrack --ctstate NEW"},
	{Name: "line/quoted-word-1023-bytes", Family: v4, Text: `-A INPUT -m conntrack --ctstate "` + longStates(parse.MaxWordBytes) + `"`, Want: "-A INPUT -m conntrack --ctstate NEW"},
}

// BadLines are lines of rule text that iptables-restore -c refuses, or that
// ctmatch refuses where it accepts them (LineDifferences).
var BadLines = []LineCase{
	{Name: "line/counters-unterminated", Family: v4, Text: Marker + "[7:8 -A INPUT -m conntrack --ctstate NEW", Msg: `unterminated counters "[7:8"`},
	{Name: "line/counters-no-colon", Family: v4, Text: Marker + "[9] -A INPUT -m conntrack --ctstate NEW", Msg: `bad counters "[9]"`},
	{Name: "line/counters-empty", Family: v4, Text: Marker + "[] -A INPUT -m conntrack --ctstate NEW", Msg: `bad counters "[]"`},
	{Name: "line/counters-empty-packets", Family: v4, Text: "[" + Marker + ":10] -A INPUT -m conntrack --ctstate NEW", Msg: "missing packet count"},
	{Name: "line/counters-empty-bytes", Family: v4, Text: "[11:" + Marker + "] -A INPUT -m conntrack --ctstate NEW", Msg: "missing byte count"},
	{Name: "line/counters-letters", Family: v4, Text: "[" + Marker + "a:b] -A INPUT -m conntrack --ctstate NEW", Msg: `bad packet count "a"`},
	{Name: "line/counters-leading-blank", Family: v4, Text: "  " + Marker + "[5:6] -A INPUT -m conntrack --ctstate NEW", Msg: `unexpected word "[5:6]"`},
	{Name: "line/counters-twice", Family: v4, Text: "[15:16] " + Marker + "[17:18] -A INPUT -m conntrack --ctstate NEW", Msg: `unexpected word "[17:18]"`},
	{Name: "line/counters-at-end", Family: v4, Text: "-A INPUT -m conntrack --ctstate NEW " + Marker + "[31:32]", Msg: `unexpected word "[31:32]"`},
	{Name: "line/counters-quoted", Family: v4, Text: Marker + `"[35:36]" -A INPUT -m conntrack --ctstate NEW`, Msg: `unexpected word "[35:36]"`},
	{Name: "line/counters-and-c", Family: v4, Text: "[25:26] -A INPUT " + Marker + "-c 27 28 -m conntrack --ctstate NEW", Msg: "counters given twice"},
	{Name: "line/word-1024-bytes", Family: v4, Text: "-A INPUT -m conntrack --ctstate " + Marker + longStates(parse.MaxWordBytes+1), Msg: "a word of 1024 bytes"},
	{Name: "line/quoted-word-1024-bytes", Family: v4, Text: `-A INPUT -m conntrack --ctstate ` + Marker + `"` + longStates(parse.MaxWordBytes+1) + `"`, Msg: "a word of 1024 bytes"},
	{Name: "line/words-252", Family: v4, Text: LineWords(parse.MaxWords) + " " + Marker + "-j ACCEPT", Msg: "the rule has more than 251 words"},

	{Name: "line/counters-negative", Family: v4, Text: "[" + Marker + "-1:19] -A INPUT -m conntrack --ctstate NEW", Msg: `bad packet count "-1"`},
	{Name: "line/counters-hex", Family: v4, Text: "[" + Marker + "0x10:20] -A INPUT -m conntrack --ctstate NEW", Msg: `bad packet count "0x10"`},
	{Name: "line/counters-blanks", Family: v4, Text: "[" + Marker + "21 : 22] -A INPUT -m conntrack --ctstate NEW", Msg: `bad packet count "21 "`},
	{Name: "line/counters-three", Family: v4, Text: "[12:" + Marker + "13:14] -A INPUT -m conntrack --ctstate NEW", Msg: `bad byte count "13:14"`},
	{Name: "line/counters-overflow", Family: v4, Text: "[" + Marker + "18446744073709551616:1] -A INPUT -m conntrack --ctstate NEW", Msg: `bad packet count "18446744073709551616"`},
}

// LineDifferences are the BadLines that iptables-restore 1.8.9 -c accepts:
// it reads each count with sscanf("%llu"), which skips blanks, takes a
// sign, saturates and stops at the first byte that is not a digit. ctmatch
// keeps the counts, so it takes only what iptables-save -c writes. Saves is
// the line iptables-save -c then prints.
var LineDifferences = []Difference{
	{Name: "line/counters-negative", Accepts: true, Saves: "[18446744073709551615:19] -A INPUT -m conntrack --ctstate NEW",
		Reason: "sscanf(\"%llu\") reads -1 as 2^64-1; ctmatch takes decimal numbers only"},
	{Name: "line/counters-hex", Accepts: true, Saves: "[0:20] -A INPUT -m conntrack --ctstate NEW",
		Reason: "sscanf(\"%llu\") stops at the x of 0x10 and reads 0; ctmatch takes decimal numbers only"},
	{Name: "line/counters-blanks", Accepts: true, Saves: "[21:22] -A INPUT -m conntrack --ctstate NEW",
		Reason: "sscanf(\"%llu\") skips blanks around a count; ctmatch takes no blanks inside [PACKETS:BYTES]"},
	{Name: "line/counters-three", Accepts: true, Saves: "[12:13] -A INPUT -m conntrack --ctstate NEW",
		Reason: "sscanf(\"%llu\") stops at the second colon; ctmatch refuses a third part"},
	{Name: "line/counters-overflow", Accepts: true, Saves: "[18446744073709551615:1] -A INPUT -m conntrack --ctstate NEW",
		Reason: "sscanf(\"%llu\") saturates a count above 2^64-1; ctmatch refuses it"},
}

// PlaceCase is a rule whose target the kernel allows only in some tables
// and chains: OK says whether iptables adds it to the -A chain of its -t
// table (a user chain is created first, and takes any target of its table).
type PlaceCase struct {
	Name   string
	Family parse.Family
	Text   string // with -t and -A
	OK     bool
}

// Places holds where each target ctmatch translates may stand and where
// not (ipt_REJECT.c, ip6t_REJECT.c, xt_MASQUERADE.c, xt_nat.c,
// xt_REDIRECT.c register each with a table and hooks).
var Places = []PlaceCase{
	{"reject/input", v4, "-A INPUT -j REJECT", true},
	{"reject/forward", v4, "-A FORWARD -j REJECT", true},
	{"reject/output", v6, "-A OUTPUT -j REJECT", true},
	{"reject/user-chain", v4, "-A place_chain -j REJECT", true},
	{"reject/nat", v4, "-t nat -A PREROUTING -j REJECT", false},
	{"reject/mangle-input", v4, "-t mangle -A INPUT -j REJECT", false},
	{"reject/raw-user-chain", v4, "-t raw -A place_chain -j REJECT", false},
	{"reject/security", v6, "-t security -A INPUT -j REJECT", false},
	{"masquerade/postrouting", v4, "-t nat -A POSTROUTING -j MASQUERADE", true},
	{"masquerade/user-chain", v6, "-t nat -A place_chain -j MASQUERADE", true},
	{"masquerade/prerouting", v4, "-t nat -A PREROUTING -j MASQUERADE", false},
	{"masquerade/input", v6, "-t nat -A INPUT -j MASQUERADE", false},
	{"masquerade/output", v4, "-t nat -A OUTPUT -j MASQUERADE", false},
	{"masquerade/filter", v4, "-A OUTPUT -j MASQUERADE", false},
	{"masquerade/mangle", v4, "-t mangle -A POSTROUTING -j MASQUERADE", false},
	{"snat/postrouting", v4, "-t nat -A POSTROUTING -j SNAT --to-source 10.0.0.1", true},
	{"snat/input", v4, "-t nat -A INPUT -j SNAT --to-source 10.0.0.1", true},
	{"snat/prerouting", v4, "-t nat -A PREROUTING -j SNAT --to-source 10.0.0.1", false},
	{"snat/output", v6, "-t nat -A OUTPUT -j SNAT --to-source ::1", false},
	{"dnat/prerouting", v4, "-t nat -A PREROUTING -j DNAT --to-destination 10.0.0.1", true},
	{"dnat/output", v6, "-t nat -A OUTPUT -j DNAT --to-destination ::1", true},
	{"dnat/postrouting", v4, "-t nat -A POSTROUTING -j DNAT --to-destination 10.0.0.1", false},
	{"dnat/input", v4, "-t nat -A INPUT -j DNAT --to-destination 10.0.0.1", false},
	{"dnat/filter", v4, "-A INPUT -j DNAT --to-destination 10.0.0.1", false},
	{"redirect/prerouting", v4, "-t nat -A PREROUTING -j REDIRECT", true},
	{"redirect/output", v6, "-t nat -A OUTPUT -j REDIRECT", true},
	{"redirect/postrouting", v4, "-t nat -A POSTROUTING -j REDIRECT", false},
	{"redirect/input", v4, "-t nat -A INPUT -j REDIRECT", false},
	{"ct/raw-prerouting", v4, "-t raw -A PREROUTING -j CT --notrack", true},
	{"ct/raw-output", v6, "-t raw -A OUTPUT -j CT --notrack", true},
	{"ct/raw-user-chain", v4, "-t raw -A place_chain -j CT --notrack", true},
	{"ct/filter", v4, "-A INPUT -j CT --notrack", false},
	{"ct/mangle", v6, "-t mangle -A PREROUTING -j CT --notrack", false},
	{"notrack/raw", v4, "-t raw -A PREROUTING -j NOTRACK", true},
	{"notrack/nat", v4, "-t nat -A OUTPUT -j NOTRACK", false},
	{"log/nat-postrouting", v4, "-t nat -A POSTROUTING -j LOG", true},
	{"log/raw", v6, "-t raw -A OUTPUT -j LOG", true},
	{"nflog/security", v4, "-t security -A FORWARD -j NFLOG", true},
	{"mark/filter", v4, "-A INPUT -j MARK --set-mark 1", true},
	{"connmark/nat", v4, "-t nat -A POSTROUTING -j CONNMARK --save-mark", true},
}
