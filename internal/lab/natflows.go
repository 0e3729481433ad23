package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/internal/netns"
)

// This file is the lab's NAT flow observer: for a NAT rule with an address
// range, a port range or its flags (--random, --random-fully,
// --persistent), several UDP flows from the client (each from a source
// port of its own, or all from one), and for each the (address, port) pairs its receiver saw
// on both ends of the datagram, with the rule run by the kernel's xt target
// in one run and by ctmatch's nft rules in another.
//
// What nf_nat_core.c chooses (get_unique_tuple, find_best_ips_proto,
// nf_nat_l4proto_unique_tuple) is partly deterministic and partly random:
//   - SNAT without --random or --random-fully keeps a source already
//     inside the range, else reuses the mapping of a connection from the
//     same source address and port (find_appropriate_src);
//   - otherwise the address of a range is a jhash2 of the original source address,
//     seeded with the last word of the destination and with the
//     destination's words xored in, or (NF_NAT_RANGE_PERSISTENT) of the
//     source alone; jhash2 has no random seed there, so the address is
//     the same for the same addresses in every run, whatever the flags
//     (--random only skips the step above);
//   - a port already inside the range (SNAT: the flow's source port;
//     DNAT, REDIRECT: its destination port) is kept when no --random or
//     --random-fully is given and the tuple is free (or the range is one
//     port); otherwise the port is min + (get_random_u16() + i) % size for
//     the first free i: random.
//
// A NATCase says which: with RandomPorts, a port the receiver sees inside
// the range is written as the range, so that two runs compare equal when
// both chose inside it; every observed tuple is also checked against the
// range in every run (Outside).

// NATCase is a NAT rule at the router and the flows that show what it
// chooses.
type NATCase struct {
	Name   string
	Family Family
	Words  string // the iptables words, with -t nat and -A CHAIN
	Flows  []NATFlow
	// Listen are the ports the receiver listens on, each on every
	// address: the server's, or the router's with OnRouter (REDIRECT).
	Listen   []uint16
	OnRouter bool
	// Range is where the rule maps the flows: the source (SNAT,
	// MASQUERADE) or, with Dst, the destination (DNAT, REDIRECT). An
	// unset bound is not checked.
	Dst         bool
	Addrs       [2]netip.Addr
	Ports       [2]uint16
	RandomPorts bool // the kernel chooses the port at random: compare it as "inside Ports"
}

// NATFlow is one datagram from the client's port From to To:Port, the first
// of its flow.
type NATFlow struct {
	From uint16
	To   netip.Addr
	Port uint16
}

// NATSeen is what the receiver saw of one flow.
type NATSeen struct {
	Src, Dst netip.AddrPort // both invalid: nothing arrived
}

func (s NATSeen) String() string {
	if !s.Src.IsValid() {
		return "nothing"
	}
	return s.Src.String() + " → " + s.Dst.String()
}

// Arrived says whether the flow reached the receiver.
func (s NATSeen) Arrived() bool { return s.Src.IsValid() }

// Mapped is the side of s the case's rule rewrites.
func (c NATCase) Mapped(s NATSeen) netip.AddrPort {
	if c.Dst {
		return s.Dst
	}
	return s.Src
}

// effectCase is the case as the installers take it.
func (c NATCase) effectCase() EffectCase {
	return EffectCase{Name: c.Name, Family: c.Family, Words: c.Words, Router: true}
}

// NATAddrs are the addresses AddNATAddresses adds to the lab in one
// family: an SNAT pool of addresses nobody has on the server link, which
// the server reaches through the router; a DNAT pool of the server's; and
// virtual addresses on no link, which the client reaches through the
// router.
type NATAddrs struct {
	SNAT, DNAT, VIPs [4]netip.Addr
}

// NATAddrs returns the NAT pools of family f.
func (f Family) NATAddrs() NATAddrs {
	var n NATAddrs
	snat, dnat, vip := "10.2.0.2%d", "10.2.0.3%d", "10.9.0.%d"
	if f == IPv6 {
		snat, dnat, vip = "fd00:2::2%d", "fd00:2::3%d", "fd00:9::%d"
	}
	for i := range 4 {
		n.SNAT[i] = netip.MustParseAddr(fmt.Sprintf(snat, i))
		n.DNAT[i] = netip.MustParseAddr(fmt.Sprintf(dnat, i))
		n.VIPs[i] = netip.MustParseAddr(fmt.Sprintf(vip, i+1))
	}
	return n
}

// AddNATAddresses gives the lab the NAT pools of both families: the DNAT
// pool's addresses on the server (the router's neighbour entries for them
// name the server), and neighbour entries in the server that send the
// SNAT pool's addresses to the router. The lab's other classes never use
// them; they stay until the lab ends.
func (l *Lab) AddNATAddresses() error {
	var server, router []string
	for _, f := range []Family{IPv4, IPv6} {
		// The server's IPv6 pool addresses are deprecated (preferred
		// lifetime 0): they still receive, but the server never picks
		// one as the source of a datagram to the SNAT pool, whose
		// addresses share a longer prefix with them than with its own
		// (RFC 6724's rules 3 and 8).
		n, bits, nodad := f.NATAddrs(), "/32", ""
		if f == IPv6 {
			bits, nodad = "/128", " nodad preferred_lft 0"
		}
		for i := range 4 {
			server = append(server,
				"addr add "+n.DNAT[i].String()+bits+" dev "+IfaceServerS+nodad,
				"neigh add "+n.SNAT[i].String()+" lladdr "+macRouterS+" dev "+IfaceServerS+" nud permanent")
			router = append(router, "neigh add "+n.DNAT[i].String()+" lladdr "+macServer+" dev "+IfaceServer+" nud permanent")
		}
	}
	if err := l.run(l.Server, strings.Join(server, "\n")+"\n", "ip", "-batch", "-"); err != nil {
		return err
	}
	return l.run(l.Router, strings.Join(router, "\n")+"\n", "ip", "-batch", "-")
}

// NATFlows installs the case's rule with in, sends its flows one after
// the other (each awaited at its receiver, up to IOTimeout, before the
// next is sent, so that the kernel chooses for them in order) and returns
// what the receiver saw of each, the rule taken away again.
func (l *Lab) NATFlows(c NATCase, in Installer) ([]NATSeen, error) {
	if err := l.flushConntrack(); err != nil {
		return nil, err
	}
	remove, err := in.Install(l, c.effectCase())
	if err != nil {
		return nil, fmt.Errorf("%s: install (%s): %w", c.Name, in.Name, err)
	}
	seen, ferr := l.natFlows(c)
	if ferr != nil {
		ferr = fmt.Errorf("%s (%s): %w", c.Name, in.Name, ferr)
	}
	rerr := remove()
	cerr := l.flushConntrack()
	return seen, errors.Join(ferr, rerr, cerr)
}

// arrival is one datagram a receiver got: the flow it names, and its ends.
type arrival struct {
	flow int
	seen NATSeen
}

func (l *Lab) natFlows(c NATCase) ([]NATSeen, error) {
	ns := l.Server
	if c.OnRouter {
		ns = l.Router
	}
	got := make(chan arrival, len(c.Flows)+1)
	var conns []*net.UDPConn
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	for _, port := range c.Listen {
		conn, err := pktinfoListener(ns, c.Family, port)
		if err != nil {
			return nil, err
		}
		conns = append(conns, conn)
		go receive(conn, c.Family, got)
	}
	out := make([]NATSeen, len(c.Flows))
	arrived := map[int]NATSeen{}
	for i, fl := range c.Flows {
		if err := l.sendFlow(c.Family, i, fl); err != nil {
			return nil, fmt.Errorf("flow %d: %w", i, err)
		}
		deadline := time.NewTimer(IOTimeout)
	wait:
		for {
			if _, ok := arrived[i]; ok {
				break
			}
			select {
			case a := <-got:
				arrived[a.flow] = a.seen
			case <-deadline.C:
				break wait
			}
		}
		deadline.Stop()
		out[i] = arrived[i]
	}
	return out, nil
}

// pktinfoListener is a UDP socket of ns on every address at port, which
// gives each datagram's destination address.
func pktinfoListener(ns *netns.NS, f Family, port uint16) (*net.UDPConn, error) {
	wild := netip.IPv4Unspecified()
	level, opt := unix.IPPROTO_IP, unix.IP_PKTINFO
	if f == IPv6 {
		wild = netip.IPv6Unspecified()
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO
	}
	conn, err := do(ns, func() (*net.UDPConn, error) {
		return net.ListenUDP(network("udp", f), net.UDPAddrFromAddrPort(netip.AddrPortFrom(wild, port)))
	})
	if err != nil {
		return nil, err
	}
	raw, err := conn.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), level, opt, 1) })
		err = errors.Join(err, cerr)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("pktinfo on :%d: %w", port, err)
	}
	return conn, nil
}

// receive reads datagrams "flow N" from conn until it is closed and sends
// each flow's ends to got.
func receive(conn *net.UDPConn, f Family, got chan<- arrival) {
	buf, oob := make([]byte, 64), make([]byte, 256)
	for {
		n, oobn, _, from, err := conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			return
		}
		flow, err := strconv.Atoi(strings.TrimPrefix(string(buf[:n]), "flow "))
		if err != nil {
			continue
		}
		dst, ok := pktinfoDst(oob[:oobn], f)
		if !ok {
			continue
		}
		local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
		select {
		case got <- arrival{flow, NATSeen{
			Src: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()),
			Dst: netip.AddrPortFrom(dst, local.Port()),
		}}:
		default:
		}
	}
}

// pktinfoDst reads the destination address from a datagram's control
// messages.
func pktinfoDst(oob []byte, f Family) (netip.Addr, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return netip.Addr{}, false
	}
	for _, m := range msgs {
		switch {
		case f == IPv4 && m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst, addr (the header's destination)
			return netip.AddrFrom4([4]byte(m.Data[8:12])), true
		case f == IPv6 && m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo: addr, ifindex
			return netip.AddrFrom16([16]byte(m.Data[0:16])), true
		}
	}
	return netip.Addr{}, false
}

// sendFlow sends flow i's datagram from a UDP socket of the client.
func (l *Lab) sendFlow(f Family, i int, fl NATFlow) error {
	a := f.Addrs()
	conn, err := do(l.Client, func() (*net.UDPConn, error) {
		return net.ListenUDP(network("udp", f), net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.Client, fl.From)))
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.WriteToUDPAddrPort([]byte("flow "+strconv.Itoa(i)), netip.AddrPortFrom(fl.To, fl.Port))
	return err
}

// Describe writes what the receiver saw of each flow, a port the kernel
// chose at random inside the case's range written as the range.
func (c NATCase) Describe(seen []NATSeen) []string {
	out := make([]string, len(seen))
	for i, s := range seen {
		if !s.Arrived() {
			out[i] = fmt.Sprintf("flow %d :%d → %s: nothing", i, c.Flows[i].From, netip.AddrPortFrom(c.Flows[i].To, c.Flows[i].Port))
			continue
		}
		src, dst := s.Src.String(), s.Dst.String()
		if c.RandomPorts && c.inPorts(c.Mapped(s).Port()) {
			r := fmt.Sprintf("%d-%d", c.Ports[0], c.Ports[1])
			if c.Dst {
				dst = hostPortText(s.Dst.Addr(), r)
			} else {
				src = hostPortText(s.Src.Addr(), r)
			}
		}
		out[i] = fmt.Sprintf("flow %d :%d → %s: %s → %s", i, c.Flows[i].From, netip.AddrPortFrom(c.Flows[i].To, c.Flows[i].Port), src, dst)
	}
	return out
}

func hostPortText(a netip.Addr, port string) string {
	if a.Is6() {
		return "[" + a.String() + "]:" + port
	}
	return a.String() + ":" + port
}

func (c NATCase) inPorts(p uint16) bool {
	return c.Ports[0] != 0 && p >= c.Ports[0] && p <= c.Ports[1]
}

// Outside returns a line for each flow that arrived with its mapped side
// outside the case's range.
func (c NATCase) Outside(seen []NATSeen) []string {
	var out []string
	for i, s := range seen {
		if !s.Arrived() {
			continue
		}
		m := c.Mapped(s)
		if c.Addrs[0].IsValid() && (m.Addr().Less(c.Addrs[0]) || c.Addrs[1].Less(m.Addr())) {
			out = append(out, fmt.Sprintf("flow %d: address %s outside %s-%s", i, m.Addr(), c.Addrs[0], c.Addrs[1]))
		}
		if c.Ports[0] != 0 && !c.inPorts(m.Port()) {
			out = append(out, fmt.Sprintf("flow %d: port %d outside %d-%d", i, m.Port(), c.Ports[0], c.Ports[1]))
		}
	}
	return out
}

// MappedAddrs returns the distinct addresses of the mapped side of the
// flows that arrived, sorted.
func (c NATCase) MappedAddrs(seen []NATSeen) []netip.Addr {
	var out []netip.Addr
	for _, s := range seen {
		if s.Arrived() {
			out = append(out, c.Mapped(s).Addr())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// CompareNATFlows returns, for each flow whose description differs, a line
// that says how; none when a and b agree.
func CompareNATFlows(c NATCase, a, b []NATSeen, aName, bName string) []string {
	da, db := c.Describe(a), c.Describe(b)
	var out []string
	for i := range max(len(da), len(db)) {
		switch {
		case i >= len(da):
			out = append(out, fmt.Sprintf("%s: no flow under %s", db[i], aName))
		case i >= len(db):
			out = append(out, fmt.Sprintf("%s: no flow under %s", da[i], bName))
		case da[i] != db[i]:
			out = append(out, fmt.Sprintf("%s: %s; %s: %s", aName, da[i], bName, db[i]))
		}
	}
	return out
}
