package e2e

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// Why ctmatch refuses TCPMSS: for a SYN without an MSS option xt_TCPMSS adds
// one (at most 536 for IPv4), while nft's "tcp option maxseg size set"
// leaves the SYN as it is; for a SYN with one both rewrite it. A raw socket
// sends both SYNs through mangle OUTPUT, and an NFLOG rule in INPUT hands
// the SYN as it arrives to a listener, which reads its MSS option.
func TestTCPMSSAddsOptionNftDoesNot(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy")
	const group, port = 11, 9400
	c := listenNFLOG(t, ns, group)
	send := func(mss uint16) {
		hdr := make([]byte, 20, 24)
		binary.BigEndian.PutUint16(hdr[0:], 40000)
		binary.BigEndian.PutUint16(hdr[2:], port)
		binary.BigEndian.PutUint32(hdr[4:], 1)
		hdr[12] = 5 << 4
		if mss != 0 {
			hdr = append(hdr, 2, 4, byte(mss>>8), byte(mss))
			hdr[12] = 6 << 4
		}
		hdr[13] = 0x02 // SYN
		binary.BigEndian.PutUint16(hdr[14:], 1024)
		// The checksum over the pseudo header (127.0.0.1 to itself).
		sum := uint32(0x7f00+0x0001)*2 + unix.IPPROTO_TCP + uint32(len(hdr))
		for i := 0; i < len(hdr); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(hdr[i:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(hdr[16:], ^uint16(sum))
		err := ns.Do(func() error {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_TCP)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.Sendto(fd, hdr, 0, &unix.SockaddrInet4{Addr: netip.MustParseAddr("127.0.0.1").As4()})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// mssOf returns the MSS option of the SYN the listener receives, 0 for
	// none.
	mssOf := func() uint16 { return receiveNFLOG(t, c).mss }
	type result struct{ with, without uint16 }
	run := func() result {
		send(1460)
		w := mssOf()
		send(0)
		return result{w, mssOf()}
	}
	ktest.Run(t, ns, "", "iptables-legacy", "-t", "mangle", "-A", "OUTPUT", "-p", "tcp", "--dport", fmt.Sprint(port), "--tcp-flags", "SYN,RST", "SYN", "-j", "TCPMSS", "--set-mss", "1000")
	ktest.Run(t, ns, "", "iptables-legacy", "-A", "INPUT", "-p", "tcp", "--dport", fmt.Sprint(port), "-j", "NFLOG", "--nflog-group", fmt.Sprint(group))
	xt := run()
	ktest.Run(t, ns, "", "iptables-legacy", "-t", "mangle", "-F", "OUTPUT")
	ktest.Run(t, ns, "", "iptables-legacy", "-F", "INPUT")
	ktest.Run(t, ns, strings.Join([]string{
		"add table ip m",
		"add chain ip m o { type filter hook output priority mangle; }",
		"add chain ip m i { type filter hook input priority 0; }",
		fmt.Sprintf("add rule ip m o tcp dport %d tcp flags & (syn|rst) == syn tcp option maxseg size set 1000", port),
		fmt.Sprintf("add rule ip m i tcp dport %d log group %d", port, group),
	}, "\n")+"\n", "nft", "-f", "-")
	nft := run()
	if xt != (result{1000, 536}) {
		t.Errorf("xt_TCPMSS --set-mss 1000: the SYN with MSS 1460 arrives with %d, the SYN without one with %d; want 1000 and 536 (the option added)", xt.with, xt.without)
	}
	if nft != (result{1000, 0}) {
		t.Errorf("nft's tcp option maxseg size set 1000: the SYN with MSS 1460 arrives with %d, the SYN without one with %d; want 1000 and none", nft.with, nft.without)
	}
}
