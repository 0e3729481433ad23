package expr_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

// textCase is one rendering case. text_nft_test.go loads every case with nft:
// the cases with rejected set must be refused by nft 1.0.6 (the IR is
// malformed, or nft cannot express it), all the others accepted.
type textCase struct {
	name     string
	rule     expr.Rule
	want     string
	rejected bool
}

// ipAddr is an address match.
func ipAddr(dst bool, op expr.Op, addr, mask string) expr.IPAddr {
	return expr.IPAddr{Dst: dst, Op: op, Addr: netip.MustParseAddr(addr), Mask: netip.MustParseAddr(mask)}
}

// one is a rule of a single match.
func one(m expr.Match) expr.Rule { return expr.Rule{Matches: []expr.Match{m}} }

func flags(key expr.CtKey, op expr.Op, mask uint32) expr.Rule {
	return one(expr.Ct{Key: key, Op: op, Mask: mask})
}

func value(key expr.CtKey, dir expr.Dir, op expr.Op, lo, hi uint32) expr.Rule {
	return one(expr.Ct{Key: key, Dir: dir, Op: op, Lo: lo, Hi: hi})
}

func addr(key expr.CtKey, dir expr.Dir, op expr.Op, a, mask string) expr.Rule {
	return one(expr.Ct{Key: key, Dir: dir, Op: op, Addr: netip.MustParseAddr(a), AddrMask: netip.MustParseAddr(mask)})
}

const (
	orig  = expr.DirOriginal
	reply = expr.DirReply
)

var textCases = []textCase{
	// ct state: flag tests, names in nft's order (ascending bits).
	{"state any all", flags(expr.CtState, expr.OpAny, 0x4f), "ct state invalid,established,related,new,untracked", false},
	{"state any new,related", flags(expr.CtState, expr.OpAny, 0x0c), "ct state related,new", false},
	{"state any established", flags(expr.CtState, expr.OpAny, 0x02), "ct state established", false},
	{"state none new,related", flags(expr.CtState, expr.OpNone, 0x0c), "ct state ! related,new", false},
	{"state none invalid,untracked", flags(expr.CtState, expr.OpNone, 0x41), "ct state ! invalid,untracked", false},
	{"state any empty", flags(expr.CtState, expr.OpAny, 0), "ct state & 0x0 != 0", false},
	{"state none empty", flags(expr.CtState, expr.OpNone, 0), "ct state & 0x0 == 0", false},
	{"state any unnamed", flags(expr.CtState, expr.OpAny, 0x30), "ct state & 0x30 != 0", false},
	{"state any named and unnamed", flags(expr.CtState, expr.OpAny, 0x38), "ct state & 0x38 != 0", false},
	{"state none unnamed high bit", flags(expr.CtState, expr.OpNone, 0x80000000), "ct state & 0x80000000 == 0", false},
	{"state eq", flags(expr.CtState, expr.OpEq, 8), "ct state (invalid op 3)", true},
	{"state neq", flags(expr.CtState, expr.OpNeq, 8), "ct state (invalid op 4)", true},
	{"state range", flags(expr.CtState, expr.OpRange, 8), "ct state (invalid op 5)", true},
	{"state notrange", flags(expr.CtState, expr.OpNotRange, 8), "ct state (invalid op 6)", true},
	{"state op zero", flags(expr.CtState, 0, 8), "ct state (invalid op 0)", true},
	{"state op unknown", flags(expr.CtState, 7, 8), "ct state (invalid op 7)", true},

	// ct status.
	{"status any all", flags(expr.CtStatus, expr.OpAny, 0x3f), "ct status expected,seen-reply,assured,confirmed,snat,dnat", false},
	{"status any snat", flags(expr.CtStatus, expr.OpAny, 0x10), "ct status snat", false},
	{"status any dnat", flags(expr.CtStatus, expr.OpAny, 0x20), "ct status dnat", false},
	{"status none snat,dnat", flags(expr.CtStatus, expr.OpNone, 0x30), "ct status ! snat,dnat", false},
	{"status none all", flags(expr.CtStatus, expr.OpNone, 0x3f), "ct status ! expected,seen-reply,assured,confirmed,snat,dnat", false},
	{"status any empty", flags(expr.CtStatus, expr.OpAny, 0), "ct status & 0x0 != 0", false},
	{"status none empty", flags(expr.CtStatus, expr.OpNone, 0), "ct status & 0x0 == 0", false},
	{"status any unnamed", flags(expr.CtStatus, expr.OpAny, 0x200), "ct status & 0x200 != 0", false},
	{"status none named and unnamed", flags(expr.CtStatus, expr.OpNone, 0x211), "ct status & 0x211 == 0", false},
	{"status any every bit", flags(expr.CtStatus, expr.OpAny, 0xffffffff), "ct status & 0xffffffff != 0", false},
	{"status eq", flags(expr.CtStatus, expr.OpEq, 8), "ct status (invalid op 3)", true},
	{"status neq", flags(expr.CtStatus, expr.OpNeq, 8), "ct status (invalid op 4)", true},
	{"status range", flags(expr.CtStatus, expr.OpRange, 8), "ct status (invalid op 5)", true},
	{"status notrange", flags(expr.CtStatus, expr.OpNotRange, 8), "ct status (invalid op 6)", true},

	// ct direction.
	{"direction eq original", value(expr.CtDirection, 0, expr.OpEq, 0, 0), "ct direction original", false},
	{"direction eq reply", value(expr.CtDirection, 0, expr.OpEq, 1, 0), "ct direction reply", false},
	{"direction neq reply", value(expr.CtDirection, 0, expr.OpNeq, 1, 0), "ct direction != reply", false},
	{"direction neq original", value(expr.CtDirection, 0, expr.OpNeq, 0, 0), "ct direction != original", false},
	{"direction eq no name", value(expr.CtDirection, 0, expr.OpEq, 2, 0), "ct direction 2", false},
	{"direction range", value(expr.CtDirection, 0, expr.OpRange, 0, 1), "ct direction 0-1", false},
	{"direction notrange", value(expr.CtDirection, 0, expr.OpNotRange, 1, 1), "ct direction != 1-1", false},
	{"direction any", flags(expr.CtDirection, expr.OpAny, 1), "ct direction (invalid op 1)", true},
	{"direction none", flags(expr.CtDirection, expr.OpNone, 1), "ct direction (invalid op 2)", true},

	// ct original protocol: numbers, one byte.
	{"protocol eq", value(expr.CtProtocol, orig, expr.OpEq, 6, 0), "ct original protocol 6", false},
	{"protocol neq", value(expr.CtProtocol, orig, expr.OpNeq, 17, 0), "ct original protocol != 17", false},
	{"protocol eq 255", value(expr.CtProtocol, orig, expr.OpEq, 255, 0), "ct original protocol 255", false},
	{"protocol range", value(expr.CtProtocol, orig, expr.OpRange, 6, 17), "ct original protocol 6-17", false},
	{"protocol notrange", value(expr.CtProtocol, orig, expr.OpNotRange, 6, 17), "ct original protocol != 6-17", false},
	{"protocol dir ignored", value(expr.CtProtocol, reply, expr.OpEq, 1, 0), "ct original protocol 1", false},
	{"protocol eq 256", value(expr.CtProtocol, orig, expr.OpEq, 256, 0), "ct original protocol 256", true},
	{"protocol reversed range", value(expr.CtProtocol, orig, expr.OpRange, 17, 6), "ct original protocol 17-6", true},
	{"protocol any", flags(expr.CtProtocol, expr.OpAny, 6), "ct original protocol (invalid op 1)", true},
	{"protocol none", flags(expr.CtProtocol, expr.OpNone, 6), "ct original protocol (invalid op 2)", true},

	// Ports: loaded after "ct original protocol 6", without which nft 1.0.6
	// cannot parse them.
	{"orig dst eq", value(expr.CtProtoDst, orig, expr.OpEq, 22, 0), "ct original proto-dst 22", false},
	{"orig dst neq", value(expr.CtProtoDst, orig, expr.OpNeq, 22, 0), "ct original proto-dst != 22", false},
	{"orig dst range", value(expr.CtProtoDst, orig, expr.OpRange, 1000, 2000), "ct original proto-dst 1000-2000", false},
	{"orig dst notrange", value(expr.CtProtoDst, orig, expr.OpNotRange, 1000, 2000), "ct original proto-dst != 1000-2000", false},
	{"orig src eq 0", value(expr.CtProtoSrc, orig, expr.OpEq, 0, 0), "ct original proto-src 0", false},
	{"orig src range single", value(expr.CtProtoSrc, orig, expr.OpRange, 5, 5), "ct original proto-src 5-5", false},
	{"reply src range", value(expr.CtProtoSrc, reply, expr.OpRange, 1000, 2000), "ct reply proto-src 1000-2000", false},
	{"reply src neq", value(expr.CtProtoSrc, reply, expr.OpNeq, 53, 0), "ct reply proto-src != 53", false},
	{"reply dst eq 65535", value(expr.CtProtoDst, reply, expr.OpEq, 65535, 0), "ct reply proto-dst 65535", false},
	{"reply dst range all", value(expr.CtProtoDst, reply, expr.OpRange, 0, 65535), "ct reply proto-dst 0-65535", false},
	{"reply dst notrange", value(expr.CtProtoDst, reply, expr.OpNotRange, 1, 1023), "ct reply proto-dst != 1-1023", false},
	{"orig src notrange", value(expr.CtProtoSrc, orig, expr.OpNotRange, 1024, 65535), "ct original proto-src != 1024-65535", false},
	{"port 65536", value(expr.CtProtoDst, orig, expr.OpEq, 65536, 0), "ct original proto-dst 65536", true},
	{"port reversed range", value(expr.CtProtoDst, orig, expr.OpRange, 2000, 1000), "ct original proto-dst 2000-1000", true},
	{"port dir unknown", value(expr.CtProtoSrc, 2, expr.OpEq, 22, 0), "ct (invalid dir 2) proto-src 22", true},
	{"port src any", flags(expr.CtProtoSrc, expr.OpAny, 1), "ct original proto-src (invalid op 1)", true},
	{"port dst none", flags(expr.CtProtoDst, expr.OpNone, 1), "ct original proto-dst (invalid op 2)", true},
	{"port src none", flags(expr.CtProtoSrc, expr.OpNone, 1), "ct original proto-src (invalid op 2)", true},
	{"port dst any", flags(expr.CtProtoDst, expr.OpAny, 1), "ct original proto-dst (invalid op 1)", true},
	{"port src notrange reversed", value(expr.CtProtoSrc, reply, expr.OpNotRange, 2, 1), "ct reply proto-src != 2-1", true},

	// IPv4 addresses.
	{"ip exact", addr(expr.CtSrcIP, orig, expr.OpEq, "10.1.2.3", "255.255.255.255"), "ct original ip saddr 10.1.2.3", false},
	{"ip /8", addr(expr.CtDstIP, orig, expr.OpEq, "10.0.0.0", "255.0.0.0"), "ct original ip daddr 10.0.0.0/8", false},
	{"ip /12", addr(expr.CtSrcIP, reply, expr.OpEq, "10.16.0.0", "255.240.0.0"), "ct reply ip saddr 10.16.0.0/12", false},
	{"ip /31", addr(expr.CtDstIP, reply, expr.OpEq, "192.0.2.2", "255.255.255.254"), "ct reply ip daddr 192.0.2.2/31", false},
	{"ip /0", addr(expr.CtDstIP, reply, expr.OpEq, "0.0.0.0", "0.0.0.0"), "ct reply ip daddr 0.0.0.0/0", false},
	{"ip non-contiguous", addr(expr.CtSrcIP, orig, expr.OpEq, "10.0.5.0", "255.0.255.0"), "ct original ip saddr & 255.0.255.0 == 10.0.5.0", false},
	{"ip neq exact", addr(expr.CtSrcIP, orig, expr.OpNeq, "10.1.2.3", "255.255.255.255"), "ct original ip saddr != 10.1.2.3", false},
	{"ip neq /8", addr(expr.CtSrcIP, orig, expr.OpNeq, "10.0.0.0", "255.0.0.0"), "ct original ip saddr != 10.0.0.0/8", false},
	{"ip neq /12", addr(expr.CtDstIP, reply, expr.OpNeq, "10.16.0.0", "255.240.0.0"), "ct reply ip daddr != 10.16.0.0/12", false},
	{"ip neq /0", addr(expr.CtSrcIP, orig, expr.OpNeq, "0.0.0.0", "0.0.0.0"), "ct original ip saddr != 0.0.0.0/0", false},
	{"ip neq non-contiguous", addr(expr.CtSrcIP, orig, expr.OpNeq, "10.0.5.0", "255.0.255.0"), "ct original ip saddr & 255.0.255.0 != 10.0.5.0", false},
	{"ip host bits outside prefix", addr(expr.CtSrcIP, orig, expr.OpEq, "10.1.2.3", "255.0.0.0"), "ct original ip saddr & 255.0.0.0 == 10.1.2.3", false},
	{"ip host bits outside empty mask", addr(expr.CtDstIP, orig, expr.OpNeq, "10.0.0.0", "0.0.0.0"), "ct original ip daddr & 0.0.0.0 != 10.0.0.0", false},
	{"ip any", addr(expr.CtSrcIP, orig, expr.OpAny, "10.0.0.0", "255.0.0.0"), "ct original ip saddr (invalid op 1)", true},
	{"ip none", addr(expr.CtSrcIP, orig, expr.OpNone, "10.0.0.0", "255.0.0.0"), "ct original ip saddr (invalid op 2)", true},
	{"ip range", addr(expr.CtDstIP, orig, expr.OpRange, "10.0.0.0", "255.0.0.0"), "ct original ip daddr (invalid op 5)", true},
	{"ip notrange", addr(expr.CtDstIP, orig, expr.OpNotRange, "10.0.0.0", "255.0.0.0"), "ct original ip daddr (invalid op 6)", true},
	{"ip daddr any", addr(expr.CtDstIP, reply, expr.OpAny, "10.0.0.0", "255.0.0.0"), "ct reply ip daddr (invalid op 1)", true},
	{"ip daddr none", addr(expr.CtDstIP, reply, expr.OpNone, "10.0.0.0", "255.0.0.0"), "ct reply ip daddr (invalid op 2)", true},
	{"ip saddr range", addr(expr.CtSrcIP, reply, expr.OpRange, "10.0.0.0", "255.0.0.0"), "ct reply ip saddr (invalid op 5)", true},
	{"ip saddr notrange", addr(expr.CtSrcIP, reply, expr.OpNotRange, "10.0.0.0", "255.0.0.0"), "ct reply ip saddr (invalid op 6)", true},
	{"ip with an IPv6 address", addr(expr.CtSrcIP, orig, expr.OpEq, "::1", "255.255.255.255"), "ct original ip saddr (invalid address ::1 mask 255.255.255.255)", true},
	{"ip without an address", one(expr.Ct{Key: expr.CtSrcIP, Op: expr.OpEq}), "ct original ip saddr (invalid address invalid IP mask invalid IP)", true},

	// IPv6 addresses.
	{"ip6 exact", addr(expr.CtSrcIP6, orig, expr.OpEq, "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "ct original ip6 saddr 2001:db8::1", false},
	{"ip6 /128 mapped", addr(expr.CtSrcIP6, reply, expr.OpEq, "::ffff:10.0.0.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "ct reply ip6 saddr ::ffff:10.0.0.1", false},
	{"ip6 /8", addr(expr.CtDstIP6, orig, expr.OpEq, "fd00::", "ff00::"), "ct original ip6 daddr fd00::/8", false},
	{"ip6 /12", addr(expr.CtDstIP6, orig, expr.OpEq, "2000::", "fff0::"), "ct original ip6 daddr 2000::/12", false},
	{"ip6 /28", addr(expr.CtDstIP6, reply, expr.OpEq, "2001:db0::", "ffff:fff0::"), "ct reply ip6 daddr 2001:db0::/28", false},
	{"ip6 /32", addr(expr.CtDstIP6, reply, expr.OpEq, "2001:db8::", "ffff:ffff::"), "ct reply ip6 daddr 2001:db8::/32", false},
	{"ip6 /64", addr(expr.CtSrcIP6, orig, expr.OpEq, "2001:db8:1:2::", "ffff:ffff:ffff:ffff::"), "ct original ip6 saddr 2001:db8:1:2::/64", false},
	{"ip6 /0", addr(expr.CtDstIP6, reply, expr.OpEq, "::", "::"), "ct reply ip6 daddr ::/0", false},
	{"ip6 non-contiguous", addr(expr.CtDstIP6, reply, expr.OpEq, "2001::1", "ffff::ffff"), "ct reply ip6 daddr & ffff::ffff == 2001::1", false},
	{"ip6 neq exact", addr(expr.CtDstIP6, reply, expr.OpNeq, "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "ct reply ip6 daddr != 2001:db8::1", false},
	{"ip6 neq /32", addr(expr.CtSrcIP6, reply, expr.OpNeq, "2001:db8::", "ffff:ffff::"), "ct reply ip6 saddr != 2001:db8::/32", false},
	{"ip6 neq /0", addr(expr.CtSrcIP6, orig, expr.OpNeq, "::", "::"), "ct original ip6 saddr != ::/0", false},
	{"ip6 neq non-contiguous", addr(expr.CtSrcIP6, orig, expr.OpNeq, "2001:0:5::", "ffff:0:ffff::"), "ct original ip6 saddr & ffff:0:ffff:: != 2001:0:5::", false},
	{"ip6 any", addr(expr.CtSrcIP6, orig, expr.OpAny, "::", "::"), "ct original ip6 saddr (invalid op 1)", true},
	{"ip6 none", addr(expr.CtSrcIP6, orig, expr.OpNone, "::", "::"), "ct original ip6 saddr (invalid op 2)", true},
	{"ip6 range", addr(expr.CtDstIP6, orig, expr.OpRange, "::", "::"), "ct original ip6 daddr (invalid op 5)", true},
	{"ip6 notrange", addr(expr.CtDstIP6, orig, expr.OpNotRange, "::", "::"), "ct original ip6 daddr (invalid op 6)", true},
	{"ip6 daddr any", addr(expr.CtDstIP6, reply, expr.OpAny, "::", "::"), "ct reply ip6 daddr (invalid op 1)", true},
	{"ip6 daddr none", addr(expr.CtDstIP6, reply, expr.OpNone, "::", "::"), "ct reply ip6 daddr (invalid op 2)", true},
	{"ip6 saddr range", addr(expr.CtSrcIP6, reply, expr.OpRange, "::", "::"), "ct reply ip6 saddr (invalid op 5)", true},
	{"ip6 saddr notrange", addr(expr.CtSrcIP6, reply, expr.OpNotRange, "::", "::"), "ct reply ip6 saddr (invalid op 6)", true},
	{"ip6 with an IPv4 address", addr(expr.CtDstIP6, orig, expr.OpEq, "10.0.0.0", "255.0.0.0"), "ct original ip6 daddr (invalid address 10.0.0.0 mask 255.0.0.0)", true},
	{"ip6 with a zone", addr(expr.CtDstIP6, orig, expr.OpEq, "fe80::1%eth0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "ct original ip6 daddr (invalid address fe80::1%eth0 mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff)", true},
	{"ip6 dir unknown", addr(expr.CtDstIP6, 3, expr.OpEq, "::", "::"), "ct (invalid dir 3) ip6 daddr ::/0", true},

	// ct expiration, in milliseconds.
	{"expiration range", value(expr.CtExpiration, 0, expr.OpRange, 28000, 28999), "ct expiration 28000ms-28999ms", false},
	{"expiration notrange", value(expr.CtExpiration, 0, expr.OpNotRange, 28000, 28999), "ct expiration != 28000ms-28999ms", false},
	{"expiration eq", value(expr.CtExpiration, 0, expr.OpEq, 28000, 0), "ct expiration 28000ms", false},
	{"expiration neq", value(expr.CtExpiration, 0, expr.OpNeq, 28000, 0), "ct expiration != 28000ms", false},
	{"expiration eq 0", value(expr.CtExpiration, 0, expr.OpEq, 0, 0), "ct expiration 0ms", false},
	{"expiration range single", value(expr.CtExpiration, 0, expr.OpRange, 5000, 5000), "ct expiration 5000ms-5000ms", false},
	{"expiration largest ms", value(expr.CtExpiration, 0, expr.OpEq, 99999999, 0), "ct expiration 99999999ms", false},
	{"expiration smallest parts", value(expr.CtExpiration, 0, expr.OpEq, 100000000, 0), "ct expiration 1d3h46m40s", false},
	{"expiration parts with ms", value(expr.CtExpiration, 0, expr.OpNeq, 100000001, 0), "ct expiration != 1d3h46m40s1ms", false},
	{"expiration zero parts omitted", value(expr.CtExpiration, 0, expr.OpEq, 2*86400000+60000, 0), "ct expiration 2d1m", false},
	{"expiration max", value(expr.CtExpiration, 0, expr.OpEq, 4294967295, 0), "ct expiration 49d17h2m47s295ms", false},
	{"expiration range to max", value(expr.CtExpiration, 0, expr.OpRange, 0, 4294967295), "ct expiration 0ms-49d17h2m47s295ms", false},
	{"expiration notrange across forms", value(expr.CtExpiration, 0, expr.OpNotRange, 99999999, 100000000), "ct expiration != 99999999ms-1d3h46m40s", false},
	{"expiration reversed range", value(expr.CtExpiration, 0, expr.OpRange, 2000, 1000), "ct expiration 2000ms-1000ms", true},
	{"expiration any", flags(expr.CtExpiration, expr.OpAny, 1), "ct expiration (invalid op 1)", true},
	{"expiration none", flags(expr.CtExpiration, expr.OpNone, 1), "ct expiration (invalid op 2)", true},

	{"ct key unknown", value(3, 0, expr.OpEq, 1, 0), "ct (invalid key 3)", true},

	// meta nfproto, loaded in inet tables only.
	{"nfproto ipv4", one(expr.Nfproto{Family: expr.FamilyIP}), "meta nfproto ipv4", false},
	{"nfproto ipv6", one(expr.Nfproto{Family: expr.FamilyIP6}), "meta nfproto ipv6", false},
	{"nfproto inet", one(expr.Nfproto{Family: expr.FamilyInet}), "meta nfproto (invalid family 1)", true},

	// Whole rules: counter and verdicts.
	{"counter", expr.Rule{Counter: true}, "counter", false},
	{"accept", expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictAccept}}, "accept", false},
	{"drop", expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictDrop}}, "drop", false},
	{"return", expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictReturn}}, "return", false},
	{"jump", expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: "target"}}, "jump target", false},
	{"goto", expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictGoto, Chain: "target"}}, "goto target", false},
	{"counter drop", expr.Rule{Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictDrop}}, "counter drop", false},
	{"inet rule", expr.Rule{
		Matches: []expr.Match{expr.Nfproto{Family: expr.FamilyIP}, expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)}},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictAccept},
	}, "meta nfproto ipv4 ct state new counter accept", false},
	{"dnat piece", expr.Rule{
		Matches: []expr.Match{
			expr.Ct{Key: expr.CtState, Op: expr.OpNone, Mask: uint32(expr.StateNew)},
			expr.Ct{Key: expr.CtStatus, Op: expr.OpAny, Mask: uint32(expr.StatusDNAT)},
			expr.Ct{Key: expr.CtProtocol, Op: expr.OpEq, Lo: 6},
			expr.Ct{Key: expr.CtSrcIP, Op: expr.OpEq, Addr: netip.MustParseAddr("10.0.0.0"), AddrMask: netip.MustParseAddr("255.0.0.0")},
			expr.Ct{Key: expr.CtProtoDst, Op: expr.OpEq, Lo: 22},
			expr.Ct{Key: expr.CtExpiration, Op: expr.OpRange, Lo: 3000, Hi: 3999},
			expr.Ct{Key: expr.CtDirection, Op: expr.OpEq, Lo: 1},
		},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: "target"},
	}, "ct state ! new ct status dnat ct original protocol 6 ct original ip saddr 10.0.0.0/8 ct original proto-dst 22 ct expiration 3000ms-3999ms ct direction reply counter jump target", false},
	{"inet rule both families", expr.Rule{
		Matches: []expr.Match{
			addr(expr.CtSrcIP, orig, expr.OpEq, "10.0.0.0", "255.0.0.0").Matches[0],
			addr(expr.CtDstIP6, reply, expr.OpNeq, "::", "::").Matches[0],
		},
	}, "ct original ip saddr 10.0.0.0/8 ct reply ip6 daddr != ::/0", false},
	{"empty rule", expr.Rule{}, "", true},
	{"jump without chain", expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictJump}}, "(invalid jump without a chain)", true},
	{"goto without chain", expr.Rule{Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictGoto}}, "counter (invalid goto without a chain)", true},
	{"verdict unknown", expr.Rule{Verdict: expr.Verdict{Kind: 9}}, "(invalid verdict 9)", true},
	{"nil match", expr.Rule{Matches: []expr.Match{nil}, Counter: true}, "(invalid match <nil>) counter", true},
	{"pointer match", expr.Rule{Matches: []expr.Match{&expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: 8}}}, "(invalid match *expr.Ct)", true},

	// Interface names: an exact name, a prefix ("*"), "!=", and "*" in a
	// name, which nft spells "\*".
	{"iifname", one(expr.IfName{Op: expr.OpEq, Name: "eth0"}), `iifname "eth0"`, false},
	{"skuid", one(expr.SkID{Op: expr.OpEq, Lo: 1000}), "meta skuid 1000", false},
	{"skgid neq", one(expr.SkID{GID: true, Op: expr.OpNeq, Lo: 0}), "meta skgid != 0", false},
	{"skuid range", one(expr.SkID{Op: expr.OpRange, Lo: 1000, Hi: 2000}), "meta skuid 1000-2000", false},
	{"skgid not range", one(expr.SkID{GID: true, Op: expr.OpNotRange, Lo: 5, Hi: 4294967294}), "meta skgid != 5-4294967294", false},
	{"skuid reversed", one(expr.SkID{Op: expr.OpRange, Lo: 2, Hi: 1}), "meta skuid 2-1", true},
	{"pkttype host", one(expr.PktType{Op: expr.OpEq, Type: 0}), "meta pkttype host", false},
	{"pkttype neq broadcast", one(expr.PktType{Op: expr.OpNeq, Type: 1}), "meta pkttype != broadcast", false},
	{"pkttype multicast", one(expr.PktType{Op: expr.OpEq, Type: 2}), "meta pkttype multicast", false},
	{"pkttype neq other", one(expr.PktType{Op: expr.OpNeq, Type: 3}), "meta pkttype != other", false},
	{"pkttype 7", one(expr.PktType{Op: expr.OpEq, Type: 7}), "meta pkttype 7", false},
	{"fib daddr type local", one(expr.FibType{Op: expr.OpEq, Type: expr.RouteLocal}), "fib daddr type local", false},
	{"fib saddr type neq multicast", one(expr.FibType{Src: true, Op: expr.OpNeq, Type: expr.RouteMulticast}), "fib saddr type != multicast", false},
	{"fib daddr iif type broadcast", one(expr.FibType{Iface: expr.FibIif, Op: expr.OpEq, Type: expr.RouteBroadcast}), "fib daddr . iif type broadcast", false},
	{"fib saddr oif type neq unspec", one(expr.FibType{Src: true, Iface: expr.FibOif, Op: expr.OpNeq, Type: expr.RouteUnspec}), "fib saddr . oif type != unspec", false},
	{"fib daddr type prohibit", one(expr.FibType{Op: expr.OpEq, Type: expr.RouteProhibit}), "fib daddr type prohibit", false},
	{"fib daddr type throw", one(expr.FibType{Op: expr.OpEq, Type: expr.RouteThrow}), "fib daddr type 9", false},
	{"fib saddr iif type neq xresolve", one(expr.FibType{Src: true, Iface: expr.FibIif, Op: expr.OpNeq, Type: expr.RouteXResolve}), "fib saddr . iif type != 11", false},
	{"fib daddr type 12", one(expr.FibType{Op: expr.OpEq, Type: 12}), "fib daddr type 12", false},
	{"fib daddr type range", one(expr.FibType{Op: expr.OpRange, Type: 1}), "fib daddr type (invalid operator 5)", true},
	{"iifname neq", one(expr.IfName{Op: expr.OpNeq, Name: "lo"}), `iifname != "lo"`, false},
	{"iifname prefix", one(expr.IfName{Op: expr.OpEq, Name: "eth", Prefix: true}), `iifname "eth*"`, false},
	{"iifname prefix neq", one(expr.IfName{Op: expr.OpNeq, Name: "veth", Prefix: true}), `iifname != "veth*"`, false},
	{"oifname", one(expr.IfName{Out: true, Op: expr.OpEq, Name: "0123456789abcde"}), `oifname "0123456789abcde"`, false},
	{"oifname neq", one(expr.IfName{Out: true, Op: expr.OpNeq, Name: "e:t.h-0_@"}), `oifname != "e:t.h-0_@"`, false},
	{"oifname prefix", one(expr.IfName{Out: true, Op: expr.OpEq, Name: "0123456789abcd", Prefix: true}), `oifname "0123456789abcd*"`, false},
	{"oifname prefix neq", one(expr.IfName{Out: true, Op: expr.OpNeq, Name: "eth+", Prefix: true}), `oifname != "eth+*"`, false},
	{"iifname star", one(expr.IfName{Op: expr.OpEq, Name: "eth*"}), `iifname "eth\*"`, false},
	{"iifname star prefix", one(expr.IfName{Op: expr.OpEq, Name: "a*b", Prefix: true}), `iifname "a*b*"`, false},
	{"oifname star inside", one(expr.IfName{Out: true, Op: expr.OpNeq, Name: "a*b"}), `oifname != "a*b"`, false},
	// Addresses: a prefix (an exact address is one) is written ADDR/LEN,
	// any other mask "& MASK == ADDR".
	{"ip saddr prefix", one(ipAddr(false, expr.OpEq, "10.0.0.0", "255.0.0.0")), "ip saddr 10.0.0.0/8", false},
	{"ip saddr host neq", one(ipAddr(false, expr.OpNeq, "10.1.2.3", "255.255.255.255")), "ip saddr != 10.1.2.3", false},
	{"ip daddr prefix 12 neq", one(ipAddr(true, expr.OpNeq, "10.16.0.0", "255.240.0.0")), "ip daddr != 10.16.0.0/12", false},
	{"ip daddr mask", one(ipAddr(true, expr.OpEq, "10.0.5.0", "255.0.255.0")), "ip daddr & 255.0.255.0 == 10.0.5.0", false},
	{"ip saddr mask neq", one(ipAddr(false, expr.OpNeq, "0.2.0.0", "0.255.0.0")), "ip saddr & 0.255.0.0 != 0.2.0.0", false},
	{"ip6 saddr prefix", one(ipAddr(false, expr.OpEq, "2001:db8::", "ffff:ffff::")), "ip6 saddr 2001:db8::/32", false},
	{"ip6 daddr host neq", one(ipAddr(true, expr.OpNeq, "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), "ip6 daddr != ::1", false},
	{"ip6 daddr prefix 10", one(ipAddr(true, expr.OpEq, "fe80::", "ffc0::")), "ip6 daddr fe80::/10", false},
	{"ip6 saddr mask", one(ipAddr(false, expr.OpEq, "2001::", "ffff:0:ffff::")), "ip6 saddr & ffff:0:ffff:: == 2001::", false},
	{"oifname prefix ending in star", one(expr.IfName{Out: true, Op: expr.OpEq, Name: "eth*", Prefix: true}), `oifname "eth**"`, false},
	{"iifname backslash", one(expr.IfName{Op: expr.OpEq, Name: `e\th`}), `iifname (invalid interface name "e\\th", which nft cannot write)`, true},
	{"iifname quote", one(expr.IfName{Op: expr.OpEq, Name: `e"th`}), `iifname (invalid interface name "e\"th", which nft cannot write)`, true},
	{"iifname empty prefix", one(expr.IfName{Op: expr.OpEq, Prefix: true}), `iifname "*"`, true},
	{"iifname range", one(expr.IfName{Op: expr.OpRange, Name: "a"}), `iifname (invalid operator 5)`, true},
}

func TestRuleText(t *testing.T) {
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rule.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			var buf bytes.Buffer
			tc.rule.WriteText(&buf)
			if got := buf.String(); got != tc.want {
				t.Errorf("WriteText wrote %q, want %q", got, tc.want)
			}
			if len(tc.rule.Matches) != 1 || tc.rule.Counter || tc.rule.Verdict.Kind != expr.VerdictNone {
				return
			}
			// A single match renders the same on its own.
			var s interface {
				String() string
				WriteText(w io.Writer)
			}
			switch m := tc.rule.Matches[0].(type) {
			case expr.Ct:
				s = m
			case expr.Nfproto:
				s = m
			default:
				return
			}
			if got := s.String(); got != tc.want {
				t.Errorf("match String() = %q, want %q", got, tc.want)
			}
			buf.Reset()
			s.WriteText(&buf)
			if got := buf.String(); got != tc.want {
				t.Errorf("match WriteText wrote %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVerdictString(t *testing.T) {
	for _, tc := range []struct {
		v    expr.Verdict
		want string
	}{
		{expr.Verdict{}, ""},
		{expr.Verdict{Kind: expr.VerdictAccept}, "accept"},
		{expr.Verdict{Kind: expr.VerdictDrop}, "drop"},
		{expr.Verdict{Kind: expr.VerdictReturn}, "return"},
		{expr.Verdict{Kind: expr.VerdictJump, Chain: "c"}, "jump c"},
		{expr.Verdict{Kind: expr.VerdictGoto, Chain: "c"}, "goto c"},
		{expr.Verdict{Kind: expr.VerdictGoto}, "(invalid goto without a chain)"},
		{expr.Verdict{Kind: 6}, "(invalid verdict 6)"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// The table covers every key with every operator (and the invalid ones), both
// directions of the keys that have one, every verdict and the counter.
func TestTextCasesComplete(t *testing.T) {
	type keyOp struct {
		key expr.CtKey
		op  expr.Op
	}
	type keyDir struct {
		key expr.CtKey
		dir expr.Dir
	}
	seenOp := make(map[keyOp]bool)
	seenDir := make(map[keyDir]bool)
	seenVerdict := make(map[expr.VerdictKind]bool)
	seenNfproto := make(map[expr.Family]bool)
	counter := false
	for _, tc := range textCases {
		for _, m := range tc.rule.Matches {
			switch m := m.(type) {
			case expr.Ct:
				seenOp[keyOp{m.Key, m.Op}] = true
				seenDir[keyDir{m.Key, m.Dir}] = true
			case expr.Nfproto:
				seenNfproto[m.Family] = true
			}
		}
		seenVerdict[tc.rule.Verdict.Kind] = true
		counter = counter || tc.rule.Counter
	}
	keys := []expr.CtKey{
		expr.CtState, expr.CtDirection, expr.CtStatus, expr.CtExpiration, expr.CtProtocol,
		expr.CtProtoSrc, expr.CtProtoDst, expr.CtSrcIP, expr.CtDstIP, expr.CtSrcIP6, expr.CtDstIP6,
	}
	for _, k := range keys {
		for op := expr.OpAny; op <= expr.OpNotRange; op++ {
			if !seenOp[keyOp{k, op}] {
				t.Errorf("no case for key %d with op %d", k, op)
			}
		}
	}
	for _, k := range []expr.CtKey{expr.CtProtoSrc, expr.CtProtoDst, expr.CtSrcIP, expr.CtDstIP, expr.CtSrcIP6, expr.CtDstIP6} {
		for _, d := range []expr.Dir{expr.DirOriginal, expr.DirReply} {
			if !seenDir[keyDir{k, d}] {
				t.Errorf("no case for key %d in direction %d", k, d)
			}
		}
	}
	for v := expr.VerdictNone; v <= expr.VerdictGoto; v++ {
		if !seenVerdict[v] {
			t.Errorf("no case for verdict %d", v)
		}
	}
	for _, f := range []expr.Family{expr.FamilyIP, expr.FamilyIP6} {
		if !seenNfproto[f] {
			t.Errorf("no case for meta nfproto %v", f)
		}
	}
	if !counter {
		t.Error("no case with a counter")
	}
	names := make(map[string]bool)
	for _, tc := range textCases {
		if names[tc.name] {
			t.Errorf("two cases named %q", tc.name)
		}
		names[tc.name] = true
	}
}

type failingWriter struct{ calls int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls++
	return 0, errors.New("write failed")
}

// WriteText ignores the writer's error and writes once; a bufio.Writer keeps
// the error for its caller.
func TestWriteTextError(t *testing.T) {
	w := &failingWriter{}
	rule := expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: 2}}, Counter: true}
	rule.WriteText(w)
	expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: 2}.WriteText(w)
	expr.Nfproto{Family: expr.FamilyIP}.WriteText(w)
	if w.calls != 3 {
		t.Errorf("Write called %d times, want 3", w.calls)
	}
	bw := bufio.NewWriterSize(&failingWriter{}, 16)
	for range 3 {
		rule.WriteText(bw)
	}
	if err := bw.Flush(); err == nil {
		t.Error("bufio.Writer.Flush after a failed write: no error")
	}
}

func TestRuleStringFormatVerb(t *testing.T) {
	r := expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtDirection, Op: expr.OpNeq, Lo: 1}}, Verdict: expr.Verdict{Kind: expr.VerdictReturn}}
	if diff := cmp.Diff("ct direction != reply return", fmt.Sprint(r)); diff != "" {
		t.Errorf("fmt.Sprint(rule) (-want +got):\n%s", diff)
	}
}

func ExampleRule_String() {
	r := expr.Rule{
		Matches: []expr.Match{
			expr.Nfproto{Family: expr.FamilyIP},
			expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateEstablished | expr.StateRelated)},
		},
		Counter: true,
		Verdict: expr.Verdict{Kind: expr.VerdictAccept},
	}
	fmt.Println(r)
	// Output: meta nfproto ipv4 ct state established,related counter accept
}

func ExampleRule_WriteText() {
	rules := []expr.Rule{
		{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)}}},
		{
			Matches: []expr.Match{
				expr.Ct{Key: expr.CtState, Op: expr.OpNone, Mask: uint32(expr.StateNew)},
				expr.Ct{Key: expr.CtStatus, Op: expr.OpAny, Mask: uint32(expr.StatusDNAT)},
			},
			Counter: true,
			Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: "dnatted"},
		},
	}
	w := bufio.NewWriter(os.Stdout)
	for _, r := range rules {
		w.WriteString("add rule inet fw input ")
		r.WriteText(w)
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// add rule inet fw input ct state new
	// add rule inet fw input ct state ! new ct status dnat counter jump dnatted
}

func ExampleCt_String() {
	for _, c := range []expr.Ct{
		{Key: expr.CtState, Op: expr.OpNone, Mask: uint32(expr.StateNew | expr.StateRelated)},
		{Key: expr.CtStatus, Op: expr.OpAny, Mask: 0},
		{Key: expr.CtDirection, Op: expr.OpEq, Lo: uint32(expr.DirReply)},
		{Key: expr.CtProtocol, Op: expr.OpNeq, Lo: 6},
		{Key: expr.CtProtoDst, Dir: expr.DirReply, Op: expr.OpNotRange, Lo: 1000, Hi: 2000},
		{Key: expr.CtSrcIP, Op: expr.OpEq, Addr: netip.MustParseAddr("10.0.0.0"), AddrMask: netip.MustParseAddr("255.0.0.0")},
		{Key: expr.CtDstIP6, Dir: expr.DirReply, Op: expr.OpNeq, Addr: netip.MustParseAddr("2001::1"), AddrMask: netip.MustParseAddr("ffff::ffff")},
		{Key: expr.CtExpiration, Op: expr.OpRange, Lo: 28000, Hi: 28999},
		{Key: expr.CtExpiration, Op: expr.OpEq, Lo: 4294967295},
	} {
		fmt.Println(c)
	}
	// Output:
	// ct state ! related,new
	// ct status & 0x0 != 0
	// ct direction reply
	// ct original protocol != 6
	// ct reply proto-dst != 1000-2000
	// ct original ip saddr 10.0.0.0/8
	// ct reply ip6 daddr & ffff::ffff != 2001::1
	// ct expiration 28000ms-28999ms
	// ct expiration 49d17h2m47s295ms
}

func ExampleNfproto_String() {
	fmt.Println(expr.Nfproto{Family: expr.FamilyIP6})
	// Output: meta nfproto ipv6
}

func ExampleVerdict_String() {
	fmt.Println(expr.Verdict{Kind: expr.VerdictGoto, Chain: "next"})
	// Output: goto next
}
