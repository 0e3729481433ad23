package lab

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// ipv4 builds an IPv4 packet of protocol proto with TOS tos around l4.
func ipv4(proto, tos byte, l4 []byte) []byte {
	h := make([]byte, 20, 20+len(l4))
	h[0], h[1], h[9] = 0x45, tos, proto
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(l4)))
	return append(h, l4...)
}

// The observer keeps the records of the probes' packets, tells its
// sentinel by port and data, reads the TOS byte and traffic class, and
// finds a probe's conntrack in conntrack -L's lines. (No kernel needed.)
func TestObserverPackets(t *testing.T) {
	tcp := func(flags byte) []byte {
		h := make([]byte, 20)
		h[13] = flags
		return h
	}
	udp := func(sport, dport uint16, data string) []byte {
		h := make([]byte, 8)
		binary.BigEndian.PutUint16(h, sport)
		binary.BigEndian.PutUint16(h[2:], dport)
		return append(h, data...)
	}
	for _, c := range []struct {
		name      string
		pkt       []byte
		probe, st bool
	}{
		{"udp", ipv4(unix.IPPROTO_UDP, 0, udp(51000, 9001, "probe")), true, false},
		{"tcp syn", ipv4(unix.IPPROTO_TCP, 0, tcp(0x02)), true, false},
		{"tcp syn-ack", ipv4(unix.IPPROTO_TCP, 0, tcp(0x12)), true, false},
		{"tcp rst", ipv4(unix.IPPROTO_TCP, 0, tcp(0x04)), false, false},
		{"tcp ack", ipv4(unix.IPPROTO_TCP, 0, tcp(0x10)), false, false},
		{"echo request", ipv4(unix.IPPROTO_ICMP, 0, []byte{8, 0, 0, 0, 0, 1, 0, 1}), true, false},
		{"port unreachable", ipv4(unix.IPPROTO_ICMP, 0, []byte{3, 3, 0, 0, 0, 0, 0, 0}), false, false},
		{"a copy cut to 20 bytes", ipv4(unix.IPPROTO_TCP, 0, tcp(0x04))[:20], true, false},
		{"an empty copy", nil, true, false},
		{"sentinel", ipv4(unix.IPPROTO_UDP, 0, udp(21003, SentinelPort, sentinelData)), true, true},
		{"another datagram to the sentinel's port", ipv4(unix.IPPROTO_UDP, 0, udp(SentinelPort, SentinelPort, "x")), true, false},
	} {
		if got := probePacket(c.pkt); got != c.probe {
			t.Errorf("%s: probePacket = %v, want %v", c.name, got, c.probe)
		}
		if got := sentinel(c.pkt); got != c.st {
			t.Errorf("%s: sentinel = %v, want %v", c.name, got, c.st)
		}
	}
	if got := tos(ipv4(unix.IPPROTO_UDP, 0x29, nil)); got != 0x29 {
		t.Errorf("IPv4 TOS = %#x, want 0x29", got)
	}
	// Version 6, traffic class 0xb8, flow label 0.
	if got := tos([]byte{0x6b, 0x80, 0, 0}); got != 0xb8 {
		t.Errorf("IPv6 traffic class = %#x, want 0xb8", got)
	}
	out := "udp      17 29 src=10.1.0.2 dst=10.2.0.2 sport=51000 dport=9001 src=10.2.0.2 dst=10.1.0.2 sport=9001 dport=51000 mark=7 use=1\n" +
		"icmp     1 29 src=10.1.0.2 dst=10.2.0.2 type=8 code=0 id=51003 src=10.2.0.2 dst=10.1.0.2 type=0 code=0 id=51003 mark=0 use=1\n"
	for _, c := range []struct {
		p    Probe
		want string
	}{
		{Probe{Kind: ProbeUDP, From: 51000}, "ct mark=7"},
		{Probe{Kind: ProbeEcho, From: 51003}, "ct mark=0"},
		{Probe{Kind: ProbeUDP, From: 5100}, "no conntrack"},
		{Probe{Kind: ProbeTCP, From: 51002}, "no conntrack"},
	} {
		if got := conntrackOf(out, c.p); got != c.want {
			t.Errorf("conntrackOf(%v) = %q, want %q", c.p, got, c.want)
		}
	}
}
