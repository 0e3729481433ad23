package expr_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/internal/nftforms"
)

// newForms reports whether the nft the tests run sends nft 1.1.2's forms of
// some meanings (internal/nftforms): where the tests hold ctmatch's bytes to
// older nft's byte for byte, they hold nftforms.Lines of both to it.
func newForms(t *testing.T) bool {
	t.Helper()
	return nftforms.Need(t).NewForms()
}

// sameForms reports whether the expression lists a and b are the same in
// nftforms.Lines.
func sameForms(a, b []byte) bool {
	la, errA := expr.DebugLines(a)
	lb, errB := expr.DebugLines(b)
	return errA == nil && errB == nil && strings.Join(nftforms.Lines(la), "\n") == strings.Join(nftforms.Lines(lb), "\n")
}

// sameRaised reports whether the rules got and want lower in fam to the
// same expressions in nftforms.Lines: what a raise of nft 1.1.2's bytes
// must give where it gives another IR than the case (a range of one value
// read as an equality).
func sameRaised(fam expr.Family, got, want expr.Rule) bool {
	a, errA := got.Lower(fam)
	b, errB := want.Lower(fam)
	return errA == nil && errB == nil && sameForms(a, b)
}

// nftRule is what nft 1.0.6 did with one "add rule" line of a script: the
// NFTA_RULE_EXPRESSIONS payload of the NEWRULE message it sent (from
// --debug=mnl) and the expressions as --debug=netlink printed them.
type nftRule struct {
	exprs    []byte
	userdata []byte   // NFTA_RULE_USERDATA, nil when nft sent none
	udLine   string   // the "userdata = { … }" line of --debug=netlink, "" when none
	lines    []string // without indentation
}

var (
	ansiColor     = regexp.MustCompile("\x1b\\[[0-9;]*m")
	mnlLength     = regexp.MustCompile(`^\|\s+(\d{10})\s+\|\t\| message length \|$`)
	mnlType       = regexp.MustCompile(`^\| (\d{5}) \| [RMAE-]{4} \|\t\|  type \| flags  \|$`)
	mnlExtra      = regexp.MustCompile(`^\| ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2})  \|\t\|  extra header  \|$`)
	mnlAttrHeader = regexp.MustCompile(`^\|(\d{5})\|([N-])([B-])\|(\d{5})\|\t\|len \|flags\| type\|$`)
	mnlData       = regexp.MustCompile(`^\| ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2})  \|\t\|      data      \|`)
	debugHeader   = regexp.MustCompile(`^(ip|ip6|inet) t c$`)
)

// nftSends runs script with nft --debug=mnl,netlink in ns and returns what
// nft sent for each rule of chain c of table t, in order.
func nftSends(t *testing.T, ns *netns.NS, script string) []nftRule {
	t.Helper()
	out := ktest.Run(t, ns, script, "nft", "--debug=mnl,netlink", "-f", "-")
	rules, err := parseNftDebug(out)
	if err != nil {
		t.Fatalf("reading nft's debug output: %v\n%s", err, out)
	}
	return rules
}

// parseNftDebug reads nft's --debug=mnl,netlink output: the netlink debug
// lines of each rule (printed first, under a "FAMILY t c" line), and the
// hex dump of each NFT_MSG_NEWRULE message, whose body it rebuilds from the
// attribute headers and data lines libmnl prints.
func parseNftDebug(out string) ([]nftRule, error) {
	var lines [][]string
	var udLines []string
	var msgs [][]byte
	var msgLen, msgType int
	var body []byte
	inMsg := false
	flush := func() error {
		if !inMsg {
			return nil
		}
		inMsg = false
		if msgType != 10<<8|6 { // NFT_MSG_NEWRULE
			return nil
		}
		if len(body)+16 != msgLen {
			return fmt.Errorf("NEWRULE message of %d bytes, rebuilt %d", msgLen, len(body)+16)
		}
		msgs = append(msgs, body)
		return nil
	}
	for _, l := range strings.Split(ansiColor.ReplaceAllString(out, ""), "\n") {
		switch {
		case debugHeader.MatchString(l):
			lines = append(lines, nil)
			udLines = append(udLines, "")
		case strings.HasPrefix(l, "  userdata = ") && len(udLines) > 0:
			udLines[len(udLines)-1] = strings.TrimPrefix(l, "  ")
		case strings.HasPrefix(l, "  [") && len(lines) > 0:
			lines[len(lines)-1] = append(lines[len(lines)-1], strings.TrimSpace(l))
		case mnlLength.MatchString(l):
			if err := flush(); err != nil {
				return nil, err
			}
			msgLen, _ = strconv.Atoi(mnlLength.FindStringSubmatch(l)[1])
			inMsg, body, msgType = true, nil, 0
		case !inMsg:
		case mnlType.MatchString(l):
			msgType, _ = strconv.Atoi(mnlType.FindStringSubmatch(l)[1])
		case mnlExtra.MatchString(l):
			h, _ := hex.DecodeString(strings.Join(mnlExtra.FindStringSubmatch(l)[1:], ""))
			body = append(body, h...)
		case mnlAttrHeader.MatchString(l):
			m := mnlAttrHeader.FindStringSubmatch(l)
			n, _ := strconv.Atoi(m[1])
			typ, _ := strconv.Atoi(m[4])
			if m[2] == "N" {
				typ |= 0x8000
			}
			if m[3] == "B" {
				typ |= 0x4000
			}
			body = binary.NativeEndian.AppendUint16(body, uint16(n))
			body = binary.NativeEndian.AppendUint16(body, uint16(typ))
		case mnlData.MatchString(l):
			h, _ := hex.DecodeString(strings.Join(mnlData.FindStringSubmatch(l)[1:5], ""))
			body = append(body, h...)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(lines) != len(msgs) {
		return nil, fmt.Errorf("%d rules in the netlink debug output, %d NEWRULE messages", len(lines), len(msgs))
	}
	rules := make([]nftRule, len(msgs))
	for i, m := range msgs {
		// The body: nfgenmsg, then NFTA_RULE_TABLE, NFTA_RULE_CHAIN,
		// NFTA_RULE_EXPRESSIONS (4, nested), …
		attrs := splitAttrs(m[4:])
		for _, a := range attrs {
			switch binary.NativeEndian.Uint16(a[2:]) &^ 0xc000 {
			case 4: // NFTA_RULE_EXPRESSIONS
				rules[i].exprs = a[4:binary.NativeEndian.Uint16(a)]
			case 7: // NFTA_RULE_USERDATA
				rules[i].userdata = a[4:binary.NativeEndian.Uint16(a)]
			}
		}
		if rules[i].exprs == nil {
			rules[i].exprs = []byte{}
		}
		rules[i].lines = lines[i]
		rules[i].udLine = udLines[i]
	}
	return rules, nil
}

// splitAttrs splits b into whole netlink attributes (header, payload and
// padding), the last one possibly without its padding.
func splitAttrs(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 4 {
		n := int(binary.NativeEndian.Uint16(b))
		end := (n + 3) &^ 3
		if n < 4 || n > len(b) {
			return append(out, b)
		}
		end = min(end, len(b))
		out = append(out, b[:end])
		b = b[end:]
	}
	return out
}

// prefixExprs is the number of expressions that nftRuleText puts before the
// rule's own in a table of the family: two (a load and a cmp) per match of
// the prefix.
func prefixExprs(r expr.Rule, family string) int {
	p := strings.TrimSuffix(nftRuleText(r, family), r.String())
	return 2 * (strings.Count(p, "ct original protocol 6") + strings.Count(p, "meta nfproto"))
}

// dropExprs returns the expression list b without its first n expressions.
func dropExprs(b []byte, n int) []byte {
	es := splitAttrs(b)
	if n > len(es) {
		n = len(es)
	}
	return bytes.Join(es[n:], nil)
}

var families = map[string]expr.Family{"ip": expr.FamilyIP, "ip6": expr.FamilyIP6, "inet": expr.FamilyInet}

// For every case in every family that takes it: (a) Lower gives the bytes nft
// 1.0.6 sends for its text, (b) DebugLines of those bytes gives the lines
// nft --debug=netlink prints, and (c) Raise of nft's bytes gives the case
// back. For port matches, which nft 1.0.6 parses only after "ct original
// protocol 6" (and "meta nfproto" in inet tables), the bytes and lines of that
// prefix are left out of the comparison, after checking that DebugLines spells
// them too.
func TestLowerMatchesNft(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	nf := newForms(t)
	total := 0
	for _, family := range nftFamilies {
		fam := families[family]
		var cases []wireCase
		var texts []string
		for _, tc := range wireCases() {
			if fitsFamily(tc.rule, family) {
				cases = append(cases, tc)
				texts = append(texts, nftRuleText(tc.rule, family))
			}
		}
		sent := nftSends(t, ns, nftScript(family, texts...))
		if len(sent) != len(cases) {
			t.Fatalf("%s: nft sent %d rules for %d cases", family, len(sent), len(cases))
		}
		for i, tc := range cases {
			total++
			nft := sent[i]
			k := prefixExprs(tc.rule, family)

			// (b) for the whole of nft's bytes, prefix included.
			all, err := expr.DebugLines(nft.exprs)
			if err != nil {
				t.Errorf("%s in %s: DebugLines(nft's bytes): %v", tc.name, family, err)
			} else if diff := cmp.Diff(nft.lines, all); diff != "" {
				t.Errorf("%s in %s: DebugLines of nft's bytes for %q (-nft +ours):\n%s", tc.name, family, texts[i], diff)
			}

			want := dropExprs(nft.exprs, k)
			got, err := tc.rule.Lower(fam)
			if err != nil {
				t.Errorf("%s in %s: Lower: %v", tc.name, family, err)
				continue
			}
			// (a)
			if !bytes.Equal(got, want) && !(nf && sameForms(got, want)) {
				wl, _ := expr.DebugLines(want)
				gl, _ := expr.DebugLines(got)
				t.Errorf("%s in %s: Lower differs from nft's bytes for %q\n nft: %x\nours: %x\n nft: %q\nours: %q",
					tc.name, family, texts[i], want, got, wl, gl)
			}
			// (b)
			lines, err := expr.DebugLines(got)
			if err != nil {
				t.Errorf("%s in %s: DebugLines: %v", tc.name, family, err)
			} else if diff := cmp.Diff(nft.lines[min(k, len(nft.lines)):], lines); diff != "" && !(nf && sameForms(got, want)) {
				t.Errorf("%s in %s: DebugLines (-nft +ours):\n%s", tc.name, family, diff)
			}
			// (c)
			r, err := expr.Raise(fam, want)
			if err != nil {
				t.Errorf("%s in %s: Raise(nft's bytes): %v", tc.name, family, err)
			} else if diff := cmp.Diff(canonical(tc.rule), r, cmpAddr); diff != "" && !(nf && sameRaised(fam, r, tc.rule)) {
				t.Errorf("%s in %s: Raise(nft's bytes) (-want +got):\n%s", tc.name, family, diff)
			}
		}
	}
	if total < 250 {
		t.Errorf("only %d rule and family pairs compared", total)
	}
}

// nft's other spellings of the same meanings give the same IR; nft's
// spellings of other meanings are refused at the expression that differs,
// and DebugLines spells all of them as nft does.
func TestRaiseNftSpellings(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	same := []struct {
		family, text string
		want         expr.Rule
	}{
		{"ip", "ct state & 0xc != 0", flags(expr.CtState, expr.OpAny, 0x0c)},
		{"ip", "ct state & (new|related) == 0", flags(expr.CtState, expr.OpNone, 0x0c)},
		{"ip", "ct status & dnat != 0", flags(expr.CtStatus, expr.OpAny, 0x20)},
		{"ip", "ct status ! 0x30", flags(expr.CtStatus, expr.OpNone, 0x30)},
		{"ip", "ct reply protocol 17", value(expr.CtProtocol, orig, expr.OpEq, 17, 0)},
		{"ip", "ct original protocol udp", value(expr.CtProtocol, orig, expr.OpEq, 17, 0)},
		{"ip", "ct direction 1", value(expr.CtDirection, 0, expr.OpEq, 1, 0)},
		{"ip", "ct expiration 28s", value(expr.CtExpiration, 0, expr.OpEq, 28000, 0)},
		{"ip", "ct expiration 28s-29s", value(expr.CtExpiration, 0, expr.OpRange, 28000, 29000)},
		{"ip", "ct expiration != 1m-1h", value(expr.CtExpiration, 0, expr.OpNotRange, 60000, 3600000)},
		{"ip", "ct original ip saddr & 255.0.0.0 == 10.0.0.0", one(ip4(expr.CtSrcIP, orig, expr.OpEq, "10.0.0.0", "255.0.0.0"))},
		{"ip", "ct original ip saddr 10.1.2.3/8", one(ip4(expr.CtSrcIP, orig, expr.OpEq, "10.0.0.0", "255.0.0.0"))},
		{"ip", "ct reply ip daddr & 255.255.0.0 == 10.1.0.0", one(ip4(expr.CtDstIP, reply, expr.OpEq, "10.1.0.0", "255.255.0.0"))},
		{"ip6", "ct reply ip6 saddr & ffff:ffff:: == 2001:db8::", one(prefix(expr.CtSrcIP6, reply, expr.OpEq, "2001:db8::/32"))},
		{"inet", "meta nfproto 10", one(expr.Nfproto{Family: expr.FamilyIP6})},
		{"ip", "ip saddr & 255.0.0.0 == 10.0.0.0", one(ipAddr(false, expr.OpEq, "10.0.0.0", "255.0.0.0"))},
		{"ip", "ip daddr != 10.1.2.3/8", one(ipAddr(true, expr.OpNeq, "10.0.0.0", "255.0.0.0"))},
		{"ip", "ip saddr & 255.255.255.255 == 10.1.2.3", one(ipAddr(false, expr.OpEq, "10.1.2.3", "255.255.255.255"))},
		{"ip6", "ip6 daddr & ffff:ffff:: != 2001:db8::", one(ipAddr(true, expr.OpNeq, "2001:db8::", "ffff:ffff::"))},
		{"ip", "meta iifname \"eth0\"", one(expr.IfName{Op: expr.OpEq, Name: "eth0"})},
		{"ip6", "oifname ne \"et*\"", one(expr.IfName{Out: true, Op: expr.OpNeq, Name: "et", Prefix: true})},
		{"inet", "meta oifname \"a\\\\*\"", one(expr.IfName{Out: true, Op: expr.OpEq, Name: "a*"})},
		{"ip", "skuid 0x3e8", one(expr.SkID{Op: expr.OpEq, Lo: 1000})},
		{"ip6", "meta skgid 100-200", one(expr.SkID{GID: true, Op: expr.OpRange, Lo: 100, Hi: 200})},
		{"inet", "meta skuid ne 1000-2000", one(expr.SkID{Op: expr.OpNotRange, Lo: 1000, Hi: 2000})},
		{"ip", "pkttype unicast", one(expr.PktType{Op: expr.OpEq, Type: 0})},
		{"inet", "meta pkttype ne 0x1", one(expr.PktType{Op: expr.OpNeq, Type: 1})},
		{"ip", "fib daddr type 2", one(expr.FibType{Op: expr.OpEq, Type: expr.RouteLocal})},
		{"inet", "fib saddr . iif type ne 0x3", one(expr.FibType{Src: true, Iface: expr.FibIif, Op: expr.OpNeq, Type: expr.RouteBroadcast})},
		{"ip6", "fib daddr . oif type == anycast", one(expr.FibType{Iface: expr.FibOif, Op: expr.OpEq, Type: expr.RouteAnycast})},
		{"ip", "counter packets 5 bytes 7 accept", expr.Rule{Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictAccept}}},
	}
	refused := []struct {
		family, text string
		at           string // the debug line of the expression at fault
	}{
		{"ip", "ct zone 1", "[ ct load zone => reg 1 ]"},
		{"ip", "ct state == established", "[ ct load state => reg 1 ]"},
		{"ip", "ct state & established == established", "[ cmp eq reg 1 0x00000002 ]"},
		{"ip", "ct expiration < 5s", "[ cmp lt reg 1 0x88130000 ]"},
		{"ip", "ct original protocol 6 ct original proto-dst > 1000", "[ cmp gt reg 1 0x0000e803 ]"},
		{"ip", "ct original protocol { 6, 17 }", "[ lookup reg 1 set __set%d ]"},
		{"ip", "ct original protocol != { 6, 17 }", "[ lookup reg 1 set __set%d 0x1 ]"},
		{"ip", "tcp window 1024", "[ payload load 2b @ transport header + 14 => reg 1 ]"},
		{"ip", "tcp dport > 1024", "[ cmp gt reg 1 0x00000004 ]"},
		{"ip", "meta l4proto { 6, 17 }", "[ lookup reg 1 set __set%d ]"},
		{"ip", "ip saddr > 10.0.0.1", "[ cmp gt reg 1 0x0100000a ]"},
		{"inet", "meta iiftype 1", "[ meta load iiftype => reg 1 ]"},
		{"ip", "iifname > \"eth\"", "[ cmp gt reg 1 0x00687465 0x00000000 0x00000000 0x00000000 ]"},
		{"ip", "iifname { \"a\", \"b\" }", "[ lookup reg 1 set __set%d ]"},
		{"inet", "meta nfproto ipv4 ct state new", ""}, // understood: a control
		{"ip", "meta skuid > 1000", "[ cmp gt reg 1 0xe8030000 ]"},
		{"ip", "meta pkttype { host, broadcast }", "[ lookup reg 1 set __set%d ]"},
		{"ip", "fib saddr . iif oif \"lo\"", "[ fib saddr . iif oif => reg 1 ]"},
		{"ip", "fib daddr . mark type local", "[ fib daddr . mark type => reg 1 ]"},
		{"ip", "fib daddr type { local, broadcast }", "[ lookup reg 1 set __set%d ]"},
		{"ip", "fib daddr type > local", "[ byteorder reg 1 = hton(reg 1, 4, 4) ]"},
		{"ip", "ct state new continue", "[ immediate reg 0 continue ]"},
		{"ip", "ct state new meta nftrace set 1", "[ immediate reg 1 0x00000001 ]"},
	}
	for _, family := range nftFamilies {
		var texts []string
		for _, s := range same {
			if s.family == family {
				texts = append(texts, s.text)
			}
		}
		for _, r := range refused {
			if r.family == family {
				texts = append(texts, r.text)
			}
		}
		sent := nftSends(t, ns, nftScript(family, texts...))
		if len(sent) != len(texts) {
			t.Fatalf("%s: nft sent %d rules for %d texts", family, len(sent), len(texts))
		}
		i := 0
		for _, s := range same {
			if s.family != family {
				continue
			}
			checkDebug(t, family, s.text, sent[i])
			got, err := expr.Raise(families[family], sent[i].exprs)
			if err != nil {
				t.Errorf("%s %q: Raise: %v", family, s.text, err)
			} else if diff := cmp.Diff(canonical(s.want), got, cmpAddr); diff != "" {
				t.Errorf("%s %q: Raise (-want +got):\n%s", family, s.text, diff)
			}
			i++
		}
		for _, r := range refused {
			if r.family != family {
				continue
			}
			checkDebug(t, family, r.text, sent[i])
			_, err := expr.Raise(families[family], sent[i].exprs)
			var nue *expr.NotUnderstoodError
			switch {
			case r.at == "":
				if err != nil {
					t.Errorf("%s %q: Raise: %v", family, r.text, err)
				}
			case !errors.As(err, &nue):
				t.Errorf("%s %q: Raise = %v, want a *NotUnderstoodError", family, r.text, err)
			case !matchesLine(nue.Expr, r.at) || !strings.HasPrefix(err.Error(), "not a rule ctmatch understands: "+nue.Expr):
				t.Errorf("%s %q: Raise error %q, want it at %q", family, r.text, err, r.at)
			}
			i++
		}
	}
}

// matchesLine compares a debug line with a pattern, literally.
func matchesLine(line, pattern string) bool {
	re := "^" + regexp.QuoteMeta(pattern) + "$"
	return regexp.MustCompile(re).MatchString(line)
}

// checkDebug checks DebugLines against nft's lines for one rule.
func checkDebug(t *testing.T, family, text string, r nftRule) {
	t.Helper()
	got, err := expr.DebugLines(r.exprs)
	if err != nil {
		t.Errorf("%s %q: DebugLines: %v", family, text, err)
		return
	}
	if len(got) != len(r.lines) {
		t.Errorf("%s %q: DebugLines gave %d lines, nft %d:\n%q\n%q", family, text, len(got), len(r.lines), got, r.lines)
		return
	}
	for i := range got {
		if got[i] != r.lines[i] {
			t.Errorf("%s %q: debug line %d\n ours %q\n  nft %q", family, text, i+1, got[i], r.lines[i])
		}
	}
}
