package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// notrackProbe is one probe of TestNotrackEffect: the target under test
// and the family.
type notrackProbe struct {
	ipv6   bool
	target []string
}

// notrackProbes are TestNotrackEffect's probes.
var notrackProbes = []notrackProbe{
	{false, []string{"-j", "CT", "--notrack"}},
	{false, []string{"-j", "NOTRACK"}},
	{true, []string{"-j", "CT", "--notrack"}},
	{true, []string{"-j", "NOTRACK"}},
}

// notrackRule is the rule under test of probe i, as the test loads it
// into raw OUTPUT, and the port it stops tracking.
func notrackRule(i int) ([]string, int) {
	port := 9300 + 2*i
	return append([]string{"-t", "raw", "-p", "udp", "--dport", strconv.Itoa(port)}, notrackProbes[i].target...), port
}

// CT --notrack and NOTRACK: the conntrack table in the namespace after a
// UDP datagram to the rule's port (none) and to another port (an entry),
// xt (iptables-legacy, ip6tables-legacy) against ctmatch's rules, which
// come through add rule --create (the raw chain at priority -300, before
// conntrack), list -o iptables and translate -o bytecode.
func TestNotrackEffect(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "ip6tables-legacy", "conntrack")
	bin := ctmatchCLI(t)
	send := func(ipv6 bool, port int) { dialUDP(t, ns, ipv6, port, "x") }

	tracked := func(ipv6 bool, port int) bool {
		out := conntrackUDP(t, ns, ipv6, port)
		return strings.Contains(out, "dport="+strconv.Itoa(port))
	}
	for i, p := range notrackProbes {
		rule, port := notrackRule(i)
		other := port + 1
		xt, family, fam := "iptables-legacy", "ip", "-4"
		if p.ipv6 {
			xt, family, fam = "ip6tables-legacy", "ip6", "-6"
		}
		var got [2][2]bool
		for run := range 2 {
			if run == 0 {
				ktest.Run(t, ns, "", xt, append([]string{"-A", "OUTPUT"}, rule...)...)
				// A conntrack user, so that the namespace tracks at all.
				ktest.Run(t, ns, "", xt, "-A", "OUTPUT", "-m", "conntrack", "--ctstate", "NEW")
			} else {
				mustCLI(t, bin, ns, "", append([]string{"add", "rule", fam, family, "raw", "OUTPUT", "--create", "--"}, rule...)...)
				mustCLI(t, bin, ns, "", "add", "rule", fam, family, "filter", "OUTPUT", "--create", "--", "-m", "conntrack", "--ctstate", "NEW")
			}
			send(p.ipv6, port)
			send(p.ipv6, other)
			got[run] = [2]bool{tracked(p.ipv6, port), tracked(p.ipv6, other)}
			ktest.Run(t, ns, "", xt, "-t", "raw", "-F", "OUTPUT")
			ktest.Run(t, ns, "", xt, "-F", "OUTPUT")
			if run == 1 {
				out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
				if !strings.Contains(out, "-A OUTPUT -p udp -m udp --dport "+strconv.Itoa(port)+" "+strings.Join(p.target, " ")+"\n") {
					t.Errorf("list -o iptables:\n%s\nwant the notrack rule", out)
				}
			}
			ktest.Run(t, ns, "", "nft", "flush", "ruleset")
			ktest.Run(t, ns, "", "conntrack", "-F")
			ktest.Run(t, ns, "", "conntrack", "-F", "-f", "ipv6")
		}
		if got[0] != got[1] || got[0] != [2]bool{false, true} {
			t.Errorf("%s %s: tracked (rule's port, other port): xt %v, ctmatch %v, want [false true]", family, strings.Join(p.target, " "), got[0], got[1])
		}
	}
	r := runCLI(t, bin, ns, "", "add", "rule", "ip", "filter", "INPUT", "--", "-j", "CT", "--notrack")
	if r.code != 2 || !strings.Contains(r.stderr, "valid only in the raw table") {
		t.Errorf("CT in filter: exit %d\n%s", r.code, r.stderr)
	}
}
