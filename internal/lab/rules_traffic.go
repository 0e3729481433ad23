package lab

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/internal/netns"
)

// The classes of whole rules: packets whose headers, not their conntrack,
// tell the rules apart (ports, TCP flags, ICMP types and codes, lengths,
// hop limits, fragments, an AH header, a second input interface, marks, a
// burst). Most are crafted on raw sockets of the client; none needs a
// conntrack, so they run in either lab (NewStateless shows fragments as
// sent). Each has ports of its own, apart from Scenario's.
const (
	PortRuleSrc     = 40020 // the client port of the port class's TCP SYNs …
	PortRuleUDP     = 8020  // … and the server port of its datagrams
	PortFlags       = 8021  // the TCP flags class's server port …
	PortFlagsSrc    = 40021 // … and client port
	PortFrag        = 8022  // the fragments' TCP destination port …
	PortFragSrc     = 40022 // … and source port
	PortAH          = 8023  // the AH class's TCP destination port …
	PortAHSrc       = 40023 // … and source port
	PortMark        = 8024  // the mark class's server port …
	PortMarkSrc     = 40024 // … and client port
	PortLength      = 8025  // the length class's server port …
	PortLengthSrc   = 40025 // … and client port
	PortTTL         = 8026  // the hop limit class's server port …
	PortTTLSrc      = 40026 // … and client port
	PortBurst       = 8027  // the burst's server port …
	PortBurstSrc    = 40027 // … and client port
	PortClient2     = 8028  // the second client's server port …
	PortClient2Src  = 40028 // … and client port
	PortLocalOut    = 8031  // the local-out class's server port; its client ports are PortLocalOutSrc…+2
	PortLocalOutSrc = 40031
	PortRouter      = 8032 // the router-local class's port, on the router's addresses and groups
	PortRouterSrc   = 40034
	// LocalUID and LocalGID are the user and group the local-out class's
	// second and third sockets belong to (their creator's fsuid, fsgid).
	LocalUID    = 1000
	LocalGID    = 1000
	EchoIDTypes = 0x4321

	// The marks the lab sets before the rules (at prerouting's mangle
	// priority, in the router and the server) on the mark class's
	// datagrams, on their replies, and, in a lab with conntrack, on their
	// conntrack.
	MarkClass      = "0x2a"
	MarkClassReply = "0x2a00"
	CtMarkClass    = "0x7"
)

// LabPorts are ports of the lab's own that the port class always sends to
// and from, beside the ports a test asks for: the ends of the port range,
// the boundaries of the privileged ports, and ports either side of them.
var LabPorts = []uint16{0, 1, 2, 21, 22, 23, 53, 79, 80, 81, 443, 1023, 1024, 1025, 8080, 65534, 65535}

// RuleScenario returns the phases of the whole-rule classes, for each
// family in order; ports are the ports the port class adds to LabPorts.
// They are meant for the lab without conntrack (NewStateless): in a lab
// with conntrack the server's RSTs to the port and TCP flag classes' SYNs
// set TCP's CLOSE timeout (10 s), which is not among PacketTimeouts, so a
// --ctexpire case there may race (ExpireRaces); SweepRuleScenario is the
// part that runs with conntrack matches.
func RuleScenario(ports []uint16, families ...Family) []Phase {
	var ps []Phase
	for _, f := range families {
		f := f
		s := f.digit()
		ps = append(ps,
			Phase{"ports" + s, func(l *Lab) (Class, error) { return l.Ports(f, ports) }},
			Phase{"tcp-flags" + s, func(l *Lab) (Class, error) { return l.TCPFlags(f) }},
			Phase{"icmp-types" + s, func(l *Lab) (Class, error) { return l.ICMPTypes(f) }},
			Phase{"lengths" + s, func(l *Lab) (Class, error) { return l.Lengths(f) }},
			Phase{"hop-limits" + s, func(l *Lab) (Class, error) { return l.HopLimits(f) }},
			Phase{"fragments" + s, func(l *Lab) (Class, error) { return l.Fragments(f) }},
			Phase{"ah" + s, func(l *Lab) (Class, error) { return l.AH(f) }},
			Phase{"client2" + s, func(l *Lab) (Class, error) { return l.SecondClient(f) }},
			Phase{"mark" + s, func(l *Lab) (Class, error) { return l.Mark(f) }},
			Phase{"burst" + s, func(l *Lab) (Class, error) { return l.Burst(f) }},
		)
	}
	return ps
}

// LocalScenario returns the phases of the classes of locally made and
// locally delivered packets, for each family in order: the local-out class
// (sockets of other users) and the router-local class (the router's own
// address, broadcast, multicast), for a lab whose Points hold ClientOut
// and RouterIn.
func LocalScenario(families ...Family) []Phase {
	var ps []Phase
	for _, f := range families {
		f := f
		s := f.digit()
		ps = append(ps,
			Phase{"local-out" + s, func(l *Lab) (Class, error) { return l.LocalOut(f) }},
			Phase{"router-local" + s, func(l *Lab) (Class, error) { return l.RouterLocal(f) }},
		)
	}
	return ps
}

// SweepRuleScenario returns the phases of the whole-rule classes whose
// packets set no timeout beyond PacketTimeouts, for the lab with conntrack:
// the second client, the marks, the hop limits.
func SweepRuleScenario(families ...Family) []Phase {
	var ps []Phase
	for _, f := range families {
		f := f
		s := f.digit()
		ps = append(ps,
			Phase{"hop-limits" + s, func(l *Lab) (Class, error) { return l.HopLimits(f) }},
			Phase{"client2" + s, func(l *Lab) (Class, error) { return l.SecondClient(f) }},
			Phase{"mark" + s, func(l *Lab) (Class, error) { return l.Mark(f) }},
		)
	}
	return ps
}

// sendRaw sends each message on a raw socket of protocol proto in the
// client (the kernel writes the IP header), to the server.
func (l *Lab) sendRaw(f Family, proto int, msgs [][]byte) error {
	fd, err := rawSocket(l.Client, f, proto)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, m := range msgs {
		if err := unix.Sendto(fd, m, 0, sockaddr(f.Addrs().Server)); err != nil {
			return fmt.Errorf("protocol %d: %w", proto, err)
		}
	}
	return nil
}

// tcpSegment is a TCP header from sport to dport with the given flags
// (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20), its
// checksum filled in for the client and the server of family f.
func tcpSegment(f Family, sport, dport int, flags byte) []byte {
	a := f.Addrs()
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], uint16(sport))
	binary.BigEndian.PutUint16(h[2:], uint16(dport))
	binary.BigEndian.PutUint32(h[4:], 0x1000)
	if flags&0x10 != 0 {
		binary.BigEndian.PutUint32(h[8:], 0x2000)
	}
	h[12] = 5 << 4
	h[13] = flags
	binary.BigEndian.PutUint16(h[14:], 1024)
	putChecksum(h, 16, checksum(pseudoHeader(a.Client, a.Server, unix.IPPROTO_TCP, len(h)), h))
	return h
}

// udpDatagram is a UDP header and payload from sport to dport, its
// checksum filled in.
func udpDatagram(f Family, sport, dport int, payload []byte) []byte {
	a := f.Addrs()
	h := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(h[0:], uint16(sport))
	binary.BigEndian.PutUint16(h[2:], uint16(dport))
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	h = append(h, payload...)
	putChecksum(h, 6, checksum(pseudoHeader(a.Client, a.Server, unix.IPPROTO_UDP, len(h)), h))
	return h
}

// Ports sends, from raw sockets of the client to the server, for each
// port p of LabPorts and ports: a TCP SYN, an SCTP INIT and a DCCP
// Request from PortRuleSrc to p and a UDP datagram from p to PortRuleUDP.
// The server answers each SYN with a RST and each datagram with a port
// unreachable; it drops the INITs and Requests after its rules (whatever
// SCTP and DCCP support its kernel has).
func (l *Lab) Ports(f Family, ports []uint16) (Class, error) {
	all := slices.Concat(LabPorts, ports)
	slices.Sort(all)
	all = slices.Compact(all)
	a := f.Addrs()
	c := Class{Name: "ports" + f.digit(), Family: f,
		Desc: fmt.Sprintf("TCP SYNs, SCTP INITs and DCCP Requests %s → %s:P and UDP %s:P → %s from raw sockets, and the server's RSTs and port unreachables, for %d ports P (%s)",
			hostPort(a.Client, PortRuleSrc), a.Server, a.Client, hostPort(a.Server, PortRuleUDP), len(all), portList(all)),
		States: []string{"NEW", "INVALID", "RELATED"}, Router: 6 * len(all), Server: 4 * len(all),
		First: FirstPackets{Router: slices.Concat(slices.Repeat([]uint32{FirstTCP}, len(all)), slices.Repeat([]uint32{FirstUDP}, len(all))),
			Server: slices.Concat(slices.Repeat([]uint32{FirstTCP}, len(all)), slices.Repeat([]uint32{FirstUDP}, len(all)))}}
	var syns, dgrams, inits, requests [][]byte
	for _, p := range all {
		syns = append(syns, tcpSegment(f, PortRuleSrc, int(p), 0x02))
		dgrams = append(dgrams, udpDatagram(f, int(p), PortRuleUDP, []byte("ctmatch lab ports")))
		inits = append(inits, sctpInit(PortRuleSrc, int(p)))
		requests = append(requests, dccpRequest(PortRuleSrc, int(p)))
	}
	if err := l.sendRaw(f, unix.IPPROTO_DCCP, requests); err != nil {
		return c, err
	}
	if err := l.sendRaw(f, unix.IPPROTO_TCP, syns); err != nil {
		return c, err
	}
	if err := l.sendRaw(f, unix.IPPROTO_SCTP, inits); err != nil {
		return c, err
	}
	return c, l.sendRaw(f, unix.IPPROTO_UDP, dgrams)
}

// sctpInit is an SCTP packet from sport to dport holding an INIT chunk,
// its CRC32c checksum filled in as Linux writes it (little-endian).
func sctpInit(sport, dport int) []byte {
	p := make([]byte, 12, 32)
	binary.BigEndian.PutUint16(p[0:], uint16(sport))
	binary.BigEndian.PutUint16(p[2:], uint16(dport))
	// The INIT chunk: type 1, flags 0, length 20; initiate tag, a_rwnd,
	// outbound and inbound streams, initial TSN.
	chunk := make([]byte, 20)
	chunk[0] = 1
	binary.BigEndian.PutUint16(chunk[2:], 20)
	binary.BigEndian.PutUint32(chunk[4:], 0x0c7c7c7c)
	binary.BigEndian.PutUint32(chunk[8:], 65536)
	binary.BigEndian.PutUint16(chunk[12:], 1)
	binary.BigEndian.PutUint16(chunk[14:], 1)
	binary.BigEndian.PutUint32(chunk[16:], 1)
	p = append(p, chunk...)
	binary.LittleEndian.PutUint32(p[8:], crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)))
	return p
}

// dccpRequest is a DCCP-Request from sport to dport: the generic header
// with 48-bit sequence numbers (16 bytes) and the service code, 20 bytes
// (data offset 5). Its checksum is left zero: neither xt_dccp nor nft's
// th dport reads it.
func dccpRequest(sport, dport int) []byte {
	p := make([]byte, 20)
	binary.BigEndian.PutUint16(p[0:], uint16(sport))
	binary.BigEndian.PutUint16(p[2:], uint16(dport))
	p[4] = 5                               // data offset, in 32-bit words
	p[8] = 0<<1 | 1                        // type 0 (Request), X: extended sequence numbers
	binary.BigEndian.PutUint32(p[12:], 1)  // sequence number (low bits)
	binary.BigEndian.PutUint32(p[16:], 42) // service code
	return p
}

func portList(ps []uint16) string {
	var s []string
	for _, p := range ps {
		s = append(s, strconv.Itoa(int(p)))
	}
	if len(s) > 12 {
		s = append(s[:12], "…")
	}
	return strings.Join(s, ",")
}

// TCPFlagCombos are the TCP class's flag combinations, by name.
var TCPFlagCombos = []struct {
	Name  string
	Flags byte
}{
	{"SYN", 0x02}, {"SYN,ACK", 0x12}, {"ACK", 0x10}, {"FIN", 0x01}, {"FIN,ACK", 0x11}, {"RST", 0x04},
	{"RST,ACK", 0x14}, {"PSH,ACK", 0x18}, {"XMAS", 0x29}, {"NULL", 0x00}, {"SYN,FIN", 0x03}, {"SYN,RST", 0x06},
	{"ALL", 0x3f},
}

// TCPFlags sends, from a raw socket of the client, one segment of each of
// TCPFlagCombos from PortFlagsSrc to the server's PortFlags (closed): the
// server answers some with a RST.
func (l *Lab) TCPFlags(f Family) (Class, error) {
	a := f.Addrs()
	var names []string
	var segs [][]byte
	for _, fc := range TCPFlagCombos {
		names = append(names, fc.Name)
		segs = append(segs, tcpSegment(f, PortFlagsSrc, PortFlags, fc.Flags))
	}
	c := Class{Name: "tcp-flags" + f.digit(), Family: f,
		Desc: fmt.Sprintf("TCP segments %s → %s from a raw socket with the flags %s, and the server's RSTs",
			hostPort(a.Client, PortFlagsSrc), hostPort(a.Server, PortFlags), strings.Join(names, " ")),
		States: []string{"INVALID", "NEW"}, Router: -1, Server: len(segs), First: both(FirstTCP, 1)}
	return c, l.sendRaw(f, unix.IPPROTO_TCP, segs)
}

// ICMPTypeCodes are the ICMP and ICMPv6 messages of the icmp-types class,
// as {type, code}.
var ICMPTypeCodes = map[Family][][2]byte{
	IPv4: {{0, 0}, {8, 0}, {3, 0}, {3, 1}, {3, 3}, {3, 4}, {3, 13}, {4, 0}, {5, 1}, {11, 0}, {11, 1}, {12, 0}, {13, 0}, {14, 0}, {8, 1}},
	IPv6: {{1, 0}, {1, 4}, {2, 0}, {3, 0}, {3, 1}, {4, 0}, {4, 1}, {128, 0}, {129, 0}, {130, 0}, {135, 0}, {136, 0}, {128, 1}},
}

// ICMPTypes sends, from a raw socket of the client, one message of each of
// ICMPTypeCodes[f] to the server: 8 bytes of header (identifier
// EchoIDTypes) and the 28 bytes of an IPv4 and UDP header that errors
// carry. The server answers the echo requests.
func (l *Lab) ICMPTypes(f Family) (Class, error) {
	a := f.Addrs()
	proto := unix.IPPROTO_ICMP
	if f == IPv6 {
		proto = unix.IPPROTO_ICMPV6
	}
	var msgs [][]byte
	var names []string
	for _, tc := range ICMPTypeCodes[f] {
		m := []byte{tc[0], tc[1], 0, 0, EchoIDTypes >> 8, EchoIDTypes & 0xff, 0, 1}
		m = append(m, 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 2, 0, 2, 10, 1, 0, 2, 0x1f, 0x40, 0x9c, 0x40, 0, 8, 0, 0)
		if f == IPv4 {
			putChecksum(m, 2, checksum(0, m))
		}
		msgs = append(msgs, m)
		names = append(names, fmt.Sprintf("%d/%d", tc[0], tc[1]))
	}
	c := Class{Name: "icmp-types" + f.digit(), Family: f,
		Desc: fmt.Sprintf("%s messages %s → %s from a raw socket, of type/code %s, and the server's answers",
			icmpName(f), a.Client, a.Server, strings.Join(names, " ")),
		States: []string{"NEW", "INVALID"}, Router: -1, Server: len(msgs)}
	return c, l.sendRaw(f, proto, msgs)
}

// LengthPayloads are the UDP payload sizes of the length class.
var LengthPayloads = []int{0, 1, 12, 100, 500, 1000, 1400}

// Lengths sends, from a raw socket of the client, UDP datagrams from
// PortLengthSrc to the server's PortLength (closed) with LengthPayloads
// bytes of payload: IP packets of 28 + n bytes (48 + n for IPv6).
func (l *Lab) Lengths(f Family) (Class, error) {
	a := f.Addrs()
	var msgs [][]byte
	var sizes []string
	hdr := 28
	if f == IPv6 {
		hdr = 48
	}
	for _, n := range LengthPayloads {
		msgs = append(msgs, udpDatagram(f, PortLengthSrc, PortLength, make([]byte, n)))
		sizes = append(sizes, strconv.Itoa(hdr+n))
	}
	c := Class{Name: "lengths" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s → %s from a raw socket, IP packets of %s bytes, and the server's port unreachables",
			hostPort(a.Client, PortLengthSrc), hostPort(a.Server, PortLength), strings.Join(sizes, ", ")),
		States: []string{"NEW", "RELATED"}, Router: 2 * len(msgs), Server: len(msgs), First: both(FirstUDP, 1)}
	return c, l.sendRaw(f, unix.IPPROTO_UDP, msgs)
}

// HopLimitsSent are the TTLs (hop limits) the hop limit class sends with:
// the router's forward hook and the server see one less.
var HopLimitsSent = []int{2, 3, 6, 64, 65, 128, 255}

// HopLimits sends, from a raw socket of the client, a UDP datagram from
// PortTTLSrc to the server's PortTTL (closed) with each of HopLimitsSent.
func (l *Lab) HopLimits(f Family) (Class, error) {
	a := f.Addrs()
	var sent []string
	fd, err := rawSocket(l.Client, f, unix.IPPROTO_UDP)
	if err != nil {
		return Class{}, err
	}
	defer unix.Close(fd)
	for _, h := range HopLimitsSent {
		sent = append(sent, strconv.Itoa(h))
		if f == IPv6 {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, h)
		} else {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, h)
		}
		if err != nil {
			return Class{}, err
		}
		if err := unix.Sendto(fd, udpDatagram(f, PortTTLSrc, PortTTL, []byte("ttl")), 0, sockaddr(a.Server)); err != nil {
			return Class{}, err
		}
	}
	c := Class{Name: "hop-limits" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s → %s from a raw socket sent with TTL (hop limit) %s, and the server's port unreachables",
			hostPort(a.Client, PortTTLSrc), hostPort(a.Server, PortTTL), strings.Join(sent, ", ")),
		States: []string{"NEW", "RELATED"}, Router: 2 * len(HopLimitsSent), Server: len(HopLimitsSent), First: both(FirstUDP, 1)}
	return c, nil
}

// ipv4Packet is an IPv4 header from the client to the server of protocol
// proto, identification id, fragment offset off (in 8-byte units) and
// more-fragments flag, before payload.
func ipv4Packet(proto byte, id uint16, off uint16, more bool, payload []byte) []byte {
	a := IPv4.Addrs()
	h := make([]byte, 20)
	h[0], h[8], h[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:], id)
	if more {
		off |= 1 << 13
	}
	binary.BigEndian.PutUint16(h[6:], off)
	s, d := a.Client.As4(), a.Server.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	putChecksum(h, 10, checksum(0, h))
	return append(h, payload...)
}

// ipv6Packet is an IPv6 header from the client to the server with next
// header next before payload.
func ipv6Packet(next byte, payload []byte) []byte {
	a := IPv6.Addrs()
	h := make([]byte, 40)
	h[0] = 6 << 4
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = next, 64
	s, d := a.Client.As16(), a.Server.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

// fragHeader is an IPv6 fragment header before a header of protocol next,
// at offset off (8-byte units), with the more-fragments flag and
// identification id.
func fragHeader(next byte, off uint16, more bool, id uint32) []byte {
	h := make([]byte, 8)
	h[0] = next
	fo := off << 3
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(h[2:], fo)
	binary.BigEndian.PutUint32(h[4:], id)
	return h
}

// sendIPRaw sends whole IP packets (header included) from the client.
func (l *Lab) sendIPRaw(f Family, pkts [][]byte) error {
	fd, err := rawSocket(l.Client, f, unix.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, p := range pkts {
		if err := unix.Sendto(fd, p, 0, sockaddr(f.Addrs().Server)); err != nil {
			return fmt.Errorf("raw IP packet: %w", err)
		}
	}
	return nil
}

// Fragments sends, from an IPPROTO_RAW socket of the client, crafted TCP
// fragments from PortFragSrc to the server's PortFrag: a first fragment
// (the TCP header and 12 bytes) and the last one that completes it; a lone
// non-first fragment (offset 24 bytes) whose data is a TCP header to
// PortFrag; and a lone non-first fragment whose data starts with 4 zero
// bytes (ports 0); for IPv4 a lone non-first AH fragment and a lone
// non-first ICMP fragment, for IPv6 a lone non-first ICMPv6 fragment, the
// ICMP ones holding an echo request. In the lab without conntrack the
// router's forward hook sees each as sent; the server reassembles the IPv4
// pair before its input hook (and holds the lone ones), while IPv6 reaches
// its input hook fragment by fragment.
func (l *Lab) Fragments(f Family) (Class, error) {
	a := f.Addrs()
	seg := tcpSegment(f, PortFragSrc, PortFrag, 0x02)
	first := append(slices.Clone(seg), make([]byte, 12)...)
	last := make([]byte, 8)
	zero := make([]byte, 20)
	// The data of a lone non-first AH fragment that reads as an AH header
	// of SPI FragAHSPI: what a rule reading the AH header of every
	// fragment (ah spi, without the fragment test) matches, and xt's ah
	// match does not (IPv4 only).
	ahLike := make([]byte, 24)
	ahLike[0], ahLike[1] = unix.IPPROTO_TCP, 4
	binary.BigEndian.PutUint32(ahLike[4:], FragAHSPI)
	echo4 := []byte{8, 0, 0, 0, 0x22, 0x05, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	echo6 := []byte{128, 0, 0, 0, 0x22, 0x04, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	var pkts [][]byte
	if f == IPv4 {
		pkts = [][]byte{
			ipv4Packet(unix.IPPROTO_TCP, 0x2201, 0, true, first),
			ipv4Packet(unix.IPPROTO_TCP, 0x2201, 4, false, last),
			ipv4Packet(unix.IPPROTO_TCP, 0x2202, 3, false, seg),
			ipv4Packet(unix.IPPROTO_TCP, 0x2203, 3, false, zero),
			ipv4Packet(unix.IPPROTO_AH, 0x2204, 3, false, ahLike),
			// A lone non-first ICMP fragment whose data reads as an
			// echo request: nft's "icmp type" reads it, the icmp match
			// does not look at such a fragment.
			ipv4Packet(unix.IPPROTO_ICMP, 0x2205, 3, false, echo4),
		}
	} else {
		pkts = [][]byte{
			ipv6Packet(44, append(fragHeader(unix.IPPROTO_TCP, 0, true, 0x2201), first...)),
			ipv6Packet(44, append(fragHeader(unix.IPPROTO_TCP, 4, false, 0x2201), last...)),
			ipv6Packet(44, append(fragHeader(unix.IPPROTO_TCP, 3, false, 0x2202), seg...)),
			ipv6Packet(44, append(fragHeader(unix.IPPROTO_TCP, 3, false, 0x2203), zero...)),
			// A lone non-first ICMPv6 fragment holding an echo request:
			// nft's transport offset of such a fragment is 0, so
			// "icmpv6 type" reads the IPv6 header's first byte (0x60),
			// where "icmpv6 type != 128" holds and ip6tables' icmp6 match
			// does not.
			ipv6Packet(44, append(fragHeader(unix.IPPROTO_ICMPV6, 3, false, 0x2204), echo6...)),
		}
	}
	c := Class{Name: "fragments" + f.digit(), Family: f,
		Desc: fmt.Sprintf("crafted TCP fragments %s → %s: a first and a last fragment of one segment, a lone non-first fragment holding a TCP header, one holding zeros%s",
			hostPort(a.Client, PortFragSrc), hostPort(a.Server, PortFrag), map[Family]string{
				IPv4: fmt.Sprintf(", a lone non-first AH fragment holding an AH header of SPI %d, and a lone non-first ICMP fragment holding an echo request", FragAHSPI),
				IPv6: ", and a lone non-first ICMPv6 fragment holding an echo request"}[f]),
		States: []string{"INVALID", "NEW"}, Router: len(pkts), Server: -1}
	return c, l.sendIPRaw(f, pkts)
}

// FragAHSPI is the SPI the IPv4 fragment class's lone AH fragment holds
// where an AH header's would be.
const FragAHSPI = 500

// AH sends, from a raw socket of protocol AH (51) of the client, a packet
// whose authentication header (24 bytes, an SPI nobody has) comes before
// a TCP SYN from PortAHSrc to the server's PortAH, and one before a UDP
// datagram. ip6tables' -p finds the TCP (UDP) header after the AH
// (ipv6_find_hdr without IP6_FH_F_AUTH); nft's meta l4proto stops at the
// AH; in IPv4 both read the header's protocol field, 51. The server drops
// them after its rules (the lab's labah table), answering none.
func (l *Lab) AH(f Family) (Class, error) {
	a := f.Addrs()
	ah := func(next byte, body []byte) []byte {
		h := make([]byte, 24)
		h[0], h[1] = next, 4 // 4 means (4+2)×4 = 24 bytes
		binary.BigEndian.PutUint32(h[4:], 0x00c7c7c7)
		binary.BigEndian.PutUint32(h[8:], 1)
		return append(h, body...)
	}
	msgs := [][]byte{
		ah(unix.IPPROTO_TCP, tcpSegment(f, PortAHSrc, PortAH, 0x02)),
		ah(unix.IPPROTO_UDP, udpDatagram(f, PortAHSrc, PortAH, []byte("ah"))),
	}
	c := Class{Name: "ah" + f.digit(), Family: f,
		Desc: fmt.Sprintf("an AH header before a TCP SYN and before a UDP datagram %s → %s, from a raw socket (the server drops them after the rules)",
			hostPort(a.Client, PortAHSrc), hostPort(a.Server, PortAH)),
		States: []string{"NEW"}, Router: 2, Server: 2}
	return c, l.sendRaw(f, unix.IPPROTO_AH, msgs)
}

// SecondClient sends one UDP datagram from the second client (through the
// router's IfaceClient2) to the server's PortClient2, and one back.
func (l *Lab) SecondClient(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "client2" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s → %s through the router's %s, one datagram each way",
			hostPort(a.Client2, PortClient2Src), hostPort(a.Server, PortClient2), IfaceClient2),
		States: []string{"NEW", "ESTABLISHED"}, Router: 2, Server: 1, First: both(FirstUDP, 1)}
	return c, l.udpFrom(l.Client2, f, netip.AddrPortFrom(a.Client2, PortClient2Src), netip.AddrPortFrom(a.Server, PortClient2))
}

// Mark is the UDP exchange on PortMark, whose datagrams the router and the
// server mark (MarkClass, MarkClassReply; CtMarkClass on the conntrack in
// the lab with conntrack) before the rules see them.
func (l *Lab) Mark(f Family) (Class, error) {
	a := f.Addrs()
	ct := ""
	if !l.Stateless {
		ct = ", ct mark " + CtMarkClass
	}
	c := Class{Name: "mark" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s → %s, one datagram each way, marked %s (the reply %s%s) before the rules",
			hostPort(a.Client, PortMarkSrc), hostPort(a.Server, PortMark), MarkClass, MarkClassReply, ct),
		States: []string{"NEW", "ESTABLISHED"}, Router: 2, Server: 1, First: both(FirstUDP, 1)}
	srv := netip.AddrPortFrom(a.Server, PortMark)
	return c, l.udpExchange(f, PortMarkSrc, srv, srv)
}

// BurstSize is the number of datagrams of the burst class.
const BurstSize = 30

// Burst sends BurstSize UDP datagrams at once from a raw socket of the
// client to the server's PortBurst (closed).
func (l *Lab) Burst(f Family) (Class, error) {
	a := f.Addrs()
	var msgs [][]byte
	for range BurstSize {
		msgs = append(msgs, udpDatagram(f, PortBurstSrc, PortBurst, []byte("burst")))
	}
	c := Class{Name: "burst" + f.digit(), Family: f,
		Desc: fmt.Sprintf("%d UDP datagrams %s → %s at once from a raw socket, and the server's port unreachables",
			BurstSize, hostPort(a.Client, PortBurstSrc), hostPort(a.Server, PortBurst)),
		States: []string{"NEW", "RELATED"}, Router: 2 * BurstSize, Server: BurstSize, First: both(FirstUDP, 1)}
	return c, l.sendRaw(f, unix.IPPROTO_UDP, msgs)
}

// udpFrom sends one datagram from the namespace ns (from src) to dst,
// where the server listens, and one back.
func (l *Lab) udpFrom(ns *netns.NS, f Family, src, dst netip.AddrPort) error {
	srv, err := do(l.Server, func() (*net.UDPConn, error) {
		return net.ListenUDP(network("udp", f), net.UDPAddrFromAddrPort(dst))
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	cl, err := do(ns, func() (*net.UDPConn, error) {
		return net.DialUDP(network("udp", f), net.UDPAddrFromAddrPort(src), net.UDPAddrFromAddrPort(dst))
	})
	if err != nil {
		return err
	}
	defer cl.Close()
	srv.SetDeadline(time.Now().Add(IOTimeout))
	cl.SetDeadline(time.Now().Add(IOTimeout))
	if _, err := cl.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, from, err := srv.ReadFromUDPAddrPort(buf)
	if err != nil {
		return fmt.Errorf("server read: %w", err)
	}
	if _, err := srv.WriteToUDPAddrPort(buf[:n], from); err != nil {
		return err
	}
	if _, err := cl.Read(buf); err != nil {
		return fmt.Errorf("client read: %w", err)
	}
	return nil
}

// PortShort is the destination port of the truncated packets of
// HotdropScenario (in the bytes that are there), PortShortSrc their source.
const (
	PortShort    = 8030
	PortShortSrc = 40030
)

// HotdropScenario returns the phases of the truncated packets that make an
// xt match drop the packet (hotdrop) where an nft rule only does or does
// not match: each class one packet from a raw socket of the client to
// the server, so that a run with one case measures what that case's xt
// rule does to it. IPv4: a TCP header cut to 10 bytes (ports and sequence
// number there), a UDP header cut to 6 bytes, an ICMP echo request cut to
// 4 bytes, and a TCP fragment at offset 1 (8 bytes: the flag overwrite
// xt_tcpudp refuses). IPv6: the same three cut headers, and a packet whose
// destination options header is cut to its first byte (ipv6_find_hdr
// fails). (A header that only claims more bytes than follow is read past:
// ipv6_find_hdr returns the next header's number at an offset beyond the
// packet.)
func HotdropScenario(f Family) []Phase {
	s := f.digit()
	ps := []Phase{
		{"short-tcp" + s, func(l *Lab) (Class, error) {
			return l.truncated(f, "short-tcp", "a TCP header cut to 10 bytes", unix.IPPROTO_TCP, tcpSegment(f, PortShortSrc, PortShort, 0x02)[:10])
		}},
		{"short-udp" + s, func(l *Lab) (Class, error) {
			return l.truncated(f, "short-udp", "a UDP header cut to 6 bytes", unix.IPPROTO_UDP, udpDatagram(f, PortShortSrc, PortShort, nil)[:6])
		}},
		{"short-icmp" + s, func(l *Lab) (Class, error) {
			proto, ty := unix.IPPROTO_ICMP, byte(8)
			if f == IPv6 {
				proto, ty = unix.IPPROTO_ICMPV6, 128
			}
			m := []byte{ty, 0, 0, 0}
			if f == IPv4 {
				putChecksum(m, 2, checksum(0, m))
			}
			return l.truncated(f, "short-icmp", "an echo request cut to 4 bytes", proto, m)
		}},
	}
	if f == IPv4 {
		ps = append(ps, Phase{"tcp-frag1" + s, func(l *Lab) (Class, error) {
			c := Class{Name: "tcp-frag1" + s, Family: f, Desc: "a TCP fragment at offset 1 (8 bytes) from an IPPROTO_RAW socket, 20 bytes of a TCP header to " + strconv.Itoa(PortShort),
				States: []string{"INVALID", "NEW"}, Router: 1, Server: -1}
			return c, l.sendIPRaw(f, [][]byte{ipv4Packet(unix.IPPROTO_TCP, 0x2301, 1, false, tcpSegment(f, PortShortSrc, PortShort, 0x02))})
		}})
	} else {
		ps = append(ps, Phase{"bad-exthdr" + s, func(l *Lab) (Class, error) {
			c := Class{Name: "bad-exthdr" + s, Family: f, Desc: "an IPv6 packet whose destination options header is cut to 1 byte (its next header, TCP), from an IPPROTO_RAW socket",
				States: []string{"INVALID", "NEW"}, Router: 1, Server: -1}
			return c, l.sendIPRaw(f, [][]byte{ipv6Packet(60, []byte{unix.IPPROTO_TCP})})
		}})
	}
	return ps
}

// truncated sends one cut header msg of protocol proto from a raw socket
// of the client to the server.
func (l *Lab) truncated(f Family, name, what string, proto int, msg []byte) (Class, error) {
	a := f.Addrs()
	c := Class{Name: name + f.digit(), Family: f, Desc: fmt.Sprintf("%s, %s → %s, from a raw socket", what, a.Client, a.Server),
		States: []string{"INVALID", "NEW"}, Router: 1, Server: -1}
	return c, l.sendRaw(f, proto, [][]byte{msg})
}

// LocalOut sends, from the client itself, one UDP datagram to the server's
// PortLocalOut (closed) from each of three sockets: one made as root, one
// made with fsuid LocalUID, one with fsgid LocalGID (each socket's file
// keeps the credentials it was made with, which the owner match and nft's
// meta skuid/skgid read), from PortLocalOutSrc, +1 and +2. The client's
// output hook (ClientOut) sees them with their sockets.
func (l *Lab) LocalOut(f Family) (Class, error) {
	a := f.Addrs()
	c := Class{Name: "local-out" + f.digit(), Family: f,
		Desc: fmt.Sprintf("UDP %s…%d → %s from sockets of uid 0, uid %d and gid %d, and the server's port unreachables",
			hostPort(a.Client, PortLocalOutSrc), PortLocalOutSrc+2, hostPort(a.Server, PortLocalOut), LocalUID, LocalGID),
		States: []string{"NEW", "RELATED"}, Router: 6, Server: 3, First: both(FirstUDP, 3)}
	send := func(port int, uid, gid int) error {
		return l.Client.Do(func() error {
			// This thread is locked to the goroutine and ends with it
			// (netns.NS.Do): its credentials go with it.
			if err := unix.Setfsgid(gid); err != nil {
				return err
			}
			if err := unix.Setfsuid(uid); err != nil {
				return err
			}
			af := unix.AF_INET
			if f == IPv6 {
				af = unix.AF_INET6
			}
			fd, err := unix.Socket(af, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			if err := unix.Bind(fd, sockaddrPort(a.Client, port)); err != nil {
				return err
			}
			return unix.Sendto(fd, []byte("local"), 0, sockaddrPort(a.Server, PortLocalOut))
		})
	}
	for i, id := range [][2]int{{0, 0}, {LocalUID, 0}, {0, LocalGID}} {
		if err := send(PortLocalOutSrc+i, id[0], id[1]); err != nil {
			return c, fmt.Errorf("local-out socket %d: %w", i, err)
		}
	}
	return c, nil
}

func sockaddrPort(a netip.Addr, port int) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Addr: a.As4(), Port: port}
	}
	return &unix.SockaddrInet6{Addr: a.As16(), Port: port}
}

// RouterLocal sends, from the client, UDP datagrams from PortRouterSrc to
// PortRouter of the router itself: to its address on the client link
// (unicast to the host), to the link's broadcast address and to
// 255.255.255.255 (IPv4), and to the all-hosts (all-nodes) multicast group
// 224.0.0.1 (ff02::1). The router's input hook (RouterIn) sees them; none
// crosses the router.
func (l *Lab) RouterLocal(f Family) (Class, error) {
	a := f.Addrs()
	dsts := []netip.Addr{a.RouterC, netip.MustParseAddr("10.1.0.255"), netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("224.0.0.1")}
	if f == IPv6 {
		dsts = []netip.Addr{a.RouterC, netip.MustParseAddr("ff02::1")}
	}
	var names []string
	for _, d := range dsts {
		names = append(names, d.String())
	}
	c := Class{Name: "router-local" + f.digit(), Family: f,
		Desc:   fmt.Sprintf("UDP %s → %s, port %d, from the client", hostPort(a.Client, PortRouterSrc), strings.Join(names, ", "), PortRouter),
		States: []string{"NEW"}, Router: 0, Server: 0}
	err := l.Client.Do(func() error {
		af := unix.AF_INET
		if f == IPv6 {
			af = unix.AF_INET6
		}
		fd, err := unix.Socket(af, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
			return err
		}
		if err := unix.Bind(fd, sockaddrPort(a.Client, PortRouterSrc)); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName("c0")
		if err != nil {
			return err
		}
		for _, d := range dsts {
			sa := sockaddrPort(d, PortRouter)
			if s6, ok := sa.(*unix.SockaddrInet6); ok && d.IsLinkLocalMulticast() {
				s6.ZoneId = uint32(ifi.Index)
			}
			if err := unix.Sendto(fd, []byte("local"), 0, sa); err != nil {
				return fmt.Errorf("to %s: %w", d, err)
			}
		}
		return nil
	})
	return c, err
}
