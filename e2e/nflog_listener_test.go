package e2e

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/lab"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// NFLOG's effect, seen by a listener bound to the group inside the test's
// namespace: for each option, the records the listener receives for the same
// packet under xt_NFLOG (iptables-legacy) and under ctmatch's log statement
// are the same (group, prefix, the bytes of the packet copied). The probes
// cover --nflog-size (the copy length, 0 included), no size (the listener's
// copy range: the whole packet) and --nflog-range, which the kernel ignores
// and ctmatch compiles to nothing: with it the whole packet comes too.
//
// LOG is not observed this way: the kernel log records nothing for a
// network namespace other than the host's unless the host-wide sysctl
// net.netfilter.nf_log_all_netns is 1, which a test must not change. LOG is
// proven by nft's bytes and the kernel's dumps (compile's nft oracle); both
// targets reach the kernel through the same nf_log_packet call.

// nflogRecord is what a listener receives for one packet.
type nflogRecord struct {
	family  uint8
	group   uint16
	prefix  string
	mark    uint32 // the packet's mark (NFULA_MARK; 0 when absent)
	mss     uint16 // the MSS option of a TCP segment copied; 0 for none
	tos     uint8  // the IPv4 TOS byte or the IPv6 traffic class
	csumOK  bool   // an IPv4 header's checksum is right (false for IPv6)
	payload int    // bytes of the packet copied
	udp     string // the UDP destination port, length and data copied, hex (the IP id, the source port and the checksums vary)
}

func (r nflogRecord) String() string {
	return fmt.Sprintf("family %d group %d prefix %q mark %#x payload %d bytes, UDP dport, length and data %s", r.family, r.group, r.prefix, r.mark, r.payload, r.udp)
}

// listenNFLOG binds a netlink socket of the namespace to the group
// (lab.BindNFLOG: whole packets, each sent while it is logged).
func listenNFLOG(t *testing.T, ns *netns.NS, group uint16) *netlink.Conn {
	t.Helper()
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: int(ns.File().Fd())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := lab.BindNFLOG(c, group); err != nil {
		t.Fatal(err)
	}
	return c
}

// receiveNFLOG reads the next record. Each packet is sent to the listener
// while it is logged (a queue threshold of 1), so the record is there when
// the send returns; the deadline only bounds a failing test.
func receiveNFLOG(t *testing.T, c *netlink.Conn) nflogRecord {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Receive()
	if err != nil {
		t.Fatalf("no NFLOG record: %v", err)
	}
	for _, m := range msgs {
		rec, ok, err := lab.ParseNFLOG(m)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		r := nflogRecord{family: rec.Family, group: rec.Group, prefix: rec.Prefix, mark: rec.Mark}
		b := rec.Payload
		r.payload = len(b)
		r.mss = tcpMSS(b)
		r.tos, r.csumOK = ipTOS(b)
		// The UDP header after an IPv4 header without options or an IPv6
		// header without extension headers.
		l4 := 20
		if len(b) > 0 && b[0]>>4 == 6 {
			l4 = 40
		}
		if len(b) >= l4+8 {
			r.udp = fmt.Sprintf("%x %x", b[l4+2:l4+6], b[l4+8:])
		}
		return r
	}
	t.Fatalf("no NFLOG packet record among %d messages", len(msgs))
	return nflogRecord{}
}

// nflogProbe is one probe of TestNFLOGListener: the options after -j
// NFLOG, the group and prefix the record must carry, and the bytes the
// listener must receive of the 228-byte (IPv6: 248-byte) packet.
type nflogProbe struct {
	name    string
	ipv6    bool
	options []string
	group   uint16
	prefix  string
	payload int
}

// nflogGroup is the group of TestNFLOGListener's probes but the plain
// NFLOG's (group 0).
const nflogGroup = 7

// nflogProbes are TestNFLOGListener's probes.
var nflogProbes = []nflogProbe{
	{"size", false, []string{"--nflog-group", "7", "--nflog-prefix", "sized", "--nflog-size", "24"}, nflogGroup, "sized", 24},
	{"size-0", false, []string{"--nflog-group", "7", "--nflog-prefix", "empty", "--nflog-size", "0"}, nflogGroup, "empty", 0},
	{"no-size", false, []string{"--nflog-group", "7", "--nflog-prefix", "whole"}, nflogGroup, "whole", 228},
	{"range", false, []string{"--nflog-group", "7", "--nflog-prefix", "ranged", "--nflog-range", "24"}, nflogGroup, "ranged", 228},
	{"threshold", false, []string{"--nflog-group", "7", "--nflog-prefix", "thresh", "--nflog-threshold", "1"}, nflogGroup, "thresh", 228},
	// No option: group 0, no prefix, the listener's copy range.
	{"plain", false, nil, 0, "", 228},
	// ip6tables' NFLOG: every option but the group alone.
	{"size-threshold6", true, []string{"--nflog-group", "7", "--nflog-prefix", "six", "--nflog-size", "64", "--nflog-threshold", "2"}, nflogGroup, "six", 64},
	{"range6", true, []string{"--nflog-group", "7", "--nflog-prefix", "ranged6", "--nflog-range", "64"}, nflogGroup, "ranged6", 248},
}

// nflogRule is the rule of TestNFLOGListener's probe i, as the test loads
// it into filter OUTPUT.
func nflogRule(i int) []string {
	return append([]string{"-p", "udp", "--dport", fmt.Sprint(9000 + i), "-j", "NFLOG"}, nflogProbes[i].options...)
}

func TestNFLOGListener(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "ip6tables-legacy")
	bin := ctmatchCLI(t)
	send := func(ipv6 bool, port int) { dialUDP(t, ns, ipv6, port, strings.Repeat("x", 200)) }

	listeners := map[uint16]*netlink.Conn{}
	for _, p := range nflogProbes {
		if listeners[p.group] == nil {
			listeners[p.group] = listenNFLOG(t, ns, p.group)
		}
	}
	for i, p := range nflogProbes {
		port := 9000 + i
		rule := nflogRule(i)
		c := listeners[p.group]
		xt, cli, family := "iptables-legacy", []string{"add", "rule", "ip", "filter", "OUTPUT", "--create", "--"}, uint8(unix.AF_INET)
		if p.ipv6 {
			xt, cli, family = "ip6tables-legacy", []string{"add", "rule", "-6", "ip6", "filter", "OUTPUT", "--create", "--"}, unix.AF_INET6
		}

		ktest.Run(t, ns, "", xt, append([]string{"-A", "OUTPUT"}, rule...)...)
		send(p.ipv6, port)
		xtRec := receiveNFLOG(t, c)
		ktest.Run(t, ns, "", xt, "-F", "OUTPUT")

		mustCLI(t, bin, ns, "", append(cli, rule...)...)
		send(p.ipv6, port)
		ours := receiveNFLOG(t, c)
		ktest.Run(t, ns, "", "nft", "flush", "ruleset")

		if xtRec != ours {
			t.Errorf("%s: xt_NFLOG gives %v\nctmatch's rule gives %v", p.name, xtRec, ours)
		}
		if xtRec.group != p.group || xtRec.prefix != p.prefix || xtRec.payload != p.payload || xtRec.family != family {
			t.Errorf("%s: xt_NFLOG gives %v, want family %d, group %d, prefix %q, %d bytes", p.name, xtRec, family, p.group, p.prefix, p.payload)
		}
	}
	t.Logf("%d probes: xt_NFLOG and ctmatch's rules gave the same records", len(nflogProbes))
}

// tcpMSS returns the MSS option of the TCP segment in an IPv4 packet, 0 for
// none.
func tcpMSS(b []byte) uint16 {
	if len(b) < 20 || b[9] != unix.IPPROTO_TCP {
		return 0
	}
	ihl := int(b[0]&0x0f) * 4
	if len(b) < ihl+20 {
		return 0
	}
	tcp := b[ihl:]
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || len(tcp) < doff {
		return 0
	}
	opts := tcp[20:doff]
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0:
			return 0
		case 1:
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 {
			return 0
		}
		if opts[i] == 2 && opts[i+1] == 4 && i+4 <= len(opts) {
			return binary.BigEndian.Uint16(opts[i+2:])
		}
		i += int(opts[i+1])
	}
	return 0
}

// ipTOS returns the IPv4 TOS byte (and whether the header checksum is
// right) or the IPv6 traffic class of a packet.
func ipTOS(b []byte) (uint8, bool) {
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		ihl := int(b[0]&0x0f) * 4
		if len(b) < ihl {
			return b[1], false
		}
		sum := uint32(0)
		for i := 0; i < ihl; i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		return b[1], sum == 0xffff
	case len(b) >= 2 && b[0]>>4 == 6:
		return b[0]<<4 | b[1]>>4, false
	}
	return 0, false
}
