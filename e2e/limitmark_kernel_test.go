package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// The limit, mark and connmark matches against the kernel's xt modules:
// each rule is installed with iptables-legacy (iptables-nft would store
// limit and mark as native nft expressions) and with ctmatch add rule,
// both on OUTPUT, and UDP packets sent to loopback in the test's
// namespace are counted by both.

// limitChain is the nft chain ctmatch's rules go into: after xt's filter
// OUTPUT (priority 0), so both see every packet.
const limitChain = "add table ip t\nadd chain ip t o { type filter hook output priority 10; }\n"

// udpFlood sends UDP packets from 127.0.0.1 to 127.0.0.1 on the ports, one
// to each port in turn, n rounds, or until d has passed when d > 0 (at
// most max rounds), with SO_MARK mark, inside ns. It returns the rounds
// sent and how long they took, from the end of the first round's first
// send to the start of the last round's last send at the most (what the
// kernel saw of them lies within).
func udpFlood(ns *netns.NS, ports []int, mark uint32, n int, d time.Duration, max int) (rounds int, took time.Duration, err error) {
	err = ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if mark != 0 {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(mark)); err != nil {
				return fmt.Errorf("SO_MARK: %w", err)
			}
		}
		start := time.Now()
		for rounds = 0; rounds < max && (d > 0 && time.Since(start) < d || d == 0 && rounds < n); rounds++ {
			for _, p := range ports {
				to := &unix.SockaddrInet4{Port: p, Addr: [4]byte{127, 0, 0, 1}}
				if err := unix.Sendto(fd, []byte("x"), 0, to); err != nil {
					return fmt.Errorf("sendto port %d: %w", p, err)
				}
			}
		}
		took = time.Since(start)
		return nil
	})
	return rounds, took, err
}

var limitCounter = regexp.MustCompile(`counter packets (\d+) bytes`)

// limitCounts returns the packet counts of the rules of chain ip t o, in
// order.
func limitCounts(t *testing.T, ns *netns.NS) []uint64 {
	t.Helper()
	var out []uint64
	for _, l := range strings.Split(ktest.Run(t, ns, "", "nft", "list", "chain", "ip", "t", "o"), "\n") {
		if m := limitCounter.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			out = append(out, n)
		}
	}
	return out
}

// loadBoth installs each rule with iptables-legacy on OUTPUT and with
// ctmatch add rule into ip t o, after flushing both, then the extra nft
// rules (nft text) after them.
func loadBoth(t *testing.T, ns *netns.NS, bin string, rules []string, extra ...string) {
	t.Helper()
	ktest.Run(t, ns, "", "iptables-legacy", "-F", "OUTPUT")
	ktest.Run(t, ns, "flush chain ip t o\n", "nft", "-f", "-")
	for _, r := range rules {
		ktest.Run(t, ns, "", "iptables-legacy", append([]string{"-A", "OUTPUT"}, strings.Fields(r)...)...)
		mustCLI(t, bin, ns, "", "add", "rule", "ip", "t", "o", "--", r)
	}
	for _, e := range extra {
		ktest.Run(t, ns, "add rule ip t o "+e+"\n", "nft", "-f", "-")
	}
}

// A full bucket lets through the same number of packets in xt and in
// ctmatch's nft rule: xt's whole packets in user2credits(avg·burst), which
// is 4, not 5, for --limit 7/min (1344000 credits, 274284 a packet) and 9,
// not 10, for --limit 9/min --limit-burst 10; iptables-translate's "burst 5
// packets" lets through 5. The part of a packet xt's bucket holds beyond
// them refills in under a second (depth/cost misses less than 32000
// credits), so the packets are sent within 200 ms, and the whole
// measurement is repeated (with fresh buckets) when they were not.
func TestLimitBurstAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy", "iptables-translate")
	bin := ctmatchCLI(t)
	ktest.Run(t, ns, limitChain, "nft", "-f", "-")
	cases := []struct {
		words string
		burst uint64
	}{
		{"-p udp --dport 5001 -m limit", 5},
		{"-p udp --dport 5002 -m limit --limit 7/min", 4},
		{"-p udp --dport 5003 -m limit --limit 1/hour --limit-burst 7", 7},
		{"-p udp --dport 5004 -m limit --limit 9/min --limit-burst 10", 9},
		{"-p udp --dport 5005 -m limit --limit 3/min --limit-burst 1", 1},
	}
	var rules []string
	for _, c := range cases {
		rules = append(rules, c.words)
	}
	translated := strings.TrimSpace(ktest.Run(t, ns, "", "iptables-translate", append([]string{"-A", "OUTPUT"}, strings.Fields(cases[1].words)...)...))
	translated = strings.TrimSuffix(strings.TrimPrefix(translated, "nft 'add rule ip filter OUTPUT "), "'")
	if !strings.Contains(translated, "burst 5 packets") {
		t.Fatalf("iptables-translate prints %q, without the burst 5 this test shows to be wrong", translated)
	}
	const sends = 20
	ports := []int{5001, 5002, 5003, 5004, 5005}
	for attempt := 1; ; attempt++ {
		loadBoth(t, ns, bin, rules, translated)
		_, took, err := udpFlood(ns, ports, 0, sends, 0, sends)
		if err != nil {
			t.Fatal(err)
		}
		if took > 200*time.Millisecond {
			if attempt == 10 {
				t.Fatalf("%d packets took %v to send, 10 times: the machine is too slow to measure a burst", sends*len(ports), took)
			}
			t.Logf("attempt %d: the packets took %v to send; again", attempt, took)
			continue
		}
		xt := xtPacketCounts(t, ktest.Run(t, ns, "", "iptables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
		ours := limitCounts(t, ns)
		if len(xt) != len(cases) || len(ours) != len(cases)+1 {
			t.Fatalf("counted %d xt rules and %d nft rules, want %d and %d", len(xt), len(ours), len(cases), len(cases)+1)
		}
		for i, c := range cases {
			if xt[i] != c.burst {
				t.Errorf("%s: xt let %d of %d packets through, the kernel's arithmetic gives %d", c.words, xt[i], sends, c.burst)
			}
			if ours[i] != xt[i] {
				t.Errorf("%s: ctmatch's rule let %d packets through, xt %d", c.words, ours[i], xt[i])
			}
		}
		if got := ours[len(cases)]; got != 5 || got == xt[1] {
			t.Errorf("iptables-translate's %q let %d packets through, xt %d; want 5, which differs", translated, got, xt[1])
		}
		return
	}
}

// Sent as fast as the machine allows for 2 s, the packets xt and ctmatch's
// rule let through differ by one at most: after the same burst both refill
// at 32000/cost packets a second, xt at each jiffy (128 credits at HZ 250,
// 32 at HZ 1000) and nft every nanosecond, so xt is behind or ahead by less
// than a jiffy's credits, under one packet at these rates (1600 and 320
// credits a packet); at 7/min xt's bucket holds 0.9 of a packet more than
// its burst of 4, which comes back within the 2 s. Whatever the sender's
// speed, neither counts more than the burst and the rate over the time
// taken, nor, where a token certainly comes back, only the burst.
func TestLimitRateAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy")
	bin := ctmatchCLI(t)
	ktest.Run(t, ns, limitChain, "nft", "-f", "-")
	cases := []struct {
		words       string
		rate, burst float64
	}{
		{"-p udp --dport 5101 -m limit --limit 20/second --limit-burst 3", 20, 3},
		{"-p udp --dport 5102 -m limit --limit 100/sec", 100, 5},
		// xt's bucket holds 4.9 packets: its fifth comes 0.857 s after the
		// burst, nft's after 8.57 s (burst 4): one apart over 2 s.
		{"-p udp --dport 5103 -m limit --limit 7/min", 7.0 / 60, 4},
	}
	loadBoth(t, ns, bin, []string{cases[0].words, cases[1].words, cases[2].words})
	rounds, took, err := udpFlood(ns, []int{5101, 5102, 5103}, 0, 0, 2*time.Second, 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	xt := xtPacketCounts(t, ktest.Run(t, ns, "", "iptables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
	ours := limitCounts(t, ns)
	if len(xt) != len(cases) || len(ours) != len(cases) {
		t.Fatalf("counted %d xt rules and %d nft rules, want %d", len(xt), len(ours), len(cases))
	}
	t.Logf("%d packets to each port in %v", rounds, took)
	for i, c := range cases {
		t.Logf("%s: xt %d, ctmatch %d", c.words, xt[i], ours[i])
		d := int64(xt[i]) - int64(ours[i])
		if d < -1 || d > 1 {
			t.Errorf("%s: xt let %d packets through, ctmatch's rule %d", c.words, xt[i], ours[i])
		}
		most := uint64(c.burst + c.rate*took.Seconds() + 2)
		for who, n := range map[string]uint64{"xt": xt[i], "ctmatch": ours[i]} {
			refills := c.rate*took.Seconds() >= 2 // a token certainly comes back
			if refills && n <= uint64(c.burst) || n < uint64(c.burst) || n > most {
				t.Errorf("%s: %s let %d of %d packets through in %v, want more than the burst %v and at most %d", c.words, who, n, rounds, took, c.burst, most)
			}
		}
	}
}

// The mark match tests skb->mark under the mask, for every packet; the
// connmark match tests the conntrack's mark, and matches no packet without
// a conntrack, with "!" or without (connmark_mt returns false before it
// inverts): nft's ct mark stops the rule there too.
func TestMarkConnmarkAgainstXt(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables-legacy")
	bin := ctmatchCLI(t)
	ktest.Run(t, ns, limitChain+
		"add chain ip t raw { type filter hook output priority -300; }\n"+
		"add rule ip t raw udp dport 5203 notrack\n"+
		"add chain ip t mangle { type route hook output priority -150; }\n"+
		"add rule ip t mangle udp dport 5202 ct mark set 0x101\n", "nft", "-f", "-")
	// 5201: a conntrack with mark 0; 5202: one with mark 0x101; 5203: no
	// conntrack; 5204: packet mark 0x105 (SO_MARK), conntrack mark 0.
	cases := []struct {
		words string
		want  uint64 // of the 3 packets sent to the port
	}{
		{"-p udp --dport 5201 -m connmark --mark 0", 3},
		{"-p udp --dport 5201 -m connmark ! --mark 0x1/0x1", 3},
		{"-p udp --dport 5202 -m connmark --mark 0x1/0xff", 3},
		{"-p udp --dport 5202 -m connmark ! --mark 0x101", 0},
		{"-p udp --dport 5202 -m connmark ! --mark 0x1", 3},
		{"-p udp --dport 5203 -m connmark --mark 0", 0},
		{"-p udp --dport 5203 -m connmark ! --mark 0x1", 0},
		{"-p udp --dport 5203 -m connmark ! --mark 0x0/0x0", 0},
		{"-p udp --dport 5204 -m mark --mark 0x5/0xff", 3},
		{"-p udp --dport 5204 -m mark ! --mark 0x5/0xf", 0},
		{"-p udp --dport 5204 -m mark --mark 0x105", 3},
		{"-p udp --dport 5204 -m mark ! --mark 0x5", 3},
		{"-p udp --dport 5201 -m mark --mark 0x0/0x0", 3},
		{"-p udp --dport 5201 -m mark ! --mark 0x105", 3},
		{"-p udp --dport 5203 -m mark --mark 0", 3},
	}
	var rules []string
	for _, c := range cases {
		rules = append(rules, c.words)
	}
	loadBoth(t, ns, bin, rules)
	if _, _, err := udpFlood(ns, []int{5201, 5202, 5203}, 0, 3, 0, 3); err != nil {
		t.Fatal(err)
	}
	if _, _, err := udpFlood(ns, []int{5204}, 0x105, 3, 0, 3); err != nil {
		t.Fatal(err)
	}
	xt := xtPacketCounts(t, ktest.Run(t, ns, "", "iptables-legacy", "-L", "OUTPUT", "-v", "-n", "-x"))
	ours := limitCounts(t, ns)
	if len(xt) != len(cases) || len(ours) != len(cases) {
		t.Fatalf("counted %d xt rules and %d nft rules, want %d", len(xt), len(ours), len(cases))
	}
	for i, c := range cases {
		if xt[i] != c.want {
			t.Errorf("%s: xt matched %d packets, the kernel facts give %d", c.words, xt[i], c.want)
		}
		if ours[i] != xt[i] {
			t.Errorf("%s: ctmatch's rule matched %d packets, xt %d", c.words, ours[i], xt[i])
		}
	}
	// list -o iptables gives the words back, as iptables-save prints them.
	out := mustCLI(t, bin, ns, "", "list", "chain", "ip", "t", "o", "-o", "iptables")
	for _, w := range []string{"-A o -p udp -m udp --dport 5202 -m connmark ! --mark 0x101", "-A o -p udp -m udp --dport 5204 -m mark --mark 0x5/0xff"} {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("list -o iptables does not give %q:\n%s", w, out)
		}
	}
}

// Every path of the CLI takes the three matches: add rule and insert rule
// (ctmatch's own netlink encoding), apply, list -o iptables (the group's
// words, and the words rebuilt from the expressions once nft has reloaded
// list -o nft, which holds no group record), translate -o bytecode.
func TestCLIMarkLimit(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--create", "--", "-p", "icmp", "--icmp-type", "echo-request", "-m", "limit", "--limit", "7/m", "-j", "ACCEPT")
	mustCLI(t, bin, ns, "", "insert", "rule", "inet", "fw", "input", "--", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-m", "connmark", "!", "--mark", "1/255", "-j", "DROP")
	mustCLI(t, bin, ns, "add rule ip6 fw input -- -m mark --mark 0x40000/0xff0000 -m limit --limit 3/min --limit-burst 10 -j ACCEPT\n", "apply", "--create", "-f", "-")
	nft := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	for _, want := range []string{
		"limit rate 7/minute burst 4 packets counter packets 0 bytes 0 accept",
		"ct state established ct mark & 0x000000ff != 0x00000001 counter packets 0 bytes 0 drop",
		"meta mark & 0x00ff0000 == 0x00040000 limit rate 3/minute burst 10 packets counter packets 0 bytes 0 accept",
	} {
		if !strings.Contains(nft, want) {
			t.Errorf("nft lists no rule with %q:\n%s", want, nft)
		}
	}
	wants := []string{
		"-A input -m conntrack --ctstate ESTABLISHED -m connmark ! --mark 0x1/0xff -j DROP",
		"-A input -p icmp -m icmp --icmp-type 8 -m limit --limit 7/min -j ACCEPT",
		"-A input -m mark --mark 0x40000/0xff0000 -m limit --limit 3/min --limit-burst 10 -j ACCEPT",
	}
	wantListedAndReloaded(t, bin, ns, wants)
	out, err := exec.Command(bin, "translate", "-o", "bytecode", "--", "-A", "INPUT", "-m", "limit", "--limit", "7/min").Output()
	if err != nil {
		t.Fatalf("translate -o bytecode: %v", err)
	}
	if !strings.Contains(string(out), "[ limit rate 7/minute burst 4 type packets flags 0x0 ]") {
		t.Errorf("translate -o bytecode:\n%s\nwant the limit's debug line", out)
	}
}

// Every option the installed iptables lists for the limit, mark and
// connmark matches (iptables -m NAME --help) has a valid case, plain and,
// where the help shows "[!]", negated: the list comes from iptables, not
// from parse's own tables.
func TestLimitMarkOptionsCovered(t *testing.T) {
	ns := ktest.Namespace(t, "iptables")
	option := regexp.MustCompile(`^(\[!\] )?(--[a-z-]+)`)
	for _, module := range []string{"limit", "mark", "connmark"} {
		help := ktest.Run(t, ns, "", "iptables", "-m", module, "--help")
		_, opts, ok := strings.Cut(help, module+" match options:\n")
		if !ok {
			t.Fatalf("iptables -m %s --help lists no options:\n%s", module, help)
		}
		n := 0
		for _, l := range strings.Split(opts, "\n") {
			m := option.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			n++
			for _, neg := range []bool{false, true} {
				if neg && m[1] == "" {
					continue
				}
				want := " " + m[2] + " "
				if neg {
					want = " ! " + m[2] + " "
				}
				found := false
				for _, c := range cases.Valid {
					found = found || strings.Contains(c.Want, "-m "+module+" ") && strings.Contains(c.Want+" ", want)
				}
				if !found {
					t.Errorf("no valid case of -m %s has %q", module, strings.TrimSpace(want))
				}
			}
		}
		if n == 0 {
			t.Errorf("iptables -m %s --help: no option found in\n%s", module, opts)
		}
	}
}
