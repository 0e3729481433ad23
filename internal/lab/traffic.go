package lab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/internal/netns"
)

// The ports of the traffic classes: each class has ports of its own, so that
// no two classes share a conntrack entry and a case can pick a class by port.
const (
	PortTCP          = 8001  // the TCP class's server port
	PortTCPClient    = 40001 // and its client port
	PortUDP          = 8002
	PortUDPClient    = 40002
	EchoID           = 0x1234 // the ICMP echo identifier (4660): the "source port" of the echo flow
	PortClosed       = 8004   // a closed server port: the related-out class
	PortClosedSrc    = 40004
	PortRelatedIn    = 8014  // the server's port of the related-in class
	PortClosedClient = 40014 // a closed client port: the related-in class
	PortInvalid      = 8005  // the bare ACK of the invalid class goes here
	PortInvalidSrc   = 40005
	PortUntracked    = 8006 // notrack for this UDP port, both ways, in the router and the server
	PortUntrackedSrc = 40006
	PortDNAT         = 8007 // the client sends to VIP:PortDNAT …
	PortDNATServer   = 8008 // … which the router DNATs to Server:PortDNATServer
	PortDNATSrc      = 40007
	PortSNAT         = 8009  // the client sends to Server:PortSNAT …
	PortSNATTo       = 20009 // … which the router SNATs to RouterS:PortSNATTo
	PortSNATSrc      = 40009
	PortExpire       = 8100  // the expire flows' server port
	PortOrphan       = 8011  // the orphan error embeds a datagram from this server port …
	PortOrphanSrc    = 40011 // … to this client port, of a flow that never was
	PortStray        = 8012  // the stray datagram goes to Absent:PortStray …
	PortStraySrc     = 40012 // … from Stray:PortStraySrc
	ProtoOther       = 253   // an IP protocol no conntrack helper knows ("use for experimentation")
)

// An ExpireSet is the flows of an expire class: one UDP flow to the
// server's PortExpire from each client port FirstPort+i, whose timer is set
// to Timeouts[i] seconds before its RELATED error is sent half a second
// later, so that xt reads Timeouts[i] − 1 whole seconds and nft the
// milliseconds around x.5.
type ExpireSet struct {
	Name      string // the class's name, without the family digit
	Timeouts  []int
	FirstPort int
}

// StandardExpire is the expire class of Scenario. Its timeouts are far from
// every timeout a packet sets (PacketTimeouts), so no other packet sits on
// a boundary of an expire case built from them: the errors see 13.5, 14.5,
// 15.5 and 16.5 s left.
var StandardExpire = ExpireSet{Name: "expire", Timeouts: []int{14, 15, 16, 17}, FirstPort: 40101}

// HalfSecondExpire is Scenario's other expire class: one flow whose error
// sees 0.5 s left, which xt reads as 0 s and nft as 500 ms. It gives
// --ctexpire 0 a packet to match on any machine: a flow's first packet,
// whose conntrack is not confirmed yet, reads 0 s only on a host whose
// uptime allows it (FirstPacket).
var HalfSecondExpire = ExpireSet{Name: "expire-half", Timeouts: []int{1}, FirstPort: 40111}

// PacketTimeouts are the timeouts, in seconds, that the lab's packets set on
// their conntracks (the expire classes' timers aside): UDP, ICMP and TCP's
// LAST_ACK 30; TCP's SYN_RECV and CLOSE_WAIT 60; SYN_SENT, FIN_WAIT and
// TIME_WAIT 120; data not yet acknowledged 300; ESTABLISHED 432000; the
// generic tracker's 600 (protocol 253). TCP's CLOSE (10 s) needs a RST of a
// tracked connection, which no class sends (the TCP class closes with FINs,
// the invalid class's RST has no conntrack).
var PacketTimeouts = []uint32{30, 60, 120, 300, 600, 432000}

// tcpTimeouts are the PacketTimeouts that the TCP class's packets set.
var tcpTimeouts = []uint32{30, 60, 120, 300, 432000}

// ExpireRaces reports whether --ctexpire lo:hi can make xt and nft disagree
// by chance on the lab's standard traffic, which the lab's cases must
// avoid. Two things make them read different remaining times for one
// packet, xt's rule and nft's being evaluated microseconds apart:
//
//   - The clock ticks in between. A packet that has just set timeout T has
//     T·HZ jiffies left, exactly T s: xt can read T s and nft a jiffy less.
//     So lo = T (T matches, a jiffy less does not) or hi = T−1 (the other
//     way round) races, for every T of PacketTimeouts.
//   - Another packet of the same connection refreshes the timer in
//     between. Only the TCP class has packets of both directions in flight
//     at once, crossing the router on two CPUs: one reads 432000 s in xt
//     and 300 s (or 120 s, after a FIN) in nft. So a range that holds some
//     of TCP's timeouts and not the others races.
//
// The expire classes' errors, sent in the middle of a second to flows with
// no other packet in flight, never race. A flow's first packet reads what
// the host's uptime puts there (FirstPacket): 0 on most hosts, where no
// tick changes it; elsewhere a tick changes its whole second between the
// two reads only if it falls in the microseconds between them (a few in a
// thousand) and ends a second (one tick in HZ), and that matters only to a
// case with a bound on that very second: the cases cannot avoid a value
// that can be anything, and need not.
func ExpireRaces(lo, hi uint32) bool {
	for _, t := range PacketTimeouts {
		if lo == t || hi == t-1 {
			return true
		}
	}
	in := 0
	for _, t := range tcpTimeouts {
		// Not on a bound (above), so T and a jiffy less are both in or
		// both out.
		if lo <= t && t <= hi {
			in++
		}
	}
	return in != 0 && in != len(tcpTimeouts)
}

// IOTimeout bounds every socket operation of the traffic classes.
const IOTimeout = 3 * time.Second

// A Class describes the packets one traffic helper sent.
type Class struct {
	Name   string // unique in a scenario, such as "udp4"
	Family Family
	Desc   string // what was sent, such as "UDP 10.1.0.2:40002 → 10.2.0.2:8002, one datagram each way"
	// States are the conntrack states (xt's names, and SNAT/DNAT where the
	// packets carry the status bit) of the class's packets at the router's
	// forward hook, in the order INVALID NEW RELATED ESTABLISHED UNTRACKED
	// SNAT DNAT.
	States []string
	// Router and Server are the number of packets the class puts through
	// the router's forward hook and the server's input hook, or -1 when the
	// number is not fixed (TCP may or may not send a lone ACK).
	Router, Server int
	// First are the class's packets that are the first of their conntrack
	// at each point: what --ctexpire reads on them depends on the host's
	// uptime, so they count for no expire case's coverage.
	First FirstPackets
}

func (c Class) String() string { return c.Name + ": " + c.Desc }

// A Phase sends one class of traffic in the lab and describes it.
type Phase struct {
	Name string
	Run  func(*Lab) (Class, error)
}

// Scenario returns the phases of the lab's standard traffic, for each family
// in order: TCP, UDP, ICMP echo, related (both ways), invalid, untracked,
// DNAT, SNAT, and the flows of the two expire classes with their crafted
// errors.
func Scenario(families ...Family) []Phase {
	var ps []Phase
	for _, f := range families {
		f := f
		s := strconv.Itoa(int(f))
		ps = append(ps,
			Phase{"tcp" + s, func(l *Lab) (Class, error) { return l.TCP(f) }},
			Phase{"udp" + s, func(l *Lab) (Class, error) { return l.UDP(f) }},
			Phase{"echo" + s, func(l *Lab) (Class, error) { return l.Echo(f) }},
			Phase{"related-out" + s, func(l *Lab) (Class, error) { return l.RelatedOut(f) }},
			Phase{"related-in" + s, func(l *Lab) (Class, error) { return l.RelatedIn(f) }},
			Phase{"invalid" + s, func(l *Lab) (Class, error) { return l.Invalid(f) }},
			Phase{"untracked" + s, func(l *Lab) (Class, error) { return l.Untracked(f) }},
			Phase{"dnat" + s, func(l *Lab) (Class, error) { return l.DNAT(f) }},
			Phase{"snat" + s, func(l *Lab) (Class, error) { return l.SNAT(f) }},
			Phase{"other-proto" + s, func(l *Lab) (Class, error) { return l.OtherProto(f) }},
			Phase{"orphan-error" + s, func(l *Lab) (Class, error) { return l.OrphanError(f) }},
		)
		ps = append(ps, ExpirePhases(StandardExpire, f)...)
		ps = append(ps, ExpirePhases(HalfSecondExpire, f)...)
	}
	return ps
}

// ExpirePhases are the two phases of an expire class: the flows, then the
// crafted errors.
func ExpirePhases(set ExpireSet, f Family) []Phase {
	s := strconv.Itoa(int(f))
	return []Phase{
		{set.Name + "-flows" + s, func(l *Lab) (Class, error) { return l.ExpireFlows(f, set) }},
		{set.Name + s, func(l *Lab) (Class, error) { return l.ExpireErrors(f, set) }},
	}
}

func network(proto string, f Family) string {
	if f == IPv6 {
		return proto + "6"
	}
	return proto + "4"
}

func hostPort(a netip.Addr, port int) string {
	return netip.AddrPortFrom(a, uint16(port)).String()
}

// do runs fn inside ns and returns what it made: sockets made there stay in
// ns wherever they are used.
func do[T any](ns *netns.NS, fn func() (T, error)) (T, error) {
	var v T
	err := ns.Do(func() error {
		var err error
		v, err = fn()
		return err
	})
	return v, err
}

// TCP makes one TCP connection from the client to the server: the
// handshake, five bytes each way, and an orderly close from both ends.
func (l *Lab) TCP(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "tcp" + f.digit(), Family: f,
		Desc: fmt.Sprintf("TCP %s → %s: handshake, 5 bytes each way, FIN from both ends",
			hostPort(a.Client, PortTCPClient), hostPort(a.Server, PortTCP)),
		States: []string{"NEW", "ESTABLISHED"}, Router: -1, Server: -1, First: both(FirstTCP, 1)}
	ln, err := do(l.Server, func() (net.Listener, error) { return net.Listen(network("tcp", f), hostPort(a.Server, PortTCP)) })
	if err != nil {
		return c, err
	}
	defer ln.Close()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(IOTimeout))
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(IOTimeout))
		buf := make([]byte, 5)
		if _, err := io.ReadFull(conn, buf); err != nil {
			served <- fmt.Errorf("server read: %w", err)
			return
		}
		if _, err := conn.Write(buf); err != nil {
			served <- fmt.Errorf("server write: %w", err)
			return
		}
		if n, err := io.Copy(io.Discard, conn); err != nil || n != 0 {
			served <- fmt.Errorf("server waiting for the client's FIN: %d bytes, %v", n, err)
			return
		}
		served <- nil
	}()
	conn, err := do(l.Client, func() (net.Conn, error) {
		d := net.Dialer{Timeout: IOTimeout, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(a.Client, PortTCPClient))}
		return d.Dial(network("tcp", f), hostPort(a.Server, PortTCP))
	})
	if err != nil {
		return c, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(IOTimeout))
	if _, err := conn.Write([]byte("hello")); err != nil {
		return c, err
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return c, fmt.Errorf("client read: %w", err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return c, err
	}
	if n, err := io.Copy(io.Discard, conn); err != nil || n != 0 {
		return c, fmt.Errorf("client waiting for the server's FIN: %d bytes, %v", n, err)
	}
	return c, <-served
}

// udpExchange sends one datagram from the client (from port cport) to dst,
// where the server listens on listen, and one back.
func (l *Lab) udpExchange(f Family, cport int, dst, listen netip.AddrPort) error {
	return l.udpExchangeAt(f, cport, dst, listen, nil)
}

// udpExchangeAt is udpExchange, calling ready (unless nil) once both
// sockets are open, right before the client sends: ready may wait for the
// moment to send at, with nothing left between its return and the send but
// the send itself.
func (l *Lab) udpExchangeAt(f Family, cport int, dst, listen netip.AddrPort, ready func() error) error {
	a := f.Addrs()
	srv, err := do(l.Server, func() (*net.UDPConn, error) {
		return net.ListenUDP(network("udp", f), net.UDPAddrFromAddrPort(listen))
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	cl, err := do(l.Client, func() (*net.UDPConn, error) {
		return net.DialUDP(network("udp", f), net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.Client, uint16(cport))), net.UDPAddrFromAddrPort(dst))
	})
	if err != nil {
		return err
	}
	defer cl.Close()
	if ready != nil {
		if err := ready(); err != nil {
			return err
		}
	}
	srv.SetDeadline(time.Now().Add(IOTimeout))
	cl.SetDeadline(time.Now().Add(IOTimeout))
	served := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		n, from, err := srv.ReadFromUDPAddrPort(buf)
		if err != nil {
			served <- fmt.Errorf("server read: %w", err)
			return
		}
		_, err = srv.WriteToUDPAddrPort(buf[:n], from)
		served <- err
	}()
	if _, err := cl.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	if _, err := cl.Read(buf); err != nil {
		return fmt.Errorf("client read: %w", err)
	}
	return <-served
}

// UDP sends one datagram from the client to the server and one back.
func (l *Lab) UDP(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "udp" + f.digit(), Family: f,
		Desc:   fmt.Sprintf("UDP %s → %s, one datagram each way", hostPort(a.Client, PortUDPClient), hostPort(a.Server, PortUDP)),
		States: []string{"NEW", "ESTABLISHED"}, Router: 2, Server: 1, First: both(FirstUDP, 1)}
	srv := netip.AddrPortFrom(a.Server, PortUDP)
	return c, l.udpExchange(f, PortUDPClient, srv, srv)
}

// Untracked is the UDP exchange on the port the router and the server do
// not track.
func (l *Lab) Untracked(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "untracked" + f.digit(), Family: f,
		Desc:   fmt.Sprintf("UDP %s → %s (notrack in the router and the server), one datagram each way", hostPort(a.Client, PortUntrackedSrc), hostPort(a.Server, PortUntracked)),
		States: []string{"UNTRACKED"}, Router: 2, Server: 1}
	srv := netip.AddrPortFrom(a.Server, PortUntracked)
	return c, l.udpExchange(f, PortUntrackedSrc, srv, srv)
}

// DNAT sends a datagram to the VIP, which the router DNATs to the server,
// and one back.
func (l *Lab) DNAT(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "dnat" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s → %s DNATed by the router to %s, one datagram each way",
			hostPort(a.Client, PortDNATSrc), hostPort(a.VIP, PortDNAT), hostPort(a.Server, PortDNATServer)),
		States: []string{"NEW", "ESTABLISHED", "DNAT"}, Router: 2, Server: 1, First: both(FirstUDP, 1)}
	return c, l.udpExchange(f, PortDNATSrc, netip.AddrPortFrom(a.VIP, PortDNAT), netip.AddrPortFrom(a.Server, PortDNATServer))
}

// SNAT sends a datagram to the server, which the router SNATs to its own
// address on the server link, and one back. The first datagram passes the
// forward hook before the SNAT binding is made (in postrouting): only the
// reply carries the SNAT status bit there.
func (l *Lab) SNAT(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "snat" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s → %s SNATed by the router to %s, one datagram each way",
			hostPort(a.Client, PortSNATSrc), hostPort(a.Server, PortSNAT), hostPort(a.RouterS, PortSNATTo)),
		States: []string{"NEW", "ESTABLISHED", "SNAT"}, Router: 2, Server: 1, First: both(FirstUDP, 1)}
	srv := netip.AddrPortFrom(a.Server, PortSNAT)
	return c, l.udpExchange(f, PortSNATSrc, srv, srv)
}

// Stray sends one UDP datagram from the client, from an address it does
// not have (Addrs.Stray, bound and routed with IP_TRANSPARENT), to an
// address of the server link that nobody has (Addrs.Absent): the router
// forwards it to a link-layer address no interface has, so the server drops
// it before its hooks. Its conntrack's addresses are none of the lab's
// hosts, so the class splits address matches (non-contiguous masks
// especially) that the other classes cannot. It is not part of Scenario.
func (l *Lab) Stray(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "stray" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s → %s (addresses nobody has), one datagram, dropped after the router",
			hostPort(a.Stray, PortStraySrc), hostPort(a.Absent, PortStray)),
		States: []string{"NEW"}, Router: 1, Server: 0, First: FirstPackets{Router: []uint32{FirstUDP}}}
	conn, err := do(l.Client, func() (net.Conn, error) {
		d := net.Dialer{
			Timeout:   IOTimeout,
			LocalAddr: net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.Stray, PortStraySrc)),
			Control: func(_, _ string, rc syscall.RawConn) error {
				var serr error
				err := rc.Control(func(fd uintptr) {
					if f == IPv6 {
						serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
					} else {
						serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1)
					}
				})
				if err != nil {
					return err
				}
				return serr
			},
		}
		return d.Dial(network("udp", f), hostPort(a.Absent, PortStray))
	})
	if err != nil {
		return c, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(IOTimeout))
	_, err = conn.Write([]byte("stray"))
	return c, err
}

// refused sends one datagram from a connected UDP socket made in ns and
// waits for the ICMP error the closed port at the other end sends back.
func refused(ns *netns.NS, f Family, from, to netip.AddrPort) error {
	conn, err := do(ns, func() (*net.UDPConn, error) {
		return net.DialUDP(network("udp", f), net.UDPAddrFromAddrPort(from), net.UDPAddrFromAddrPort(to))
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(IOTimeout))
	if _, err := conn.Write([]byte("closed?")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	_, err = conn.Read(buf)
	if !errors.Is(err, unix.ECONNREFUSED) {
		return fmt.Errorf("UDP %s → %s: want the port unreachable error, got %v", from, to, err)
	}
	return nil
}

// RelatedOut sends a datagram from the client to a closed port of the
// server: the server's ICMP port unreachable is RELATED in the router.
func (l *Lab) RelatedOut(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "related-out" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s → %s (closed), and the server's %s port unreachable back",
			hostPort(a.Client, PortClosedSrc), hostPort(a.Server, PortClosed), icmpName(f)),
		States: []string{"NEW", "RELATED"}, Router: 2, Server: 1, First: both(FirstUDP, 1)}
	return c, refused(l.Client, f, netip.AddrPortFrom(a.Client, PortClosedSrc), netip.AddrPortFrom(a.Server, PortClosed))
}

// RelatedIn sends a datagram from the server to a closed port of the
// client: the client's ICMP port unreachable is RELATED in the router and in
// the server's input hook.
func (l *Lab) RelatedIn(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "related-in" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s → %s (closed), and the client's %s port unreachable back",
			hostPort(a.Server, PortRelatedIn), hostPort(a.Client, PortClosedClient), icmpName(f)),
		States: []string{"NEW", "RELATED"}, Router: 2, Server: 1, First: FirstPackets{Router: []uint32{FirstUDP}}}
	return c, refused(l.Server, f, netip.AddrPortFrom(a.Server, PortRelatedIn), netip.AddrPortFrom(a.Client, PortClosedClient))
}

func icmpName(f Family) string {
	if f == IPv6 {
		return "ICMPv6"
	}
	return "ICMP"
}

func (f Family) digit() string { return strconv.Itoa(int(f)) }

// rawSocket opens a raw socket of protocol proto in ns, with a receive
// timeout.
func rawSocket(ns *netns.NS, f Family, proto int) (int, error) {
	return do(ns, func() (int, error) {
		af := unix.AF_INET
		if f == IPv6 {
			af = unix.AF_INET6
		}
		fd, err := unix.Socket(af, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return -1, fmt.Errorf("raw socket: %w", err)
		}
		tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	})
}

func sockaddr(a netip.Addr) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Addr: a.As4()}
	}
	return &unix.SockaddrInet6{Addr: a.As16()}
}

// recvUntil reads from a raw socket until match accepts a packet (the layer
// 4 part: raw IPv4 sockets also return the IP header, which is cut off) or
// the deadline passes.
func recvUntil(fd int, f Family, what string, match func(l4 []byte) bool) error {
	deadline := time.Now().Add(IOTimeout)
	buf := make([]byte, 2048)
	for time.Now().Before(deadline) {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		p := buf[:n]
		if f == IPv4 {
			if len(p) < 20 {
				continue
			}
			p = p[int(p[0]&0x0f)*4:]
		}
		if match(p) {
			return nil
		}
	}
	return fmt.Errorf("no %s within %v", what, IOTimeout)
}

// Echo sends one ICMP (ICMPv6) echo request from the client to the server,
// from a raw socket with identifier EchoID, and waits for the reply.
func (l *Lab) Echo(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "echo" + f.digit(), Family: f,
		Desc:   fmt.Sprintf("%s echo request %s → %s (id %d, seq 1) and its reply", icmpName(f), a.Client, a.Server, EchoID),
		States: []string{"NEW", "ESTABLISHED"}, Router: 2, Server: 1, First: both(FirstICMP, 1)}
	proto, req, rep := unix.IPPROTO_ICMP, byte(8), byte(0)
	if f == IPv6 {
		proto, req, rep = unix.IPPROTO_ICMPV6, 128, 129
	}
	fd, err := rawSocket(l.Client, f, proto)
	if err != nil {
		return c, err
	}
	defer unix.Close(fd)
	msg := []byte{req, 0, 0, 0, EchoID >> 8, EchoID & 0xff, 0, 1}
	msg = append(msg, "ctmatch lab"...)
	if f == IPv4 {
		// The kernel fills in the checksum of ICMPv6 raw sockets only.
		putChecksum(msg, 2, checksum(0, msg))
	}
	if err := unix.Sendto(fd, msg, 0, sockaddr(a.Server)); err != nil {
		return c, fmt.Errorf("echo request: %w", err)
	}
	return c, recvUntil(fd, f, "the echo reply", func(p []byte) bool {
		return len(p) >= 8 && p[0] == rep && int(p[4])<<8|int(p[5]) == EchoID
	})
}

// Invalid sends, from a raw socket of the client, a bare TCP ACK that
// belongs to no connection (with nf_conntrack_tcp_loose=0, conntrack takes
// no mid-stream packet), and waits for the RST the server answers with.
// Both have no conntrack: INVALID.
func (l *Lab) Invalid(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "invalid" + f.digit(), Family: f,
		Desc: fmt.Sprintf("a bare TCP ACK %s → %s from a raw socket, and the server's RST",
			hostPort(a.Client, PortInvalidSrc), hostPort(a.Server, PortInvalid)),
		States: []string{"INVALID"}, Router: 2, Server: 1}
	fd, err := rawSocket(l.Client, f, unix.IPPROTO_TCP)
	if err != nil {
		return c, err
	}
	defer unix.Close(fd)
	seg := []byte{
		PortInvalidSrc >> 8, PortInvalidSrc & 0xff, PortInvalid >> 8, PortInvalid & 0xff,
		0, 0, 0x10, 0, // seq
		0, 0, 0x20, 0, // ack
		5 << 4, 0x10, // data offset 5, ACK
		0x04, 0x00, // window
		0, 0, 0, 0, // checksum, urgent pointer
	}
	putChecksum(seg, 16, checksum(pseudoHeader(a.Client, a.Server, unix.IPPROTO_TCP, len(seg)), seg))
	if err := unix.Sendto(fd, seg, 0, sockaddr(a.Server)); err != nil {
		return c, fmt.Errorf("bare ACK: %w", err)
	}
	return c, recvUntil(fd, f, "the server's RST", func(p []byte) bool {
		return len(p) >= 20 && int(p[0])<<8|int(p[1]) == PortInvalid && int(p[2])<<8|int(p[3]) == PortInvalidSrc && p[13]&0x04 != 0
	})
}

// ExpireFlows makes the flows of an expire class: one UDP exchange from
// each client port set.FirstPort+i to the server's PortExpire.
func (l *Lab) ExpireFlows(f Family, set ExpireSet) (Class, error) {
	a := f.Addrs()
	n := len(set.Timeouts)
	desc := fmt.Sprintf("UDP %s…%d → %s, one datagram each way on each of %d flows",
		hostPort(a.Client, set.FirstPort), set.FirstPort+n-1, hostPort(a.Server, PortExpire), n)
	if n == 1 {
		desc = fmt.Sprintf("UDP %s → %s, one datagram each way", hostPort(a.Client, set.FirstPort), hostPort(a.Server, PortExpire))
	}
	c := Class{Name: set.Name + "-flows" + f.digit(), Family: f, Desc: desc,
		States: []string{"NEW", "ESTABLISHED"}, Router: 2 * n, Server: n, First: both(FirstUDP, n)}
	srv := netip.AddrPortFrom(a.Server, PortExpire)
	for i := range set.Timeouts {
		if err := l.udpExchange(f, set.FirstPort+i, srv, srv); err != nil {
			return c, err
		}
	}
	return c, nil
}

// ExpireErrors sets the timeout of each flow ExpireFlows made to
// set.Timeouts[i] seconds, in the router and in the server, with
// `conntrack -U` and the flow's full tuple; waits half a second; then sends,
// for each flow, an ICMP port unreachable from the client to the server that
// embeds the server's reply. Such an error is RELATED to the flow and
// refreshes nothing, so xt and nft read the flow's remaining time, about
// set.Timeouts[i] − 0.5 s, in the middle of a second (x.3 to x.7 s is the
// window the lab accepts): they cannot disagree by a tick of the clock. An
// error whose time has passed by more than 100 ms when the sender wakes up is
// not sent: the flow's timer is set again and the error aimed anew. Right
// after each error, conntrack -G must say set.Timeouts[i] − 1 s are left.
func (l *Lab) ExpireErrors(f Family, set ExpireSet) (Class, error) {
	a := f.Addrs()
	c := Class{Name: set.Name + f.digit(), Family: f, States: []string{"RELATED"},
		Router: len(set.Timeouts), Server: len(set.Timeouts)}
	proto := unix.IPPROTO_ICMP
	if f == IPv6 {
		proto = unix.IPPROTO_ICMPV6
	}
	fd, err := rawSocket(l.Client, f, proto)
	if err != nil {
		return c, err
	}
	defer unix.Close(fd)
	// For each flow: set its timer in the router and in the server at
	// once, and aim its error at half a second after the midpoint of the
	// two updates.
	type aim struct {
		at     time.Time
		spread time.Duration
	}
	setTimer := func(i, timeout int) error {
		errs := make(chan error, 2)
		for _, ns := range []*netns.NS{l.Router, l.Server} {
			go func() {
				_, err := l.Run(ns, "", "conntrack", "-U", "-f", f.String(), "-p", "udp",
					"-s", a.Client.String(), "-d", a.Server.String(),
					"--sport", strconv.Itoa(set.FirstPort+i), "--dport", strconv.Itoa(PortExpire),
					"--timeout", strconv.Itoa(timeout))
				errs <- err
			}()
		}
		err1, err2 := <-errs, <-errs
		return errors.Join(err1, err2)
	}
	// conntrack -U leaves alone, and then fails, an entry that already
	// shows the timeout asked for: a flow ExpireFlows made shows UDP's
	// 30 s or less, so a timeout up to 30 s is set after another one.
	for i, timeout := range set.Timeouts {
		if timeout <= 30 {
			if err := setTimer(i, 1000); err != nil {
				return c, err
			}
		}
	}
	aimAt := func(i int) (aim, error) {
		start := time.Now()
		if err := setTimer(i, set.Timeouts[i]); err != nil {
			return aim{}, err
		}
		spread := time.Since(start)
		return aim{start.Add(spread/2 + 500*time.Millisecond), spread}, nil
	}
	aims := make([]aim, len(set.Timeouts))
	for i := range set.Timeouts {
		var err error
		if aims[i], err = aimAt(i); err != nil {
			return c, err
		}
	}
	// What conntrack itself says is left (whole seconds, truncated as xt
	// truncates), asked right after each error, while the flow has about
	// its timeout − 0.5 s left: the other flows' errors do not wait for it.
	// A busy machine may run conntrack late: it must say what the flow had
	// left at some moment between the start and the end of its run.
	checks := make([]chan error, len(set.Timeouts))
	check := func(i int, aimed aim) chan error {
		ch := make(chan error, 1)
		go func() {
			from := time.Since(aimed.at)
			out, err := l.Run(l.Router, "", "conntrack", "-G", "-p", "udp",
				"-s", a.Client.String(), "-d", a.Server.String(),
				"--sport", strconv.Itoa(set.FirstPort+i), "--dport", strconv.Itoa(PortExpire))
			to := time.Since(aimed.at)
			switch {
			case err == nil:
				err = checkLeft(out, set.Timeouts[i], aimed.spread, from, to)
			case mayHaveExpired(set.Timeouts[i], aimed.spread, to):
				// A flow with less than a second left (the half-second
				// class) may be gone by the time a late conntrack runs.
				err = nil
			}
			ch <- err
		}()
		return ch
	}
	wait := func() error {
		var errs []error
		for _, ch := range checks {
			if ch != nil {
				errs = append(errs, <-ch)
			}
		}
		return errors.Join(errs...)
	}
	var worst time.Duration
	for i, a := range aims {
		// A busy machine can wake the sleeper late: then the error is not
		// sent, and the flow's timer is set again (which sends nothing) and
		// aimed at anew.
		for tries := 1; ; tries++ {
			time.Sleep(time.Until(a.at))
			if time.Since(a.at)+a.spread/2 <= 100*time.Millisecond {
				break
			}
			if tries == 5 {
				return c, errors.Join(fmt.Errorf("flow %d: woke up %v after its time %d times in a row", i, time.Since(a.at), tries), wait())
			}
			var err error
			if a, err = aimAt(i); err != nil {
				return c, errors.Join(err, wait())
			}
		}
		msg := relatedError(f, f.Addrs(), PortExpire, set.FirstPort+i)
		if err := unix.Sendto(fd, msg, 0, sockaddr(f.Addrs().Server)); err != nil {
			return c, errors.Join(fmt.Errorf("crafted error: %w", err), wait())
		}
		checks[i] = check(i, a)
		// The error left late after its time, and the timer it aims at was
		// set up to spread/2 away from the midpoint: the flow had
		// timeout − 0.5 s left, give or take off.
		off := time.Since(a.at) + a.spread/2
		if off > 200*time.Millisecond {
			return c, errors.Join(fmt.Errorf("flow %d: the crafted error is %v off the middle of a second (timers set %v apart): outside x.3–x.7 s", i, off, a.spread), wait())
		}
		worst = max(worst, off)
	}
	if err := wait(); err != nil {
		return c, err
	}
	var left []string
	for _, timeout := range set.Timeouts {
		left = append(left, fmt.Sprintf("%d.5", timeout-1))
	}
	c.Desc = fmt.Sprintf("crafted %s port unreachable %s → %s embedding each expire flow's reply, sent %s s (±%v) before the flows expire",
		icmpName(f), a.Client, a.Server, strings.Join(left, ", "), worst.Round(time.Millisecond))
	return c, nil
}

// checkLeft checks what conntrack -G printed for an expire flow (its third
// field: the whole seconds left) against the flow's timer: set to timeout
// seconds within spread/2 of half a second before the moment its error
// aimed at, and read by conntrack from from to to after that moment. The
// flow had from timeout − 0.5 s − spread/2 − to to timeout − 0.5 s +
// spread/2 − from left, give or take a tick of the jiffies at either end
// (10 ms at HZ=100); conntrack must say the whole seconds of a value there.
func checkLeft(out string, timeout int, spread, from, to time.Duration) error {
	if mayHaveExpired(timeout, spread, to) && strings.TrimSpace(out) == "" {
		return nil
	}
	const tick = 10 * time.Millisecond
	set := time.Duration(timeout)*time.Second - 500*time.Millisecond
	lo := max(set-spread/2-to-2*tick, 0) / time.Second
	hi := (set + spread/2 - from + 2*tick) / time.Second
	fields := strings.Fields(out)
	if len(fields) >= 3 {
		if got, err := strconv.ParseInt(fields[2], 10, 64); err == nil && time.Duration(got) >= lo && time.Duration(got) <= hi {
			return nil
		}
	}
	want := fmt.Sprintf("%d", lo)
	if hi != lo {
		want = fmt.Sprintf("%d to %d", lo, hi)
	}
	return fmt.Errorf("conntrack -G says %q, run %v to %v after the error's time (timers set %v apart): want %s s left",
		strings.TrimSpace(out), from.Round(time.Millisecond), to.Round(time.Millisecond), spread, want)
}

// mayHaveExpired reports whether a flow whose timer checkLeft describes
// may have run out before to: then conntrack may find no entry.
func mayHaveExpired(timeout int, spread, to time.Duration) bool {
	const tick = 10 * time.Millisecond
	return time.Duration(timeout)*time.Second-500*time.Millisecond-spread/2-to-2*tick <= 0
}

// OtherProto sends, from a raw socket of the client, one packet of IP
// protocol ProtoOther to the server, which conntrack tracks with its
// generic tracker (ports 0), and waits for the server's ICMP protocol
// unreachable (ICMPv6 parameter problem), RELATED to it.
func (l *Lab) OtherProto(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "other-proto" + f.digit(), Family: f,
		Desc: fmt.Sprintf("IP protocol %d %s → %s from a raw socket, and the server's %s back",
			ProtoOther, a.Client, a.Server, map[Family]string{IPv4: "ICMP protocol unreachable", IPv6: "ICMPv6 parameter problem"}[f]),
		States: []string{"NEW", "RELATED"}, Router: 2, Server: 1, First: both(FirstGeneric, 1)}
	proto, errType, errCode := unix.IPPROTO_ICMP, byte(3), byte(2)
	if f == IPv6 {
		proto, errType, errCode = unix.IPPROTO_ICMPV6, 4, 1
	}
	icmp, err := rawSocket(l.Client, f, proto)
	if err != nil {
		return c, err
	}
	defer unix.Close(icmp)
	fd, err := rawSocket(l.Client, f, ProtoOther)
	if err != nil {
		return c, err
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, []byte("ctmatch lab, protocol 253"), 0, sockaddr(a.Server)); err != nil {
		return c, fmt.Errorf("protocol %d: %w", ProtoOther, err)
	}
	return c, recvUntil(icmp, f, "the server's error", func(p []byte) bool {
		return len(p) >= 8 && p[0] == errType && p[1] == errCode
	})
}

// OrphanError sends, from a raw socket of the client, an ICMP (ICMPv6) port
// unreachable that embeds a datagram of a flow that never was: conntrack
// finds nothing it is related to and gives it no conntrack, so it is
// INVALID in the router and in the server.
func (l *Lab) OrphanError(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "orphan-error" + f.digit(), Family: f,
		Desc: fmt.Sprintf("a crafted %s port unreachable %s → %s about a datagram %s → %s that was never sent",
			icmpName(f), a.Client, a.Server, hostPort(a.Server, PortOrphan), hostPort(a.Client, PortOrphanSrc)),
		States: []string{"INVALID"}, Router: 1, Server: 1}
	proto := unix.IPPROTO_ICMP
	if f == IPv6 {
		proto = unix.IPPROTO_ICMPV6
	}
	fd, err := rawSocket(l.Client, f, proto)
	if err != nil {
		return c, err
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, relatedError(f, a, PortOrphan, PortOrphanSrc), 0, sockaddr(a.Server)); err != nil {
		return c, fmt.Errorf("orphan error: %w", err)
	}
	return c, nil
}

// relatedError builds an ICMP (ICMPv6) port unreachable as the client's
// kernel would send it for the server's datagram from sport to the client's
// dport: the error's header and the embedded IP and UDP headers.
func relatedError(f Family, a Addrs, sport, dport int) []byte {
	udp := []byte{byte(sport >> 8), byte(sport), byte(dport >> 8), byte(dport), 0, 12, 0, 0, 'p', 'o', 'n', 'g'}
	if f == IPv6 {
		ip := make([]byte, 40)
		ip[0] = 0x60
		ip[4], ip[5] = 0, byte(len(udp))
		ip[6], ip[7] = unix.IPPROTO_UDP, 64
		s, d := a.Server.As16(), a.Client.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		putChecksum(udp, 6, checksum(pseudoHeader(a.Server, a.Client, unix.IPPROTO_UDP, len(udp)), udp))
		// Type 1 (destination unreachable), code 4 (port unreachable); the
		// kernel fills in the checksum.
		return append(append([]byte{1, 4, 0, 0, 0, 0, 0, 0}, ip...), udp...)
	}
	ip := []byte{0x45, 0, 0, byte(20 + len(udp)), 0, 1, 0x40, 0, 64, unix.IPPROTO_UDP, 0, 0}
	s, d := a.Server.As4(), a.Client.As4()
	ip = append(append(ip, s[:]...), d[:]...)
	putChecksum(ip, 10, checksum(0, ip))
	putChecksum(udp, 6, checksum(pseudoHeader(a.Server, a.Client, unix.IPPROTO_UDP, len(udp)), udp))
	msg := append(append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, ip...), udp...)
	putChecksum(msg, 2, checksum(0, msg))
	return msg
}

// checksum adds b to the one's complement sum start and returns the folded
// sum (not yet complemented).
func checksum(start uint32, b []byte) uint32 {
	s := start
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return s
}

func putChecksum(b []byte, at int, sum uint32) {
	v := ^uint16(sum)
	b[at], b[at+1] = byte(v>>8), byte(v)
}

// pseudoHeader returns the sum of the IPv4 or IPv6 pseudo-header.
func pseudoHeader(src, dst netip.Addr, proto int, length int) uint32 {
	var b []byte
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	if src.Is4() {
		b = append(b, 0, byte(proto), byte(length>>8), byte(length))
	} else {
		b = append(b, byte(length>>24), byte(length>>16), byte(length>>8), byte(length), 0, 0, 0, byte(proto))
	}
	return checksum(0, b)
}
