package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// --tcp-flags, --syn and -f on crafted IPv4 packets: whole TCP segments with
// chosen flags (byte 13 of the TCP header), a first fragment with SYN and a
// non-first fragment whose data starts like a TCP header with ACK, sent on
// a raw socket and counted on OUTPUT by iptables-legacy (the kernel's
// xt_tcpudp and ip_packet_match) and by ctmatch's rules for the same words.
// iptables-translate's form of ! --syn, which has no fragment test, counts
// the non-first fragment as well; its form of --tcp-flags NONE SYN counts
// every packet, where xt counts none (ctmatch refuses that rule).
func TestTCPFlagsAndFragmentsAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "iptables-translate")
	bin := ctmatchCLI(t)
	type rule struct {
		words string // as given
		canon string // as ctmatch lists it
		want  uint64 // what the crafted traffic gives
	}
	rules := []rule{
		{"-p tcp --syn", "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN", 3},
		{"-p tcp ! --syn", "-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN", 4},
		{"-p tcp --tcp-flags ALL NONE", "-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE", 1},
		{"-p tcp --tcp-flags ALL FIN,PSH,URG", "-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG FIN,PSH,URG", 1},
		{"-p tcp ! --tcp-flags SYN,ACK SYN", "-p tcp -m tcp ! --tcp-flags SYN,ACK SYN", 4},
		{"-p tcp --tcp-flags SYN ACK", "-p tcp -m tcp --tcp-flags SYN ACK", 0},
		{"-p tcp ! --tcp-flags NONE SYN", "-p tcp -m tcp ! --tcp-flags NONE SYN", 7},
		{"-f", "-f", 1},
		{"! -f", "! -f", 7},
		{"-p tcp -f", "-p tcp -f", 1},
		{"-p tcp -f --syn", "-p tcp -f -m tcp --tcp-flags FIN,SYN,RST,ACK SYN", 0},
	}
	ktest.Run(t, ns, "add table ip t\nadd chain ip t o { type filter hook output priority 10; }\n", "nft", "-f", "-")
	for _, r := range rules {
		ktest.Run(t, ns, "", "iptables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(r.words)...)...)
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "t", "o", "--", r.words)
	}
	// iptables-translate's forms, each in a chain of its own.
	translated := []struct {
		words    string
		want, xt uint64
	}{{"-p tcp ! --syn", 5, 4}, {"-p tcp --tcp-flags NONE SYN", 8, 0}}
	var script strings.Builder
	script.WriteString("add table ip x\n")
	for i, tr := range translated {
		out := ktest.Run(t, ns, "", "iptables-translate", append([]string{"-A", "OUTPUT"}, strings.Fields(tr.words)...)...)
		body := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(out), "nft 'add rule ip filter OUTPUT "), "'")
		fmt.Fprintf(&script, "add chain ip x c%d { type filter hook output priority %d; }\nadd rule ip x c%d %s\n", i, 20+i, i, body)
	}
	ktest.Run(t, ns, script.String(), "nft", "-f", "-")
	if r := runCLI(t, bin, ns, "", "add", "rule", "ip", "t", "o", "--", "-p tcp --tcp-flags NONE SYN"); r.code != 1 {
		t.Errorf("ctmatch add rule -p tcp --tcp-flags NONE SYN: exit %d, want 1 (refused)\n%s", r.code, r.stderr)
	}

	if err := ns.Do(sendFlagPackets); err != nil {
		t.Fatal(err)
	}

	xt := xtPacketCounts(t, ktest.Run(t, ns, "", "iptables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
	if len(xt) != len(rules) {
		t.Fatalf("%d rules counted by xt, want %d", len(xt), len(rules))
	}
	out := mustCLI(t, bin, ns, "", "list", "chain", "ip", "t", "o", "-o", "iptables", "-a")
	ours := listedCounts(out, "o")
	for i, r := range rules {
		if xt[i] != r.want {
			t.Errorf("xt counted %d packets for %q, the crafted traffic gives %d", xt[i], r.words, r.want)
		}
		if got, ok := ours[r.canon]; !ok || got != xt[i] {
			t.Errorf("ctmatch's rules for %q counted %d packets (listed as %q: %v), xt %d\n%s", r.words, got, r.canon, ok, xt[i], out)
		}
	}
	listed := ktest.Run(t, ns, "", "nft", "list", "table", "ip", "x")
	counts := nftCounters.FindAllStringSubmatch(listed, -1)
	if len(counts) != len(translated) {
		t.Fatalf("%d counters in iptables-translate's rules, want %d:\n%s", len(counts), len(translated), listed)
	}
	for i, tr := range translated {
		n, _ := strconv.ParseUint(counts[i][1], 10, 64)
		if n != tr.want {
			t.Errorf("iptables-translate's rule for %q counted %d packets, want %d (xt: %d)\n%s", tr.words, n, tr.want, tr.xt, listed)
		}
	}
}

var nftCounters = regexp.MustCompile(`counter packets (\d+) bytes`)

// flagHeader is a 20-byte TCP header from port 1000 to port 22 with the
// given flags.
func flagHeader(flags byte) []byte {
	h := tcpHeader(22)
	h[13] = flags
	return h
}

// sendFlagPackets sends, on a raw IPv4 socket: whole segments with SYN,
// SYN+ACK, ACK, FIN+PSH+URG, no flag and SYN+ECE+CWR, a non-first fragment
// whose data is a TCP header with ACK, and a first fragment with SYN.
func sendFlagPackets() error {
	long := append(flagHeader(0x02), make([]byte, 40)...)
	ps := [][]byte{
		ipv4(flagHeader(0x02), 0, false), ipv4(flagHeader(0x12), 0, false), ipv4(flagHeader(0x10), 0, false),
		ipv4(flagHeader(0x29), 0, false), ipv4(flagHeader(0x00), 0, false), ipv4(flagHeader(0x10), 8, false),
		ipv4(long, 0, true), ipv4(flagHeader(0xc2), 0, false),
	}
	s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer syscall.Close(s)
	for _, p := range ps {
		if err := syscall.Sendto(s, p, 0, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return fmt.Errorf("send IPv4: %w", err)
		}
	}
	return nil
}

// --tcp-option: xt_tcpudp's tcp_find_option finds an option kind in the
// last byte of the options, and one whose length runs past the header;
// nft's tcp option expression, iptables-translate's form, finds neither.
// Three segments with option 8 (timestamps) on a raw socket: well formed,
// in the last byte, and with a length past the header. ctmatch refuses
// the words.
func TestTCPOptionAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "iptables-translate")
	bin := ctmatchCLI(t)
	words := []string{"-p", "tcp", "--tcp-option", "8"}
	ktest.Run(t, ns, "", "iptables-legacy", append([]string{"-A", "OUTPUT"}, words...)...)
	out := ktest.Run(t, ns, "", "iptables-translate", append([]string{"-A", "OUTPUT"}, words...)...)
	body := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(out), "nft 'add rule ip filter OUTPUT "), "'")
	ktest.Run(t, ns, "add table ip x\nadd chain ip x o { type filter hook output priority 10; }\nadd rule ip x o "+body+"\n", "nft", "-f", "-")
	if r := runCLI(t, bin, ns, "", "add", "rule", "ip", "x", "o", "--", strings.Join(words, " ")); r.code != 1 {
		t.Errorf("ctmatch add rule %s: exit %d, want 1 (refused)\n%s", strings.Join(words, " "), r.code, r.stderr)
	}
	if err := ns.Do(sendOptionPackets); err != nil {
		t.Fatal(err)
	}
	xt := xtPacketCounts(t, ktest.Run(t, ns, "", "iptables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
	if len(xt) != 1 || xt[0] != 3 {
		t.Errorf("xt's --tcp-option 8 counted %v packets, want 3", xt)
	}
	listed := ktest.Run(t, ns, "", "nft", "list", "table", "ip", "x")
	m := nftCounters.FindStringSubmatch(listed)
	if m == nil || m[1] != "1" {
		t.Errorf("iptables-translate's %q counted %v packets, want 1 (the well-formed option only)\n%s", body, m, listed)
	}
}

// sendOptionPackets sends three TCP segments carrying option 8: a
// well-formed timestamps option (NOP, NOP, 8, 10, …); option 8 in the last
// byte of the options (NOP, NOP, NOP, 8); and 8 with a length of 10 in a
// header with room for 2 bytes of it (NOP, NOP, 8, 10).
func sendOptionPackets() error {
	withOptions := func(opts ...byte) []byte {
		h := append(flagHeader(0x02), opts...)
		h[12] = byte(len(h)/4) << 4
		return h
	}
	ts := append([]byte{1, 1, 8, 10}, make([]byte, 8)...)
	ps := [][]byte{ipv4(withOptions(ts...), 0, false), ipv4(withOptions(1, 1, 1, 8), 0, false), ipv4(withOptions(1, 1, 8, 10), 0, false)}
	s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer syscall.Close(s)
	for _, p := range ps {
		if err := syscall.Sendto(s, p, 0, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return fmt.Errorf("send IPv4: %w", err)
		}
	}
	return nil
}

// --syn with ip6tables: the same fragment rule, with IPv6's fragment header.
// Whole segments with SYN and with ACK, a first fragment with SYN and a
// non-first fragment whose data is a header with ACK, counted on OUTPUT by
// ip6tables-legacy and by ctmatch's two rules per iptables rule.
func TestTCPFlagsIPv6AgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "ip6tables-legacy")
	bin := ctmatchCLI(t)
	rules := []struct {
		words, canon string
		want         uint64
	}{
		{"-p tcp --syn", "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN", 2},
		{"-p tcp ! --syn", "-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN", 1},
		{"-p tcp --tcp-flags ACK ACK", "-p tcp -m tcp --tcp-flags ACK ACK", 1},
	}
	ktest.Run(t, ns, "add table ip6 t\nadd chain ip6 t o { type filter hook output priority 10; }\n", "nft", "-f", "-")
	for _, r := range rules {
		ktest.Run(t, ns, "", "ip6tables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(r.words)...)...)
		mustCLI(t, bin, ns, "", "add", "rule", "-6", "ip6", "t", "o", "--", r.words)
	}
	err := ns.Do(func() error {
		long := append(flagHeader(0x02), make([]byte, 40)...)
		ps := [][]byte{ipv6(flagHeader(0x02), false, 0, false), ipv6(flagHeader(0x10), false, 0, false),
			ipv6(long, true, 0, true), ipv6(flagHeader(0x10), true, 8, false)}
		s, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer syscall.Close(s)
		for _, p := range ps {
			if err := syscall.Sendto(s, p, 0, &syscall.SockaddrInet6{Addr: [16]byte{15: 1}}); err != nil {
				return fmt.Errorf("send IPv6: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	xt := xtPacketCounts(t, ktest.Run(t, ns, "", "ip6tables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
	if len(xt) != len(rules) {
		t.Fatalf("%d rules counted by xt, want %d", len(xt), len(rules))
	}
	out := mustCLI(t, bin, ns, "", "list", "chain", "ip6", "t", "o", "-o", "iptables", "-a")
	ours := listedCounts(out, "o")
	for i, r := range rules {
		if xt[i] != r.want {
			t.Errorf("xt counted %d packets for %q, the crafted traffic gives %d", xt[i], r.words, r.want)
		}
		if got, ok := ours[r.canon]; !ok || got != xt[i] {
			t.Errorf("ctmatch's rules for %q counted %d packets (listed: %v), xt %d\n%s", r.words, got, ok, xt[i], out)
		}
	}
}
