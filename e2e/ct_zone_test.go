package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// zoneProbe is one probe of TestCTZoneEffect: the targets of the rules
// loaded in raw OUTPUT for one UDP port, in order, and the zone fields
// conntrack -L prints for the datagram's entry ("none" for no entry, ""
// for an entry in the default zone).
type zoneProbe struct {
	ipv6    bool
	targets [][]string
	want    string
}

var zoneProbes = []zoneProbe{
	{false, [][]string{{"-j", "CT", "--zone", "5"}}, "zone=5"},
	{false, [][]string{{"-j", "CT", "--zone-orig", "7"}}, "zone-orig=7"},
	{false, [][]string{{"-j", "CT", "--zone-reply", "8"}}, "zone-reply=8"},
	{false, [][]string{{"-j", "CT", "--zone", "65535"}}, "zone=65535"},
	{false, [][]string{{"-j", "CT"}}, ""},
	// An untracked packet stays untracked: xt_ct_target returns for it,
	// and nft's ct zone set would track it but for the guard.
	{false, [][]string{{"-j", "NOTRACK"}, {"-j", "CT", "--zone", "5"}}, "none"},
	{false, [][]string{{"-j", "CT", "--notrack"}, {"-j", "CT", "--zone-orig", "5"}}, "none"},
	// The first template wins; a NOTRACK after it does nothing.
	{false, [][]string{{"-j", "CT", "--zone", "5"}, {"-j", "CT", "--zone", "6"}}, "zone=5"},
	{false, [][]string{{"-j", "CT", "--zone", "5"}, {"-j", "NOTRACK"}}, "zone=5"},
	{false, [][]string{{"-j", "CT"}, {"-j", "CT", "--zone", "6"}}, ""},
	{true, [][]string{{"-j", "CT", "--zone", "9"}}, "zone=9"},
	{true, [][]string{{"-j", "NOTRACK"}, {"-j", "CT", "--zone-reply", "9"}}, "none"},
	{true, [][]string{{"-j", "CT", "--zone-orig", "3"}, {"-j", "CT", "--zone", "4"}}, "zone-orig=3"},
}

var zoneField = regexp.MustCompile(`\bzone(-orig|-reply)?=\d+`)

// CT with a zone id, and without options: the zone of the conntrack entry
// a UDP datagram to the probe's port leaves (conntrack -L), under xt
// (iptables-legacy, ip6tables-legacy) and under ctmatch's rules, which
// come through add rule --create (the raw chain at priority -300, before
// conntrack) and are read back with list -o iptables.
func TestCTZoneEffect(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "ip6tables-legacy", "conntrack")
	bin := ctmatchCLI(t)
	send := func(ipv6 bool, port int) { dialUDP(t, ns, ipv6, port, "x") }

	zones := func(ipv6 bool, port int) string {
		out := conntrackUDP(t, ns, ipv6, port)
		if !strings.Contains(out, "dport="+strconv.Itoa(port)) {
			return "none"
		}
		return strings.Join(zoneField.FindAllString(out, -1), " ")
	}
	for i, p := range zoneProbes {
		port := 9400 + i
		xt, family, fam := "iptables-legacy", "ip", "-4"
		if p.ipv6 {
			xt, family, fam = "ip6tables-legacy", "ip6", "-6"
		}
		var got [2]string
		for run := range 2 {
			var rules []string
			for _, target := range p.targets {
				rule := append([]string{"-p", "udp", "--dport", strconv.Itoa(port)}, target...)
				rules = append(rules, "-t raw -A OUTPUT "+strings.Join(rule, " "))
				if run == 0 {
					ktest.Run(t, ns, "", xt, append([]string{"-t", "raw", "-A", "OUTPUT"}, rule...)...)
				} else {
					mustCLI(t, bin, ns, "", append([]string{"add", "rule", fam, family, "raw", "OUTPUT", "--create", "--", "-t", "raw"}, rule...)...)
				}
			}
			// A conntrack user, so that the namespace tracks at all.
			if run == 0 {
				ktest.Run(t, ns, "", xt, "-A", "OUTPUT", "-m", "conntrack", "--ctstate", "NEW")
			} else {
				mustCLI(t, bin, ns, "", "add", "rule", fam, family, "filter", "OUTPUT", "--create", "--", "-m", "conntrack", "--ctstate", "NEW")
			}
			send(p.ipv6, port)
			got[run] = zones(p.ipv6, port)
			ktest.Run(t, ns, "", xt, "-t", "raw", "-F", "OUTPUT")
			ktest.Run(t, ns, "", xt, "-F", "OUTPUT")
			if run == 1 {
				out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
				want := strings.Replace(strings.Join(rules, "\n"), "-p udp --dport", "-p udp -m udp --dport", -1) + "\n"
				if !strings.Contains(out, want) {
					t.Errorf("list -o iptables:\n%s\nwant the rules\n%s", out, want)
				}
			}
			ktest.Run(t, ns, "", "nft", "flush", "ruleset")
			ktest.Run(t, ns, "", "conntrack", "-F")
			ktest.Run(t, ns, "", "conntrack", "-F", "-f", "ipv6")
		}
		if got[0] != got[1] || got[0] != p.want {
			t.Errorf("%s %v: zone of the entry: xt %q, ctmatch %q, want %q", family, p.targets, got[0], got[1], p.want)
		}
	}
	r := runCLI(t, bin, ns, "", "add", "rule", "ip", "raw", "OUTPUT", "--create", "--", "-t", "raw", "-j", "CT", "--zone", "mark")
	if r.code != 1 || !strings.Contains(r.stderr, "when conntrack runs") {
		t.Errorf("CT --zone mark: exit %d\n%s", r.code, r.stderr)
	}
}
