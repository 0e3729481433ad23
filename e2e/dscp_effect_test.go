package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// dscpProbe is one probe of TestDSCPEffect: DSCP's option and the DSCP
// it sets.
type dscpProbe struct {
	v6     bool
	option []string
	dscp   uint8
}

// dscpProbes are TestDSCPEffect's probes.
var dscpProbes = []dscpProbe{
	{false, []string{"--set-dscp", "10"}, 10},
	{false, []string{"--set-dscp-class", "EF"}, 0x2e},
	{false, []string{"--set-dscp", "0"}, 0},
	{true, []string{"--set-dscp", "63"}, 63},
	{true, []string{"--set-dscp-class", "af41"}, 0x22},
}

// dscpRule is the rule under test of probe i, as the test loads it into
// mangle OUTPUT.
func dscpRule(i int) []string {
	return append([]string{"-p", "udp", "--dport", strconv.Itoa(9500 + i), "-j", "DSCP"}, dscpProbes[i].option...)
}

// DSCP's effect: a datagram sent with TOS (traffic class) 0x13 — DSCP 4 and
// both ECN bits — leaves through mangle OUTPUT, where the DSCP target
// rewrites it, and an NFLOG rule in INPUT hands it as it arrives to a
// listener: the TOS byte (traffic class) and, for IPv4, whether the header
// checksum is right, under xt (iptables-legacy, ip6tables-legacy) and
// ctmatch's rules, against (DSCP << 2) | 3.
func TestDSCPEffect(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "ip6tables-legacy")
	bin := ctmatchCLI(t)
	const group = 12
	c := listenNFLOG(t, ns, group)
	for i, p := range dscpProbes {
		port := 9500 + i
		tool, fam, addr, netw := "iptables-legacy", "ip", "127.0.0.1", "udp4"
		if p.v6 {
			tool, fam, addr, netw = "ip6tables-legacy", "ip6", "::1", "udp6"
		}
		send := func() {
			if err := ns.Do(func() error {
				conn, err := net.Dial(netw, net.JoinHostPort(addr, strconv.Itoa(port)))
				if err != nil {
					return err
				}
				defer conn.Close()
				raw, err := conn.(*net.UDPConn).SyscallConn()
				if err != nil {
					return err
				}
				var serr error
				if err := raw.Control(func(fd uintptr) {
					if p.v6 {
						serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_TCLASS, 0x13)
					} else {
						serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS, 0x13)
					}
				}); err != nil {
					return err
				}
				if serr != nil {
					return serr
				}
				_, err = conn.Write([]byte("dscp"))
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		target := dscpRule(i)
		nflog := []string{"-p", "udp", "--dport", strconv.Itoa(port), "-j", "NFLOG", "--nflog-group", strconv.Itoa(group)}

		ktest.Run(t, ns, "", tool, append([]string{"-t", "mangle", "-A", "OUTPUT"}, target...)...)
		ktest.Run(t, ns, "", tool, append([]string{"-A", "INPUT"}, nflog...)...)
		send()
		xt := receiveNFLOG(t, c)
		ktest.Run(t, ns, "", tool, "-t", "mangle", "-F", "OUTPUT")
		ktest.Run(t, ns, "", tool, "-F", "INPUT")

		mustCLI(t, bin, ns, "", append([]string{"add", "rule", fam, "mangle", "OUTPUT", "--create", "--", "-t", "mangle"}, target...)...)
		mustCLI(t, bin, ns, "", append([]string{"add", "rule", fam, "filter", "INPUT", "--create", "--"}, nflog...)...)
		send()
		ours := receiveNFLOG(t, c)
		words := fmt.Sprintf("-A OUTPUT -p udp -m udp --dport %d -j DSCP --set-dscp 0x%02x", port, p.dscp)
		if out := mustCLI(t, bin, ns, "", "list", "-o", "iptables"); !strings.Contains(out, words) {
			t.Errorf("list -o iptables:\n%s\nwant %q", out, words)
		}
		ktest.Run(t, ns, "", "nft", "flush", "ruleset")

		want := p.dscp<<2 | 3
		if xt.tos != want || ours.tos != want || xt.csumOK != !p.v6 || ours.csumOK != !p.v6 {
			t.Errorf("%s %v: xt gives TOS %#x (checksum right: %v), ctmatch's rules %#x (%v); want %#x",
				fam, p.option, xt.tos, xt.csumOK, ours.tos, ours.csumOK, want)
		}
	}
}
