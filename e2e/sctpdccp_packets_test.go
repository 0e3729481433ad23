package e2e

import (
	"encoding/binary"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/parse"
)

// The sctp and dccp matches' ports, like the tcp match's, never match a
// fragment other than the first. A whole packet to port 22 and a non-first
// fragment whose data starts like a header to port 22, of each protocol,
// sent on a raw socket and counted on OUTPUT by iptables-legacy (the
// kernel's xt_sctp and xt_dccp) and by ctmatch's rules for the same words.
func TestSCTPAndDCCPPortsAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy")
	bin := ctmatchCLI(t)
	rules := []struct {
		words, canon string
		want         uint64
	}{
		{"-p sctp --dport 22", "-p sctp -m sctp --dport 22", 1},
		{"-p sctp ! --dport 22", "-p sctp -m sctp ! --dport 22", 0},
		{"-p sctp --dport 0:65535", "-p sctp -m sctp --dport 0:65535", 1},
		{"-p dccp --dport 22", "-p dccp -m dccp --dport 22", 1},
		{"-p dccp ! --sport 1000", "-p dccp -m dccp ! --sport 1000", 0},
		{"-p dccp -m dccp", "-p dccp -m dccp", 1},
	}
	ktest.Run(t, ns, "add table ip t\nadd chain ip t o { type filter hook output priority 10; }\n", "nft", "-f", "-")
	for _, r := range rules {
		ktest.Run(t, ns, "", "iptables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(r.words)...)...)
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "t", "o", "--", r.words)
	}
	if err := ns.Do(sendSCTPAndDCCP); err != nil {
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
			t.Errorf("ctmatch's rules for %q counted %d packets (listed: %v), xt %d\n%s", r.words, got, ok, xt[i], out)
		}
	}
}

// sendSCTPAndDCCP sends, for SCTP and for DCCP, a whole packet from port
// 1000 to port 22 and a non-first fragment whose data is the same header.
func sendSCTPAndDCCP() error {
	s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer syscall.Close(s)
	for _, proto := range []byte{parse.ProtoSCTP, parse.ProtoDCCP} {
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[0:], 1000)
		binary.BigEndian.PutUint16(h[2:], 22)
		for _, offset := range []uint16{0, 8} {
			p := ipv4(h, offset, false)
			p[9] = proto
			p[10], p[11] = 0, 0
			binary.BigEndian.PutUint16(p[10:], checksum(p[:20]))
			if err := syscall.Sendto(s, p, 0, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
	}
	return nil
}
