package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/kernel"
)

// The settings the lab makes are its namespaces' own: the router forwards
// and the client does not, and a namespace the lab did not touch still has
// the kernel's defaults.
func TestLabSettingsArePerNamespace(t *testing.T) {
	l := New(t)
	other := ktest.Namespace(t)
	for _, c := range []struct {
		ns   *netns.NS
		name string
		path string
		want string
	}{
		{l.Router, "router", "net/ipv4/ip_forward", "1"},
		{l.Router, "router", "net/ipv6/conf/all/forwarding", "1"},
		{l.Client, "client", "net/ipv4/ip_forward", "0"},
		{l.Server, "server", "net/ipv6/conf/all/forwarding", "0"},
		{l.Router, "router", "net/ipv4/icmp_ratelimit", "0"},
		{l.Server, "server", "net/ipv6/icmp/ratelimit", "0"},
		{l.Router, "router", "net/netfilter/nf_conntrack_tcp_loose", "0"},
		{l.Server, "server", "net/netfilter/nf_conntrack_tcp_loose", "0"},
		{other, "untouched namespace", "net/ipv4/icmp_ratelimit", "1000"},
		{other, "untouched namespace", "net/ipv6/icmp/ratelimit", "100"},
		{other, "untouched namespace", "net/netfilter/nf_conntrack_tcp_loose", "1"},
	} {
		got, err := Sysctl(c.ns, c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: %s = %s, want %s", c.name, c.path, got, c.want)
		}
	}
	// The ICMP error budget, where the namespace has its own.
	if _, err := Sysctl(other, "net/ipv4/icmp_msgs_burst"); err == nil {
		for _, c := range []struct {
			ns         *netns.NS
			name, want string
		}{{l.Server, "server", "100000"}, {other, "untouched namespace", "50"}} {
			if got, err := Sysctl(c.ns, "net/ipv4/icmp_msgs_burst"); err != nil || got != c.want {
				t.Errorf("%s: net/ipv4/icmp_msgs_burst = %s (%v), want %s", c.name, got, err, c.want)
			}
		}
	}
}

// observer counts, at the router's forward hook and the server's input
// hook, the lab's packets and their conntrack states, with native rules.
const observer = `table inet observe {
	chain obs {
		counter comment "all"
		ct state invalid counter comment "INVALID"
		ct state new counter comment "NEW"
		ct state related counter comment "RELATED"
		ct state established counter comment "ESTABLISHED"
		ct state untracked counter comment "UNTRACKED"
		ct status snat counter comment "SNAT"
		ct status dnat counter comment "DNAT"
		ct status ! confirmed counter comment "FIRST"
	}
	chain base {
		type filter hook HOOK priority 10; policy accept;
		ip saddr 10.0.0.0/8 jump obs
		ip6 saddr fd00::/8 jump obs
	}
}
`

var stateOrder = []string{"INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"}

func observe(t *testing.T, c *kernel.Conn) map[string]uint64 {
	t.Helper()
	rules, err := c.Rules(context.Background(), expr.FamilyInet, "observe", "obs")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]uint64{}
	for _, r := range rules {
		comment, _, _ := expr.ParseUserData(r.UserData)
		m[comment] = r.Counter.Packets
	}
	return m
}

// Every traffic class sends what its description says: the packets at the
// router and at the server, their states at the router, and the first
// packets of conntracks (not confirmed yet) at each, as native nft rules
// count them.
func TestLabClasses(t *testing.T) {
	l := New(t)
	ctx := context.Background()
	conns := map[string]*kernel.Conn{}
	for _, pt := range Points {
		hook := "forward"
		if pt.Name == "server" {
			hook = "input"
		}
		if _, err := l.Run(pt.ns(l), strings.ReplaceAll(observer, "HOOK", hook), "nft", "-f", "-"); err != nil {
			t.Fatal(err)
		}
		c, err := kernel.Dial(ctx, kernel.Options{NetNS: pt.ns(l).Path()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[pt.Name] = c
	}
	before := map[string]map[string]uint64{}
	for name, c := range conns {
		before[name] = observe(t, c)
	}
	for _, ph := range Scenario(IPv4, IPv6) {
		cl, err := ph.Run(l)
		if err != nil {
			t.Fatalf("%s: %v", ph.Name, err)
		}
		if err := waitQuiet(func() (string, error) {
			return fmt.Sprint(observe(t, conns["router"])["all"], observe(t, conns["server"])["all"]), nil
		}); err != nil {
			t.Fatalf("%s: %v", ph.Name, err)
		}
		after := map[string]map[string]uint64{}
		for name, c := range conns {
			after[name] = observe(t, c)
		}
		d := func(pt, k string) uint64 { return after[pt][k] - before[pt][k] }
		var states []string
		for _, s := range stateOrder {
			if d("router", s) > 0 {
				states = append(states, s)
			}
		}
		if diff := cmp.Diff(cl.States, states); diff != "" {
			t.Errorf("%s: states at the router (-described +seen):\n%s", cl, diff)
		}
		// DNAT is set in prerouting, before the forward hook, on the
		// first packet; SNAT only in postrouting, after it: there only the
		// reply carries it.
		if slices.Contains(cl.States, "DNAT") && d("router", "DNAT") != d("router", "all") {
			t.Errorf("%s: %d of %d packets carry DNAT at the router, want all", cl, d("router", "DNAT"), d("router", "all"))
		}
		if slices.Contains(cl.States, "SNAT") && d("router", "SNAT") != d("router", "ESTABLISHED") {
			t.Errorf("%s: %d packets carry SNAT at the router, want the %d replies", cl, d("router", "SNAT"), d("router", "ESTABLISHED"))
		}
		if cl.Router >= 0 && d("router", "all") != uint64(cl.Router) {
			t.Errorf("%s: %d packets at the router, want %d", cl, d("router", "all"), cl.Router)
		}
		if cl.Server >= 0 && d("server", "all") != uint64(cl.Server) {
			t.Errorf("%s: %d packets at the server, want %d", cl, d("server", "all"), cl.Server)
		}
		for _, pt := range Points {
			if got, want := d(pt.Name, "FIRST"), len(cl.First.At(pt.Name)); got != uint64(want) {
				t.Errorf("%s: %d first packets of a conntrack at the %s, want %d", cl, got, pt.Name, want)
			}
		}
		if d("router", "all") == 0 || d("server", "all") == 0 {
			t.Errorf("%s: %d packets at the router, %d at the server: want some at both", cl, d("router", "all"), d("server", "all"))
		}
		t.Logf("%s: router %d packets %v, server %d", cl, d("router", "all"), states, d("server", "all"))
		before = after
	}
}

// ExpireRaces flags the ranges with a bound where a packet of the lab
// sits, and those that hold some of TCP's timeouts and not others; the
// ranges of the lab's cases pass.
func TestLabExpireRaces(t *testing.T) {
	for _, c := range []struct {
		lo, hi uint32
		want   bool
	}{
		{0, 0, false},
		{15, 15, false},
		{14, 15, false},
		{0, 14, false},
		{15, 4294967295, false},
		{4294968, 4294967295, false},
		{0, 4294967295, false},
		{28, 28, false},
		{30, 100, true},     // 30 s left and a jiffy less
		{0, 29, true},       // the other side of the same tick
		{600, 600, true},    // protocol 253's flow
		{31, 100000, true},  // 60 and 120 in, 30 out
		{121, 431999, true}, // ends below ESTABLISHED
		{119, 100000, true}, // ESTABLISHED out
		{431999, 1e8, true}, // only ESTABLISHED
		{301, 4294967295, true},
		{601, 1000, false}, // above the generic tracker's 600: no TCP timeout either
		{29, 4294967295, false},
	} {
		if got := ExpireRaces(c.lo, c.hi); got != c.want {
			t.Errorf("ExpireRaces(%d, %d) = %v, want %v", c.lo, c.hi, got, c.want)
		}
	}
}

// The stray class puts one NEW packet through the router and none through
// the server, of a conntrack from Addrs.Stray to Addrs.Absent.
func TestLabStray(t *testing.T) {
	l := New(t)
	ctx := context.Background()
	conns := map[string]*kernel.Conn{}
	for _, pt := range Points {
		if _, err := l.Run(pt.ns(l), strings.ReplaceAll(observer, "HOOK", pt.Hook.String()), "nft", "-f", "-"); err != nil {
			t.Fatal(err)
		}
		c, err := kernel.Dial(ctx, kernel.Options{NetNS: pt.ns(l).Path()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[pt.Name] = c
	}
	for _, f := range []Family{IPv4, IPv6} {
		// The client resolves the router's address (ARP, neighbour
		// discovery) with a datagram of its own to the server first, seen
		// by the router before the stray one is counted: a resolution that
		// a busy machine delays past its retries would lose the stray
		// datagram with it. (Sent again each second, for 10 s at most.)
		seen := observe(t, conns["router"])["all"]
		primer, err := do(l.Client, func() (net.Conn, error) {
			return net.Dial(network("udp", f), hostPort(f.Addrs().Server, 9))
		})
		if err != nil {
			t.Fatal(err)
		}
		for deadline, next := time.Now().Add(10*time.Second), time.Now(); time.Now().Before(deadline) && observe(t, conns["router"])["all"] == seen; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(next) {
				_, _ = primer.Write([]byte("neighbour"))
				next = time.Now().Add(time.Second)
			}
		}
		primer.Close()
		if err := waitQuiet(func() (string, error) {
			return fmt.Sprint(observe(t, conns["router"])["all"], observe(t, conns["server"])["all"]), nil
		}); err != nil {
			t.Fatal(err)
		}
		before := map[string]map[string]uint64{"router": observe(t, conns["router"]), "server": observe(t, conns["server"])}
		cl, err := l.Stray(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// The lab's first datagram waits for the client to resolve the
		// router's address (ARP, neighbour discovery), which a busy machine
		// may take longer for than the quiet spell below: wait for the
		// router to count it first, and only then for quiet (a bound of
		// 10 s that a lost datagram reaches, not a passing one).
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if observe(t, conns["router"])["all"]-before["router"]["all"] >= uint64(cl.Router) {
				break
			}
		}
		if err := waitQuiet(func() (string, error) {
			return fmt.Sprint(observe(t, conns["router"])["all"], observe(t, conns["server"])["all"]), nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, pt := range []string{"router", "server"} {
			after := observe(t, conns[pt])
			want := map[string]uint64{"router": uint64(cl.Router), "server": uint64(cl.Server)}[pt]
			if got := after["all"] - before[pt]["all"]; got != want {
				t.Errorf("%s: %d packets at the %s, want %d", cl, got, pt, want)
			}
			if pt == "router" && after["NEW"]-before[pt]["NEW"] != want {
				t.Errorf("%s: %d NEW packets at the router, want %d", cl, after["NEW"]-before[pt]["NEW"], want)
			}
		}
		a := f.Addrs()
		out, err := l.Run(l.Router, "", "conntrack", "-L", "-f", f.String(), "-p", "udp", "-s", a.Stray.String(), "-d", a.Absent.String())
		if err != nil || !strings.Contains(out, "sport="+fmt.Sprint(PortStraySrc)) {
			t.Errorf("%s: the router's conntrack -L says %q, %v; want the stray flow", cl, out, err)
		}
	}
}

// TryText tells a rule nft loads from one it refuses, with nft's
// complaint, and leaves nothing behind either way.
func TestLabTryText(t *testing.T) {
	l := New(t)
	for _, pt := range Points {
		if err := l.TryText(pt, expr.FamilyIP, "ct status snat counter"); err != nil {
			t.Errorf("%s: %v", pt.Name, err)
		}
		err := l.TryText(pt, expr.FamilyIP, "ct status counter")
		var re *RefusedError
		if !errors.As(err, &re) || re.Complaint() != "Error: syntax error, unexpected counter" {
			t.Errorf("%s: TryText of an invalid rule = %v, want nft's syntax error", pt.Name, err)
		}
		out, err := l.Run(pt.ns(l), "", "nft", "list", "ruleset")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "probe") || strings.Contains(out, "ct status") {
			t.Errorf("%s: TryText left rules behind:\n%s", pt.Name, out)
		}
	}
}
