package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// hotdropCases are the whole rules whose xt code drops a truncated packet
// (hotdrop: ipt_do_table returns NF_DROP) where ctmatch's nft rule only
// does or does not match (docs/semantics.md, "What stays different"), with
// what each side counts of each class of lab.HotdropScenario at the
// router's forward hook and at the server's input hook, as "class:rX/N,sX/N>T"
// (xt/nft, and T the packets of the class that reached the server's input
// hook at all): a packet xt drops at the router never reaches the server.
var hotdropCases = []struct {
	fam   lab.Family
	words string
	want  string
}{
	{lab.IPv4, "-p tcp --dport 8030", "short-tcp4:r0/1,s0/0>0 short-udp4:r0/0,s0/0>1 short-icmp4:r0/0,s0/0>1 tcp-frag14:r0/0,s0/0>0"},
	{lab.IPv4, "-p udp --dport 8030", "short-tcp4:r0/0,s0/0>1 short-udp4:r0/1,s0/0>0 short-icmp4:r0/0,s0/0>1 tcp-frag14:r0/0,s0/0>0"},
	{lab.IPv4, "-p icmp --icmp-type 8", "short-tcp4:r0/0,s0/0>1 short-udp4:r0/0,s0/0>1 short-icmp4:r0/1,s0/0>0 tcp-frag14:r0/0,s0/0>0"},
	{lab.IPv4, "-p tcp", "short-tcp4:r1/1,s1/1>1 short-udp4:r0/0,s0/0>1 short-icmp4:r0/0,s0/0>1 tcp-frag14:r1/1,s0/0>0"},
	{lab.IPv4, "-m ttl --ttl-gt 0", "short-tcp4:r1/1,s1/1>1 short-udp4:r1/1,s1/1>1 short-icmp4:r1/1,s1/1>1 tcp-frag14:r1/1,s0/0>0"}, // no header past IP read: nothing dropped
	{lab.IPv6, "-p tcp --dport 8030", "short-tcp6:r0/1,s0/0>0 short-udp6:r0/0,s0/0>1 short-icmp6:r0/0,s0/0>1 bad-exthdr6:r0/0,s0/0>0"},
	{lab.IPv6, "-p udp --dport 8030", "short-tcp6:r0/0,s0/0>1 short-udp6:r0/1,s0/0>0 short-icmp6:r0/0,s0/0>1 bad-exthdr6:r0/0,s0/0>0"},
	{lab.IPv6, "-p ipv6-icmp --icmpv6-type 128", "short-tcp6:r0/0,s0/0>1 short-udp6:r0/0,s0/0>1 short-icmp6:r0/1,s0/0>0 bad-exthdr6:r0/0,s0/0>0"},
	{lab.IPv6, "-p tcp", "short-tcp6:r1/1,s1/1>1 short-udp6:r0/0,s0/0>1 short-icmp6:r0/0,s0/0>1 bad-exthdr6:r0/0,s0/0>0"},
	{lab.IPv6, "! -p tcp", "short-tcp6:r0/0,s0/0>1 short-udp6:r1/1,s1/1>1 short-icmp6:r1/1,s1/1>1 bad-exthdr6:r0/0,s0/0>0"},
	{lab.IPv6, "-m hl --hl-gt 0", "short-tcp6:r1/1,s1/1>1 short-udp6:r1/1,s1/1>1 short-icmp6:r1/1,s1/1>1 bad-exthdr6:r1/1,s1/1>1"}, // no -p: nothing dropped
}

// TestLabRulesHotdrop runs each of hotdropCases alone (a drop by one xt
// rule would hide the packet from the next) against the truncated packets
// of lab.HotdropScenario, in the lab without conntrack, and checks the
// counts of both sides against the list. The lab's nft chain runs before
// the xt rules at the same hook and priority (the later registered hook
// runs first), so it counts the packets xt then drops.
func TestLabRulesHotdrop(t *testing.T) {
	start := time.Now()
	var lines []string
	for _, hc := range hotdropCases {
		table := expr.FamilyIP
		if hc.fam == lab.IPv6 {
			table = expr.FamilyIP6
		}
		l := lab.NewStateless(t)
		rep, err := l.Differential(table, []lab.Case{{Name: hc.words, Words: hc.words, Family: hc.fam}}, lab.HotdropScenario(hc.fam))
		if err != nil {
			t.Fatalf("%s: %v", hc.words, err)
		}
		var got []string
		for p, cl := range rep.Classes {
			var pts []string
			for q, pt := range lab.Points {
				n := rep.Counts[p][q][0]
				pts = append(pts, fmt.Sprintf("%c%d/%d", pt.Name[0], n.XT, n.NFT))
			}
			// And how many of the class's packets reached the server's
			// input hook: a packet the router's xt rule dropped did not.
			got = append(got, fmt.Sprintf("%s:%s>%d", cl.Name, strings.Join(pts, ","), rep.Totals[p][1][hc.fam]))
		}
		g := strings.Join(got, " ")
		lines = append(lines, fmt.Sprintf("  %-40s %s", hc.fam.String()+" "+hc.words, g))
		if g != hc.want {
			t.Errorf("%s %s: counted %q, want %q", hc.fam, hc.words, g, hc.want)
		}
	}
	t.Logf("truncated packets, xt/nft at the router (r) and the server (s), in %v:\n%s", time.Since(start).Round(time.Millisecond), strings.Join(lines, "\n"))
}
