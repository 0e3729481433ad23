package e2e

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// The tcp match never looks at a fragment other than the first; nft's
// transport payload reads one (an IPv4 fragment's data, an IPv6 fragment's
// own header) as if it held the ports. Crafted fragments and whole segments,
// sent on a raw socket and counted on OUTPUT, are counted alike by
// iptables-legacy (the kernel's xt_tcpudp: iptables-nft would store the same
// words as native nft expressions) and by ctmatch's rules for the same words,
// and otherwise by "tcp dport 22" alone, iptables-translate's form.
func TestPortsFragmentsAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "ip6tables-legacy")
	bin := ctmatchCLI(t)
	rules := []string{"-p tcp --dport 22", "-p tcp ! --dport 22", "-p tcp -m tcp", "-p tcp --dport 0", "-p tcp"}
	ktest.Run(t, ns, "add table ip t\nadd chain ip t o { type filter hook output priority 10; }\n"+
		"add rule ip t o tcp dport 22 counter\n"+
		"add table ip6 t\nadd chain ip6 t o { type filter hook output priority 10; }\n"+
		"add rule ip6 t o tcp dport 0 counter\n", "nft", "-f", "-")
	for _, r := range rules {
		ktest.Run(t, ns, "", "iptables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(r)...)...)
		ktest.Run(t, ns, "", "ip6tables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(r)...)...)
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "t", "o", "--", r)
		mustCLI(t, bin, ns, "", "add", "rule", "-6", "ip6", "t", "o", "--", r)
	}
	if err := ns.Do(sendFragments); err != nil {
		t.Fatal(err)
	}

	for _, fam := range []struct{ tool, table string }{{"iptables-legacy", "ip"}, {"ip6tables-legacy", "ip6"}} {
		xt := xtPacketCounts(t, ktest.Run(t, ns, "", fam.tool, "-L", "OUTPUT", "-v", "-n", "-x"))
		out := mustCLI(t, bin, ns, "", "list", "chain", fam.table, "t", "o", "-o", "iptables", "-a")
		ours := listedCounts(out, "o")
		var bare uint64
		for _, l := range strings.Split(out, "\n") {
			if m := bareCounter.FindStringSubmatch(l); m != nil {
				// The rule nft wrote, listed as not decompiled.
				bare, _ = strconv.ParseUint(m[1], 10, 64)
			}
		}
		// xt counts per rule, in order; the words as ctmatch lists them.
		canon := []string{"-p tcp -m tcp --dport 22", "-p tcp -m tcp ! --dport 22", "-p tcp -m tcp", "-p tcp -m tcp --dport 0", "-p tcp"}
		want := []uint64{2, 0, 2, 0, 0}
		if fam.table == "ip" {
			want[4] = 4
		} else {
			want[4] = 3
		}
		if len(xt) != len(canon) {
			t.Fatalf("%s: %d rules counted by xt, want %d", fam.table, len(xt), len(canon))
		}
		for i, w := range canon {
			if xt[i] != want[i] {
				t.Errorf("%s: xt counted %d packets for %q, the crafted traffic gives %d", fam.table, xt[i], rules[i], want[i])
			}
			if got, ok := ours[w]; !ok || got != xt[i] {
				t.Errorf("%s: ctmatch's rules for %q counted %d packets (listed: %v), xt %d\n%s", fam.table, rules[i], got, ok, xt[i], out)
			}
		}
		// The bare port match counts a non-first fragment that xt does not.
		if wantBare := map[string]uint64{"ip": 3, "ip6": 1}[fam.table]; bare != wantBare {
			t.Errorf("%s: the bare port match counted %d packets, want %d (xt counts %d)", fam.table, bare, wantBare, map[string]uint64{"ip": 2, "ip6": 0}[fam.table])
		}
	}
}

var (
	packetsOf   = regexp.MustCompile(`^(-A .*?) # handles? [0-9,]+ packets (\d+) bytes \d+$`)
	bareCounter = regexp.MustCompile(`^#   \[ counter pkts (\d+) bytes \d+ \]$`)
)

// xtPacketCounts reads the packet counts of iptables -L -v -n -x, in order.
func xtPacketCounts(t *testing.T, out string) []uint64 {
	t.Helper()
	var counts []uint64
	for _, l := range strings.Split(out, "\n")[2:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			t.Fatalf("iptables -L line %q: %v", l, err)
		}
		counts = append(counts, n)
	}
	return counts
}

// tcpHeader is a 20-byte TCP header from port 1000 to port dport.
func tcpHeader(dport uint16) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], 1000)
	binary.BigEndian.PutUint16(h[2:], dport)
	h[12] = 5 << 4
	h[13] = 0x02
	binary.BigEndian.PutUint16(h[14:], 1024)
	return h
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// ipv4 is an IPv4 packet of protocol TCP from and to 127.0.0.1 with the
// given fragment offset (in 8-byte units) and more-fragments flag.
func ipv4(payload []byte, offset uint16, more bool) []byte {
	h := make([]byte, 20)
	h[0], h[8], h[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	fo := offset
	if more {
		fo |= 1 << 13
	}
	binary.BigEndian.PutUint16(h[6:], fo)
	copy(h[12:], []byte{127, 0, 0, 1, 127, 0, 0, 1})
	binary.BigEndian.PutUint16(h[10:], checksum(h))
	return append(h, payload...)
}

// ipv6 is an IPv6 packet from and to ::1 (flow label 0): with a fragment
// header of the given offset and flag in front of a TCP payload, or a whole
// TCP segment.
func ipv6(payload []byte, frag bool, offset uint16, more bool) []byte {
	body := payload
	next := byte(6)
	if frag {
		fh := make([]byte, 8)
		fh[0] = 6
		fo := offset << 3
		if more {
			fo |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], fo)
		binary.BigEndian.PutUint32(fh[4:], 0x1234)
		body = append(fh, payload...)
		next = 44
	}
	h := make([]byte, 40)
	h[0] = 6 << 4
	binary.BigEndian.PutUint16(h[4:], uint16(len(body)))
	h[6], h[7] = next, 64
	h[23], h[39] = 1, 1
	return append(h, body...)
}

// sendFragments sends, on raw sockets: for IPv4 a non-first fragment whose
// data starts like a TCP header to port 22, a first fragment and a whole
// segment to port 22, and a non-first fragment whose bytes 2-3 are 0; for
// IPv6 a non-first fragment, a first fragment and a whole segment to port 22.
func sendFragments() error {
	long := append(tcpHeader(22), make([]byte, 40)...)
	zero := tcpHeader(0)
	v4 := [][]byte{ipv4(tcpHeader(22), 8, false), ipv4(long, 0, true), ipv4(tcpHeader(22), 0, false), ipv4(zero, 8, false)}
	v6 := [][]byte{ipv6(tcpHeader(22), true, 8, false), ipv6(long, true, 0, true), ipv6(tcpHeader(22), false, 0, false)}
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
	return sendIPv6Loopback(v6)
}

// sendIPv6Loopback sends whole IPv6 packets to ::1 from an IPPROTO_RAW
// socket of the namespace it runs in.
func sendIPv6Loopback(pkts [][]byte) error {
	s, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer syscall.Close(s)
	for _, p := range pkts {
		if err := syscall.Sendto(s, p, 0, &syscall.SockaddrInet6{Addr: [16]byte{15: 1}}); err != nil {
			return fmt.Errorf("send IPv6: %w", err)
		}
	}
	return nil
}

// icmpv6Packet is ipv6's packet with ICMPv6 (58) in place of TCP.
func icmpv6Packet(payload []byte, frag bool, offset uint16, more bool) []byte {
	p := ipv6(payload, frag, offset, more)
	if frag {
		p[40] = 58 // the fragment header's next header
	} else {
		p[6] = 58
	}
	return p
}

// listedCounts reads list -o iptables -a of chain: the packets each
// group's words (after "-A CHAIN ") counted.
func listedCounts(out, chain string) map[string]uint64 {
	counts := map[string]uint64{}
	for _, l := range strings.Split(out, "\n") {
		if m := packetsOf.FindStringSubmatch(l); m != nil {
			n, err := strconv.ParseUint(m[2], 10, 64)
			if err == nil {
				counts[strings.TrimPrefix(m[1], "-A "+chain+" ")] = n
			}
		}
	}
	return counts
}

// ip6tables' icmp6 match never looks at a fragment other than the first;
// for such a fragment nft's transport offset is 0, so "icmpv6 type" reads
// the IPv6 header's first byte: 0x60 for IPv6 with traffic class 0, which
// no type test but 96 to 111 and the negated ones could match; but neither
// an ip6 nor an inet table looks at the version of a packet sent from a raw
// socket, and a non-first fragment of version 8 reads as type 128. So
// ctmatch keeps both fragment rules for every ICMPv6 type test. Whole
// ICMPv6 packets of types 128, 1/4 and 96, a first fragment of type 128,
// non-first fragments holding each type and one of version 8, sent through
// lo and counted on OUTPUT: ip6tables-legacy (the kernel's icmp6_match) and
// ctmatch's rules, in an ip6 and an inet table, count the same packets;
// nft's bare "icmpv6 type 128" (ip6tables-translate's form) counts the
// version 8 fragment besides, and the bare "icmpv6 type 96" and "icmpv6
// type != 128" the version 6 non-first fragments.
func TestICMPv6FragmentsAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "ip6tables-legacy")
	bin := ctmatchCLI(t)
	rules := []string{"-p ipv6-icmp --icmpv6-type 128", "-p ipv6-icmp --icmpv6-type 1/4", "-p ipv6-icmp --icmpv6-type 96", "-p ipv6-icmp ! --icmpv6-type 128"}
	canon := []string{"-p ipv6-icmp -m icmp6 --icmpv6-type 128", "-p ipv6-icmp -m icmp6 --icmpv6-type 1/4", "-p ipv6-icmp -m icmp6 --icmpv6-type 96", "-p ipv6-icmp -m icmp6 ! --icmpv6-type 128"}
	bare := []string{"icmpv6 type 128", "icmpv6 type 96", "icmpv6 type != 128"}
	var script strings.Builder
	for _, table := range []string{"ip6", "inet"} {
		fmt.Fprintf(&script, "add table %s t\nadd chain %s t o { type filter hook output priority 10; }\nadd chain %s t b { type filter hook output priority 20; }\n", table, table, table)
		nfproto := ""
		if table == "inet" {
			nfproto = "meta nfproto ipv6 "
		}
		for _, b := range bare {
			fmt.Fprintf(&script, "add rule %s t b %s%s counter\n", table, nfproto, b)
		}
	}
	ktest.Run(t, ns, script.String(), "nft", "-f", "-")
	for _, r := range rules {
		ktest.Run(t, ns, "", "ip6tables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(r)...)...)
		mustCLI(t, bin, ns, "", "add", "rule", "-6", "ip6", "t", "o", "--", r)
		mustCLI(t, bin, ns, "", "add", "rule", "inet", "t", "o", "-6", "--", r)
	}
	// The ICMPv6 headers carry checksum 0, so the stack answers none of
	// them (an echo reply would be counted on OUTPUT too).
	icmp := func(typ, code byte) []byte { return append([]byte{typ, code, 0, 0, 0, 1, 0, 1}, make([]byte, 16)...) }
	version8 := icmpv6Packet(icmp(1, 4), true, 8, false)
	version8[0] = 0x80
	pkts := [][]byte{
		icmpv6Packet(icmp(128, 0), false, 0, false), icmpv6Packet(icmp(128, 0), true, 0, true), icmpv6Packet(icmp(128, 0), true, 8, false),
		icmpv6Packet(icmp(1, 4), false, 0, false), icmpv6Packet(icmp(1, 4), true, 8, false),
		icmpv6Packet(icmp(96, 0), false, 0, false), icmpv6Packet(icmp(96, 0), true, 8, false),
		version8,
	}
	if err := ns.Do(func() error { return sendIPv6Loopback(pkts) }); err != nil {
		t.Fatal(err)
	}
	xt := xtPacketCounts(t, ktest.Run(t, ns, "", "ip6tables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
	if want := []uint64{2, 1, 1, 2}; !slices.Equal(xt, want) {
		t.Fatalf("xt counted %v for %q, the crafted traffic gives %v", xt, rules, want)
	}
	for _, table := range []string{"ip6", "inet"} {
		out := mustCLI(t, bin, ns, "", "list", "chain", table, "t", "o", "-o", "iptables", "-a")
		// An inet table's ip6tables rules are listed with "# -6" before
		// their handles.
		ours := listedCounts(strings.ReplaceAll(out, " # -6 handle", " # handle"), "o")
		for i, w := range canon {
			if got, ok := ours[w]; !ok || got != xt[i] {
				t.Errorf("%s: ctmatch's rules for %q counted %d packets (listed: %v), xt %d\n%s", table, rules[i], got, ok, xt[i], out)
			}
		}
		nft := ktest.Run(t, ns, "", "nft", "list", "chain", table, "t", "b")
		for i, want := range []uint64{3, 4, 5} {
			if !strings.Contains(nft, fmt.Sprintf("%s counter packets %d ", strings.Replace(bare[i], "128", "echo-request", 1), want)) {
				t.Errorf("%s: nft's bare %q did not count %d packets:\n%s", table, bare[i], want, nft)
			}
		}
	}
}

// ctmatch refuses an ICMPv6 type rule with -m limit: its two nft rules
// would each hold a bucket. Four whole echo requests and four first
// fragments of one, sent in turn through lo, against --limit 1/hour
// --limit-burst 3 (a token comes back every 1,200 s: none during the test):
// ip6tables-legacy lets 3 through, the two rules of the split form (nft's
// text), a bucket each, 6.
func TestICMPv6LimitSplit(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "ip6tables-legacy")
	bin := ctmatchCLI(t)
	const words = "-p ipv6-icmp --icmpv6-type 128 -m limit --limit 1/hour --limit-burst 3"
	ktest.Run(t, ns, "add table ip6 t\nadd chain ip6 t b { type filter hook output priority 20; }\n"+
		"add rule ip6 t b exthdr frag missing icmpv6 type echo-request limit rate 1/hour burst 3 packets counter\n"+
		"add rule ip6 t b frag frag-off 0 icmpv6 type echo-request limit rate 1/hour burst 3 packets counter\n", "nft", "-f", "-")
	ktest.Run(t, ns, "", "ip6tables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(words)...)...)
	if r := runCLI(t, bin, ns, "", "add", "rule", "-6", "ip6", "t", "b", "--", words); r.code != 1 || !strings.Contains(r.stderr, "a limit in each would count its packets apart") {
		t.Errorf("ctmatch add rule %s: exit %d, want 1 and the reason:\n%s", words, r.code, r.stderr)
	}
	echo := append([]byte{128, 0, 0, 0, 0, 1, 0, 1}, make([]byte, 16)...)
	var pkts [][]byte
	for i := range 8 {
		pkts = append(pkts, icmpv6Packet(echo, i%2 == 1, 0, true)) // odd ones: a first fragment
	}
	if err := ns.Do(func() error { return sendIPv6Loopback(pkts) }); err != nil {
		t.Fatal(err)
	}
	xt := xtPacketCounts(t, ktest.Run(t, ns, "", "ip6tables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
	if !slices.Equal(xt, []uint64{3}) {
		t.Errorf("xt let %v through, want [3]", xt)
	}
	split := ktest.Run(t, ns, "", "nft", "list", "chain", "ip6", "t", "b")
	var total uint64
	for _, m := range limitCounter.FindAllStringSubmatch(split, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		total += n
	}
	if total != 6 {
		t.Errorf("the split form's two buckets let %d through, want 6:\n%s", total, split)
	}
}
