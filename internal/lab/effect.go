package lab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// This file is the lab's effect observer: for a target rule (REJECT, the
// NAT targets; with EffectCase.Observe, what the router sees too:
// observe.go), what a probe's sender gets back (a TCP RST, which ICMP or
// ICMPv6 type and code from which address, the server's own answer) and
// what the receiver sees (the source address and port of a datagram, and
// whether it arrived at the port it listens on), with the rule run by the
// kernel's xt target (iptables-legacy, so that nothing is stored as native
// nft) in one run and by ctmatch's nft rules in another, compared probe by
// probe.
//
// Every run starts and ends with the router's and the server's conntrack
// tables flushed, so that no NAT binding of one run serves the other.

// EffectCase is one target rule and the probes that show what it does.
type EffectCase struct {
	Name   string
	Family Family
	Words  string // the iptables words, with -t TABLE (unless filter) and -A CHAIN
	Router bool   // the rule goes into the router (forwarded packets), else the server
	Probes []Probe
	// Observe adds, for each probe, what the router's observer saw
	// (observe.go): the mark and TOS byte the client's packet left the
	// router with, the NFLOG records of the group NFLOGGroup, and the
	// router's conntrack of the flow with its mark once all probes ran
	// (Effect.Out, Effect.CT). Only for a case whose rule is in the router.
	Observe bool
}

// ProbeKind is what a probe sends.
type ProbeKind uint8

// Probe kinds.
const (
	ProbeTCP  ProbeKind = iota + 1 // a TCP SYN from a raw socket (no socket of the client answers the reply)
	ProbeUDP                       // a datagram from a UDP socket of the client
	ProbeEcho                      // an ICMP (ICMPv6) echo request from a raw socket
	// ProbeError is an ICMP (ICMPv6) port unreachable from a raw socket,
	// about a datagram To:Port → client:From that was never sent: no
	// reject answers an ICMP error (nf_send_unreach, icmp_send), so the
	// reply is awaited for IOTimeout and is "nothing".
	ProbeError
)

// Probe is one packet the client sends, and the listener that may receive
// it.
type Probe struct {
	Kind ProbeKind
	To   netip.Addr // the destination
	Port uint16     // the destination port (TCP, UDP)
	From uint16     // the client's source port, or the echo id
	// Listen is the port a listener binds on every address of the server
	// (of the router with OnRouter): a TCP listener answers the SYN, a UDP
	// one records the datagram's source and sends one back. 0: none.
	Listen   uint16
	OnRouter bool
	// A source port or address the receiver sees inside these ranges is
	// written as the range, so that a random choice compares equal.
	Ports [2]uint16
	Addrs [2]netip.Addr
}

func (p Probe) String() string {
	switch p.Kind {
	case ProbeTCP:
		return fmt.Sprintf("tcp syn :%d → %s", p.From, netip.AddrPortFrom(p.To, p.Port))
	case ProbeUDP:
		return fmt.Sprintf("udp :%d → %s", p.From, netip.AddrPortFrom(p.To, p.Port))
	}
	if p.Kind == ProbeError {
		return fmt.Sprintf("icmp error → %s about udp %s → :%d", p.To, netip.AddrPortFrom(p.To, p.Port), p.From)
	}
	return fmt.Sprintf("echo id %d → %s", p.From, p.To)
}

// Effect is what one probe did.
type Effect struct {
	Probe string
	Reply string // what the client got back first: "tcp rst from A:P", "icmp 3/13 from A", "udp from A:P", …, or "nothing"
	Seen  string // the source the listener saw ("A:P"), "nothing", or "" without a UDP listener
	// With EffectCase.Observe: what the router's observer saw ("out mark M
	// tos T", NFLOG records, "out nothing") and the router's conntrack of
	// the flow ("ct mark=N", "no conntrack"); "" without.
	Out, CT string
}

func (e Effect) String() string {
	s := e.Probe + ": back " + e.Reply
	if e.Seen != "" {
		s += ", listener saw " + e.Seen
	}
	if e.Out != "" || e.CT != "" {
		s += ", router saw " + e.Out + "; " + e.CT
	}
	return s
}

// Installer puts a case's rule into the lab and returns what takes it away.
type Installer struct {
	Name    string
	Install func(l *Lab, c EffectCase) (remove func() error, err error)
}

// XtLegacy installs the case's words with iptables-legacy (ip6tables-legacy):
// the kernel's xt target runs them.
func XtLegacy() Installer {
	return Installer{Name: "xt", Install: func(l *Lab, c EffectCase) (func() error, error) {
		r, err := parse.ParseText(c.Words, parse.Options{Family: parseFamily(c.Family)})
		if err != nil {
			return nil, err
		}
		tool := "iptables-legacy"
		if c.Family == IPv6 {
			tool = "ip6tables-legacy"
		}
		ns := c.ns(l)
		if _, err := l.Run(ns, "", tool, strings.Fields(c.Words)...); err != nil {
			return nil, err
		}
		return func() error {
			_, err := l.Run(ns, "", tool, "-t", r.TableName(), "-F", r.Command.Chain)
			return err
		}, nil
	}}
}

// CtmatchEffect installs ctmatch's translation of the case's words, in a table of
// family table (ip, ip6 or inet) with the base chain iptables-nft makes for
// the words' -t and chain, through ctmatch's own loader.
func CtmatchEffect(table expr.Family) Installer {
	return NativeRules("ctmatch "+table.String(), table, func(c EffectCase) ([]expr.Rule, error) {
		r, err := ctmatch.Translate(c.Words, ctmatch.Options{Table: table, IPv6: c.Family == IPv6})
		if err != nil {
			return nil, err
		}
		return r.Rules, nil
	})
}

// NativeRules installs the nft rules rules gives for a case (a deliberately
// wrong translation, for instance), as CtmatchEffect does.
func NativeRules(name string, table expr.Family, rules func(c EffectCase) ([]expr.Rule, error)) Installer {
	return Installer{Name: name, Install: func(l *Lab, c EffectCase) (func() error, error) {
		r, err := parse.ParseText(c.Words, parse.Options{Family: parseFamily(c.Family)})
		if err != nil {
			return nil, err
		}
		base, err := firewall.CreatedChain(r.TableName(), r.Command.Chain)
		if err != nil || base == nil {
			return nil, fmt.Errorf("%s: no base chain for -t %s -A %s: %v", c.Name, r.TableName(), r.Command.Chain, err)
		}
		nrs, err := rules(c)
		if err != nil {
			return nil, err
		}
		ctx := context.Background()
		conn, err := kernel.Dial(ctx, kernel.Options{NetNS: c.ns(l).Path()})
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		tx, err := conn.Begin(ctx)
		if err != nil {
			return nil, err
		}
		const tname = "effect"
		tx.AddTable(table, tname, nil)
		tx.AddChain(table, tname, "c", base, nil)
		for _, nr := range nrs {
			b, err := nr.Lower(table)
			if err != nil {
				return nil, err
			}
			tx.AddRule(table, tname, "c", kernel.RuleSpec{Exprs: b})
		}
		if _, err := tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("%s: load %s: %w", c.Name, name, err)
		}
		return func() error {
			_, err := l.Run(c.ns(l), "", "nft", "delete", "table", table.String(), tname)
			return err
		}, nil
	}}
}

func parseFamily(f Family) parse.Family {
	if f == IPv6 {
		return parse.IPv6
	}
	return parse.IPv4
}

func (c EffectCase) ns(l *Lab) *netns.NS {
	if c.Router {
		return l.Router
	}
	return l.Server
}

// Effects installs the case's rule with in, sends its probes one by one
// and returns what each did, the rule taken away again.
func (l *Lab) Effects(c EffectCase, in Installer) ([]Effect, error) {
	if err := l.flushConntrack(); err != nil {
		return nil, err
	}
	var obs *routerObserver
	if c.Observe {
		if !c.Router {
			return nil, fmt.Errorf("%s: the observer watches the router, the rule is in the server", c.Name)
		}
		o, err := l.observe()
		if err != nil {
			return nil, fmt.Errorf("%s: observer: %w", c.Name, err)
		}
		// Records of anything before the case's probes are not theirs.
		if _, err := o.drain(c.Family); err != nil {
			return nil, err
		}
		obs = o
	}
	remove, err := in.Install(l, c)
	if err != nil {
		return nil, fmt.Errorf("%s: install (%s): %w", c.Name, in.Name, err)
	}
	var out []Effect
	var perr error
	for _, p := range c.Probes {
		e, err := l.probe(c.Family, p)
		if err == nil && obs != nil {
			e.Out, err = obs.drain(c.Family)
		}
		if err != nil {
			perr = fmt.Errorf("%s: %s (%s): %w", c.Name, p, in.Name, err)
			break
		}
		out = append(out, e)
	}
	if obs != nil && perr == nil {
		// The router's conntracks once all probes ran: each probe's
		// flow, with the mark its packets left it.
		cts, err := obs.conntracks(c.Family)
		if err != nil {
			perr = fmt.Errorf("%s: conntrack (%s): %w", c.Name, in.Name, err)
		}
		for i := range out {
			out[i].CT = conntrackOf(cts, c.Probes[i])
		}
	}
	rerr := remove()
	ferr := l.flushConntrack()
	return out, errors.Join(perr, rerr, ferr)
}

// CompareEffects returns, for each probe whose effects differ, a line that
// says how; none when a and b agree.
func CompareEffects(a, b []Effect, aName, bName string) []string {
	var out []string
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			out = append(out, fmt.Sprintf("%s: no effect under %s", b[i].Probe, aName))
		case i >= len(b):
			out = append(out, fmt.Sprintf("%s: no effect under %s", a[i].Probe, bName))
		case a[i] != b[i]:
			router := func(e Effect) string {
				if e.Out == "" && e.CT == "" {
					return ""
				}
				return fmt.Sprintf(", router saw %q, %q", e.Out, e.CT)
			}
			out = append(out, fmt.Sprintf("%s: %s: back %s, listener saw %q%s; %s: back %s, listener saw %q%s",
				a[i].Probe, aName, a[i].Reply, a[i].Seen, router(a[i]), bName, b[i].Reply, b[i].Seen, router(b[i])))
		}
	}
	return out
}

func (l *Lab) flushConntrack() error {
	for _, ns := range []*netns.NS{l.Router, l.Server} {
		if _, _, err := commandOutput(ns, nil, "", "conntrack", "-F"); err != nil {
			return fmt.Errorf("conntrack -F: %w", err)
		}
	}
	return nil
}

// probe sends one probe and observes it.
func (l *Lab) probe(f Family, p Probe) (Effect, error) {
	e := Effect{Probe: p.String()}
	seen, stop, err := l.listen(f, p)
	if err != nil {
		return e, err
	}
	defer stop()
	sniff, err := sniffer(l.Client)
	if err != nil {
		return e, err
	}
	defer unix.Close(sniff)
	var udp *net.UDPConn
	switch p.Kind {
	case ProbeTCP:
		err = l.sendSYN(f, p)
	case ProbeUDP:
		a := f.Addrs()
		udp, err = do(l.Client, func() (*net.UDPConn, error) {
			return net.ListenUDP(network("udp", f), net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.Client, p.From)))
		})
		if err == nil {
			defer udp.Close()
			_, err = udp.WriteToUDPAddrPort([]byte("probe"), netip.AddrPortFrom(p.To, p.Port))
		}
	case ProbeEcho:
		err = l.sendEcho(f, p)
	case ProbeError:
		err = l.sendError(f, p)
	}
	if err != nil {
		return e, err
	}
	e.Reply, err = waitReply(sniff, f, p)
	if err != nil {
		return e, err
	}
	if p.Kind == ProbeUDP && p.Listen != 0 {
		stop()
		e.Seen = <-seen
		e.Seen = normalize(e.Seen, p)
	}
	return e, nil
}

// listen starts the probe's listener; seen gives, for UDP, the source of
// the datagram it got ("nothing" when stop came first).
func (l *Lab) listen(f Family, p Probe) (seen chan string, stop func(), err error) {
	seen = make(chan string, 1)
	if p.Listen == 0 {
		return seen, func() {}, nil
	}
	ns := l.Server
	if p.OnRouter {
		ns = l.Router
	}
	wild := netip.IPv4Unspecified()
	if f == IPv6 {
		wild = netip.IPv6Unspecified()
	}
	at := netip.AddrPortFrom(wild, p.Listen)
	if p.Kind == ProbeTCP {
		ln, err := do(ns, func() (net.Listener, error) { return net.Listen(network("tcp", f), at.String()) })
		if err != nil {
			return nil, nil, err
		}
		return seen, func() { ln.Close() }, nil
	}
	conn, err := do(ns, func() (*net.UDPConn, error) { return net.ListenUDP(network("udp", f), net.UDPAddrFromAddrPort(at)) })
	if err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(time.Now().Add(IOTimeout))
	go func() {
		buf := make([]byte, 64)
		_, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			seen <- "nothing"
			return
		}
		seen <- netip.AddrPortFrom(from.Addr().Unmap(), from.Port()).String()
		conn.WriteToUDPAddrPort([]byte("answer"), from)
	}()
	stopped := false
	return seen, func() {
		if !stopped {
			stopped = true
			conn.Close()
		}
	}, nil
}

// normalize writes a seen source inside the probe's ranges as the ranges.
func normalize(s string, p Probe) string {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return s
	}
	addr, port := ap.Addr().String(), fmt.Sprint(ap.Port())
	if p.Addrs[0].IsValid() && !ap.Addr().Less(p.Addrs[0]) && !p.Addrs[1].Less(ap.Addr()) {
		addr = p.Addrs[0].String() + "-" + p.Addrs[1].String()
	}
	if p.Ports[0] != 0 && ap.Port() >= p.Ports[0] && ap.Port() <= p.Ports[1] {
		port = fmt.Sprintf("%d-%d", p.Ports[0], p.Ports[1])
	}
	if ap.Addr().Is6() {
		return "[" + addr + "]:" + port
	}
	return addr + ":" + port
}

// sniffer opens a packet socket on the client's link that sees every
// frame, with a short receive timeout.
func sniffer(ns *netns.NS) (int, error) {
	return do(ns, func() (int, error) {
		ifi, err := net.InterfaceByName("c0")
		if err != nil {
			return -1, err
		}
		proto := int(htons(unix.ETH_P_ALL))
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return -1, fmt.Errorf("packet socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return -1, err
		}
		tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// waitReply reads the client's incoming frames until one answers the
// probe, and describes it. Every probe gets an answer: from the rule, or
// else from the server (or router) itself; none within IOTimeout is
// "nothing".
func waitReply(fd int, f Family, p Probe) (string, error) {
	deadline := time.Now().Add(IOTimeout)
	buf := make([]byte, 2048)
	for time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return "", err
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if s := describe(buf[:n], f, p); s != "" {
			return s, nil
		}
	}
	return "nothing", nil
}

// ipPacket splits an IPv4 or IPv6 packet: source, protocol, layer 4.
func ipPacket(b []byte) (src netip.Addr, proto byte, l4 []byte, ok bool) {
	if len(b) < 1 {
		return
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 || len(b) < int(b[0]&0x0f)*4 {
			return
		}
		return netip.AddrFrom4([4]byte(b[12:16])), b[9], b[int(b[0]&0x0f)*4:], true
	case 6:
		if len(b) < 40 {
			return
		}
		return netip.AddrFrom16([16]byte(b[8:24])), b[6], b[40:], true
	}
	return
}

// describe names a packet that answers the probe, or returns "".
func describe(b []byte, f Family, p Probe) string {
	src, proto, l4, ok := ipPacket(b)
	if !ok || (f == IPv4) != src.Is4() {
		return ""
	}
	switch proto {
	case unix.IPPROTO_TCP:
		if p.Kind != ProbeTCP || len(l4) < 14 || binary.BigEndian.Uint16(l4[2:]) != p.From {
			return ""
		}
		kind := "tcp"
		switch fl := l4[13]; {
		case fl&0x04 != 0:
			kind = "tcp rst"
		case fl&0x12 == 0x12:
			kind = "tcp syn-ack"
		}
		return fmt.Sprintf("%s from %s", kind, netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4)))
	case unix.IPPROTO_UDP:
		if p.Kind != ProbeUDP || len(l4) < 8 || binary.BigEndian.Uint16(l4[2:]) != p.From {
			return ""
		}
		return fmt.Sprintf("udp from %s", netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4)))
	case unix.IPPROTO_ICMP, unix.IPPROTO_ICMPV6:
		if len(l4) < 8 {
			return ""
		}
		name, echoReply, isError := "icmp", byte(0), map[byte]bool{3: true, 4: true, 5: true, 11: true, 12: true}
		if proto == unix.IPPROTO_ICMPV6 {
			name, echoReply, isError = "icmpv6", 129, map[byte]bool{1: true, 2: true, 3: true, 4: true}
		}
		if l4[0] == echoReply {
			if p.Kind == ProbeEcho && binary.BigEndian.Uint16(l4[4:]) == p.From {
				return fmt.Sprintf("%s echo-reply from %s", name, src)
			}
			return ""
		}
		if !isError[l4[0]] {
			return ""
		}
		_, iproto, inner, ok := ipPacket(l4[8:])
		if !ok || len(inner) < 6 {
			return ""
		}
		switch {
		case p.Kind == ProbeEcho && (iproto == unix.IPPROTO_ICMP || iproto == unix.IPPROTO_ICMPV6) && binary.BigEndian.Uint16(inner[4:]) == p.From:
		case p.Kind == ProbeTCP && iproto == unix.IPPROTO_TCP && binary.BigEndian.Uint16(inner) == p.From:
		case p.Kind == ProbeUDP && iproto == unix.IPPROTO_UDP && binary.BigEndian.Uint16(inner) == p.From:
		case p.Kind == ProbeError && (iproto == unix.IPPROTO_ICMP || iproto == unix.IPPROTO_ICMPV6):
		default:
			return ""
		}
		return fmt.Sprintf("%s %d/%d from %s", name, l4[0], l4[1], src)
	}
	return ""
}

// sendSYN sends a TCP SYN from a raw socket of the client.
func (l *Lab) sendSYN(f Family, p Probe) error {
	a := f.Addrs()
	fd, err := rawSocket(l.Client, f, unix.IPPROTO_TCP)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], p.From)
	binary.BigEndian.PutUint16(tcp[2:], p.Port)
	binary.BigEndian.PutUint32(tcp[4:], 0x01020304)
	tcp[12] = 5 << 4
	tcp[13] = 0x02 // SYN
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	putChecksum(tcp, 16, checksum(pseudoHeader(a.Client, p.To, unix.IPPROTO_TCP, len(tcp)), tcp))
	if err := unix.Sendto(fd, tcp, 0, sockaddr(p.To)); err != nil {
		return fmt.Errorf("syn: %w", err)
	}
	return nil
}

// sendEcho sends an echo request with id p.From from a raw socket of the
// client.
func (l *Lab) sendEcho(f Family, p Probe) error {
	proto, req := unix.IPPROTO_ICMP, byte(8)
	if f == IPv6 {
		proto, req = unix.IPPROTO_ICMPV6, 128
	}
	fd, err := rawSocket(l.Client, f, proto)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	msg := []byte{req, 0, 0, 0, byte(p.From >> 8), byte(p.From), 0, 1}
	msg = append(msg, "effect probe"...)
	if f == IPv4 {
		putChecksum(msg, 2, checksum(0, msg))
	}
	if err := unix.Sendto(fd, msg, 0, sockaddr(p.To)); err != nil {
		return fmt.Errorf("echo request: %w", err)
	}
	return nil
}

// NftText installs the nft rule text body gives for a case (what
// iptables-translate prints, say), loaded with nft into the base chain
// CtmatchEffect would use, in a table of family table.
func NftText(name string, table expr.Family, body func(c EffectCase) (string, error)) Installer {
	return Installer{Name: name, Install: func(l *Lab, c EffectCase) (func() error, error) {
		text, err := body(c)
		if err != nil {
			return nil, err
		}
		remove, err := NativeRules(name, table, func(EffectCase) ([]expr.Rule, error) { return nil, nil }).Install(l, c)
		if err != nil {
			return nil, err
		}
		if _, err := l.Run(c.ns(l), "add rule "+table.String()+" effect c "+text+"\n", "nft", "-f", "-"); err != nil {
			return nil, errors.Join(err, remove())
		}
		return remove, nil
	}}
}

// sendError sends, from a raw socket of the client, an ICMP (ICMPv6) port
// unreachable about a datagram p.To:p.Port → client:p.From.
func (l *Lab) sendError(f Family, p Probe) error {
	proto := unix.IPPROTO_ICMP
	if f == IPv6 {
		proto = unix.IPPROTO_ICMPV6
	}
	fd, err := rawSocket(l.Client, f, proto)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	a := f.Addrs()
	a.Server = p.To
	if err := unix.Sendto(fd, relatedError(f, a, int(p.Port), int(p.From)), 0, sockaddr(p.To)); err != nil {
		return fmt.Errorf("icmp error: %w", err)
	}
	return nil
}
