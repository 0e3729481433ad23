package lab

import (
	"net/netip"
	"testing"
)

// The migration observer recognizes a probe where it arrives by its tag (a
// TCP segment by its sequence number), and not another probe nor an echo
// reply carrying the tag back. (An ICMP error quoting a probe carries its
// tag too: MigrationRun keeps it apart by looking for arrivals only at the
// ends other than the probe's sender, to which such answers go.)
func TestMigArrival(t *testing.T) {
	a := IPv4.Addrs()
	udp := func(src, dst netip.Addr, payload []byte) []byte {
		ip := []byte{0x45, 0, 0, byte(28 + len(payload)), 0, 1, 0x40, 0, 64, 17, 0, 0}
		s, d := src.As4(), dst.As4()
		ip = append(append(ip, s[:]...), d[:]...)
		return append(append(ip, 0xaf, 0xc8, 0, 53, 0, byte(8+len(payload)), 0, 0), payload...)
	}
	probe := udp(a.Client, a.Server, migTagBytes(7))
	if got, want := migArrival(probe, 7), "udp 10.1.0.2:45000 > 10.2.0.2:53"; got != want {
		t.Errorf("the datagram: %q, want %q", got, want)
	}
	if got := migArrival(probe, 8); got != "" {
		t.Errorf("another probe's datagram: %q, want none", got)
	}
	reply := append([]byte{0x45, 0, 0, 36, 0, 1, 0x40, 0, 64, 1, 0, 0}, append(a.Server.AsSlice(), a.Client.AsSlice()...)...)
	reply = append(reply, append([]byte{0, 0, 0, 0, 0xaf, 0xc8, 0, 1}, migTagBytes(7)...)...)
	if got := migArrival(reply, 7); got != "" {
		t.Errorf("an echo reply: %q, want none", got)
	}
	echo := append(reply[:20:20], append([]byte{8, 0, 0, 0, 0xaf, 0xc8, 0, 1}, migTagBytes(7)...)...)
	if got, want := migArrival(echo, 7), "icmp 8/0 10.2.0.2 > 10.1.0.2"; got != want {
		t.Errorf("an echo request: %q, want %q", got, want)
	}
	errMsg := migError(IPv4, a.Server, a.Client, 53, 45003, migTagBytes(3))
	if id, ok := migTag(errMsg); !ok || id != 3 {
		t.Errorf("migError's tag: %d %v, want 3", id, ok)
	}
	if checksum(0, errMsg) != 0xffff || checksum(0, errMsg[8:28]) != 0xffff {
		t.Errorf("migError's ICMP or inner IP checksum is wrong")
	}
}
