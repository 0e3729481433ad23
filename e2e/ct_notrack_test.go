package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// CT --notrack and NOTRACK: the conntrack table in the namespace after a
// UDP datagram to the rule's port (none) and to another port (an entry),
// xt (iptables-legacy) against ctmatch's rules, which come through add rule
// --create (the raw chain at priority -300, before conntrack), list -o
// iptables and translate -o bytecode.
func TestNotrackEffect(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "conntrack")
	bin := ctmatchCLI(t)
	send := func(port int) {
		if err := ns.Do(func() error {
			conn, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				return err
			}
			defer conn.Close()
			_, err = conn.Write([]byte("x"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	tracked := func(port int) bool {
		out := ktest.Run(t, ns, "", "conntrack", "-L", "-p", "udp", "--dport", strconv.Itoa(port))
		return strings.Contains(out, "dport="+strconv.Itoa(port))
	}
	for i, target := range [][]string{{"-j", "CT", "--notrack"}, {"-j", "NOTRACK"}} {
		port, other := 9300+2*i, 9301+2*i
		rule := append([]string{"-t", "raw", "-p", "udp", "--dport", strconv.Itoa(port)}, target...)
		var got [2][2]bool
		for run := range 2 {
			if run == 0 {
				ktest.Run(t, ns, "", "iptables-legacy", append([]string{"-A", "OUTPUT"}, rule...)...)
				// A conntrack user, so that the namespace tracks at all.
				ktest.Run(t, ns, "", "iptables-legacy", "-A", "OUTPUT", "-m", "conntrack", "--ctstate", "NEW")
			} else {
				mustCLI(t, bin, ns, "", append([]string{"add", "rule", "ip", "raw", "OUTPUT", "--create", "--"}, rule...)...)
				mustCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "OUTPUT", "--create", "--", "-m", "conntrack", "--ctstate", "NEW")
			}
			send(port)
			send(other)
			got[run] = [2]bool{tracked(port), tracked(other)}
			ktest.Run(t, ns, "", "iptables-legacy", "-t", "raw", "-F", "OUTPUT")
			ktest.Run(t, ns, "", "iptables-legacy", "-F", "OUTPUT")
			if run == 1 {
				out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
				if !strings.Contains(out, "-A OUTPUT -p udp -m udp --dport "+strconv.Itoa(port)+" "+strings.Join(target, " ")+"\n") {
					t.Errorf("list -o iptables:\n%s\nwant the notrack rule", out)
				}
			}
			ktest.Run(t, ns, "", "nft", "flush", "ruleset")
			ktest.Run(t, ns, "", "conntrack", "-F")
		}
		if got[0] != got[1] || got[0] != [2]bool{false, true} {
			t.Errorf("%s: tracked (rule's port, other port): xt %v, ctmatch %v, want [false true]", strings.Join(target, " "), got[0], got[1])
		}
	}
	r := runCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "INPUT", "--", "-j", "CT", "--notrack")
	if r.code != 2 || !strings.Contains(r.stderr, "valid only in the raw table") {
		t.Errorf("CT in filter: exit %d\n%s", r.code, r.stderr)
	}
}
