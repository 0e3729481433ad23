package compile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// The marks and limits come back as the canonical words iptables-save
// prints, after the other matches of the rule.
func TestDecompileMarkLimitWords(t *testing.T) {
	for _, tc := range []struct {
		fam   parse.Family
		table expr.Family
		words string
	}{
		{parse.IPv4, expr.FamilyIP, "-m mark --mark 0x1 -j ACCEPT"},
		{parse.IPv4, expr.FamilyInet, "-m mark ! --mark 0x0/0xff0000"},
		{parse.IPv6, expr.FamilyIP6, "-m connmark --mark 0x100/0x100"},
		{parse.IPv4, expr.FamilyIP, "-m conntrack --ctstate ESTABLISHED -m connmark ! --mark 0x1/0x1 -j DROP"},
		{parse.IPv4, expr.FamilyIP, "-m limit --limit 3/hour -j ACCEPT"},
		{parse.IPv4, expr.FamilyIP, "-m limit --limit 7/min"},
		{parse.IPv4, expr.FamilyIP, "-m limit --limit 3/min --limit-burst 10"},
		{parse.IPv6, expr.FamilyInet, "-m limit --limit 1/day --limit-burst 1"},
		{parse.IPv4, expr.FamilyIP, "-p icmp -m icmp --icmp-type 8 -m limit --limit 2/sec -j ACCEPT"},
		{parse.IPv4, expr.FamilyIP, "-i eth0 -m conntrack --ctstate NEW -m mark --mark 0x1/0x1 -m connmark ! --mark 0x2/0x2 -m limit --limit 5/min -j ACCEPT"},
		{parse.IPv4, expr.FamilyIP, "-m limit --limit 10/sec -m limit --limit 1/hour --limit-burst 2"},
	} {
		checkDecompiles(t, tc.fam, tc.table, tc.words, tc.words)
	}
}

// The nft burst is xt's whole packets in a full bucket,
// user2credits(avg·burst)/user2credits(avg): the burst given, unless xt's
// 32-bit arithmetic rounds it down (7/min: 1344000 credits, 274284 a
// packet, 4 packets of the 5). A limit nft writes by hand decompiles to
// the smallest burst xt rounds to it.
func TestLimitBurst(t *testing.T) {
	for _, tc := range []struct {
		words string
		nft   string
	}{
		{"-m limit", "limit rate 3/hour"},
		{"-m limit --limit 7/min", "limit rate 7/minute burst 4 packets"},
		{"-m limit --limit 7/min --limit-burst 6", "limit rate 7/minute"},
		{"-m limit --limit 3/sec", "limit rate 3/second"},
		{"-m limit --limit 1/sec --limit-burst 10000", "limit rate 1/second burst 10000 packets"},
		{"-m limit --limit 60/min", "limit rate 1/second"},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		rules, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP})
		if err != nil {
			t.Errorf("%s: %v", tc.words, err)
			continue
		}
		if len(rules) != 1 || rules[0].String() != tc.nft {
			t.Errorf("%s: compiled to %v, want %q", tc.words, rules, tc.nft)
		}
	}
	back, _, err := compile.Decompile([]expr.Rule{{Matches: []expr.Match{expr.Limit{Rate: 7, Unit: 60, Burst: 4}}}}, expr.FamilyIP)
	if err != nil || back.String() != "-m limit --limit 7/min" {
		t.Errorf("limit rate 7/minute burst 4 packets: decompiled as %v, %v; want -m limit --limit 7/min", back, err)
	}
	for _, l := range []expr.Limit{
		{Rate: 7, Unit: 60, Burst: 5},     // xt's 7/min bucket holds 4, 5 (burst 6) or 5 (burst 7)… but burst 5 is 4
		{Rate: 1, Unit: 604800, Burst: 1}, // no iptables unit
		{Rate: 20000, Unit: 1, Burst: 5},  // faster than iptables' 10000/s
	} {
		r, _, err := compile.Decompile([]expr.Rule{{Matches: []expr.Match{l}}}, expr.FamilyIP)
		if l.Rate == 7 {
			// burst 6 gives 5 whole packets: that is the answer.
			if err != nil || r.String() != "-m limit --limit 7/min --limit-burst 6" {
				t.Errorf("%v: decompiled as %v, %v", l, r, err)
			}
			continue
		}
		if !errors.Is(err, compile.ErrNotUnderstood) {
			t.Errorf("%v: Decompile error %v, want ErrNotUnderstood", l, err)
		}
	}
}

// What nft cannot count as xt does is refused, with the reason.
func TestLimitRefused(t *testing.T) {
	for _, tc := range []struct {
		fam   parse.Family
		words string
		why   string
	}{
		{parse.IPv4, "-m limit --limit 2/s -m conntrack --ctstate NEW", "a match after -m limit (col 1) is tested after it in xt"},
		{parse.IPv4, "-m limit --limit 2/s -p tcp --dport 22", "a match after -m limit"},
		{parse.IPv4, "-m conntrack --ctstate INVALID,NEW --ctproto udp -m limit", "the rule becomes 2 nft rules"},
		{parse.IPv6, "-p tcp --dport 22 -m limit --limit 1/s", "the rule becomes 2 nft rules"},
		{parse.IPv4, "-m limit --limit 268/hour", "32-bit credits round it"},
		{parse.IPv4, "-m limit --limit 3/sec --limit-burst 1", "fills within one jiffy"},
		{parse.IPv4, "-m limit --limit 10000/sec", "32-bit credits round it"},
		{parse.IPv4, "-m limit --limit 1000/sec --limit-burst 1", "fills within one jiffy"},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{Family: tc.fam})
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		_, err = compile.Rule(r, compile.Options{Table: expr.FamilyInet, Family: tc.fam})
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: error %v, want %q", tc.words, err, tc.why)
		}
	}
}

// A connmark match sees only packets with a conntrack, as connmark_mt
// returns false without one whatever its "!": the pieces of a state match
// that hold only without a conntrack drop out.
func TestConnmarkNeedsConntrack(t *testing.T) {
	for _, tc := range []struct{ words, nft string }{
		{"-m conntrack --ctstate INVALID -m connmark ! --mark 1", "ct status & 0x0 != 0"},
		{"-m conntrack --ctstate INVALID,NEW -m connmark --mark 1", "ct state new ct mark 0x00000001"},
		{"-m conntrack ! --ctstate NEW -m connmark ! --mark 1", "ct state ! new ct mark != 0x00000001"},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		rules, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP})
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		var got []string
		for _, x := range rules {
			got = append(got, x.String())
		}
		if strings.Join(got, " + ") != tc.nft {
			t.Errorf("%s: compiled to %q, want %q", tc.words, got, tc.nft)
		}
	}
}
