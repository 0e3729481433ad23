package expr_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nftwire"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// cmpAddr compares netip.Addr values, which go-cmp cannot look into.
var cmpAddr = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), // Netmap's
}

// wireCase is a rule that Lower encodes.
type wireCase struct {
	name string
	rule expr.Rule
}

func ip4(key expr.CtKey, dir expr.Dir, op expr.Op, a, mask string) expr.Match {
	return expr.Ct{Key: key, Dir: dir, Op: op, Addr: netip.MustParseAddr(a), AddrMask: netip.MustParseAddr(mask)}
}

// prefix is an address match of a prefix: the address masked to bits, and
// the mask of that prefix.
func prefix(key expr.CtKey, dir expr.Dir, op expr.Op, p string) expr.Match {
	pp := netip.MustParsePrefix(p)
	var mask []byte
	if pp.Addr().Is4() {
		mask = make([]byte, 4)
	} else {
		mask = make([]byte, 16)
	}
	for i := range pp.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	m, _ := netip.AddrFromSlice(mask)
	return expr.Ct{Key: key, Dir: dir, Op: op, Addr: pp.Masked().Addr(), AddrMask: m}
}

func rule(ms ...expr.Match) expr.Rule { return expr.Rule{Matches: ms} }

var (
	fragFirst = expr.Payload{Field: expr.FieldIPFragOff, Mask: 0x1fff, Op: expr.OpEq}
	tcp       = expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoTCP}
	udp       = expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoUDP}
)

var (
	icmp4 = expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoICMP}
	icmp6 = expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoICMPv6}
)

func icmpType(op expr.Op, lo, hi uint32) expr.Match {
	return expr.Payload{Field: expr.FieldICMPType, Op: op, Lo: lo, Hi: hi}
}

func icmpCode(op expr.Op, lo uint32) expr.Match {
	return expr.Payload{Field: expr.FieldICMPCode, Op: op, Lo: lo}
}

func dport(op expr.Op, lo, hi uint32) expr.Match {
	return expr.Payload{Field: expr.FieldTHDport, Op: op, Lo: lo, Hi: hi}
}

func sport(op expr.Op, lo, hi uint32) expr.Match {
	return expr.Payload{Field: expr.FieldTHSport, Op: op, Lo: lo, Hi: hi}
}

// moreWireCases add to the loadable text cases: more prefix lengths, every
// state and status bit alone, large expiration values, and whole rules.
var moreWireCases = []wireCase{
	{"ip /1", rule(prefix(expr.CtSrcIP, orig, expr.OpEq, "128.0.0.0/1"))},
	{"ip /7", rule(prefix(expr.CtSrcIP, reply, expr.OpEq, "10.0.0.0/7"))},
	{"ip /16", rule(prefix(expr.CtDstIP, orig, expr.OpEq, "172.16.0.0/16"))},
	{"ip /24", rule(prefix(expr.CtDstIP, reply, expr.OpNeq, "192.0.2.0/24"))},
	{"ip /25", rule(prefix(expr.CtSrcIP, orig, expr.OpEq, "192.0.2.128/25"))},
	{"ip /32 neq reply", rule(prefix(expr.CtDstIP, reply, expr.OpNeq, "192.0.2.1/32"))},
	{"ip mask leading zero", rule(ip4(expr.CtDstIP, orig, expr.OpEq, "0.0.0.1", "0.0.0.255"))},
	{"ip mask all ones but one bit", rule(ip4(expr.CtSrcIP, reply, expr.OpNeq, "10.1.2.2", "255.255.255.253"))},
	{"ip6 /1", rule(prefix(expr.CtSrcIP6, orig, expr.OpEq, "8000::/1"))},
	{"ip6 /16", rule(prefix(expr.CtSrcIP6, reply, expr.OpNeq, "2001::/16"))},
	{"ip6 /48", rule(prefix(expr.CtSrcIP6, orig, expr.OpEq, "2001:db8:1::/48"))},
	{"ip6 /56 reply", rule(prefix(expr.CtDstIP6, reply, expr.OpEq, "2001:db8:1:200::/56"))},
	{"ip6 /96", rule(prefix(expr.CtDstIP6, orig, expr.OpEq, "64:ff9b::/96"))},
	{"ip6 /120", rule(prefix(expr.CtDstIP6, orig, expr.OpNeq, "2001:db8::100/120"))},
	{"ip6 /127", rule(prefix(expr.CtSrcIP6, reply, expr.OpEq, "2001:db8::2/127"))},
	{"ip6 /128 neq", rule(prefix(expr.CtSrcIP6, orig, expr.OpNeq, "fe80::1/128"))},
	{"ip6 mapped /104", rule(prefix(expr.CtDstIP6, orig, expr.OpEq, "::ffff:10.0.0.0/104"))},
	{"ip6 mask interface id", rule(ip4(expr.CtSrcIP6, orig, expr.OpEq, "::1:2:3:4", "::ffff:ffff:ffff:ffff"))},
	{"ip6 mask odd", rule(ip4(expr.CtDstIP6, reply, expr.OpNeq, "2001:db8::", "ffff:fffe::"))},

	{"state any invalid", flags(expr.CtState, expr.OpAny, uint32(expr.StateInvalid))},
	{"state any related", flags(expr.CtState, expr.OpAny, uint32(expr.StateRelated))},
	{"state any new", flags(expr.CtState, expr.OpAny, uint32(expr.StateNew))},
	{"state any untracked", flags(expr.CtState, expr.OpAny, uint32(expr.StateUntracked))},
	{"state none established", flags(expr.CtState, expr.OpNone, uint32(expr.StateEstablished))},
	{"status any expected", flags(expr.CtStatus, expr.OpAny, uint32(expr.StatusExpected))},
	{"status any seen-reply", flags(expr.CtStatus, expr.OpAny, uint32(expr.StatusSeenReply))},
	{"status none assured", flags(expr.CtStatus, expr.OpNone, uint32(expr.StatusAssured))},
	{"status none confirmed", flags(expr.CtStatus, expr.OpNone, uint32(expr.StatusConfirmed))},

	{"expiration range huge", value(expr.CtExpiration, 0, expr.OpRange, 4294967000, 4294967295)},
	{"expiration notrange huge", value(expr.CtExpiration, 0, expr.OpNotRange, 1000, 4294967295)},
	{"expiration notrange zero", value(expr.CtExpiration, 0, expr.OpNotRange, 0, 999)},
	{"expiration neq huge", value(expr.CtExpiration, 0, expr.OpNeq, 4294967000, 0)},
	{"expiration range one byte apart", value(expr.CtExpiration, 0, expr.OpRange, 255, 256)},

	{"port dst range full bytes", value(expr.CtProtoDst, orig, expr.OpRange, 256, 511)},
	{"port src eq 65535", value(expr.CtProtoSrc, reply, expr.OpEq, 65535, 0)},
	{"port dst notrange reply 0", value(expr.CtProtoDst, reply, expr.OpNotRange, 0, 0)},

	{"three flags and a port", expr.Rule{
		Matches: []expr.Match{
			expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)},
			expr.Ct{Key: expr.CtStatus, Op: expr.OpNone, Mask: uint32(expr.StatusSNAT | expr.StatusDNAT)},
			expr.Ct{Key: expr.CtProtocol, Op: expr.OpEq, Lo: 17},
			expr.Ct{Key: expr.CtProtoSrc, Dir: reply, Op: expr.OpNotRange, Lo: 1, Hi: 1023},
		},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictDrop},
	}},
	{"inet ipv6 piece", expr.Rule{
		Matches: []expr.Match{
			expr.Nfproto{Family: expr.FamilyIP6},
			expr.Ct{Key: expr.CtState, Op: expr.OpNone, Mask: uint32(expr.StateNew)},
			expr.Ct{Key: expr.CtStatus, Op: expr.OpAny, Mask: uint32(expr.StatusDNAT)},
			prefix(expr.CtSrcIP6, orig, expr.OpEq, "2001:db8::/32"),
			expr.Ct{Key: expr.CtProtoDst, Op: expr.OpEq, Lo: 443},
			expr.Ct{Key: expr.CtExpiration, Op: expr.OpNotRange, Lo: 10000, Hi: 10999},
		},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictGoto, Chain: "target"},
	}},
	{"return with counter", expr.Rule{
		Matches: []expr.Match{expr.Ct{Key: expr.CtDirection, Op: expr.OpEq, Lo: 1}},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictReturn},
	}},
	{"tcp dport", rule(tcp, dport(expr.OpEq, 22, 0))},
	{"tcp dport neq", rule(tcp, dport(expr.OpNeq, 22, 0))},
	{"tcp dport range", rule(tcp, dport(expr.OpRange, 1, 1024))},
	{"tcp dport notrange", rule(tcp, dport(expr.OpNotRange, 1, 1024))},
	{"udp sport", rule(udp, sport(expr.OpEq, 53, 0))},
	{"udp sport neq", rule(udp, sport(expr.OpNeq, 53, 0))},
	{"udp sport range", rule(udp, sport(expr.OpRange, 1024, 65535))},
	{"udp sport notrange", rule(udp, sport(expr.OpNotRange, 0, 1023))},
	{"tcp sport and dport merged", rule(tcp, sport(expr.OpEq, 1, 0), dport(expr.OpEq, 4, 0))},
	{"udp sport range and dport", rule(udp, sport(expr.OpRange, 1, 2), dport(expr.OpEq, 4, 0))},
	{"l4proto", rule(tcp)},
	{"ip6 no fragment header tcp dport", rule(expr.Exthdr{Test: expr.FragMissing}, tcp, dport(expr.OpEq, 22, 0))},
	{"ip6 first fragment udp sport", rule(expr.Exthdr{Test: expr.FragFirst}, udp, sport(expr.OpNotRange, 1, 1023))},
	{"ip6 fragment header", rule(expr.Exthdr{Test: expr.FragExists})},
	{"ip6 not first fragment", rule(expr.Exthdr{Test: expr.FragNotFirst})},
	{"ip first fragment tcp dport", rule(fragFirst, tcp, dport(expr.OpEq, 22, 0))},
	{"ip not first fragment", rule(expr.Payload{Field: expr.FieldIPFragOff, Mask: 0x1fff, Op: expr.OpNeq})},
	{"l4proto neq", rule(expr.L4Proto{Op: expr.OpNeq, Proto: 6})},
	{"l4proto number", rule(expr.L4Proto{Op: expr.OpEq, Proto: 132})},
	{"th dport", rule(dport(expr.OpEq, 22, 0))},
	{"l4proto sctp th sport", rule(expr.L4Proto{Op: expr.OpEq, Proto: 132}, sport(expr.OpNeq, 9, 0))},
	{"tcp state dport", expr.Rule{
		Matches: []expr.Match{tcp, expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)}, dport(expr.OpEq, 22, 0)},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictAccept},
	}},
	{"icmp type", rule(icmp4, icmpType(expr.OpEq, 8, 0))},
	{"icmp type neq", rule(icmp4, icmpType(expr.OpNeq, 8, 0))},
	{"icmp type range", rule(icmp4, icmpType(expr.OpRange, 0, 255))},
	{"icmp type notrange", rule(icmp4, icmpType(expr.OpNotRange, 0, 255))},
	{"icmp type and code merged", rule(icmp4, icmpType(expr.OpEq, 3, 0), icmpCode(expr.OpEq, 3))},
	{"icmp type and code neq", rule(icmp4, sport(expr.OpNeq, 0x0303, 0))},
	{"icmp code alone", rule(icmp4, icmpCode(expr.OpNeq, 1))},
	{"ip first fragment icmp type", rule(fragFirst, icmp4, icmpType(expr.OpEq, 0, 0))},
	{"icmpv6 type", rule(icmp6, icmpType(expr.OpEq, 128, 0))},
	{"icmpv6 type and code", rule(expr.Exthdr{Test: expr.FragFirst}, icmp6, icmpType(expr.OpEq, 1, 0), icmpCode(expr.OpEq, 4))},
	{"icmp type without protocol", rule(icmpType(expr.OpEq, 8, 0))},
	{"icmp code without protocol", rule(icmpCode(expr.OpNeq, 3))},
	{"inet tcp dport", expr.Rule{
		Matches: []expr.Match{expr.Nfproto{Family: expr.FamilyIP}, tcp, dport(expr.OpEq, 22, 0)},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictAccept},
	}},
	{"accept alone after match", expr.Rule{
		Matches: []expr.Match{prefix(expr.CtDstIP, reply, expr.OpEq, "0.0.0.0/0")},
		Verdict: expr.Verdict{Kind: expr.VerdictAccept},
	}},
}

// wireCases are every loadable text case and moreWireCases.
func wireCases() []wireCase {
	var cs []wireCase
	for _, tc := range textCases {
		if !tc.rejected {
			cs = append(cs, wireCase{tc.name, tc.rule})
		}
	}
	return append(cs, moreWireCases...)
}

// canonical is r as Raise gives it back: no direction on keys that have none
// (nor on the protocol), and no operand a key's operator does not use.
func canonical(r expr.Rule) expr.Rule {
	out := expr.Rule{Counter: r.Counter, Stmts: r.Stmts, Verdict: r.Verdict}
	for _, m := range r.Matches {
		c, ok := m.(expr.Ct)
		if p, isP := m.(expr.Payload); isP && p.Op != expr.OpRange && p.Op != expr.OpNotRange {
			p.Hi = 0
			out.Matches = append(out.Matches, p)
			continue
		}
		if !ok {
			out.Matches = append(out.Matches, m)
			continue
		}
		n := expr.Ct{Key: c.Key, Op: c.Op}
		switch c.Key {
		case expr.CtState, expr.CtStatus:
			n.Mask = c.Mask
		case expr.CtSrcIP, expr.CtDstIP, expr.CtSrcIP6, expr.CtDstIP6:
			n.Dir, n.Addr, n.AddrMask = c.Dir, c.Addr, c.AddrMask
		case expr.CtProtoSrc, expr.CtProtoDst:
			n.Dir = c.Dir
			fallthrough
		default:
			n.Lo = c.Lo
			if c.Op == expr.OpRange || c.Op == expr.OpNotRange {
				n.Hi = c.Hi
			}
		}
		out.Matches = append(out.Matches, n)
	}
	return out
}

// Raise gives back every rule Lower encodes, in every family that takes it.
func TestRaiseLower(t *testing.T) {
	n := 0
	for _, tc := range wireCases() {
		for _, fam := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
			if !fitsFamily(tc.rule, fam.String()) {
				continue
			}
			b, err := tc.rule.Lower(fam)
			if err != nil {
				t.Errorf("%s: Lower(%v): %v", tc.name, fam, err)
				continue
			}
			got, err := expr.Raise(fam, b)
			if err != nil {
				t.Errorf("%s: Raise(%v, Lower): %v", tc.name, fam, err)
				continue
			}
			if diff := cmp.Diff(canonical(tc.rule), got, cmpAddr); diff != "" {
				t.Errorf("%s: Raise(%v, Lower) (-want +got):\n%s", tc.name, fam, diff)
			}
			// Lowering the raised rule gives the same bytes.
			again, err := got.Lower(fam)
			if err != nil || !bytes.Equal(again, b) {
				t.Errorf("%s: Lower(Raise(Lower)) in %v differs (%v)", tc.name, fam, err)
			}
			n++
		}
	}
	if n < 200 {
		t.Errorf("only %d rule and family pairs checked", n)
	}
}

// Every case that the text renderer marks invalid, Lower refuses, except the
// empty rule, which the kernel takes (nft has no text for it).
func TestLowerRefuses(t *testing.T) {
	for _, tc := range textCases {
		if !tc.rejected {
			continue
		}
		fam := expr.FamilyInet
		_, err := tc.rule.Lower(fam)
		if tc.name == "empty rule" {
			if err != nil {
				t.Errorf("%s: Lower: %v", tc.name, err)
			}
			continue
		}
		var ire *expr.InvalidRuleError
		if !errors.As(err, &ire) {
			t.Errorf("%s: Lower(%v) = %v, want an *InvalidRuleError", tc.name, fam, err)
			continue
		}
		if ire.Family != fam || !strings.HasPrefix(err.Error(), "cannot encode rule for an inet table") {
			t.Errorf("%s: error %q", tc.name, err)
		}
	}
	for _, tc := range []struct {
		name string
		rule expr.Rule
		fam  expr.Family
		want string
	}{
		{"nfproto in ip", one(expr.Nfproto{Family: expr.FamilyIP}), expr.FamilyIP,
			"cannot encode rule for an ip table: match 1 (meta nfproto ipv4): meta nfproto in an ip table (nft takes it only in inet tables)"},
		{"ipv4 key in ip6", rule(prefix(expr.CtSrcIP, orig, expr.OpEq, "10.0.0.0/8")), expr.FamilyIP6,
			"cannot encode rule for an ip6 table: match 1 (ct original ip saddr 10.0.0.0/8): IPv4 address key in an ip6 table (nft refuses it)"},
		{"ipv6 key in ip", rule(prefix(expr.CtDstIP6, reply, expr.OpEq, "::/0")), expr.FamilyIP,
			"cannot encode rule for an ip table: match 1 (ct reply ip6 daddr ::/0): IPv6 address key in an ip table (nft refuses it)"},
		{"unknown family", expr.Rule{Counter: true}, 7,
			"cannot encode rule for an family(7) table: unknown table family"},
		{"port above 65535 second match", rule(expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: 8}, expr.Ct{Key: expr.CtProtoDst, Op: expr.OpEq, Lo: 70000}), expr.FamilyIP,
			"cannot encode rule for an ip table: match 2 (ct original proto-dst 70000): value 70000 above 65535"},
		{"direction above 255", rule(expr.Ct{Key: expr.CtDirection, Op: expr.OpRange, Lo: 0, Hi: 256}), expr.FamilyIP,
			"cannot encode rule for an ip table: match 1 (ct direction 0-256): value 256 above 255"},
		{"chain too long", expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: strings.Repeat("c", 256)}}, expr.FamilyIP,
			"cannot encode rule for an ip table (jump " + strings.Repeat("c", 256) + "): chain name of 256 bytes (at most 255)"},
		{"chain with NUL", expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictGoto, Chain: "a\x00b"}}, expr.FamilyIP,
			"cannot encode rule for an ip table (goto a\x00b): chain name \"a\\x00b\" holds a NUL byte"},
	} {
		_, err := tc.rule.Lower(tc.fam)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Lower = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// An empty rule is an empty list, and comes back empty.
func TestLowerEmpty(t *testing.T) {
	b, err := expr.Rule{}.Lower(expr.FamilyIP)
	if err != nil || len(b) != 0 {
		t.Fatalf("Lower(empty) = %x, %v", b, err)
	}
	r, err := expr.Raise(expr.FamilyIP, nil)
	if err != nil || len(r.Matches) != 0 || r.Counter || r.Verdict.Kind != expr.VerdictNone {
		t.Fatalf("Raise(nil) = %v, %v", r, err)
	}
	lines, err := expr.DebugLines(nil)
	if err != nil || len(lines) != 0 {
		t.Fatalf("DebugLines(nil) = %q, %v", lines, err)
	}
}

// Lower builds fresh bytes each time: the result is the caller's to change.
func TestLowerFresh(t *testing.T) {
	r := expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: 8}}, Counter: true}
	a, _ := r.Lower(expr.FamilyIP)
	b, _ := r.Lower(expr.FamilyIP)
	for i := range a {
		a[i] = 0xff
	}
	c, _ := r.Lower(expr.FamilyIP)
	if !bytes.Equal(b, c) {
		t.Fatal("changing one result of Lower changed another")
	}
}

// --- Hand-built wire expressions, for what Raise must refuse or accept. ---

// wexpr builds one NFTA_LIST_ELEM.
func wexpr(name string, attrs func(ae *netlink.AttributeEncoder)) []byte {
	return nftwire.Expr(name, attrs)
}

func data(ae *netlink.AttributeEncoder, typ uint16, v []byte) {
	ae.Nested(typ, func(d *netlink.AttributeEncoder) error {
		d.Bytes(1, v)
		return nil
	})
}

func wct(key uint32, reg uint32, dir ...uint8) []byte {
	return wexpr("ct", func(ae *netlink.AttributeEncoder) {
		ae.Uint32(1, reg)
		ae.Uint32(2, key)
		for _, d := range dir {
			ae.Uint8(3, d)
		}
	})
}

func wcmp(op uint32, reg uint32, v ...byte) []byte {
	return wexpr("cmp", func(ae *netlink.AttributeEncoder) {
		ae.Uint32(1, reg)
		ae.Uint32(2, op)
		data(ae, 3, v)
	})
}

func wbitwise(reg uint32, op *uint32, mask, xor []byte) []byte {
	return wexpr("bitwise", func(ae *netlink.AttributeEncoder) {
		ae.Uint32(1, reg)
		ae.Uint32(2, reg)
		ae.Uint32(3, uint32(len(mask)))
		if op != nil {
			ae.Uint32(6, *op)
		}
		data(ae, 4, mask)
		data(ae, 5, xor)
	})
}

func wrange(op uint32, reg uint32, from, to []byte) []byte {
	return wexpr("range", func(ae *netlink.AttributeEncoder) {
		ae.Uint32(1, reg)
		ae.Uint32(2, op)
		data(ae, 3, from)
		data(ae, 4, to)
	})
}

func wbyteorder(op, reg, size uint32) []byte {
	return wexpr("byteorder", func(ae *netlink.AttributeEncoder) {
		ae.Uint32(1, reg)
		ae.Uint32(2, reg)
		ae.Uint32(3, op)
		ae.Uint32(4, size)
		ae.Uint32(5, size)
	})
}

func wcounter(packets, bytes uint64) []byte {
	return wexpr("counter", func(ae *netlink.AttributeEncoder) {
		ae.Uint64(1, bytes)
		ae.Uint64(2, packets)
	})
}

func wverdict(code int32, chain string, reg uint32) []byte {
	return wexpr("immediate", func(ae *netlink.AttributeEncoder) {
		ae.Uint32(1, reg)
		ae.Nested(2, func(d *netlink.AttributeEncoder) error {
			d.Nested(2, func(v *netlink.AttributeEncoder) error {
				v.Uint32(1, uint32(code))
				if chain != "" {
					v.String(2, chain)
				}
				return nil
			})
			return nil
		})
	})
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// wnet is a payload load of size bytes at offset of the network header
// into register 1.
func wnet(offset, size uint32) []byte {
	return wexpr("payload", func(ae *netlink.AttributeEncoder) {
		ae.Uint32(1, 1)
		ae.Uint32(2, 1)
		ae.Uint32(3, offset)
		ae.Uint32(4, size)
	})
}

func host32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func be32(v uint32) []byte   { return binary.BigEndian.AppendUint32(nil, v) }

var zero4 = []byte{0, 0, 0, 0}

// Raise reads forms that Lower does not send but that mean the same: the
// kernel's attribute order, other registers, a protocol without or with
// another direction, counters with values, range eq.
func TestRaiseEquivalentForms(t *testing.T) {
	maskXor := uint32(0)
	for _, tc := range []struct {
		name  string
		fam   expr.Family
		exprs []byte
		want  expr.Rule
	}{
		{"kernel order, bitwise op, counter values", expr.FamilyIP, cat(
			wct(0, 1), wbitwise(1, &maskXor, host32(0x0c), zero4), wcmp(1, 1, zero4...),
			wcounter(12, 3400), wverdict(1, "", 0)),
			expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: 0x0c}}, Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictAccept}}},
		{"32-bit register", expr.FamilyIP, cat(wct(2, 8), wbitwise(8, nil, host32(0x20), zero4), wcmp(0, 8, zero4...)),
			rule(expr.Ct{Key: expr.CtStatus, Op: expr.OpNone, Mask: 0x20})},
		{"128-bit register 2 is 32-bit register 4", expr.FamilyIP, cat(wct(1, 2), wcmp(0, 12, 1)),
			rule(expr.Ct{Key: expr.CtDirection, Op: expr.OpEq, Lo: 1})},
		{"protocol without direction", expr.FamilyIP, cat(wct(10, 1), wcmp(1, 1, 17)),
			rule(expr.Ct{Key: expr.CtProtocol, Op: expr.OpNeq, Lo: 17})},
		{"protocol in reply", expr.FamilyIP, cat(wct(10, 1, 1), wcmp(0, 1, 6)),
			rule(expr.Ct{Key: expr.CtProtocol, Op: expr.OpEq, Lo: 6})},
		{"range eq", expr.FamilyIP, cat(wct(12, 1, 1), wrange(0, 1, []byte{0, 22}, []byte{0, 80})),
			rule(expr.Ct{Key: expr.CtProtoDst, Dir: reply, Op: expr.OpRange, Lo: 22, Hi: 80})},
		// nft 1.1.2 and later send A-B as one range eq, where 1.0.6 sends
		// cmp gte and cmp lte (nft's commit "netlink_linearize: use range
		// expression for OP_EQ and OP_IMPLICIT").
		{"address range eq", expr.FamilyIP, cat(wnet(12, 4), wrange(0, 1, []byte{10, 0, 0, 1}, []byte{10, 0, 0, 9})),
			rule(iprange(false, expr.OpRange, "10.0.0.1", "10.0.0.9"))},
		{"ipv6 address range eq", expr.FamilyIP6, cat(wnet(24, 16), wrange(0, 1, netip.MustParseAddr("fe80::").AsSlice(), netip.MustParseAddr("fe80::ffff").AsSlice())),
			rule(iprange(true, expr.OpRange, "fe80::", "fe80::ffff"))},
		{"expiration equality after byteorder", expr.FamilyIP, cat(wct(5, 1), wbyteorder(1, 1, 4), wcmp(1, 1, be32(28000)...)),
			rule(expr.Ct{Key: expr.CtExpiration, Op: expr.OpNeq, Lo: 28000})},
		{"prefix as bitwise", expr.FamilyIP, cat(wct(19, 1, 0), wbitwise(1, &maskXor, []byte{255, 0, 0, 0}, zero4), wcmp(0, 1, 10, 0, 0, 0)),
			rule(prefix(expr.CtSrcIP, orig, expr.OpEq, "10.0.0.0/8"))},
		{"ipv6 prefix of 2 bytes", expr.FamilyIP6, cat(wct(22, 1, 1), wcmp(1, 1, 0x20, 0x01)),
			rule(prefix(expr.CtDstIP6, reply, expr.OpNeq, "2001::/16"))},
		{"nfproto", expr.FamilyInet, cat(
			wexpr("meta", func(ae *netlink.AttributeEncoder) { ae.Uint32(1, 1); ae.Uint32(2, 15) }), wcmp(0, 1, 10)),
			rule(expr.Nfproto{Family: expr.FamilyIP6})},
		{"jump", expr.FamilyIP, wverdict(-3, "somewhere", 0), expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: "somewhere"}}},
	} {
		got, err := expr.Raise(tc.fam, tc.exprs)
		if err != nil {
			t.Errorf("%s: Raise: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpAddr); diff != "" {
			t.Errorf("%s: Raise (-want +got):\n%s", tc.name, diff)
		}
	}
}

// Raise refuses everything else, at the expression at fault, with its debug
// line.
func TestRaiseRefuses(t *testing.T) {
	lt := uint32(2)
	for _, tc := range []struct {
		name  string
		fam   expr.Family
		exprs []byte
		want  string // the error
	}{
		{"iifname with its zero, as iptables-nft compares it", expr.FamilyIP, cat(wmetaLoad(6), wcmp(0, 1, 'e', 't', 'h', '0', 0)),
			"not a rule ctmatch understands: [ cmp eq reg 1 0x30687465 0x00000000 ] (expression 2: compares 5 bytes of meta iifname that are neither a name padded to 16 bytes nor a prefix)"},
		{"oifname padded with a non-zero byte", expr.FamilyIP6, cat(wmetaLoad(7), wcmp(0, 1, append([]byte("eth0\x00"), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)...)),
			"not a rule ctmatch understands: [ cmp eq reg 1 0x30687465 0x00000100 0x00000000 0x00000000 ] (expression 2: compares 16 bytes of meta oifname that are neither a name padded to 16 bytes nor a prefix)"},
		{"iifname ordered", expr.FamilyInet, cat(wmetaLoad(6), wcmp(lt, 1, 'e')),
			"not a rule ctmatch understands: [ cmp lt reg 1 0x00000065 ] (expression 2: meta iifname is tested only for equality or inequality)"},
		{"iifname empty", expr.FamilyIP, cat(wmetaLoad(6), wcmp(0, 1, make([]byte, 16)...)),
			"not a rule ctmatch understands: [ cmp eq reg 1 0x00000000 0x00000000 0x00000000 0x00000000 ] (expression 2: compares 16 bytes of meta iifname that are neither a name padded to 16 bytes nor a prefix)"},
		{"ct zone", expr.FamilyIP, cat(wct(17, 1), wcmp(0, 1, 1, 0)),
			"not a rule ctmatch understands: [ ct load zone => reg 1 ] (expression 1: ct key zone is not one ctmatch reads)"},
		{"state compared whole", expr.FamilyIP, cat(wct(0, 1), wcmp(0, 1, host32(2)...)),
			"not a rule ctmatch understands: [ ct load state => reg 1 ] (expression 1: a flag key without a bitwise mask after it)"},
		{"state compared with a non-zero value", expr.FamilyIP, cat(wct(0, 1), wbitwise(1, nil, host32(0xc), zero4), wcmp(0, 1, host32(4)...)),
			"not a rule ctmatch understands: [ cmp eq reg 1 0x00000004 ] (expression 3: a flag test compares with 0 only)"},
		{"bitwise with xor", expr.FamilyIP, cat(wct(2, 1), wbitwise(1, nil, host32(0x10), host32(1)), wcmp(1, 1, zero4...)),
			"not a rule ctmatch understands: [ bitwise reg 1 = ( reg 1 & 0x00000010 ) ^ 0x00000001 ] (expression 2: a bitwise with a non-zero xor)"},
		{"shift", expr.FamilyIP, cat(wct(2, 1), wexpr("bitwise", func(ae *netlink.AttributeEncoder) {
			ae.Uint32(1, 1)
			ae.Uint32(2, 1)
			ae.Uint32(3, 4)
			ae.Uint32(6, 1)
			data(ae, 7, be32(3))
		}), wcmp(1, 1, zero4...)),
			"not a rule ctmatch understands: [ bitwise reg 1 = ( reg 1 << 0x03000000 ) ] (expression 2: a bitwise other than & MASK ^ XOR)"},
		{"cmp lt", expr.FamilyIP, cat(wct(12, 1, 0), wcmp(lt, 1, 0x03, 0xe8)),
			"not a rule ctmatch understands: [ cmp lt reg 1 0x0000e803 ] (expression 2: cmp lt is not a comparison the IR states)"},
		{"cmp gte alone", expr.FamilyIP, cat(wct(12, 1, 0), wcmp(5, 1, 0x03, 0xe8), wverdict(1, "", 0)),
			"not a rule ctmatch understands: [ cmp gte reg 1 0x0000e803 ] (expression 2: cmp gte without cmp lte after it)"},
		{"reversed range", expr.FamilyIP, cat(wct(11, 1, 1), wcmp(5, 1, 0, 80), wcmp(3, 1, 0, 22)),
			"not a rule ctmatch understands: [ cmp lte reg 1 0x00001600 ] (expression 3: a reversed range)"},
		{"expiration range without byteorder", expr.FamilyIP, cat(wct(5, 1), wrange(1, 1, be32(1000), be32(2000))),
			"not a rule ctmatch understands: [ range neq reg 1 0xe8030000 0xd0070000 ] (expression 2: a range of a host-order key without byteorder hton before it)"},
		{"byteorder ntoh", expr.FamilyIP, cat(wct(5, 1), wbyteorder(0, 1, 4), wcmp(0, 1, zero4...)),
			"not a rule ctmatch understands: [ byteorder reg 1 = ntoh(reg 1, 4, 4) ] (expression 2: a byteorder other than hton of 4 bytes)"},
		{"port of 4 bytes", expr.FamilyIP, cat(wct(12, 1, 0), wcmp(0, 1, 0, 0, 0, 22)),
			"not a rule ctmatch understands: [ cmp eq reg 1 0x16000000 ] (expression 2: compares 4 bytes of a key of 2)"},
		{"other register", expr.FamilyIP, cat(wct(1, 1), wcmp(0, 2, 1)),
			"not a rule ctmatch understands: [ cmp eq reg 2 0x00000001 ] (expression 2: does not read the register the load wrote)"},
		{"load without test", expr.FamilyIP, cat(wct(1, 1), wcounter(0, 0)),
			"not a rule ctmatch understands: [ counter pkts 0 bytes 0 ] (expression 2: counter where a cmp of the loaded value belongs)"},
		{"load at the end", expr.FamilyIP, wct(1, 1),
			"not a rule ctmatch understands: [ ct load direction => reg 1 ] (expression 1: a load without a cmp after it)"},
		{"port without direction", expr.FamilyIP, cat(wct(11, 1), wcmp(0, 1, 0, 22)),
			"not a rule ctmatch understands: [ ct load proto_src => reg 1 ] (expression 1: ct proto_src without direction original or reply)"},
		{"direction on state", expr.FamilyIP, cat(wct(0, 1, 0), wbitwise(1, nil, host32(8), zero4), wcmp(1, 1, zero4...)),
			"not a rule ctmatch understands: [ ct load state => reg 1 , dir original ] (expression 1: a direction on a key that has none)"},
		{"ipv4 key in ip6", expr.FamilyIP6, cat(wct(19, 1, 0), wcmp(0, 1, 10)),
			"not a rule ctmatch understands: [ ct load src_ip => reg 1 , dir original ] (expression 1: an address key of the other family in an ip6 table)"},
		{"address compared longer", expr.FamilyIP, cat(wct(20, 1, 0), wcmp(0, 1, 1, 2, 3, 4, 5)),
			"not a rule ctmatch understands: [ cmp eq reg 1 0x04030201 0x00000005 ] (expression 2: compares 5 bytes of an address of 4)"},
		{"address range", expr.FamilyIP, cat(wct(20, 1, 0), wrange(0, 1, zero4, be32(5))),
			"not a rule ctmatch understands: [ range eq reg 1 0x00000000 0x05000000 ] (expression 2: range where a cmp of the loaded value belongs)"},
		{"address range of another operator", expr.FamilyIP, cat(wnet(16, 4), wrange(2, 1, []byte{10, 0, 0, 1}, []byte{10, 0, 0, 9})),
			"not a rule ctmatch understands: [ range unknown reg 1 0x0100000a 0x0900000a ] (expression 2: unknown range operator 2)"},
		{"nfproto in ip", expr.FamilyIP, cat(wexpr("meta", func(ae *netlink.AttributeEncoder) { ae.Uint32(2, 15); ae.Uint32(1, 1) }), wcmp(0, 1, 2)),
			"not a rule ctmatch understands: [ meta load nfproto => reg 1 ] (expression 1: meta nfproto in an ip table)"},
		{"meta priority", expr.FamilyInet, cat(wexpr("meta", func(ae *netlink.AttributeEncoder) { ae.Uint32(2, 2); ae.Uint32(1, 1) }), wcmp(0, 1, 1, 0, 0, 0)),
			"not a rule ctmatch understands: [ meta load priority => reg 1 ] (expression 1: the only meta ctmatch reads is a load of nfproto, l4proto, iifname, oifname, pkttype, skuid, skgid or mark)"},
		{"nfproto neq", expr.FamilyInet, cat(wexpr("meta", func(ae *netlink.AttributeEncoder) { ae.Uint32(2, 15); ae.Uint32(1, 1) }), wcmp(1, 1, 2)),
			"not a rule ctmatch understands: [ cmp neq reg 1 0x00000002 ] (expression 2: meta nfproto is tested only for equality with ipv4 or ipv6)"},
		{"payload", expr.FamilyIP, cat(wexpr("payload", func(ae *netlink.AttributeEncoder) {
			ae.Uint32(1, 1)
			ae.Uint32(2, 2)
			ae.Uint32(3, 14)
			ae.Uint32(4, 1)
		}), wcmp(0, 1, 2)),
			"not a rule ctmatch understands: [ payload load 1b @ transport header + 14 => reg 1 ] (expression 1: payload of 1 bytes at transport header + 14 is not a field ctmatch reads)"},
		{"payload gt", expr.FamilyIP, cat(wexpr("payload", func(ae *netlink.AttributeEncoder) {
			ae.Uint32(1, 1)
			ae.Uint32(2, 2)
			ae.Uint32(3, 2)
			ae.Uint32(4, 2)
		}), wcmp(4, 1, 0, 22)),
			"not a rule ctmatch understands: [ cmp gt reg 1 0x00001600 ] (expression 2: cmp gt is not a comparison the IR states)"},
		{"lookup", expr.FamilyIP, cat(wct(0, 1), wbitwise(1, nil, host32(8), zero4), wcmp(1, 1, zero4...), wexpr("lookup", func(ae *netlink.AttributeEncoder) {
			ae.String(1, "s")
			ae.Uint32(2, 1)
		})),
			"not a rule ctmatch understands: [ lookup reg 1 set s ] (expression 4: expression \"lookup\" is not one ctmatch reads)"},
		{"unknown expression", expr.FamilyIP, wexpr("quota", func(ae *netlink.AttributeEncoder) { ae.Uint64(1, 5) }),
			"not a rule ctmatch understands: [ quota attr1=0000000000000005 ] (expression 1: expression \"quota\" is not one ctmatch reads)"},
		{"unknown attribute", expr.FamilyIP, cat(wct(1, 1), wexpr("cmp", func(ae *netlink.AttributeEncoder) {
			ae.Uint32(1, 1)
			ae.Uint32(2, 0)
			data(ae, 3, []byte{1})
			ae.Uint32(9, 0)
		})),
			"not a rule ctmatch understands: [ cmp attr1=00000001 attr2=00000000 attr3=0500010001000000 attr9=00000000 ] (expression 2: attribute 9 of cmp is not one ctmatch reads (or is repeated))"},
		{"malformed attribute", expr.FamilyIP, wexpr("ct", func(ae *netlink.AttributeEncoder) { ae.Uint16(2, 1) }),
			"not a rule ctmatch understands: [ ct (malformed: attribute 2: 2 bytes, want 4) attr2=0001 ] (expression 1: malformed: attribute 2: 2 bytes, want 4)"},
		{"counter before a match", expr.FamilyIP, cat(wcounter(0, 0), wct(1, 1), wcmp(0, 1, 1)),
			"not a rule ctmatch understands: [ ct load direction => reg 1 ] (expression 2: a match after the counter or the verdict)"},
		{"two counters", expr.FamilyIP, cat(wcounter(0, 0), wcounter(1, 1)),
			"not a rule ctmatch understands: [ counter pkts 1 bytes 1 ] (expression 2: a counter after the counter or the verdict)"},
		{"counter after verdict", expr.FamilyIP, cat(wverdict(0, "", 0), wcounter(0, 0)),
			"not a rule ctmatch understands: [ counter pkts 0 bytes 0 ] (expression 2: a counter after the counter or the verdict)"},
		{"continue", expr.FamilyIP, wverdict(-1, "", 0),
			"not a rule ctmatch understands: [ immediate reg 0 continue ] (expression 1: verdict continue is not one ctmatch reads)"},
		{"jump without chain", expr.FamilyIP, wverdict(-3, "", 0),
			"not a rule ctmatch understands: [ immediate reg 0 jump ] (expression 1: a jump or goto without a chain)"},
		{"accept with chain", expr.FamilyIP, wverdict(1, "x", 0),
			"not a rule ctmatch understands: [ immediate reg 0 accept -> x ] (expression 1: a chain on a verdict that takes none)"},
		{"immediate value", expr.FamilyIP, wexpr("immediate", func(ae *netlink.AttributeEncoder) {
			ae.Uint32(1, 1)
			data(ae, 2, be32(5))
		}),
			"not a rule ctmatch understands: [ immediate reg 1 0x05000000 ] (expression 1: an immediate that sets no verdict)"},
		{"two verdicts", expr.FamilyIP, cat(wverdict(1, "", 0), wverdict(0, "", 0)),
			"not a rule ctmatch understands: [ immediate reg 0 drop ] (expression 2: a second verdict)"},
		{"not a list element", expr.FamilyIP, []byte{8, 0, 2, 0, 0, 0, 0, 0},
			"not a rule ctmatch understands: expression list: attribute 1 of type 2, want NFTA_LIST_ELEM"},
		{"truncated", expr.FamilyIP, wct(0, 1)[:10],
			"not a rule ctmatch understands: expression list: attribute of length 32 with 10 bytes left"},
		{"empty attribute", expr.FamilyIP, []byte{0, 0, 0, 0},
			"not a rule ctmatch understands: expression list: attribute of length 0 with 4 bytes left"},
		{"no name", expr.FamilyIP, []byte{8, 0, 1, 0x80, 4, 0, 2, 0x80},
			"not a rule ctmatch understands: [ (malformed: expression without a name) ] (expression 1: malformed: expression without a name)"},
	} {
		_, err := expr.Raise(tc.fam, tc.exprs)
		var nue *expr.NotUnderstoodError
		if !errors.As(err, &nue) {
			t.Errorf("%s: Raise = %v, want a *NotUnderstoodError", tc.name, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s: Raise error\n got %q\nwant %q", tc.name, err, tc.want)
		}
	}
}

// DebugLines spells what it can read and keeps the rest visible.
func TestDebugLinesFallback(t *testing.T) {
	b := cat(wct(0, 1), wexpr("quota", func(ae *netlink.AttributeEncoder) { ae.Uint32(2, 1) }))
	got, err := expr.DebugLines(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[ ct load state => reg 1 ]", "[ quota attr2=00000001 ]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DebugLines (-want +got):\n%s", diff)
	}
	var sb strings.Builder
	if err := expr.WriteDebug(&sb, b); err != nil {
		t.Fatal(err)
	}
	if got, want := sb.String(), "  [ ct load state => reg 1 ]\n  [ quota attr2=00000001 ]\n"; got != want {
		t.Errorf("WriteDebug wrote %q, want %q", got, want)
	}
	if _, err := expr.DebugLines([]byte{1, 2, 3}); err == nil {
		t.Error("DebugLines of 3 bytes: no error")
	}
}

// --- Goldens: whole expression lists, byte for byte, annotated. ---

var goldens = []struct {
	file string
	fam  expr.Family
	rule expr.Rule
}{
	{"state_established_related_counter_accept", expr.FamilyIP, expr.Rule{
		Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateEstablished | expr.StateRelated)}},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictAccept},
	}},
	{"dnat_piece_ip6_prefix_port_jump", expr.FamilyInet, expr.Rule{
		Matches: []expr.Match{
			expr.Nfproto{Family: expr.FamilyIP6},
			expr.Ct{Key: expr.CtState, Op: expr.OpNone, Mask: uint32(expr.StateNew)},
			expr.Ct{Key: expr.CtStatus, Op: expr.OpAny, Mask: uint32(expr.StatusDNAT)},
			prefix(expr.CtSrcIP6, reply, expr.OpEq, "2001:db8::/32"),
			expr.Ct{Key: expr.CtProtoDst, Op: expr.OpEq, Lo: 22},
		},
		Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: "dnatted"},
	}},
	{"expiration_range_and_negated", expr.FamilyIP, rule(
		expr.Ct{Key: expr.CtExpiration, Op: expr.OpRange, Lo: 28000, Hi: 28999},
		expr.Ct{Key: expr.CtExpiration, Op: expr.OpNotRange, Lo: 3000, Hi: 3999},
		expr.Ct{Key: expr.CtExpiration, Op: expr.OpEq, Lo: 5000},
	)},
	{"ip_prefix_12_and_mask_ports_drop", expr.FamilyIP, expr.Rule{
		Matches: []expr.Match{
			prefix(expr.CtDstIP, orig, expr.OpNeq, "10.16.0.0/12"),
			ip4(expr.CtSrcIP, reply, expr.OpEq, "10.0.5.0", "255.0.255.0"),
			expr.Ct{Key: expr.CtProtocol, Op: expr.OpEq, Lo: 6},
			expr.Ct{Key: expr.CtProtoSrc, Dir: reply, Op: expr.OpRange, Lo: 1000, Hi: 2000},
			expr.Ct{Key: expr.CtProtoDst, Op: expr.OpNotRange, Lo: 1, Hi: 1023},
		},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictDrop},
	}},
}

func TestGoldens(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the goldens hold host-order values of a little-endian machine")
	}
	for _, g := range goldens {
		t.Run(g.file, func(t *testing.T) {
			b, err := g.rule.Lower(g.fam)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "wire", g.file+".hex")
			text := annotate(g.rule, g.fam, b)
			if *update {
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			gb, err := parseHexGolden(string(golden))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gb, b) {
				t.Errorf("Lower = %x\nwant golden %x", b, gb)
			}
			if diff := cmp.Diff(string(golden), text); diff != "" {
				t.Errorf("golden text (-file +generated), run with -update if intended:\n%s", diff)
			}
			got, err := expr.Raise(g.fam, gb)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(canonical(g.rule), got, cmpAddr); diff != "" {
				t.Errorf("Raise(golden) (-want +got):\n%s", diff)
			}
		})
	}
}

// parseHexGolden reads the bytes of a golden: hex pairs, with "#" comments.
func parseHexGolden(s string) ([]byte, error) {
	var b []byte
	for n, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		h, err := hex.DecodeString(strings.Join(strings.Fields(line), ""))
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n+1, err)
		}
		b = append(b, h...)
	}
	return b, nil
}

// attrNames name the attributes of each expression in the goldens.
var attrNames = map[string][]string{
	"ct":        {1: "NFTA_CT_DREG", 2: "NFTA_CT_KEY", 3: "NFTA_CT_DIRECTION"},
	"meta":      {1: "NFTA_META_DREG", 2: "NFTA_META_KEY"},
	"cmp":       {1: "NFTA_CMP_SREG", 2: "NFTA_CMP_OP", 3: "NFTA_CMP_DATA"},
	"bitwise":   {1: "NFTA_BITWISE_SREG", 2: "NFTA_BITWISE_DREG", 3: "NFTA_BITWISE_LEN", 4: "NFTA_BITWISE_MASK", 5: "NFTA_BITWISE_XOR", 6: "NFTA_BITWISE_OP"},
	"byteorder": {1: "NFTA_BYTEORDER_SREG", 2: "NFTA_BYTEORDER_DREG", 3: "NFTA_BYTEORDER_OP", 4: "NFTA_BYTEORDER_LEN", 5: "NFTA_BYTEORDER_SIZE"},
	"range":     {1: "NFTA_RANGE_SREG", 2: "NFTA_RANGE_OP", 3: "NFTA_RANGE_FROM_DATA", 4: "NFTA_RANGE_TO_DATA"},
	"immediate": {1: "NFTA_IMMEDIATE_DREG", 2: "NFTA_IMMEDIATE_DATA"},
	"counter":   {},
}

// annotate writes the golden text of an expression list: a header, then each
// expression's debug line as a comment and its attributes one per line, hex
// bytes on the left, the attribute on the right.
func annotate(r expr.Rule, fam expr.Family, b []byte) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Lower(%v) of the rule\n#   %s\n", fam, r)
	sb.WriteString("# as the payload of NFTA_RULE_EXPRESSIONS, byte for byte (what nft 1.0.6 sends).\n")
	sb.WriteString("# Hex bytes, then a comment: attribute header (length, type; 0x80 in the\n")
	sb.WriteString("# last byte is NLA_F_NESTED), then the payload and its padding.\n")
	sb.WriteString("# State and status masks and exact expirations are in host order (little endian).\n")
	lines, _ := expr.DebugLines(b)
	elems, _ := netlink.UnmarshalAttributes(b)
	for i, el := range elems {
		fmt.Fprintf(&sb, "\n# %s\n", lines[i])
		annotateAttr(&sb, 0, "NFTA_LIST_ELEM", el, func(sb *strings.Builder, depth int, inner []netlink.Attribute) {
			var name string
			for _, a := range inner {
				switch a.Type &^ netlink.Nested {
				case 1:
					name = strings.TrimRight(string(a.Data), "\x00")
					annotateAttr(sb, depth, fmt.Sprintf("NFTA_EXPR_NAME %q", name), a, nil)
				case 2:
					annotateAttr(sb, depth, "NFTA_EXPR_DATA", a, func(sb *strings.Builder, depth int, attrs []netlink.Attribute) {
						for _, x := range attrs {
							typ := x.Type &^ netlink.Nested
							label := fmt.Sprintf("attribute %d", typ)
							if names := attrNames[name]; int(typ) < len(names) && names[typ] != "" {
								label = names[typ]
							}
							if x.Type&netlink.Nested != 0 {
								annotateAttr(sb, depth, label, x, annotateData)
								continue
							}
							annotateAttr(sb, depth, label+valueNote(x.Data), x, nil)
						}
					})
				}
			}
		})
	}
	return sb.String()
}

func valueNote(b []byte) string {
	switch len(b) {
	case 1:
		return fmt.Sprintf(" = %d", b[0])
	case 4:
		return fmt.Sprintf(" = %d", binary.BigEndian.Uint32(b))
	}
	return ""
}

// annotateData writes the attributes of a data register.
func annotateData(sb *strings.Builder, depth int, attrs []netlink.Attribute) {
	for _, a := range attrs {
		switch a.Type &^ netlink.Nested {
		case 1:
			annotateAttr(sb, depth, "NFTA_DATA_VALUE", a, nil)
		case 2:
			annotateAttr(sb, depth, "NFTA_DATA_VERDICT", a, func(sb *strings.Builder, depth int, vs []netlink.Attribute) {
				for _, v := range vs {
					switch v.Type {
					case 1:
						annotateAttr(sb, depth, fmt.Sprintf("NFTA_VERDICT_CODE = %d", int32(binary.BigEndian.Uint32(v.Data))), v, nil)
					case 2:
						annotateAttr(sb, depth, fmt.Sprintf("NFTA_VERDICT_CHAIN %q", strings.TrimRight(string(v.Data), "\x00")), v, nil)
					}
				}
			})
		}
	}
}

// annotateAttr writes one attribute: its header and, when nested, its
// children through inner, or else its payload with padding, on one line.
func annotateAttr(sb *strings.Builder, depth int, label string, a netlink.Attribute, inner func(*strings.Builder, int, []netlink.Attribute)) {
	indent := strings.Repeat("  ", depth)
	hdr := make([]byte, 4)
	binary.NativeEndian.PutUint16(hdr, a.Length)
	binary.NativeEndian.PutUint16(hdr[2:], a.Type)
	if inner != nil {
		fmt.Fprintf(sb, "%-58s # %s%s\n", indent+spaced(hdr), indent, label)
		children, err := netlink.UnmarshalAttributes(a.Data)
		if err != nil {
			panic(err)
		}
		inner(sb, depth+1, children)
		return
	}
	payload := make([]byte, (len(a.Data)+3)&^3)
	copy(payload, a.Data)
	fmt.Fprintf(sb, "%-58s # %s%s\n", indent+spaced(hdr)+"  "+spaced(payload), indent, label)
}

func spaced(b []byte) string {
	s := make([]string, len(b))
	for i, c := range b {
		s[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(s, " ")
}

// The wire cases, which TestLowerMatchesNft compares with nft's bytes, cover
// every key with every operator it takes, both directions of the keys that
// have one, the prefix lengths that take each of nft's forms in both
// address families, every verdict, the counter and meta nfproto.
func TestWireCasesComplete(t *testing.T) {
	type keyOp struct {
		key expr.CtKey
		op  expr.Op
	}
	type keyDir struct {
		key expr.CtKey
		dir expr.Dir
	}
	seen := make(map[keyOp]bool)
	seenDir := make(map[keyDir]bool)
	bits := make(map[string]bool) // "4/8", "6/64", "4/mask"
	verdicts := make(map[expr.VerdictKind]bool)
	nfproto := make(map[expr.Family]bool)
	counter := false
	for _, tc := range wireCases() {
		for _, m := range tc.rule.Matches {
			switch m := m.(type) {
			case expr.Ct:
				seen[keyOp{m.Key, m.Op}] = true
				seenDir[keyDir{m.Key, m.Dir}] = true
				if m.AddrMask.IsValid() {
					fam := "4"
					if m.AddrMask.Is6() {
						fam = "6"
					}
					ones := 0
					for _, b := range m.AddrMask.AsSlice() {
						for ; b&0x80 != 0; b <<= 1 {
							ones++
						}
					}
					if netip.PrefixFrom(m.AddrMask, ones).Masked().Addr() == m.AddrMask {
						bits[fmt.Sprintf("%s/%d", fam, ones)] = true
					} else {
						bits[fam+"/mask"] = true
					}
				}
			case expr.Nfproto:
				nfproto[m.Family] = true
			}
		}
		verdicts[tc.rule.Verdict.Kind] = true
		counter = counter || tc.rule.Counter
	}
	ops := map[expr.CtKey][]expr.Op{}
	for _, k := range []expr.CtKey{expr.CtState, expr.CtStatus} {
		ops[k] = []expr.Op{expr.OpAny, expr.OpNone}
	}
	for _, k := range []expr.CtKey{expr.CtDirection, expr.CtExpiration, expr.CtProtocol, expr.CtProtoSrc, expr.CtProtoDst} {
		ops[k] = []expr.Op{expr.OpEq, expr.OpNeq, expr.OpRange, expr.OpNotRange}
	}
	for _, k := range []expr.CtKey{expr.CtSrcIP, expr.CtDstIP, expr.CtSrcIP6, expr.CtDstIP6} {
		ops[k] = []expr.Op{expr.OpEq, expr.OpNeq}
		for _, d := range []expr.Dir{orig, reply} {
			if !seenDir[keyDir{k, d}] {
				t.Errorf("no wire case for key %d in direction %d", k, d)
			}
		}
	}
	for _, k := range []expr.CtKey{expr.CtProtoSrc, expr.CtProtoDst} {
		for _, d := range []expr.Dir{orig, reply} {
			if !seenDir[keyDir{k, d}] {
				t.Errorf("no wire case for key %d in direction %d", k, d)
			}
		}
	}
	for k, os := range ops {
		for _, op := range os {
			if !seen[keyOp{k, op}] {
				t.Errorf("no wire case for key %d with op %d", k, op)
			}
		}
	}
	for _, b := range []string{
		"4/0", "4/1", "4/8", "4/12", "4/16", "4/24", "4/31", "4/32", "4/mask",
		"6/0", "6/1", "6/8", "6/12", "6/32", "6/48", "6/64", "6/120", "6/127", "6/128", "6/mask",
	} {
		if !bits[b] {
			t.Errorf("no wire case for addresses %s", b)
		}
	}
	for v := expr.VerdictNone; v <= expr.VerdictGoto; v++ {
		if !verdicts[v] {
			t.Errorf("no wire case for verdict %d", v)
		}
	}
	if !nfproto[expr.FamilyIP] || !nfproto[expr.FamilyIP6] || !counter {
		t.Error("no wire case for meta nfproto ipv4 and ipv6 and the counter")
	}
}

func ExampleRule_Lower() {
	r := expr.Rule{
		Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateEstablished | expr.StateRelated)}},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictAccept},
	}
	b, err := r.Lower(expr.FamilyInet)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(b), "bytes")
	if err := expr.WriteDebug(os.Stdout, b); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 212 bytes
	//   [ ct load state => reg 1 ]
	//   [ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]
	//   [ cmp neq reg 1 0x00000000 ]
	//   [ counter pkts 0 bytes 0 ]
	//   [ immediate reg 0 accept ]
}

func ExampleRaise() {
	r := expr.Rule{
		Matches: []expr.Match{
			expr.Ct{Key: expr.CtStatus, Op: expr.OpAny, Mask: uint32(expr.StatusDNAT)},
			expr.Ct{Key: expr.CtExpiration, Op: expr.OpRange, Lo: 28000, Hi: 28999},
		},
		Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: "dnatted"},
	}
	b, _ := r.Lower(expr.FamilyIP)
	back, err := expr.Raise(expr.FamilyIP, b)
	fmt.Println(back, err)

	// A load of ct zone (key 17) is not part of a rule ctmatch understands.
	mark, _ := hex.DecodeString("20000180" + "0700010063740000" + "14000280" +
		"0800020000000011" + "0800010000000001")
	_, err = expr.Raise(expr.FamilyIP, mark)
	fmt.Println(err)
	// Output:
	// ct status dnat ct expiration 28000ms-28999ms jump dnatted <nil>
	// not a rule ctmatch understands: [ ct load zone => reg 1 ] (expression 1: ct key zone is not one ctmatch reads)
}

func ExampleDebugLines() {
	r := expr.Rule{Matches: []expr.Match{
		expr.Ct{Key: expr.CtStatus, Op: expr.OpNone, Mask: uint32(expr.StatusSNAT)},
		expr.Ct{Key: expr.CtDstIP6, Dir: expr.DirReply, Op: expr.OpEq, Addr: netip.IPv6Unspecified(), AddrMask: netip.IPv6Unspecified()},
	}}
	b, _ := r.Lower(expr.FamilyIP6)
	lines, _ := expr.DebugLines(b)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// [ ct load status => reg 1 ]
	// [ bitwise reg 1 = ( reg 1 & 0x00000010 ) ^ 0x00000000 ]
	// [ cmp eq reg 1 0x00000000 ]
	// [ ct load dst_ip6 => reg 1 , dir reply ]
	// [ bitwise reg 1 = ( reg 1 & 0x00000000 0x00000000 0x00000000 0x00000000 ) ^ 0x00000000 0x00000000 0x00000000 0x00000000 ]
	// [ cmp eq reg 1 0x00000000 0x00000000 0x00000000 0x00000000 ]
}

// CounterValues finds the counter of a rule, and says when there is none.
func TestCounterValues(t *testing.T) {
	r := expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)}}, Verdict: expr.Verdict{Kind: expr.VerdictAccept}}
	without, err := r.Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	r.Counter = true
	with, err := r.Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	if p, b, ok, err := expr.CounterValues(with); !ok || p != 0 || b != 0 || err != nil {
		t.Errorf("with a counter: %d %d %v %v", p, b, ok, err)
	}
	if _, _, ok, err := expr.CounterValues(without); ok || err != nil {
		t.Errorf("without a counter: %v %v", ok, err)
	}
	if _, _, _, err := expr.CounterValues([]byte{3, 0}); err == nil {
		t.Errorf("no error for a truncated list")
	}
}

// nft sends "tcp dport 4 tcp sport 1" as it sends "tcp sport 1 tcp dport 4":
// one load of both ports (checked with nft --debug=netlink); Lower does the
// same, and a run that does not merge keeps its order.
func TestLowerMergesPortsInHeaderOrder(t *testing.T) {
	a, err := rule(tcp, dport(expr.OpEq, 4, 0), sport(expr.OpEq, 1, 0)).Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rule(tcp, sport(expr.OpEq, 1, 0), dport(expr.OpEq, 4, 0)).Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("dport, sport lowers to\n%x\nsport, dport to\n%x", a, b)
	}
	lines, _ := expr.DebugLines(a)
	if want := "[ cmp eq reg 1 0x04000100 ]"; len(lines) != 4 || lines[3] != want {
		t.Errorf("lines %q, want the last %q", lines, want)
	}
	c, err := rule(tcp, dport(expr.OpEq, 4, 0), sport(expr.OpNeq, 1, 0)).Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	lines, _ = expr.DebugLines(c)
	if len(lines) != 6 || !strings.Contains(lines[2], "+ 2") {
		t.Errorf("dport == 4, sport != 1: lines %q", lines)
	}
}

// wmetaLoad is a meta load of key into register 1.
func wmetaLoad(key uint32) []byte {
	return wexpr("meta", func(ae *netlink.AttributeEncoder) {
		ae.Uint32(2, key)
		ae.Uint32(1, 1)
	})
}
