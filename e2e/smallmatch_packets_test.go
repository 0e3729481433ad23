package e2e

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// The mac, length, ah, iprange and policy matches (the last without IPsec: this
// kernel has no ESP or AH transform to make a sec_path with), run by the kernel's xt code (iptables-legacy)
// and as ctmatch's nft rules at the same hook, count the same packets:
// UDP datagrams of chosen sizes from a second namespace through two veth
// pairs of known MAC addresses (one the rules name, one they do not), and
// datagrams the namespace sends itself through lo, which is no Ethernet
// device (xt_mac is false for it, negated or not; so is nft's meta iiftype
// ether).
func TestSmallMatchesAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "ip6tables-legacy", "ip")
	peer, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	bin := ctmatchCLI(t)
	// va/vb: 10.9.0.1 and 2001:db8:9::1 here, the peer's MAC 02:00:00:00:00:02
	// there; vc/vd: 10.9.1.1 and 2001:db8:9:1::1 here, 02:00:00:00:00:04.
	for _, pair := range []struct{ here, there, mac, v4, v6, v4peer, v6peer string }{
		{"va", "vb", "02:00:00:00:00:02", "10.9.0.1/24", "2001:db8:9::1/64", "10.9.0.2/24", "2001:db8:9::2/64"},
		{"vc", "vd", "02:00:00:00:00:04", "10.9.1.1/24", "2001:db8:9:1::1/64", "10.9.1.2/24", "2001:db8:9:1::2/64"},
	} {
		ktest.Run(t, ns, "", "ip", "link", "add", pair.here, "type", "veth", "peer", "name", pair.there, "address", pair.mac, "netns", peer.Path())
		ktest.Run(t, ns, "", "ip", "addr", "add", pair.v4, "dev", pair.here)
		ktest.Run(t, ns, "", "ip", "addr", "add", pair.v6, "dev", pair.here, "nodad")
		ktest.Run(t, ns, "", "ip", "link", "set", pair.here, "up")
		runIn(t, peer, "ip", "addr", "add", pair.v4peer, "dev", pair.there)
		runIn(t, peer, "ip", "addr", "add", pair.v6peer, "dev", pair.there, "nodad")
		runIn(t, peer, "ip", "link", "set", pair.there, "up")
	}
	rules := map[string][]string{
		"ip": {
			"-m mac --mac-source 02:00:00:00:00:02",
			"-m mac ! --mac-source 02:00:00:00:00:02",
			"-p udp -m length --length 0:100",
			"-p udp -m length ! --length 0:100",
			"-p udp -m length --length 129",
			"-p ah -m ah --ahspi 5:9",
			"-p ah -m ah ! --ahspi 5:9",
			"-p ah -m ah",
			"-m policy --dir in --pol none",
			"-m iprange --src-range 10.9.0.1-10.9.0.5",
			"-m iprange ! --src-range 10.9.0.1-10.9.0.5 --dst-range 10.9.1.1-127.0.0.1",
		},
		"ip6": {
			"-m mac --mac-source 02:00:00:00:00:04",
			"-m mac ! --mac-source 02:00:00:00:00:04",
			"-p udp -m length --length 0:120",
			"-p udp -m length ! --length 0:120",
			"-p udp -m length --length 20:149",
			"-p udp -m length --length 121:65535",
			"-m ah --ahspi 5",
			"-m ah ! --ahspi 5 --ahlen 16",
			"-m ah --ahres",
			"-m ah ! --ahlen 12",
			"-m policy --dir in --pol none",
			"-m iprange --src-range 2001:db8:9::2-2001:db8:9::5",
			"-m iprange ! --dst-range 2001:db8:9::-2001:db8:9::ffff",
		},
	}
	ktest.Run(t, ns, "add table ip t\nadd chain ip t i { type filter hook input priority 10; }\n"+
		"add table ip6 t\nadd chain ip6 t i { type filter hook input priority 10; }\n", "nft", "-f", "-")
	for _, fam := range []struct{ tool, table, flag string }{{"iptables-legacy", "ip", "-4"}, {"ip6tables-legacy", "ip6", "-6"}} {
		for _, r := range rules[fam.table] {
			ktest.Run(t, ns, "", fam.tool, append([]string{"-A", "INPUT"}, strings.Fields(r)...)...)
			mustCLI(t, bin, ns, "", "add", "rule", fam.flag, fam.table, "t", "i", "--", r)
		}
	}
	// Datagrams of 72 and 101 bytes of data: IPv4 lengths 100 and 129, IPv6
	// lengths 120 and 149; three from each peer address, two through lo.
	sizes := []int{72, 101}
	send := func(to []string) func() error {
		return func() error {
			for _, a := range to {
				for _, n := range sizes {
					for range 3 {
						c, err := net.Dial("udp", net.JoinHostPort(a, "9"))
						if err != nil {
							return err
						}
						_, err = c.Write(make([]byte, n))
						c.Close()
						if err != nil {
							return fmt.Errorf("send to %s: %w", a, err)
						}
					}
				}
			}
			return nil
		}
	}
	if err := peer.Do(send([]string{"10.9.0.1", "10.9.1.1", "2001:db8:9::1", "2001:db8:9:1::1"})); err != nil {
		t.Fatal(err)
	}
	if err := ns.Do(send([]string{"127.0.0.1", "::1"})); err != nil {
		t.Fatal(err)
	}
	// AH headers of SPI 5 and 100, 12 and 16 bytes long, reserved field 0
	// and 1, on raw sockets from the peer.
	if err := peer.Do(sendAH); err != nil {
		t.Fatal(err)
	}

	for _, fam := range []struct{ tool, table string }{{"iptables-legacy", "ip"}, {"ip6tables-legacy", "ip6"}} {
		xt := xtPacketCounts(t, ktest.Run(t, ns, "", fam.tool, "-L", "INPUT", "-v", "-n", "-x"))
		out := mustCLI(t, bin, ns, "", "list", "chain", fam.table, "t", "i", "-o", "iptables", "-a")
		ours := listedCounts(out, "i")
		if len(xt) != len(rules[fam.table]) {
			t.Fatalf("%s: %d rules counted by xt, want %d", fam.table, len(xt), len(rules[fam.table]))
		}
		for i, r := range rules[fam.table] {
			got, ok := ours[r]
			if !ok {
				t.Errorf("%s: rule %q not listed by ctmatch:\n%s", fam.table, r, out)
				continue
			}
			if got != xt[i] {
				t.Errorf("%s: ctmatch's rules for %q counted %d packets, xt %d", fam.table, r, got, xt[i])
			}
			if xt[i] == 0 {
				t.Errorf("%s: xt counted no packet for %q: the traffic does not test it", fam.table, r)
			}
			t.Logf("%s %q: xt %d, ctmatch %d", fam.table, r, xt[i], got)
		}
	}
}

// sendAH sends AH headers of chosen SPIs, lengths and reserved fields to
// 10.9.0.1 and 2001:db8:9::1 on raw sockets (the kernel adds the IP
// header); xfrm drops them after the INPUT hook, having no state for them.
func sendAH() error {
	for _, fam := range []int{syscall.AF_INET, syscall.AF_INET6} {
		fd, err := syscall.Socket(fam, syscall.SOCK_RAW, 51)
		if err != nil {
			return fmt.Errorf("raw AH socket: %w", err)
		}
		var to syscall.Sockaddr = &syscall.SockaddrInet4{Addr: [4]byte{10, 9, 0, 1}}
		if fam == syscall.AF_INET6 {
			to = &syscall.SockaddrInet6{Addr: [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 9, 14: 0, 15: 1}}
		}
		for _, spi := range []uint32{5, 100} {
			for _, hdrlen := range []byte{1, 2} { // (hdrlen+2)*4: 12 and 16 bytes
				for _, res := range []byte{0, 1} {
					b := make([]byte, (int(hdrlen)+2)*4+8)
					b[0], b[1], b[3] = 59, hdrlen, res // next header: none
					binary.BigEndian.PutUint32(b[4:], spi)
					if err := syscall.Sendto(fd, b, 0, to); err != nil {
						syscall.Close(fd)
						return fmt.Errorf("send AH: %w", err)
					}
				}
			}
		}
		syscall.Close(fd)
	}
	return nil
}

// runIn runs a command in ns and fails the test when it fails.
func runIn(t *testing.T, ns *netns.NS, name string, args ...string) {
	t.Helper()
	if out, err := ns.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// iptables' ah match never looks at a fragment other than the first;
// nft's "ah spi" reads such a fragment's data as the header. A crafted
// non-first fragment of protocol 51 whose data holds SPI 500 where the SPI
// would be, and a whole AH packet of SPI 500, sent through lo and counted on
// OUTPUT: iptables-legacy's -p ah -m ah --ahspi 500 (the kernel's ipt_ah)
// and ctmatch's rule for it count the whole packet only, and
// iptables-translate's "ah spi 500" counts both.
func TestAHFragmentAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy")
	bin := ctmatchCLI(t)
	const words = "-p ah -m ah --ahspi 500"
	ktest.Run(t, ns, "add table ip t\nadd chain ip t o { type filter hook output priority 10; }\nadd rule ip t o ah spi 500 counter\n", "nft", "-f", "-")
	ktest.Run(t, ns, "", "iptables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(words)...)...)
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "t", "o", "--", words)
	if err := ns.Do(func() error {
		ah := make([]byte, 24)
		ah[0], ah[1] = 59, 4
		binary.BigEndian.PutUint32(ah[4:], 500)
		s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer syscall.Close(s)
		for _, p := range [][]byte{ipv4(ah, 8, false), ipv4(ah, 0, false)} {
			p[9] = 51 // AH
			p[10], p[11] = 0, 0
			binary.BigEndian.PutUint16(p[10:], checksum(p[:20]))
			if err := syscall.Sendto(s, p, 0, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	xt := xtPacketCounts(t, ktest.Run(t, ns, "", "iptables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
	out := mustCLI(t, bin, ns, "", "list", "chain", "ip", "t", "o", "-o", "iptables", "-a")
	var ours, bare uint64
	found := false
	for _, l := range strings.Split(out, "\n") {
		if m := packetsOf.FindStringSubmatch(l); m != nil && m[1] == "-A o "+words {
			ours, _ = strconv.ParseUint(m[2], 10, 64)
			found = true
		}
		if m := bareCounter.FindStringSubmatch(l); m != nil {
			bare, _ = strconv.ParseUint(m[1], 10, 64)
		}
	}
	if len(xt) != 1 || xt[0] != 1 {
		t.Fatalf("xt counted %v, the crafted traffic gives [1]", xt)
	}
	if !found || ours != xt[0] {
		t.Errorf("ctmatch's rule for %q counted %d packets (listed %v), xt %d\n%s", words, ours, found, xt[0], out)
	}
	if bare != 2 {
		t.Errorf("iptables-translate's ah spi 500 counted %d packets, want 2 (the fragment too)\n%s", bare, out)
	}
}

// Why -m rt is refused: ip6t_rt does not match a routing header shorter
// in the packet than its length field says (on Linux 6.18 it drops the
// packet: the send fails with EPERM), and nft's "rt type" reads the field
// anyway. An IPv6 packet whose routing header is whole, and one whose
// header says 88 bytes and has 8, both of type 0, sent through lo: nft's
// rt type 0 (iptables-translate's form), at a priority before
// ip6tables-legacy's, counts both; ip6tables-legacy's -m rt --rt-type 0
// (the kernel's ip6t_rt) counts the whole one only, and drops the other.
func TestRoutingHeaderAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "ip6tables-legacy")
	ktest.Run(t, ns, "add table ip6 t\nadd chain ip6 t o { type filter hook output priority -10; }\nadd rule ip6 t o rt type 0 counter\n", "nft", "-f", "-")
	ktest.Run(t, ns, "", "ip6tables-legacy", "-A", "OUTPUT", "-m", "rt", "--rt-type", "0")
	if err := ns.Do(func() error {
		s, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer syscall.Close(s)
		for _, hdrlen := range []byte{0, 10} { // (hdrlen+1)*8 bytes: 8, and 88 (8 sent)
			rh := []byte{59, hdrlen, 0, 0, 0, 0, 0, 0} // no next header, type 0, segments left 0
			p := ipv6(rh, false, 0, false)
			p[6] = 43 // routing header
			err := syscall.Sendto(s, p, 0, &syscall.SockaddrInet6{Addr: [16]byte{15: 1}})
			switch {
			case hdrlen == 0 && err != nil:
				return fmt.Errorf("send the whole routing header: %w", err)
			case hdrlen != 0 && err != syscall.EPERM:
				t.Logf("the truncated routing header: send gave %v, not EPERM (xt did not drop it)", err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	xt := xtPacketCounts(t, ktest.Run(t, ns, "", "ip6tables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
	out := ktest.Run(t, ns, "", "nft", "list", "chain", "ip6", "t", "o")
	if len(xt) != 1 || xt[0] != 1 {
		t.Errorf("xt counted %v, want [1]: the truncated routing header is no match", xt)
	}
	if !strings.Contains(out, "rt type 0 counter packets 2 ") {
		t.Errorf("nft's rt type 0 did not count both packets:\n%s", out)
	}
}
