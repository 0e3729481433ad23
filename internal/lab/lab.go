// Package lab is ctmatch's traffic laboratory: four network namespaces — a
// client, a second client, a router and a server, joined by veth pairs — in
// which a test sends real packets of known classes (conntrack's: new,
// established, related, invalid, untracked, SNAT, DNAT, chosen remaining
// lifetimes; and for whole rules: ports, TCP flags, ICMP types, lengths,
// hop limits, fragments, AH, a second input interface, marks, a burst,
// truncated headers) and compares, class by class, how many of them the
// kernel's xt code and ctmatch's native nft rules count.
//
// Everything stays inside the namespaces the lab makes: the addresses are
// private to them (10.1.0.0/24 and fd00:1::/64 between the client and the
// router, 10.2.0.0/24 and fd00:2::/64 between the router and the server,
// 10.3.0.0/24 and fd00:3::/64 between the second client and the router),
// every command runs inside one of them (through nsenter, with the namespace
// passed as a descriptor), every socket is made inside one of them and has a
// deadline, and the namespaces disappear when the test ends (they are held
// only by the lab's descriptors, closed in t.Cleanup; a veth pair goes with
// its namespace).
//
// The traffic classes (traffic.go, rules_traffic.go) are made by helpers
// that each return a Class describing what they sent; Scenario and
// RuleScenario string them into the phases of a run. The differential check
// (diff.go, xt.go, rule.go) installs, in the router's forward hook and in
// the server's input hook, each case's iptables rule in a chain of its own
// (iptables-nft for conntrack matches alone, run by xt_conntrack;
// iptables-legacy for whole rules, run by ip_tables/ip6_tables) and its
// translation in a chain of its own of a native table at the same hook and
// priority, each piece setting its own bit of the packet's priority; it
// runs each phase once and compares the two sides' counters class by
// class, and counts the packets that two pieces of one translation both
// matched, which must be none. NewStateless makes the lab without
// conntrack, where fragments cross the router as sent.
//
// The package is test support: it takes a testing.TB, and skips or fails as
// ktest decides when the kernel cannot be reached.
package lab

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// Tools are the programs the lab runs inside its namespaces.
var Tools = []string{
	"nsenter", "ip", "nft", "conntrack",
	"iptables", "iptables-save", "iptables-restore",
	"ip6tables", "ip6tables-save", "ip6tables-restore",
	// The xt side of whole rules (see xtBackend).
	"iptables-legacy-save", "iptables-legacy-restore", "ip6tables-legacy-save", "ip6tables-legacy-restore",
}

// Family is the IP version of a packet class or of a case.
type Family uint8

// IP versions.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	if f == IPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// Addrs are the lab's addresses in one family.
type Addrs struct {
	Client  netip.Addr // the client, on the client link
	RouterC netip.Addr // the router, on the client link
	RouterS netip.Addr // the router, on the server link: the SNAT address
	Server  netip.Addr // the server, on the server link
	VIP     netip.Addr // an address nobody has: the router DNATs it to the server
	// Stray is an address of the client's side that nobody has, and
	// Absent one of the server link that nobody has (the router's
	// neighbour entry for it names a link-layer address nobody has): the
	// stray class sends from the one to the other.
	Stray, Absent netip.Addr
	// Client2 is the second client, on a link of its own to the router
	// (RouterC2 is the router there): its packets enter the router by
	// another interface (Iface).
	Client2, RouterC2 netip.Addr
	Lab               netip.Prefix
}

// Addrs returns the lab's addresses in family f.
func (f Family) Addrs() Addrs {
	if f == IPv6 {
		return Addrs{
			Client:   netip.MustParseAddr("fd00:1::2"),
			RouterC:  netip.MustParseAddr("fd00:1::1"),
			RouterS:  netip.MustParseAddr("fd00:2::1"),
			Server:   netip.MustParseAddr("fd00:2::2"),
			VIP:      netip.MustParseAddr("fd00:9::1"),
			Stray:    netip.MustParseAddr("fd00:1::5:3"),
			Absent:   netip.MustParseAddr("fd00:2::3"),
			Client2:  netip.MustParseAddr("fd00:3::2"),
			RouterC2: netip.MustParseAddr("fd00:3::1"),
			Lab:      netip.MustParsePrefix("fd00::/8"),
		}
	}
	return Addrs{
		Client:   netip.MustParseAddr("10.1.0.2"),
		RouterC:  netip.MustParseAddr("10.1.0.1"),
		RouterS:  netip.MustParseAddr("10.2.0.1"),
		Server:   netip.MustParseAddr("10.2.0.2"),
		VIP:      netip.MustParseAddr("10.9.0.1"),
		Stray:    netip.MustParseAddr("10.1.5.3"),
		Absent:   netip.MustParseAddr("10.2.0.3"),
		Client2:  netip.MustParseAddr("10.3.0.2"),
		RouterC2: netip.MustParseAddr("10.3.0.1"),
		Lab:      netip.MustParsePrefix("10.0.0.0/8"),
	}
}

// The link-layer addresses of the veth ends, fixed so that every neighbour
// entry is permanent: no ARP or neighbour discovery ever runs.
const (
	macClient  = "02:00:00:00:01:02"
	macRouterC = "02:00:00:00:01:01"
	macRouterS = "02:00:00:00:02:01"
	macServer  = "02:00:00:00:02:02"
	macAbsent  = "02:00:00:00:02:03" // no interface has it: the server drops frames sent to it
	macClient2 = "02:00:00:00:03:02"
	macRouterD = "02:00:00:00:03:01"
)

// The interfaces of the lab's links, by namespace: the router's are r0
// (to the client), r1 (to the server) and Iface (to the second client), so
// that -i and -o with a name, a "+" wildcard and "!" can each pick some of
// the router's packets; the server has s0 only.
const (
	IfaceClient  = "r0"
	IfaceServer  = "r1"
	IfaceClient2 = "eth0"
	IfaceServerS = "s0"
)

// CommandTimeout bounds every command the lab runs.
const CommandTimeout = 20 * time.Second

// Lab is the namespaces and what runs in them.
type Lab struct {
	t                      testing.TB
	Client, Router, Server *netns.NS
	Client2                *netns.NS // the second client, behind the router's IfaceClient2
	// Stateless is set for the lab NewStateless makes: nothing in it uses
	// conntrack.
	Stateless bool
	// Points are where Differential measures; nil means Points. A test
	// may set AllPoints, or any of them, before Differential.
	Points []Point
	// obs is the router's effect observer (observe.go), started by the
	// first case that asks for it and kept until the test ends.
	obs *routerObserver
}

// New makes the lab for t: the namespaces, the links, addresses and routes of
// both families, the per-namespace settings, the router's NAT rules, the
// notrack rules of the untracked class and the mark rules of the mark
// class. Everything is removed when t ends.
func New(t testing.TB) *Lab {
	t.Helper()
	return newLab(t, false)
}

// NewStateless makes the lab without anything that uses conntrack (no NAT,
// no notrack, no ct mark): the kernel then neither tracks the lab's packets
// nor reassembles their fragments (nf_defrag runs only in a namespace that
// asks for conntrack), so the router's forward hook sees each fragment as
// it was sent. It is the lab of whole rules without conntrack matches;
// Differential refuses a case that reads conntrack in it.
func NewStateless(t testing.TB) *Lab {
	t.Helper()
	return newLab(t, true)
}

func newLab(t testing.TB, stateless bool) *Lab {
	t.Helper()
	for _, tool := range Tools {
		if _, err := exec.LookPath(tool); err != nil {
			ktest.Skip(t, tool+" is not installed (make test installs it when run as root)")
		}
	}
	l := &Lab{t: t, Stateless: stateless}
	l.Client = ktest.Namespace(t)
	l.Router = ktest.Namespace(t)
	l.Server = ktest.Namespace(t)
	l.Client2 = ktest.Namespace(t)
	if err := l.setup(); err != nil {
		t.Fatalf("lab: %v", err)
	}
	return l
}

func (l *Lab) setup() error {
	// The veth pairs: each is made in one namespace with its peer in the
	// other, passed to ip as descriptor 4.
	if err := l.runWith(l.Client, l.Router, "", "ip", "link", "add", "c0", "address", macClient, "type", "veth",
		"peer", "name", "r0", "address", macRouterC, "netns", "/proc/self/fd/4"); err != nil {
		return err
	}
	if err := l.runWith(l.Router, l.Server, "", "ip", "link", "add", "r1", "address", macRouterS, "type", "veth",
		"peer", "name", "s0", "address", macServer, "netns", "/proc/self/fd/4"); err != nil {
		return err
	}
	if err := l.runWith(l.Client2, l.Router, "", "ip", "link", "add", "c0", "address", macClient2, "type", "veth",
		"peer", "name", IfaceClient2, "address", macRouterD, "netns", "/proc/self/fd/4"); err != nil {
		return err
	}
	v4, v6 := IPv4.Addrs(), IPv6.Addrs()
	batches := []struct {
		ns    *netns.NS
		lines []string
	}{
		{l.Client, []string{
			"link set c0 up",
			"addr add " + v4.Client.String() + "/24 dev c0",
			"addr add " + v6.Client.String() + "/64 dev c0 nodad",
			"neigh add " + v4.RouterC.String() + " lladdr " + macRouterC + " dev c0 nud permanent",
			"neigh add " + v6.RouterC.String() + " lladdr " + macRouterC + " dev c0 nud permanent",
			"route add default via " + v4.RouterC.String(),
			"route add default via " + v6.RouterC.String(),
		}},
		{l.Client2, []string{
			"link set c0 up",
			"addr add " + v4.Client2.String() + "/24 dev c0",
			"addr add " + v6.Client2.String() + "/64 dev c0 nodad",
			"neigh add " + v4.RouterC2.String() + " lladdr " + macRouterD + " dev c0 nud permanent",
			"neigh add " + v6.RouterC2.String() + " lladdr " + macRouterD + " dev c0 nud permanent",
			"route add default via " + v4.RouterC2.String(),
			"route add default via " + v6.RouterC2.String(),
		}},
		{l.Router, []string{
			"link set r0 up",
			"link set r1 up",
			"link set " + IfaceClient2 + " up",
			"addr add " + v4.RouterC2.String() + "/24 dev " + IfaceClient2,
			"addr add " + v6.RouterC2.String() + "/64 dev " + IfaceClient2 + " nodad",
			"neigh add " + v4.Client2.String() + " lladdr " + macClient2 + " dev " + IfaceClient2 + " nud permanent",
			"neigh add " + v6.Client2.String() + " lladdr " + macClient2 + " dev " + IfaceClient2 + " nud permanent",
			"addr add " + v4.RouterC.String() + "/24 dev r0",
			"addr add " + v6.RouterC.String() + "/64 dev r0 nodad",
			"addr add " + v4.RouterS.String() + "/24 dev r1",
			"addr add " + v6.RouterS.String() + "/64 dev r1 nodad",
			"neigh add " + v4.Client.String() + " lladdr " + macClient + " dev r0 nud permanent",
			"neigh add " + v6.Client.String() + " lladdr " + macClient + " dev r0 nud permanent",
			"neigh add " + v4.Server.String() + " lladdr " + macServer + " dev r1 nud permanent",
			"neigh add " + v6.Server.String() + " lladdr " + macServer + " dev r1 nud permanent",
			"neigh add " + v4.Absent.String() + " lladdr " + macAbsent + " dev r1 nud permanent",
			"neigh add " + v6.Absent.String() + " lladdr " + macAbsent + " dev r1 nud permanent",
		}},
		{l.Server, []string{
			"link set s0 up",
			"addr add " + v4.Server.String() + "/24 dev s0",
			"addr add " + v6.Server.String() + "/64 dev s0 nodad",
			"neigh add " + v4.RouterS.String() + " lladdr " + macRouterS + " dev s0 nud permanent",
			"neigh add " + v6.RouterS.String() + " lladdr " + macRouterS + " dev s0 nud permanent",
			"route add default via " + v4.RouterS.String(),
			"route add default via " + v6.RouterS.String(),
		}},
	}
	// Settings first (forwarding before the addresses, so that the router
	// never acts as a host on its links).
	for _, ns := range []*netns.NS{l.Client, l.Router, l.Server, l.Client2} {
		forward := "0"
		if ns == l.Router {
			forward = "1"
		}
		if err := setSysctls(ns, [][2]string{
			{"net/ipv4/ip_forward", forward},
			{"net/ipv6/conf/all/forwarding", forward},
			{"net/ipv4/conf/all/rp_filter", "0"},
			{"net/ipv4/conf/default/rp_filter", "0"},
			{"net/ipv4/icmp_ratelimit", "0"},
			{"net/ipv6/icmp/ratelimit", "0"},
			{"net/ipv6/conf/default/router_solicitations", "0"},
			{"net/ipv6/conf/default/accept_ra", "0"},
			{"net/netfilter/nf_conntrack_tcp_loose", "0"},
			{"net/netfilter/nf_conntrack_checksum", "1"},
		}); err != nil {
			return err
		}
		// The ICMP error budget (icmp_global_allow: a burst of 50, then
		// 1000 a second) would cut the errors of a class with many
		// ports: raised where the kernel keeps it per namespace (6.12 on;
		// before, the setting is global and the namespace has no such
		// file, which the lab then leaves alone).
		if err := setSysctlIfPresent(ns, "net/ipv4/icmp_msgs_burst", "100000"); err != nil {
			return err
		}
	}
	for _, b := range batches {
		if err := l.run(b.ns, strings.Join(b.lines, "\n")+"\n", "ip", "-batch", "-"); err != nil {
			return err
		}
	}
	// The mark class's marks, set before the rules (at the mangle
	// priority of prerouting) in the router and the server: a mark on the
	// datagrams to PortMark and another on the replies; in a lab with
	// conntrack, a ct mark too.
	ctMark := ""
	if !l.Stateless {
		ctMark = fmt.Sprintf("\t\tudp dport %d ct mark set %s\n", PortMark, CtMarkClass)
	}
	markRules := fmt.Sprintf(`table inet labmark {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		udp dport %[1]d meta mark set %[2]s
		udp sport %[1]d meta mark set %[3]s
%[4]s	}
}
`, PortMark, MarkClass, MarkClassReply, ctMark)
	for _, ns := range []*netns.NS{l.Router, l.Server} {
		if err := l.run(ns, markRules, "nft", "-f", "-"); err != nil {
			return err
		}
	}
	// The server drops the AH class's packets and the port class's SCTP
	// INITs and DCCP Requests after the rules have seen them (priority 10, after the lab's
	// 0), so that it answers none, whatever its kernel's AH and SCTP
	// support (without a handler it would send protocol unreachables; with
	// one, AH is dropped for want of a security association and an INIT
	// may get an ABORT).
	ahDrop := "table inet labah {\n\tchain in {\n\t\ttype filter hook input priority 10; policy accept;\n\t\tmeta l4proto { ah, sctp, dccp } drop\n\t}\n}\n"
	if err := l.run(l.Server, ahDrop, "nft", "-f", "-"); err != nil {
		return err
	}
	if l.Stateless {
		return nil
	}
	// NAT on the router, for the DNAT and SNAT classes; notrack in the router
	// and the server, for the untracked class.
	natRules := fmt.Sprintf(`table inet labnat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr %[1]s udp dport %[3]d dnat ip to %[2]s:%[4]d
		ip6 daddr %[5]s udp dport %[3]d dnat ip6 to [%[6]s]:%[4]d
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		ip daddr %[2]s udp dport %[7]d snat ip to %[8]s:%[9]d
		ip6 daddr %[6]s udp dport %[7]d snat ip6 to [%[10]s]:%[9]d
	}
}
`, v4.VIP, v4.Server, PortDNAT, PortDNATServer, v6.VIP, v6.Server, PortSNAT, v4.RouterS, PortSNATTo, v6.RouterS)
	if err := l.run(l.Router, natRules, "nft", "-f", "-"); err != nil {
		return err
	}
	raw := fmt.Sprintf(`table inet labraw {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		udp dport %[1]d notrack
		udp sport %[1]d notrack
	}
	chain out {
		type filter hook output priority raw; policy accept;
		udp dport %[1]d notrack
		udp sport %[1]d notrack
	}
}
`, PortUntracked)
	for _, ns := range []*netns.NS{l.Router, l.Server} {
		if err := l.run(ns, raw, "nft", "-f", "-"); err != nil {
			return err
		}
	}
	return nil
}

// setSysctls writes settings of the namespace ns (paths under /proc/sys) and
// reads each back. These settings are the namespace's own: a thread that has
// joined ns sees and changes ns's values, never the host's.
func setSysctls(ns *netns.NS, kv [][2]string) error {
	return ns.Do(func() error {
		for _, s := range kv {
			p := filepath.Join("/proc/sys", s[0])
			if err := os.WriteFile(p, []byte(s[1]+"\n"), 0); err != nil {
				return fmt.Errorf("sysctl %s=%s: %w", s[0], s[1], err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("sysctl %s: %w", s[0], err)
			}
			if strings.TrimSpace(string(got)) != s[1] {
				return fmt.Errorf("sysctl %s reads %q after writing %q", s[0], got, s[1])
			}
		}
		return nil
	})
}

// setSysctlIfPresent sets a setting of ns when ns has it.
func setSysctlIfPresent(ns *netns.NS, path, value string) error {
	present := false
	if err := ns.Do(func() error {
		_, err := os.Stat(filepath.Join("/proc/sys", path))
		present = err == nil
		return nil
	}); err != nil {
		return err
	}
	if !present {
		return nil
	}
	return setSysctls(ns, [][2]string{{path, value}})
}

// Sysctl reads a setting of ns (a path under /proc/sys).
func Sysctl(ns *netns.NS, path string) (string, error) {
	var v string
	err := ns.Do(func() error {
		b, err := os.ReadFile(filepath.Join("/proc/sys", path))
		v = strings.TrimSpace(string(b))
		return err
	})
	return v, err
}

// Run runs name with args in ns, with stdin, bounded by CommandTimeout, and
// returns its standard output; an error holds its standard error.
func (l *Lab) Run(ns *netns.NS, stdin string, name string, args ...string) (string, error) {
	return command(ns, nil, stdin, name, args...)
}

func (l *Lab) run(ns *netns.NS, stdin string, name string, args ...string) error {
	_, err := command(ns, nil, stdin, name, args...)
	return err
}

// runWith runs a command in ns with other as its descriptor 4.
func (l *Lab) runWith(ns, other *netns.NS, stdin string, name string, args ...string) error {
	_, err := command(ns, other, stdin, name, args...)
	return err
}

func command(ns, other *netns.NS, stdin string, name string, args ...string) (string, error) {
	o, e, err := commandOutput(ns, other, stdin, name, args...)
	if err != nil {
		return o, fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, e, excerpt(stdin))
	}
	return o, nil
}

// commandOutput runs a command in ns (with other as its descriptor 4) and
// returns its standard output and standard error.
func commandOutput(ns, other *netns.NS, stdin string, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := ns.CommandContext(ctx, name, args...)
	if other != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, other.File())
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err = cmd.Run()
	return o.String(), e.String(), err
}

func excerpt(stdin string) string {
	if stdin == "" {
		return ""
	}
	if len(stdin) > 4000 {
		stdin = stdin[:4000] + "…"
	}
	return "input:\n" + stdin
}
