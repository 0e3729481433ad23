package lab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/internal/netns"
)

// This file is the migration lab's observer: a whole ruleset is loaded into
// the lab (by the test: once with iptables-legacy-restore, once with
// ctmatch apply, each in a lab of its own), and a fixed set of probes is
// sent from the two clients and the server, all at once, each with a source
// port (echo id) and a tag of its own. One window of IOTimeout then
// collects, in the namespaces at the ends of the links (client, client2,
// server), every frame that came in: what each probe's sender got back
// (the first answer, as the effect observer names it), at which other end
// the probe itself arrived and with which addresses and ports, and, for a
// datagram, what source the listener's socket saw. Probes that the ruleset
// drops get nothing within the window, so the whole run costs one window,
// not one per probe.

// End is a namespace at the end of a link: a probe's sender or receiver.
type End uint8

// The lab's ends.
const (
	AtClient End = iota + 1
	AtClient2
	AtServer
	AtRouter // a receiver only: probes addressed to the router
)

func (e End) String() string {
	return [...]string{"?", "client", "client2", "server", "router"}[e]
}

func (l *Lab) end(e End) *netns.NS {
	switch e {
	case AtClient:
		return l.Client
	case AtClient2:
		return l.Client2
	case AtServer:
		return l.Server
	}
	return l.Router
}

// addr is the sender's own address on its link.
func (e End) addr(f Family) netip.Addr {
	a := f.Addrs()
	switch e {
	case AtClient:
		return a.Client
	case AtClient2:
		return a.Client2
	}
	return a.Server
}

// MigrationKind is what a migration probe sends.
type MigrationKind uint8

// Migration probe kinds.
const (
	MigSYN   MigrationKind = iota + 1 // a TCP SYN from a raw socket
	MigACK                            // a TCP ACK of no connection (conntrack's INVALID, with tcp_loose 0)
	MigUDP                            // a datagram from a UDP socket, which stays open for the window
	MigEcho                           // an ICMP (ICMPv6) echo request
	MigError                          // an ICMP (ICMPv6) port unreachable about a datagram never sent (INVALID)
)

// MigrationProbe is one probe: From sends it to To:Port.
type MigrationProbe struct {
	Kind MigrationKind
	From End
	To   netip.Addr
	Port uint16
}

// MigrationSrcBase is the first source port (echo id) of the probes: probe
// i sends from MigrationSrcBase+i.
const MigrationSrcBase = 45000

const (
	migMagic   = "MIGLAB"
	migSeqBase = 0x4d490000
)

func (p MigrationProbe) label(i int) string {
	src := MigrationSrcBase + i
	to := netip.AddrPortFrom(p.To, p.Port).String()
	switch p.Kind {
	case MigSYN:
		return fmt.Sprintf("%s tcp syn :%d → %s", p.From, src, to)
	case MigACK:
		return fmt.Sprintf("%s tcp ack :%d → %s", p.From, src, to)
	case MigUDP:
		return fmt.Sprintf("%s udp :%d → %s", p.From, src, to)
	case MigEcho:
		return fmt.Sprintf("%s echo id %d → %s", p.From, src, p.To)
	}
	return fmt.Sprintf("%s icmp error → %s about udp %s → :%d", p.From, p.To, to, src)
}

// The listeners of a migration run, the same whatever the ruleset: TCP
// listeners answer SYNs, UDP listeners record each tagged datagram's source
// and answer it.
var migListeners = []struct {
	at       End
	tcp, udp []uint16
}{
	{AtServer, []uint16{22, 80, 443, 139}, []uint16{53, 55, 137}},
	{AtRouter, []uint16{22}, []uint16{53}},
	{AtClient, []uint16{22}, []uint16{53}},
	{AtClient2, nil, []uint16{53}},
}

// MigrationProbes is the fixed probe set of family f: connections to open
// and closed ports of the server and of the router from both clients,
// port-forwarded ports of the router from the clients and from the server,
// datagrams to open and closed ports (whose port unreachables come back as
// related errors), echo requests, a bare ACK and an ICMP error of no
// connection (invalid), and connections from the server out to the clients
// (masqueraded by some rulesets).
func MigrationProbes(f Family) []MigrationProbe {
	a := f.Addrs()
	return []MigrationProbe{
		{MigSYN, AtClient, a.Server, 22},
		{MigSYN, AtClient, a.Server, 80},
		{MigSYN, AtClient, a.Server, 443},
		{MigSYN, AtClient, a.Server, 23},
		{MigSYN, AtClient, a.Server, 139},
		{MigSYN, AtClient, a.Server, 8443},
		{MigSYN, AtClient, a.RouterC, 22},
		{MigSYN, AtClient, a.RouterC, 23},
		{MigSYN, AtClient, a.RouterC, 8080},
		{MigACK, AtClient, a.Server, 22},
		{MigUDP, AtClient, a.Server, 53},
		{MigUDP, AtClient, a.Server, 137},
		{MigUDP, AtClient, a.Server, 9},
		{MigUDP, AtClient, a.Server, 55},
		{MigUDP, AtClient, a.RouterC, 53},
		{MigUDP, AtClient, a.RouterC, 5353},
		{MigEcho, AtClient, a.Server, 0},
		{MigEcho, AtClient, a.RouterC, 0},
		{MigError, AtClient, a.Server, 53},
		{MigSYN, AtClient2, a.Server, 22},
		{MigSYN, AtClient2, a.Server, 80},
		{MigSYN, AtClient2, a.Server, 443},
		{MigSYN, AtClient2, a.RouterC2, 8443},
		{MigSYN, AtClient2, a.RouterC2, 8080},
		{MigUDP, AtClient2, a.Server, 53},
		{MigUDP, AtClient2, a.RouterC2, 53},
		{MigUDP, AtClient2, a.Server, 9},
		{MigEcho, AtClient2, a.Server, 0},
		{MigSYN, AtServer, a.Client, 22},
		{MigSYN, AtServer, a.RouterS, 2222},
		{MigSYN, AtServer, a.RouterS, 8080},
		{MigUDP, AtServer, a.Client, 53},
		{MigUDP, AtServer, a.RouterS, 5353},
		{MigUDP, AtServer, a.Client2, 53},
		{MigEcho, AtServer, a.Client, 0},
		// Added after the first 35, so that the source ports of those stay.
		{MigUDP, AtClient, a.Server, 56},
		{MigEcho, AtClient2, a.RouterC2, 0},
		{MigACK, AtClient2, a.Server, 80},
		{MigUDP, AtServer, a.Client, 9},
		{MigSYN, AtClient2, a.RouterC2, 22},
	}
}

// capture is the frames that came into one namespace (any interface) while
// it ran.
type capture struct {
	fd     int
	mu     sync.Mutex
	frames [][]byte
	done   chan struct{}
}

func startCapture(ns *netns.NS, stop <-chan struct{}) (*capture, error) {
	fd, err := do(ns, func() (int, error) {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return -1, fmt.Errorf("packet socket: %w", err)
		}
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(fd)
			return -1, err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20); err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	})
	if err != nil {
		return nil, err
	}
	c := &capture{fd: fd, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		buf := make([]byte, 2048)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, from, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue // the timeout, to look at stop again
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			c.mu.Lock()
			c.frames = append(c.frames, bytes.Clone(buf[:n]))
			c.mu.Unlock()
		}
	}()
	return c, nil
}

// udpSeen records, per probe, the source a UDP listener's socket saw.
type udpSeen struct {
	mu   sync.Mutex
	seen map[int]string
}

// MigrationRun sends the probes of family f all at once, waits one
// IOTimeout, and returns what each did: Reply is what its sender got back
// first ("nothing" within the window); Seen lists the other ends where
// the probe itself came in, with its addresses and ports as they arrived
// ("server udp 10.2.0.1:45010 > 10.2.0.2:53"), and the source a UDP
// listener's socket saw ("app 10.2.0.1:45010"), or is "nothing". The
// router's and server's conntrack tables are flushed before the run.
func (l *Lab) MigrationRun(f Family, probes []MigrationProbe) ([]Effect, error) {
	if err := l.flushConntrack(); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	seen := &udpSeen{seen: map[int]string{}}
	var wg sync.WaitGroup
	wild := netip.IPv4Unspecified()
	if f == IPv6 {
		wild = netip.IPv6Unspecified()
	}
	for _, ls := range migListeners {
		ns := l.end(ls.at)
		for _, port := range ls.tcp {
			ln, err := do(ns, func() (net.Listener, error) {
				return net.Listen(network("tcp", f), netip.AddrPortFrom(wild, port).String())
			})
			if err != nil {
				return nil, fmt.Errorf("%s: listen tcp %d: %w", ls.at, port, err)
			}
			closers = append(closers, func() { ln.Close() })
		}
		for _, port := range ls.udp {
			conn, err := do(ns, func() (*net.UDPConn, error) {
				return net.ListenUDP(network("udp", f), net.UDPAddrFromAddrPort(netip.AddrPortFrom(wild, port)))
			})
			if err != nil {
				return nil, fmt.Errorf("%s: listen udp %d: %w", ls.at, port, err)
			}
			closers = append(closers, func() { conn.Close() })
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 64)
				for {
					n, from, err := conn.ReadFromUDPAddrPort(buf)
					if err != nil {
						return // closed
					}
					id, ok := migTag(buf[:n])
					if !ok {
						continue
					}
					seen.mu.Lock()
					if _, dup := seen.seen[id]; !dup {
						seen.seen[id] = netip.AddrPortFrom(from.Addr().Unmap(), from.Port()).String()
					}
					seen.mu.Unlock()
					conn.WriteToUDPAddrPort([]byte("answer"), from)
				}
			}()
		}
	}
	caps := map[End]*capture{}
	stopCaptures := func() {
		close(stop)
		for _, c := range caps {
			<-c.done
			unix.Close(c.fd)
		}
	}
	for _, e := range []End{AtClient, AtClient2, AtServer} {
		c, err := startCapture(l.end(e), stop)
		if err != nil {
			stopCaptures()
			return nil, err
		}
		caps[e] = c
	}
	for i, p := range probes {
		closeFn, err := l.sendMigration(f, p, i)
		if err != nil {
			stopCaptures()
			return nil, fmt.Errorf("%s: %w", p.label(i), err)
		}
		if closeFn != nil {
			closers = append(closers, closeFn)
		}
	}
	time.Sleep(IOTimeout)
	stopCaptures()
	for _, c := range closers {
		c()
	}
	closers = nil
	wg.Wait()

	out := make([]Effect, len(probes))
	for i, p := range probes {
		src := uint16(MigrationSrcBase + i)
		e := Effect{Probe: p.label(i), Reply: "nothing"}
		kind := map[MigrationKind]ProbeKind{MigSYN: ProbeTCP, MigACK: ProbeTCP, MigUDP: ProbeUDP, MigEcho: ProbeEcho, MigError: ProbeError}[p.Kind]
		for _, fr := range caps[p.From].frames {
			if s := describe(fr, f, Probe{Kind: kind, From: src, To: p.To, Port: p.Port}); s != "" {
				e.Reply = s
				break
			}
		}
		var arrived []string
		for _, at := range []End{AtClient, AtClient2, AtServer} {
			if at == p.From {
				continue
			}
			for _, fr := range caps[at].frames {
				if s := migArrival(fr, i); s != "" {
					arrived = append(arrived, at.String()+" "+s)
					break
				}
			}
		}
		if s, ok := seen.seen[i]; ok {
			arrived = append(arrived, "app "+s)
		}
		e.Seen = "nothing"
		if len(arrived) > 0 {
			e.Seen = strings.Join(arrived, ", ")
		}
		out[i] = e
	}
	return out, nil
}

// migTagBytes is the tag of probe i, carried in the payload.
func migTagBytes(i int) []byte {
	return binary.BigEndian.AppendUint16([]byte(migMagic), uint16(i))
}

// migTag finds a tag in b.
func migTag(b []byte) (int, bool) {
	at := bytes.Index(b, []byte(migMagic))
	if at < 0 || at+len(migMagic)+2 > len(b) {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(b[at+len(migMagic):])), true
}

// migArrival describes frame b when it is probe i itself (not an answer
// to it): "tcp A:P > B:Q", "udp …", "icmp T/C A > B"; else "".
func migArrival(b []byte, i int) string {
	var src, dst netip.Addr
	var proto byte
	var l4 []byte
	switch {
	case len(b) >= 20 && b[0]>>4 == 4 && len(b) >= int(b[0]&0x0f)*4:
		src, dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		proto, l4 = b[9], b[int(b[0]&0x0f)*4:]
	case len(b) >= 40 && b[0]>>4 == 6:
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		proto, l4 = b[6], b[40:]
	default:
		return ""
	}
	switch proto {
	case unix.IPPROTO_TCP:
		if len(l4) < 20 || binary.BigEndian.Uint32(l4[4:]) != migSeqBase+uint32(i)*16 {
			return ""
		}
		kind := "tcp ack"
		if l4[13]&0x02 != 0 {
			kind = "tcp syn"
		}
		return fmt.Sprintf("%s %s > %s", kind, netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4)), netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:])))
	case unix.IPPROTO_UDP:
		if id, ok := migTag(l4); !ok || id != i || len(l4) < 8 {
			return ""
		}
		return fmt.Sprintf("udp %s > %s", netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4)), netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:])))
	case unix.IPPROTO_ICMP, unix.IPPROTO_ICMPV6:
		if len(l4) < 8 {
			return ""
		}
		// Only the probe itself: an echo request, or the probe's own error
		// (type 3 or 1, whose quoted datagram carries the tag). An error
		// that quotes another probe is that probe's answer, which goes to
		// its sender and is never counted here.
		if t := l4[0]; t != 8 && t != 128 && t != 3 && t != 1 {
			return ""
		}
		if id, ok := migTag(l4[8:]); !ok || id != i {
			return ""
		}
		name := "icmp"
		if proto == unix.IPPROTO_ICMPV6 {
			name = "icmpv6"
		}
		return fmt.Sprintf("%s %d/%d %s > %s", name, l4[0], l4[1], src, dst)
	}
	return ""
}

// sendMigration sends probe i; for a datagram it returns what closes its
// socket, which stays open for the window so that the answer meets a
// socket.
func (l *Lab) sendMigration(f Family, p MigrationProbe, i int) (func(), error) {
	ns := l.end(p.From)
	self := p.From.addr(f)
	src := uint16(MigrationSrcBase + i)
	tag := migTagBytes(i)
	switch p.Kind {
	case MigSYN, MigACK:
		fd, err := rawSocket(ns, f, unix.IPPROTO_TCP)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		tcp := make([]byte, 20)
		binary.BigEndian.PutUint16(tcp[0:], src)
		binary.BigEndian.PutUint16(tcp[2:], p.Port)
		binary.BigEndian.PutUint32(tcp[4:], migSeqBase+uint32(i)*16)
		tcp[12] = 5 << 4
		tcp[13] = 0x02 // SYN
		if p.Kind == MigACK {
			binary.BigEndian.PutUint32(tcp[8:], 0x0a0b0c0d)
			tcp[13] = 0x10 // ACK
		}
		binary.BigEndian.PutUint16(tcp[14:], 65535)
		putChecksum(tcp, 16, checksum(pseudoHeader(self, p.To, unix.IPPROTO_TCP, len(tcp)), tcp))
		return nil, unix.Sendto(fd, tcp, 0, sockaddr(p.To))
	case MigUDP:
		conn, err := do(ns, func() (*net.UDPConn, error) {
			return net.ListenUDP(network("udp", f), net.UDPAddrFromAddrPort(netip.AddrPortFrom(self, src)))
		})
		if err != nil {
			return nil, err
		}
		if _, err := conn.WriteToUDPAddrPort(tag, netip.AddrPortFrom(p.To, p.Port)); err != nil {
			conn.Close()
			return nil, err
		}
		return func() { conn.Close() }, nil
	case MigEcho:
		proto, req := unix.IPPROTO_ICMP, byte(8)
		if f == IPv6 {
			proto, req = unix.IPPROTO_ICMPV6, 128
		}
		fd, err := rawSocket(ns, f, proto)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		msg := append([]byte{req, 0, 0, 0, byte(src >> 8), byte(src), 0, 1}, tag...)
		if f == IPv4 {
			putChecksum(msg, 2, checksum(0, msg))
		}
		return nil, unix.Sendto(fd, msg, 0, sockaddr(p.To))
	case MigError:
		proto := unix.IPPROTO_ICMP
		if f == IPv6 {
			proto = unix.IPPROTO_ICMPV6
		}
		fd, err := rawSocket(ns, f, proto)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		return nil, unix.Sendto(fd, migError(f, p.To, self, p.Port, src, tag), 0, sockaddr(p.To))
	}
	return nil, errors.New("unknown probe kind")
}

// migError builds an ICMP (ICMPv6) port unreachable about a datagram
// from:sport → to:dport carrying tag, as to's kernel would send it.
func migError(f Family, from, to netip.Addr, sport, dport uint16, tag []byte) []byte {
	udp := append([]byte{byte(sport >> 8), byte(sport), byte(dport >> 8), byte(dport), 0, byte(8 + len(tag)), 0, 0}, tag...)
	putChecksum(udp, 6, checksum(pseudoHeader(from, to, unix.IPPROTO_UDP, len(udp)), udp))
	if f == IPv6 {
		ip := make([]byte, 40)
		ip[0] = 0x60
		ip[5] = byte(len(udp))
		ip[6], ip[7] = unix.IPPROTO_UDP, 64
		s, d := from.As16(), to.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		// The kernel fills in the ICMPv6 checksum.
		return append(append([]byte{1, 4, 0, 0, 0, 0, 0, 0}, ip...), udp...)
	}
	ip := []byte{0x45, 0, 0, byte(20 + len(udp)), 0, 1, 0x40, 0, 64, unix.IPPROTO_UDP, 0, 0}
	s, d := from.As4(), to.As4()
	ip = append(append(ip, s[:]...), d[:]...)
	putChecksum(ip, 10, checksum(0, ip))
	msg := append(append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, ip...), udp...)
	putChecksum(msg, 2, checksum(0, msg))
	return msg
}
