package lab

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"
)

// The destination address comes from the kernel's in_pktinfo (its third
// field, the header's destination, not spec_dst) or in6_pktinfo.
func TestPktinfoDst(t *testing.T) {
	v4 := unix.PktInfo4(&unix.Inet4Pktinfo{Ifindex: 3, Spec_dst: [4]byte{10, 2, 0, 2}, Addr: [4]byte{10, 2, 0, 31}})
	if got, ok := pktinfoDst(v4, IPv4); !ok || got != netip.MustParseAddr("10.2.0.31") {
		t.Errorf("IPv4: %v %v, want 10.2.0.31", got, ok)
	}
	v6 := unix.PktInfo6(&unix.Inet6Pktinfo{Addr: netip.MustParseAddr("fd00:2::31").As16(), Ifindex: 3})
	if got, ok := pktinfoDst(v6, IPv6); !ok || got != netip.MustParseAddr("fd00:2::31") {
		t.Errorf("IPv6: %v %v, want fd00:2::31", got, ok)
	}
	if _, ok := pktinfoDst(v4, IPv6); ok {
		t.Error("an IPv4 control message read for IPv6")
	}
	if _, ok := pktinfoDst(nil, IPv4); ok {
		t.Error("no control message read as one")
	}
}

func TestNATCaseDescribe(t *testing.T) {
	ap := netip.MustParseAddrPort
	c := NATCase{
		Flows:       []NATFlow{{From: 52000, To: netip.MustParseAddr("10.2.0.2"), Port: 9601}, {From: 52001, To: netip.MustParseAddr("10.2.0.30"), Port: 9601}, {From: 52002, To: netip.MustParseAddr("10.2.0.31"), Port: 9601}},
		Addrs:       [2]netip.Addr{netip.MustParseAddr("10.2.0.20"), netip.MustParseAddr("10.2.0.23")},
		Ports:       [2]uint16{20300, 20310},
		RandomPorts: true,
	}
	seen := []NATSeen{
		{Src: ap("10.2.0.21:20305"), Dst: ap("10.2.0.2:9601")},
		{Src: ap("10.2.0.24:20311"), Dst: ap("10.2.0.30:9601")},
		{},
	}
	want := []string{
		"flow 0 :52000 → 10.2.0.2:9601: 10.2.0.21:20300-20310 → 10.2.0.2:9601",
		"flow 1 :52001 → 10.2.0.30:9601: 10.2.0.24:20311 → 10.2.0.30:9601",
		"flow 2 :52002 → 10.2.0.31:9601: nothing",
	}
	if diff := cmp.Diff(want, c.Describe(seen)); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
	wantOut := []string{"flow 1: address 10.2.0.24 outside 10.2.0.20-10.2.0.23", "flow 1: port 20311 outside 20300-20310"}
	if diff := cmp.Diff(wantOut, c.Outside(seen)); diff != "" {
		t.Errorf("Outside (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]netip.Addr{netip.MustParseAddr("10.2.0.21"), netip.MustParseAddr("10.2.0.24")}, c.MappedAddrs(seen), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("MappedAddrs (-want +got):\n%s", diff)
	}
	// Another random port inside the range compares equal; another
	// address, or a port where the case keeps it, does not.
	other := []NATSeen{{Src: ap("10.2.0.21:20309"), Dst: ap("10.2.0.2:9601")}, seen[1], {}}
	if d := CompareNATFlows(c, seen, other, "a", "b"); len(d) != 0 {
		t.Errorf("random ports inside the range differ: %v", d)
	}
	other[0].Src = ap("10.2.0.22:20305")
	if d := CompareNATFlows(c, seen, other, "a", "b"); len(d) != 1 {
		t.Errorf("another address: %v, want one difference", d)
	}
	c.RandomPorts = false
	other[0].Src = ap("10.2.0.21:20309")
	if d := CompareNATFlows(c, seen, other, "a", "b"); len(d) != 1 {
		t.Errorf("another kept port: %v, want one difference", d)
	}
	// The destination side for DNAT and REDIRECT.
	d := NATCase{Flows: c.Flows[:1], Dst: true, Ports: [2]uint16{9700, 9702}, RandomPorts: true}
	ds := []NATSeen{{Src: ap("10.1.0.2:52000"), Dst: ap("10.2.0.2:9701")}}
	if got := d.Describe(ds)[0]; got != "flow 0 :52000 → 10.2.0.2:9601: 10.1.0.2:52000 → 10.2.0.2:9700-9702" {
		t.Errorf("DNAT: %s", got)
	}
}
