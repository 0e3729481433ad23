package e2e

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// The addrtype match through every path: add rule and apply load it (the
// hook of a chain named like a built-in chain is checked first), list -o
// iptables gives the words back, list -o nft reloads; and in the output
// hook the kernel's xt_addrtype (an iptables rule) and ctmatch's fib rules
// count the same packets, sent from the namespace to a local, a broadcast,
// a unicast and a multicast address.
func TestCLIAddrtype(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables", "iptables-save", "ip")
	bin := ctmatchCLI(t)
	ktest.Run(t, ns, "", "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	ktest.Run(t, ns, "", "ip", "link", "set", "d1", "up")
	ktest.Run(t, ns, "", "ip", "addr", "add", "10.5.0.1/24", "brd", "10.5.0.255", "dev", "d0")
	ktest.Run(t, ns, "", "ip", "link", "set", "d0", "up")
	ktest.Run(t, ns, "", "ip", "route", "add", "224.0.0.0/4", "dev", "d0")
	ktest.Run(t, ns, "", "ip", "route", "add", "default", "dev", "d0")

	// The same matches, each a rule of its own, counting UDP to port 9.
	matches := []string{
		"--dst-type LOCAL",
		"! --dst-type LOCAL",
		"--dst-type BROADCAST",
		"--dst-type MULTICAST",
		"--dst-type UNICAST",
		"--src-type LOCAL ! --dst-type UNICAST",
		"--dst-type LOCAL --limit-iface-out",
		"! --src-type UNSPEC --dst-type BROADCAST --limit-iface-out",
		"--dst-type LOCAL,BROADCAST",
		"! --dst-type LOCAL,BROADCAST",
		"--src-type LOCAL --dst-type BROADCAST,MULTICAST --limit-iface-out",
		"! --src-type UNSPEC,BROADCAST --dst-type UNICAST,LOCAL",
	}
	// pieces is the number of nft rules of each match: one per type of a
	// list, a negated list one rule.
	pieces := []int{1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 2}
	var lines strings.Builder
	for _, m := range matches {
		words := "-p udp --dport 9 -m addrtype " + m
		ktest.Run(t, ns, "", "iptables", append([]string{"-A", "OUTPUT"}, strings.Fields(words)...)...)
		fmt.Fprintf(&lines, "add rule inet at OUTPUT -- %s\n", words)
	}
	mustCLI(t, bin, ns, lines.String(), "apply", "--create", "-f", "-")

	// A limit the output hook refuses: nothing is sent, exit 2.
	r := runCLI(t, bin, ns, "", "add", "rule", "inet", "at", "OUTPUT", "--", "-m", "addrtype", "--dst-type", "LOCAL", "--limit-iface-in")
	if r.code != 2 || !strings.Contains(r.stderr, "not valid in chain OUTPUT") {
		t.Errorf("add rule with --limit-iface-in in OUTPUT: exit %d\n%s", r.code, r.stderr)
	}

	// iptables-translate's text for matches[5] ("fib saddr type != local":
	// the destination test lost, its "!" on the source test), in a table
	// of its own.
	ktest.Run(t, ns, "add table inet tr\nadd chain inet tr o { type filter hook output priority 0; }\nadd rule inet tr o udp dport 9 fib saddr type != local counter\n", "nft", "-f", "-")

	// Distinct packet counts per destination, so that each rule's total
	// says which destinations it matched.
	dests := []struct {
		addr string
		n    int
	}{{"127.0.0.1", 1}, {"10.5.0.1", 2}, {"10.5.0.255", 4}, {"255.255.255.255", 8}, {"10.5.0.7", 16}, {"224.0.0.9", 32}}
	err := ns.Do(func() error {
		for _, d := range dests {
			if err := sendAddrtypeUDP(d.addr, d.n); err != nil {
				return fmt.Errorf("send to %s: %w", d.addr, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	xt := xtCounts(t, ktest.Run(t, ns, "", "iptables-save", "-c", "-t", "filter"))
	nft := nftCounts(t, ktest.Run(t, ns, "", "nft", "list", "chain", "inet", "at", "OUTPUT"))
	total := 0
	for _, n := range pieces {
		total += n
	}
	if len(xt) != len(matches) || len(nft) != total {
		t.Fatalf("%d xt counters and %d nft counters for %d matches (%d nft rules)", len(xt), len(nft), len(matches), total)
	}
	// The packets of a rule's pieces, summed: no packet passes two.
	perRule := make([]int, len(matches))
	for i, at := 0, 0; i < len(matches); i++ {
		for _, n := range nft[at : at+pieces[i]] {
			perRule[i] += n
		}
		at += pieces[i]
	}
	nft = perRule
	t.Logf("packets counted per rule: xt %v, ctmatch %v", xt, nft)
	if rules := ktest.Run(t, ns, "", "nft", "--debug=netlink", "list", "table", "ip", "filter"); strings.Count(rules, "[ match name addrtype rev 1 ]") != len(matches) {
		t.Errorf("iptables did not load its rules as xt_addrtype matches:\n%s", rules)
	}
	sum := 0
	for i, m := range matches {
		sum += xt[i]
		if xt[i] != nft[i] {
			t.Errorf("-m addrtype %s: xt_addrtype counted %d packets, ctmatch's rule %d", m, xt[i], nft[i])
		}
	}
	if tr := nftCounts(t, ktest.Run(t, ns, "", "nft", "list", "table", "inet", "tr")); len(tr) != 1 || tr[0] == xt[5] {
		t.Errorf("iptables-translate's rule for -m addrtype %s counted %v, xt_addrtype %d: want them to differ", matches[5], tr, xt[5])
	}
	if sum == 0 {
		t.Errorf("no rule counted a packet: the traffic did not reach the output hook")
	}
	// The classes are what they look like: LOCAL is 127.0.0.1 and
	// 10.5.0.1, BROADCAST 10.5.0.255 and 255.255.255.255.
	if xt[0] != 3 || xt[2] != 12 || xt[3] != 32 || xt[4] != 16 {
		t.Errorf("xt_addrtype counted %v: want LOCAL 3, BROADCAST 12, MULTICAST 32, UNICAST 16", xt)
	}
	if xt[8] != 15 || xt[9] != 48 {
		t.Errorf("xt_addrtype counted %v: want LOCAL,BROADCAST 15 and ! LOCAL,BROADCAST 48", xt)
	}

	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables", "table", "inet", "at")
	for _, m := range matches {
		want := "-A OUTPUT -p udp -m udp --dport 9 -m addrtype " + m + "\n"
		if !strings.Contains(out, want) {
			t.Errorf("list -o iptables:\n%s\nwant the line %q", out, want)
		}
	}
	saved := mustCLI(t, bin, ns, "", "list", "-o", "nft", "table", "inet", "at")
	ktest.Run(t, ns, "delete table inet at\n"+saved, "nft", "-f", "-")
	again := mustCLI(t, bin, ns, "", "list", "-o", "iptables", "table", "inet", "at")
	// nft -f keeps no group record: each piece of a list is a rule of its
	// own again, which means the same (no packet passes two).
	if n := strings.Count(again, "-m addrtype"); n != total {
		t.Errorf("after nft -f of list -o nft, list -o iptables gives %d addrtype rules:\n%s", n, again)
	}
}

// sendAddrtypeUDP sends n datagrams to port 9 of addr, broadcast allowed.
func sendAddrtypeUDP(addr string, n int) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1); err != nil {
		return err
	}
	ip := net.ParseIP(addr).To4()
	sa := &syscall.SockaddrInet4{Port: 9}
	copy(sa.Addr[:], ip)
	for range n {
		if err := syscall.Sendto(fd, []byte("addrtype"), 0, sa); err != nil {
			return err
		}
	}
	return nil
}

var (
	xtCounter  = regexp.MustCompile(`^\[(\d+):\d+\] -A OUTPUT .*-m addrtype`)
	nftCounter = regexp.MustCompile(`fib .*counter packets (\d+) `)
)

// xtCounts returns the packet counts of the addrtype rules iptables-save -c
// lists, in order.
func xtCounts(t *testing.T, save string) []int {
	t.Helper()
	var out []int
	for _, l := range strings.Split(save, "\n") {
		if m := xtCounter.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, n)
		}
	}
	return out
}

// nftCounts returns the packet counts of the fib rules nft lists, in order.
func nftCounts(t *testing.T, list string) []int {
	t.Helper()
	var out []int
	for _, l := range strings.Split(list, "\n") {
		if m := nftCounter.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, n)
		}
	}
	return out
}
