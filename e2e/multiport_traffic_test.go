package e2e

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// xt_multiport (iptables-legacy, the kernel's own match) and ctmatch's rules
// for the same words count the same crafted TCP packets, sent on raw
// sockets and counted on OUTPUT: whole segments with chosen source and
// destination ports (one port, both, neither in the list; in a range), a
// first fragment, and a non-first fragment whose data looks like ports in
// the list. --ports' two nft rules count each packet at most once: the
// group's count (their sum) is xt's.
func TestMultiportAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "ip6tables-legacy")
	bin := ctmatchCLI(t)
	rules := []string{
		"-p tcp -m multiport --dports 22,80:90",
		"-p tcp -m multiport ! --dports 22,80:90",
		"-p tcp -m multiport --sports 22,1000",
		"-p tcp -m multiport --ports 22,80:90",
		"-p tcp -m multiport ! --ports 22,80:90",
		"-p tcp -m multiport --ports 22",
		"-p tcp -m multiport ! --ports 22",
	}
	ktest.Run(t, ns, "add table ip t\nadd chain ip t o { type filter hook output priority 10; }\n"+
		"add table ip6 t\nadd chain ip6 t o { type filter hook output priority 10; }\n"+
		"add chain ip t x { type filter hook output priority 20; }\n", "nft", "-f", "-")
	// iptables-translate's forms of two of the rules, in a chain of their
	// own: they count otherwise (docs/semantics.md).
	translated := []string{"-p tcp -m multiport --dports 22,80:90", "-p tcp -m multiport ! --ports 22"}
	for _, r := range translated {
		out := ktest.Run(t, ns, "", "iptables-translate", append([]string{"-A", "OUTPUT"}, strings.Fields(r)...)...)
		body, ok := strings.CutPrefix(strings.TrimSpace(out), "nft 'add rule ip filter OUTPUT ")
		if !ok {
			t.Fatalf("iptables-translate printed %q", out)
		}
		ktest.Run(t, ns, "add rule ip t x "+strings.TrimSuffix(body, "'")+"\n", "nft", "-f", "-")
	}
	for _, r := range rules {
		ktest.Run(t, ns, "", "iptables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(r)...)...)
		ktest.Run(t, ns, "", "ip6tables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(r)...)...)
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "t", "o", "--", r)
		mustCLI(t, bin, ns, "", "add", "rule", "-6", "ip6", "t", "o", "--", r)
	}
	if err := ns.Do(sendMultiportPackets); err != nil {
		t.Fatal(err)
	}
	// iptables-translate's --dports counts the non-first fragment too (it
	// reads the fragment's data as the ports: 5, xt 4); its ! --ports 22
	// lost the "!": it counts the packets with a port 22, and the
	// non-first fragment (5, xt 4).
	var counts []uint64
	for _, l := range strings.Split(ktest.Run(t, ns, "", "nft", "list", "chain", "ip", "t", "x"), "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[len(f)-4] == "packets" {
			n, _ := strconv.ParseUint(f[len(f)-3], 10, 64)
			counts = append(counts, n)
		}
	}
	if want := []uint64{5, 5}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("iptables-translate's %q counted %v packets, want %v (xt: 4 and 4)", translated, counts, want)
	}
	// What the kernel must count, from the packets sent (see
	// sendMultiportPackets): per rule, for both families.
	want := []uint64{4, 4, 5, 6, 2, 4, 4}
	for _, fam := range []struct{ tool, table string }{{"iptables-legacy", "ip"}, {"ip6tables-legacy", "ip6"}} {
		xt := xtPacketCounts(t, ktest.Run(t, ns, "", fam.tool, "-L", "OUTPUT", "-v", "-n", "-x"))
		out := mustCLI(t, bin, ns, "", "list", "chain", fam.table, "t", "o", "-o", "iptables", "-a")
		ours := listedCounts(out, "o")
		if len(xt) != len(rules) {
			t.Fatalf("%s: %d rules counted by xt, want %d", fam.table, len(xt), len(rules))
		}
		for i, r := range rules {
			if xt[i] != want[i] {
				t.Errorf("%s: xt counted %d packets for %q, the crafted traffic gives %d", fam.table, xt[i], r, want[i])
			}
			if got, ok := ours[r]; !ok || got != xt[i] {
				t.Errorf("%s: ctmatch's rules for %q counted %d packets (listed: %v), xt %d\n%s", fam.table, r, got, ok, xt[i], out)
			}
		}
	}
}

// tcpPorts is a 20-byte TCP SYN header from sport to dport.
func tcpPorts(sport, dport uint16) []byte {
	h := tcpHeader(dport)
	binary.BigEndian.PutUint16(h[0:], sport)
	return h
}

// sendMultiportPackets sends, for IPv4 and IPv6 alike, whole TCP segments
// with the ports (sport, dport) (1000, 22), (22, 1000), (22, 22), (5, 85),
// (85, 5), (1, 2), (1000, 1000); a first fragment (1000, 22); and a
// non-first fragment whose data starts with the ports (22, 22).
//
// Counted by the rules of TestMultiportAgainstXt (the non-first fragment
// by none, negated or not): --dports 22,80:90 holds for (1000,22), (22,22),
// (5,85) and the first fragment: 4; ! --dports 22,80:90 for (22,1000),
// (85,5), (1,2), (1000,1000): 4; --sports 22,1000 for (1000,22), (22,1000),
// (22,22), (1000,1000) and the first fragment: 5; --ports 22,80:90 for
// every whole segment with a port in the list, and the first fragment: 6;
// ! --ports 22,80:90 for (1,2) and (1000,1000): 2; --ports 22 for
// (1000,22), (22,1000), (22,22) and the first fragment: 4; ! --ports 22 for
// (5,85), (85,5), (1,2), (1000,1000): 4.
func sendMultiportPackets() error {
	type ports struct{ s, d uint16 }
	whole := []ports{{1000, 22}, {22, 1000}, {22, 22}, {5, 85}, {85, 5}, {1, 2}, {1000, 1000}}
	var v4, v6 [][]byte
	for _, p := range whole {
		v4 = append(v4, ipv4(tcpPorts(p.s, p.d), 0, false))
		v6 = append(v6, ipv6(tcpPorts(p.s, p.d), false, 0, false))
	}
	first := append(tcpPorts(1000, 22), make([]byte, 40)...)
	v4 = append(v4, ipv4(first, 0, true), ipv4(tcpPorts(22, 22), 8, false))
	v6 = append(v6, ipv6(first, true, 0, true), ipv6(tcpPorts(22, 22), true, 8, false))
	s4, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer syscall.Close(s4)
	for _, p := range v4 {
		if err := syscall.Sendto(s4, p, 0, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return fmt.Errorf("send IPv4: %w", err)
		}
	}
	s6, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer syscall.Close(s6)
	for _, p := range v6 {
		if err := syscall.Sendto(s6, p, 0, &syscall.SockaddrInet6{Addr: [16]byte{15: 1}}); err != nil {
			return fmt.Errorf("send IPv6: %w", err)
		}
	}
	return nil
}
