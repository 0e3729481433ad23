package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The effect observer's view inside the router, for the targets whose
// effect the client and the server cannot see (EffectCase.Observe): the
// mark and the TOS byte (traffic class) a forwarded packet of the client
// leaves the router with, and the records an NFLOG target sends, read by
// an nfnetlink_log listener in the router; and the conntrack the router
// holds for the probe's flow (none after a notrack), with its mark, read
// with conntrack -L.
//
// The marks and the TOS byte come from the observer's own rule: a log
// statement to ObserveGroup in a table of its own at the router's
// postrouting hook, priority 400 (after mangle and NAT), for the packets
// that leave by the server's link (the probes' packets the router
// forwards: at postrouting the input interface is not known). Only the
// records of the probes' own packets are kept (probePacket). A record is queued to the listener
// while its packet is logged (the listener's queue threshold is 1), so the
// records of a probe are in the listener's socket by the time its answer
// reaches the client.

// The nfnetlink_log groups of the observer.
const (
	ObserveGroup = 61 // the observer's own rule
	NFLOGGroup   = 62 // the group the cases' NFLOG targets log to
)

// routerObserver is the listener and the rule of the observer.
type routerObserver struct {
	l    *Lab
	conn *netlink.Conn
}

const observeTable = "labobs"

// observe returns the router's observer, started on the first call and
// stopped when the test ends.
func (l *Lab) observe() (*routerObserver, error) {
	if l.obs != nil {
		return l.obs, nil
	}
	rule := fmt.Sprintf("table inet %s {\n\tchain post {\n\t\ttype filter hook postrouting priority 400; policy accept;\n\t\toifname %q log group %d\n\t}\n}\n",
		observeTable, IfaceServer, ObserveGroup)
	if err := l.run(l.Router, rule, "nft", "-f", "-"); err != nil {
		return nil, err
	}
	o := &routerObserver{l: l}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: int(l.Router.File().Fd())})
	if err != nil {
		return nil, errors.Join(err, o.close())
	}
	o.conn = c
	for _, g := range []uint16{ObserveGroup, NFLOGGroup} {
		if err := BindNFLOG(c, g); err != nil {
			return nil, errors.Join(err, o.close())
		}
	}
	l.obs = o
	l.t.Cleanup(func() { o.close() })
	return o, nil
}

func (o *routerObserver) close() error {
	var err error
	if o.conn != nil {
		err = o.conn.Close()
	}
	return errors.Join(err, o.l.run(o.l.Router, "", "nft", "delete", "table", "inet", observeTable))
}

// SentinelPort is the port the observer's sentinel datagram goes from
// and to (see drain).
const SentinelPort = 9999

// drain reads the records queued for the probe just sent: the observer's
// ("out mark M tos T") and the NFLOG targets' ("nflog prefix P, N bytes"),
// in the order the kernel sent them, "out nothing" when the observer's rule
// logged no packet (the rule dropped it, or it did not leave the router).
// The records are in the socket already (see above); to know that it has
// read them all, drain sends a sentinel, a datagram of the router's own
// from SentinelPort to the server's SentinelPort, which the observer's rule
// logs after them, and reads up to its record. (The router's own packets
// cross no FORWARD or PREROUTING rule; a POSTROUTING rule under test may
// mark it or translate its addresses, none drops it.)
func (o *routerObserver) drain(f Family) (string, error) {
	a := f.Addrs()
	err := o.l.Router.Do(func() error {
		c, err := net.DialUDP(network("udp", f), net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.RouterS, SentinelPort)),
			net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.Server, SentinelPort)))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte(sentinelData))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("observer's sentinel: %w", err)
	}
	var out []string
	seen, done := false, false
	for !done {
		// The deadline only bounds a failing test.
		if err := o.conn.SetReadDeadline(time.Now().Add(IOTimeout)); err != nil {
			return "", err
		}
		msgs, err := o.conn.Receive()
		if err != nil {
			return "", fmt.Errorf("nfnetlink_log, awaiting the sentinel: %w", err)
		}
		for _, m := range msgs {
			r, ok, err := ParseNFLOG(m)
			if err != nil {
				return "", err
			}
			if !ok {
				continue
			}
			group, mark, prefix, payload := r.Group, r.Mark, r.Prefix, r.Payload
			if group == ObserveGroup && sentinel(payload) {
				done = true
				continue
			}
			if !probePacket(payload) {
				continue
			}
			if group == ObserveGroup {
				seen = true
				out = append(out, fmt.Sprintf("out mark %#x tos %#02x", mark, tos(payload)))
			} else {
				out = append(out, fmt.Sprintf("nflog group %d prefix %q, %d bytes", group, prefix, len(payload)))
			}
		}
	}
	if !seen {
		out = append(out, "out nothing")
	}
	return strings.Join(out, "; "), nil
}

// probePacket reports whether a logged packet is one the probes send or
// answer with, whose records come in before the probe's answer: a UDP
// datagram, a TCP segment with SYN and without RST, an echo request or
// reply; or a copy cut too short to tell (an NFLOG size below the headers).
// Records of other packets are left out. (A client's RST to the server's
// SYN-ACK may pass the router after the client saw the SYN-ACK: a test
// whose rules may log it drops it in the client, as TestLabSweepTargets
// does.)
func probePacket(b []byte) bool {
	_, proto, l4, ok := ipPacket(b)
	if !ok || len(l4) < 1 {
		return true
	}
	switch proto {
	case unix.IPPROTO_UDP:
		return true
	case unix.IPPROTO_TCP:
		return len(l4) < 14 || l4[13]&0x02 != 0 && l4[13]&0x04 == 0
	case unix.IPPROTO_ICMP:
		return l4[0] == 8 || l4[0] == 0
	case unix.IPPROTO_ICMPV6:
		return l4[0] == 128 || l4[0] == 129
	}
	return false
}

// sentinel reports whether a logged packet is the observer's sentinel: by
// its destination port and its data, since a MASQUERADE rule under test
// may change its source port.
func sentinel(b []byte) bool {
	_, proto, l4, ok := ipPacket(b)
	return ok && proto == unix.IPPROTO_UDP && len(l4) >= 8 &&
		binary.BigEndian.Uint16(l4[2:]) == SentinelPort && string(l4[8:]) == sentinelData
}

const sentinelData = "ctmatch lab sentinel"

// tos returns an IPv4 packet's TOS byte or an IPv6 packet's traffic class.
func tos(b []byte) byte {
	switch {
	case len(b) >= 2 && b[0]>>4 == 4:
		return b[1]
	case len(b) >= 2 && b[0]>>4 == 6:
		return b[0]<<4 | b[1]>>4
	}
	return 0
}

// conntracks lists the router's conntracks of family f.
func (o *routerObserver) conntracks(f Family) (string, error) {
	fam := "ipv4"
	if f == IPv6 {
		fam = "ipv6"
	}
	return o.l.Run(o.l.Router, "", "conntrack", "-L", "-f", fam)
}

// conntrack describes the router's conntrack of a probe's flow in out (of
// conntracks): "ct mark=M", or "no conntrack".
func conntrackOf(out string, p Probe) string {
	key := fmt.Sprintf("sport=%d ", p.From)
	if p.Kind == ProbeEcho {
		key = fmt.Sprintf("id=%d ", p.From)
	}
	var found []string
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line+" ", key) {
			continue
		}
		desc := "ct"
		for _, w := range strings.Fields(line) {
			if strings.HasPrefix(w, "mark=") {
				desc += " " + w
			}
		}
		found = append(found, desc)
	}
	if len(found) == 0 {
		return "no conntrack"
	}
	return strings.Join(found, ", ")
}
