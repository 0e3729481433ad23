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

// An ICMPv6 type rule with -m limit is one nft rule in a built-in chain of
// hook prerouting, input or forward (or a chain Options.InputSide says is
// a base chain of one), whose type test alone keeps out the fragments
// after the first, and refused, with the reason, elsewhere: as two rules
// it would hold two buckets.
func TestICMPv6LimitPlaces(t *testing.T) {
	const icmp = " -p ipv6-icmp --icmpv6-type 128 -m limit --limit 2/s -j ACCEPT"
	for _, tc := range []struct {
		words string
		o     compile.Options
		rules int // 0: refused
	}{
		{"-A INPUT" + icmp, compile.Options{}, 1},
		{"-A FORWARD" + icmp, compile.Options{}, 1},
		{"-I INPUT 3" + icmp, compile.Options{}, 1},
		{"-t mangle -A PREROUTING" + icmp, compile.Options{}, 1},
		{"-t raw -A PREROUTING" + icmp, compile.Options{}, 1},
		{"-t nat -A INPUT" + icmp, compile.Options{}, 1},
		{"-t security -A FORWARD" + icmp, compile.Options{}, 1},
		{"-A INPUT -p ipv6-icmp --icmpv6-type 1/4 -m limit", compile.Options{}, 1},
		{"-A INPUT -p ipv6-icmp --icmpv6-type 95 -m limit", compile.Options{}, 1},
		{"-A INPUT -p ipv6-icmp --icmpv6-type 112 -m limit", compile.Options{}, 1},
		{"-p ipv6-icmp --icmpv6-type 128 -m limit", compile.Options{InputSide: true}, 1},
		{"-A OUTPUT" + icmp, compile.Options{}, 0},
		{"-t mangle -A POSTROUTING" + icmp, compile.Options{}, 0},
		{"-t raw -A OUTPUT" + icmp, compile.Options{}, 0},
		{"-A PREROUTING" + icmp, compile.Options{}, 0}, // a user chain of table filter
		{"-A input" + icmp, compile.Options{}, 0},      // a user chain
		{"-A ICMP" + icmp, compile.Options{}, 0},
		{"-p ipv6-icmp --icmpv6-type 128 -m limit", compile.Options{}, 0},
		{"-p ipv6-icmp --icmpv6-type 128 -m limit", compile.Options{Chain: "INPUT"}, 0}, // add rule's CHAIN: any hook
		{"-A INPUT" + icmp, compile.Options{Chain: "OUTPUT"}, 0},
		{"-A INPUT -p ipv6-icmp ! --icmpv6-type 128 -m limit", compile.Options{}, 0},
		{"-A INPUT -p ipv6-icmp --icmpv6-type 96 -m limit", compile.Options{}, 0},
		{"-A INPUT -p ipv6-icmp --icmpv6-type 111 -m limit", compile.Options{}, 0},
		{"-A INPUT -p tcp --dport 22 -m limit", compile.Options{}, 0},
		{"-A INPUT -p ipv6-icmp --icmpv6-type 128 -m conntrack --ctstate NEW,DNAT --ctproto 58 -m limit", compile.Options{}, 0},
	} {
		r, err := parse.ParseText(tc.words, parse.Options{Family: parse.IPv6})
		if err != nil {
			t.Fatalf("%s: %v", tc.words, err)
		}
		for _, table := range []expr.Family{expr.FamilyIP6, expr.FamilyInet} {
			o := tc.o
			o.Table, o.Family = table, parse.IPv6
			rules, err := compile.Rule(r, o)
			switch {
			case tc.rules == 0 && (err == nil || !strings.Contains(err.Error(), "a limit in each would count its packets apart")):
				t.Errorf("%v %s (%+v): %v, %v; want refused", table, tc.words, tc.o, rules, err)
			case tc.rules > 0 && (err != nil || len(rules) != tc.rules):
				t.Errorf("%v %s (%+v): %v, %v; want %d rules", table, tc.words, tc.o, rules, err, tc.rules)
			case tc.rules > 0:
				for _, m := range rules[0].Matches {
					if _, ok := m.(expr.Exthdr); ok {
						t.Errorf("%v %s: %v has a fragment test", table, tc.words, rules[0])
					}
				}
			}
		}
	}
	// Without a limit the two rules stay, in every chain.
	r, err := parse.ParseText("-A INPUT -p ipv6-icmp --icmpv6-type 128", parse.Options{Family: parse.IPv6})
	if err != nil {
		t.Fatal(err)
	}
	if rules, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP6, Family: parse.IPv6}); err != nil || len(rules) != 2 {
		t.Errorf("-A INPUT -p ipv6-icmp --icmpv6-type 128: %v, %v; want the two fragment rules", rules, err)
	}
}
