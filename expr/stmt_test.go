package expr_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
)

// stmtsFit reports whether the statements of r can be written in a table of
// the family: an ICMP reject and a nat to an address only in their own
// family (in inet tables after meta nfproto), masquerade and redirect
// anywhere.
func stmtsFit(r expr.Rule, family string) bool {
	nf := ""
	for _, m := range r.Matches {
		if n, ok := m.(expr.Nfproto); ok {
			nf = map[expr.Family]string{expr.FamilyIP: "ip", expr.FamilyIP6: "ip6"}[n.Family]
		}
	}
	own := func(v4 bool) bool {
		want := map[bool]string{true: "ip", false: "ip6"}[v4]
		if family == "inet" {
			return nf == want
		}
		return family == want
	}
	for _, s := range r.Stmts {
		switch s := s.(type) {
		case expr.Reject:
			if s.Type == expr.RejectICMP && !own(s.Family == expr.FamilyIP) {
				return false
			}
		case expr.NAT:
			if !own(s.Addr.Is4()) {
				return false
			}
		case expr.SetDSCP:
			if !own(s.Family == expr.FamilyIP) {
				return false
			}
		case expr.Netmap:
			if !own(s.Prefix.Addr().Is4()) {
				return false
			}
		}
	}
	return true
}

func stmts(ms []expr.Match, ss ...expr.Stmt) expr.Rule { return expr.Rule{Matches: ms, Stmts: ss} }

func icmpReject(f expr.Family, code uint8) expr.Stmt {
	return expr.Reject{Type: expr.RejectICMP, Family: f, Code: code}
}

var tcpReset = expr.Reject{Type: expr.RejectTCPReset}

func nat(t expr.NATType, a, b string, lo, hi uint16, f expr.NATFlags) expr.Stmt {
	n := expr.NAT{Type: t, Addr: netip.MustParseAddr(a), Ports: expr.Ports{Min: lo, Max: hi}, Flags: f}
	if b != "" {
		n.AddrMax = netip.MustParseAddr(b)
	}
	return n
}

// The statement cases, with the nft text each renders as.
var stmtCases = []struct {
	name string
	rule expr.Rule
	text string
}{
	{"reject icmp", stmts(nil, icmpReject(expr.FamilyIP, 3)), "reject with icmp type port-unreachable"},
	{"reject icmp net", stmts(nil, icmpReject(expr.FamilyIP, 0)), "reject with icmp type net-unreachable"},
	{"reject icmp host", stmts(nil, icmpReject(expr.FamilyIP, 1)), "reject with icmp type host-unreachable"},
	{"reject icmp prot", stmts(nil, icmpReject(expr.FamilyIP, 2)), "reject with icmp type prot-unreachable"},
	{"reject icmp net-prohibited", stmts(nil, icmpReject(expr.FamilyIP, 9)), "reject with icmp type net-prohibited"},
	{"reject icmp host-prohibited", stmts(nil, icmpReject(expr.FamilyIP, 10)), "reject with icmp type host-prohibited"},
	{"reject icmp admin", stmts(nil, icmpReject(expr.FamilyIP, 13)), "reject with icmp type admin-prohibited"},
	{"reject icmpv6 no-route", stmts(nil, icmpReject(expr.FamilyIP6, 0)), "reject with icmpv6 type no-route"},
	{"reject icmpv6 admin", stmts(nil, icmpReject(expr.FamilyIP6, 1)), "reject with icmpv6 type admin-prohibited"},
	{"reject icmpv6 addr", stmts(nil, icmpReject(expr.FamilyIP6, 3)), "reject with icmpv6 type addr-unreachable"},
	{"reject icmpv6 port", stmts(nil, icmpReject(expr.FamilyIP6, 4)), "reject with icmpv6 type port-unreachable"},
	{"reject icmpv6 policy", stmts(nil, icmpReject(expr.FamilyIP6, 5)), "reject with icmpv6 type policy-fail"},
	{"reject icmpv6 route", stmts(nil, icmpReject(expr.FamilyIP6, 6)), "reject with icmpv6 type reject-route"},
	{"inet reject icmp", stmts([]expr.Match{nfIPv4}, icmpReject(expr.FamilyIP, 10)), "meta nfproto ipv4 reject with icmp type host-prohibited"},
	{"inet reject icmpv6", stmts([]expr.Match{nfIPv6}, icmpReject(expr.FamilyIP6, 1)), "meta nfproto ipv6 reject with icmpv6 type admin-prohibited"},
	{"reject tcp reset", stmts([]expr.Match{tcp}, tcpReset), "meta l4proto tcp reject with tcp reset"},
	{"inet reject tcp reset", stmts([]expr.Match{nfIPv6, tcp}, tcpReset), "meta nfproto ipv6 meta l4proto tcp reject with tcp reset"},
	{"counter reject", expr.Rule{Counter: true, Stmts: []expr.Stmt{icmpReject(expr.FamilyIP, 3)}}, "counter reject with icmp type port-unreachable"},
	{"masquerade", stmts(nil, expr.Masquerade{}), "masquerade"},
	{"masquerade random", stmts(nil, expr.Masquerade{Flags: expr.NATRandom}), "masquerade random"},
	{"masquerade fully-random", stmts(nil, expr.Masquerade{Flags: expr.NATFullyRandom}), "masquerade fully-random"},
	{"masquerade port", stmts([]expr.Match{tcp}, expr.Masquerade{Ports: expr.Ports{Min: 1024, Max: 1024}}), "meta l4proto tcp masquerade to :1024"},
	{"masquerade ports flags", stmts([]expr.Match{udp}, expr.Masquerade{Ports: expr.Ports{Min: 1024, Max: 2000}, Flags: expr.NATRandom | expr.NATFullyRandom}), "meta l4proto udp masquerade to :1024-2000 random,fully-random"},
	{"inet masquerade", stmts([]expr.Match{nfIPv4, tcp}, expr.Masquerade{Ports: expr.Ports{Min: 80, Max: 90}}), "meta nfproto ipv4 meta l4proto tcp masquerade to :80-90"},
	{"redirect", stmts(nil, expr.Redirect{}), "redirect"},
	{"redirect port", stmts([]expr.Match{tcp}, expr.Redirect{Ports: expr.Ports{Min: 8080, Max: 8080}}), "meta l4proto tcp redirect to :8080"},
	{"redirect ports random", stmts([]expr.Match{tcp}, expr.Redirect{Ports: expr.Ports{Min: 8080, Max: 8090}, Flags: expr.NATRandom}), "meta l4proto tcp redirect to :8080-8090 random"},
	{"snat", stmts(nil, nat(expr.SNAT, "10.0.0.1", "", 0, 0, 0)), "snat to 10.0.0.1"},
	{"snat range persistent", stmts(nil, nat(expr.SNAT, "10.0.0.1", "10.0.0.9", 0, 0, expr.NATPersistent)), "snat to 10.0.0.1-10.0.0.9 persistent"},
	{"snat all", stmts([]expr.Match{tcp}, nat(expr.SNAT, "10.0.0.1", "10.0.0.9", 80, 90, expr.NATRandom|expr.NATFullyRandom|expr.NATPersistent)), "meta l4proto tcp snat to 10.0.0.1-10.0.0.9:80-90 random,fully-random,persistent"},
	{"dnat port", stmts([]expr.Match{tcp}, nat(expr.DNAT, "10.0.0.1", "", 8080, 8080, 0)), "meta l4proto tcp dnat to 10.0.0.1:8080"},
	{"dnat6", stmts(nil, nat(expr.DNAT, "2001:db8::1", "", 0, 0, 0)), "dnat to 2001:db8::1"},
	{"dnat6 range", stmts(nil, nat(expr.DNAT, "2001:db8::1", "2001:db8::5", 0, 0, 0)), "dnat to 2001:db8::1-2001:db8::5"},
	{"dnat6 port", stmts([]expr.Match{udp}, nat(expr.DNAT, "2001:db8::1", "", 53, 53, 0)), "meta l4proto udp dnat to [2001:db8::1]:53"},
	{"dnat6 range ports", stmts([]expr.Match{tcp}, nat(expr.DNAT, "2001:db8::1", "2001:db8::5", 80, 90, expr.NATRandom)), "meta l4proto tcp dnat to [2001:db8::1]-[2001:db8::5]:80-90 random"},
	{"inet snat", stmts([]expr.Match{nfIPv4}, nat(expr.SNAT, "10.0.0.1", "", 0, 0, 0)), "meta nfproto ipv4 snat ip to 10.0.0.1"},
	{"inet dnat6 port", stmts([]expr.Match{nfIPv6, tcp}, nat(expr.DNAT, "2001:db8::1", "", 80, 80, 0)), "meta nfproto ipv6 meta l4proto tcp dnat ip6 to [2001:db8::1]:80"},
}

// The statement cases join every wire test: Lower against nft's bytes,
// DebugLines against nft's lines, Raise of nft's bytes and of Lower's.
func init() {
	for _, c := range stmtCases {
		moreWireCases = append(moreWireCases, wireCase{c.name, c.rule})
	}
}

func TestStmtText(t *testing.T) {
	for _, c := range stmtCases {
		if got := c.rule.String(); got != c.text {
			t.Errorf("%s: %q, want %q", c.name, got, c.text)
		}
	}
}

// Lower refuses what nft cannot send for the statement's meaning.
func TestStmtLowerRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		f    expr.Family
		r    expr.Rule
		want string
	}{
		{"icmp reject in ip6", expr.FamilyIP6, stmts(nil, icmpReject(expr.FamilyIP, 3)), "family ip for packets of family ip6"},
		{"icmp reject in inet without nfproto", expr.FamilyInet, stmts(nil, icmpReject(expr.FamilyIP, 3)), "no one family"},
		{"unnamed icmp code", expr.FamilyIP, stmts(nil, icmpReject(expr.FamilyIP, 4)), "ICMP code 4 has no nft name"},
		{"snat6 in ip", expr.FamilyIP, stmts(nil, nat(expr.SNAT, "::1", "", 0, 0, 0)), "other family"},
		{"reversed addresses", expr.FamilyIP, stmts(nil, nat(expr.SNAT, "10.0.0.9", "10.0.0.1", 0, 0, 0)), "reversed"},
		{"reversed ports", expr.FamilyIP, stmts(nil, expr.Masquerade{Ports: expr.Ports{Min: 9, Max: 1}}), "port range 9-1"},
		{"port 0", expr.FamilyIP, stmts(nil, expr.Redirect{Ports: expr.Ports{Min: 0, Max: 5}}), "port range 0-5"},
	} {
		_, err := c.r.Lower(c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Lower: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// Raise reads what the kernel dumps for the statements, which differs from
// what nft sends: the kernel adds NF_NAT_RANGE_MAP_IPS to a nat with an
// address, names the first address's register as the last one when there is
// one address, and sends no code with a tcp reset.
func TestStmtRaiseKernelForms(t *testing.T) {
	r := stmts([]expr.Match{tcp}, nat(expr.DNAT, "10.0.0.1", "", 80, 80, 0))
	b, err := r.Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	lines, _ := expr.DebugLines(b)
	if want := "[ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]"; lines[len(lines)-1] != want {
		t.Fatalf("Lower gives %q, want %q", lines[len(lines)-1], want)
	}
	got, err := expr.Raise(expr.FamilyIP, b)
	if err != nil || !slices.Equal(got.Stmts, r.Stmts) {
		t.Fatalf("Raise: %v %v", got, err)
	}
}

// stmtDumpDiff names a known difference between what nft sends for a
// statement's attribute typ (sent, nil when it sent none) and what the
// kernel dumps (dumped): nft_nat_dump sends the flags with
// NF_NAT_RANGE_MAP_IPS, which nft_nat_init adds for an address, and nat,
// masq and redir dump the register of the last address or port, which
// their init sets to the first one's when none was sent. "" for any other.
func stmtDumpDiff(name string, typ uint16, sent, dumped []byte) string {
	be32 := func(b []byte) (uint32, bool) {
		if len(b) != 4 {
			return 0, false
		}
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
	}
	d, ok := be32(dumped)
	if !ok {
		return ""
	}
	switch {
	case name == "nat" && typ == 7:
		s := uint32(0)
		if sent != nil {
			if s, ok = be32(sent); !ok {
				return ""
			}
		}
		if d == s|1 && s&1 == 0 {
			return "nat: NFTA_NAT_FLAGS gains NF_NAT_RANGE_MAP_IPS"
		}
	case sent == nil && name == "nat" && typ == 4 && d == 1:
		return "nat: gains NFTA_NAT_REG_ADDR_MAX (the first address's register)"
	case sent == nil && name == "nat" && typ == 6:
		return "nat: gains NFTA_NAT_REG_PROTO_MAX (the first port's register)"
	case sent == nil && name == "masq" && typ == 3 && d == 1:
		return "masq: gains NFTA_MASQ_REG_PROTO_MAX (the first port's register)"
	case sent == nil && name == "payload" && typ >= 6 && typ <= 8 && d == 0:
		return "payload write: gains the checksum attributes nft left out, as 0 (the kernel dumps all three)"
	case sent == nil && name == "log" && typ == 5 && d == 4:
		return "log: gains NFTA_LOG_LEVEL 4 (the default nft_log_init gives a log without one)"
	case sent == nil && name == "redir" && typ == 2 && d == 1:
		return "redir: gains NFTA_REDIR_REG_PROTO_MAX (the first port's register)"
	}
	return ""
}
