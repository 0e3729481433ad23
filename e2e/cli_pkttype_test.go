package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// The pkttype match in the prerouting hook: the kernel's xt_pkttype (an
// iptables rule in the raw table) and ctmatch's meta pkttype rules count
// the same packets, among them the looped-back copies of a broadcast and a
// multicast datagram (PACKET_LOOPBACK, which both give the type of the
// destination) and, on the veth peer, a broadcast, a multicast and a
// unicast to its own link-layer address (one to another address is
// dropped before the hook).
func TestCLIPkttype(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "iptables", "iptables-save", "ip")
	bin := ctmatchCLI(t)
	for _, args := range [][]string{
		{"link", "add", "d0", "type", "veth", "peer", "name", "d1"},
		{"link", "set", "d1", "address", "02:00:00:00:00:01"},
		{"link", "set", "d0", "up"},
		{"link", "set", "d1", "up"},
		{"addr", "add", "10.5.0.1/24", "brd", "10.5.0.255", "dev", "d0"},
		{"route", "add", "224.0.0.0/4", "dev", "d0"},
		{"route", "add", "default", "dev", "d0"},
		{"neigh", "add", "10.5.0.7", "lladdr", "02:00:00:00:00:01", "dev", "d0"},
		{"neigh", "add", "10.5.0.8", "lladdr", "02:00:00:00:00:99", "dev", "d0"},
	} {
		ktest.Run(t, ns, "", "ip", args...)
	}
	matches := []string{
		"--pkt-type unicast", "! --pkt-type unicast",
		"--pkt-type broadcast", "! --pkt-type broadcast",
		"--pkt-type multicast", "! --pkt-type multicast",
		"--pkt-type otherhost", "! --pkt-type otherhost",
	}
	var lines strings.Builder
	for _, m := range matches {
		words := "-p udp --dport 9 -m pkttype " + m
		ktest.Run(t, ns, "", "iptables", append([]string{"-t", "raw", "-A", "PREROUTING"}, strings.Fields(words)...)...)
		fmt.Fprintf(&lines, "add rule inet pt PREROUTING -- -t raw %s\n", words)
	}
	mustCLI(t, bin, ns, lines.String(), "apply", "--create", "-f", "-")

	dests := []struct {
		addr string
		n    int
	}{{"255.255.255.255", 1}, {"10.5.0.255", 2}, {"224.0.0.1", 4}, {"10.5.0.7", 8}, {"10.5.0.8", 16}}
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
	xt := xtCountsOf(t, ktest.Run(t, ns, "", "iptables-save", "-c", "-t", "raw"), "-m pkttype")
	nft := nftCountsOf(t, ktest.Run(t, ns, "", "nft", "list", "chain", "inet", "pt", "PREROUTING"), "meta pkttype")
	if len(xt) != len(matches) || len(nft) != len(matches) {
		t.Fatalf("%d xt counters and %d nft counters for %d matches", len(xt), len(nft), len(matches))
	}
	t.Logf("packets counted per rule: xt %v, ctmatch %v", xt, nft)
	if rules := ktest.Run(t, ns, "", "nft", "--debug=netlink", "list", "table", "ip", "raw"); strings.Count(rules, "[ match name pkttype rev 0 ]") != len(matches) {
		t.Errorf("iptables did not load its rules as xt_pkttype matches:\n%s", rules)
	}
	for i, m := range matches {
		if xt[i] != nft[i] {
			t.Errorf("-m pkttype %s: xt_pkttype counted %d packets, ctmatch's rule %d", m, xt[i], nft[i])
		}
	}
	// Every class was seen: each type's plain and negated rule count
	// every packet between them, and no type was missing but otherhost,
	// which ip_rcv drops before the prerouting hook (the 16 datagrams to
	// 10.5.0.8 never reach it).
	for i := 0; i < len(matches); i += 2 {
		if strings.Contains(matches[i], "otherhost") {
			if xt[i] != 0 {
				t.Errorf("-m pkttype %s counted %d packets: ip_rcv should drop them", matches[i], xt[i])
			}
			continue
		}
		if xt[i] == 0 || xt[i]+xt[i+1] != xt[0]+xt[1] {
			t.Errorf("-m pkttype %s counted %d of %d packets: a class is missing", matches[i], xt[i], xt[0]+xt[1])
		}
	}
	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables", "table", "inet", "pt")
	for _, m := range matches {
		if want := "-A PREROUTING -p udp -m udp --dport 9 -m pkttype " + m + "\n"; !strings.Contains(out, want) {
			t.Errorf("list -o iptables:\n%s\nwant the line %q", out, want)
		}
	}
}

// xtCountsOf returns the packet counts of the rules iptables-save -c lists
// that hold word, in order.
func xtCountsOf(t *testing.T, save, word string) []int {
	t.Helper()
	var out []int
	for _, l := range strings.Split(save, "\n") {
		if strings.Contains(l, word) && strings.HasPrefix(l, "[") {
			var n, b int
			if _, err := fmt.Sscanf(l, "[%d:%d]", &n, &b); err != nil {
				t.Fatalf("iptables-save line %q: %v", l, err)
			}
			out = append(out, n)
		}
	}
	return out
}

// nftCountsOf returns the packet counts of the rules nft lists that hold
// word, in order.
func nftCountsOf(t *testing.T, list, word string) []int {
	t.Helper()
	var out []int
	for _, l := range strings.Split(list, "\n") {
		if !strings.Contains(l, word) {
			continue
		}
		_, rest, ok := strings.Cut(l, "counter packets ")
		var n int
		if _, err := fmt.Sscanf(rest, "%d", &n); !ok || err != nil {
			t.Fatalf("nft line %q: no counter", l)
		}
		out = append(out, n)
	}
	return out
}
