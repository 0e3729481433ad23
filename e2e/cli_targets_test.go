package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// The targets through every path: add rule and insert rule (with --create
// making the nat base chains at iptables-nft's priorities), apply, list -o
// iptables (the words back), list -o nft (which nft reloads to the same
// rules) and translate -o bytecode (the debug lines nft prints for the same
// text); a target where the kernel does not allow it is refused with exit 2
// before anything is sent.
func TestCLITargets(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "nat", "POSTROUTING", "--create", "--", "-t", "nat", "-o", "eth0", "-j", "MASQUERADE")
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "nat", "POSTROUTING", "--", "-t", "nat", "-p", "tcp", "-j", "SNAT", "--to-source", "10.0.0.1-10.0.0.5:1000-2000", "--persistent")
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "nat", "PREROUTING", "--create", "--", "-t", "nat", "-p", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", "10.0.0.1:8080")
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--create", "--", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset")
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "-6", "--", "-j", "REJECT", "--reject-with", "icmp6-adm-prohibited")
	mustCLI(t, bin, ns, "", "insert", "rule", "inet", "fw", "input", "--", "-m", "conntrack", "--ctstate", "INVALID", "-j", "REJECT")
	mustCLI(t, bin, ns, "add rule ip nat OUTPUT -- -t nat -p udp -j REDIRECT --to-ports 5353 --random\nadd rule ip6 nat6 POSTROUTING -- -t nat -p tcp -j MASQUERADE --to-ports 1024-2000 --random-fully\n", "apply", "--create", "-f", "-")

	// Refused before anything is sent: the chain, or the words' table.
	for _, args := range [][]string{
		{"add", "rule", "ip", "nat", "PREROUTING", "--", "-t", "nat", "-j", "MASQUERADE"},
		{"add", "rule", "ip", "nat", "POSTROUTING", "--", "-j", "MASQUERADE"},
		{"add", "rule", "inet", "fw", "input", "--", "-t", "nat", "-j", "REJECT"},
		{"add", "rule", "inet", "fw", "input", "--", "-j", "REJECT", "--reject-with", "tcp-reset"},
	} {
		r := runCLI(t, bin, ns, "", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "valid only") && !strings.Contains(r.stderr, "needs -p tcp") {
			t.Errorf("ctmatch %s: exit %d\n%s, want exit 2 naming where the target is valid", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r := runCLI(t, bin, ns, "add rule ip nat OUTPUT -- -t nat -j MASQUERADE\n", "apply", "-f", "-"); r.code != 2 || !strings.Contains(r.stderr, "not in OUTPUT") {
		t.Errorf("apply of MASQUERADE in OUTPUT: exit %d\n%s", r.code, r.stderr)
	}

	nft := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	for _, want := range []string{
		"type nat hook postrouting priority srcnat; policy accept;",
		"type nat hook prerouting priority dstnat; policy accept;",
		`oifname "eth0" counter packets 0 bytes 0 masquerade`,
		"meta l4proto tcp counter packets 0 bytes 0 snat to 10.0.0.1-10.0.0.5:1000-2000 persistent",
		"tcp dport 80 counter packets 0 bytes 0 dnat to 10.0.0.1:8080",
		"meta l4proto udp counter packets 0 bytes 0 redirect to :5353 random",
		"meta l4proto tcp counter packets 0 bytes 0 masquerade to :1024-2000 fully-random",
		"meta l4proto tcp counter packets 0 bytes 0 reject with tcp reset",
		"reject with icmpv6 admin-prohibited",
		"ct state invalid counter packets 0 bytes 0 reject with icmp port-unreachable",
	} {
		if !strings.Contains(nft, want) {
			t.Errorf("nft list ruleset has no %q:\n%s", want, nft)
		}
	}
	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	for _, want := range []string{
		"-A POSTROUTING -o eth0 -j MASQUERADE",
		"-A POSTROUTING -p tcp -j SNAT --to-source 10.0.0.1-10.0.0.5:1000-2000 --persistent",
		"-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080",
		"-A OUTPUT -p udp -j REDIRECT --to-ports 5353 --random",
		"-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024-2000 --random-fully",
		"-A input -m conntrack --ctstate INVALID -j REJECT --reject-with icmp-port-unreachable",
		"-A input -p tcp -j REJECT --reject-with tcp-reset",
		"-A input -j REJECT --reject-with icmp6-adm-prohibited # -6",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("list -o iptables:\n%s\nwant the line %q", out, want)
		}
	}
	// list -o nft reloads into the same rules: the groups' records aside,
	// each rule decompiles to the same words.
	saved := mustCLI(t, bin, ns, "", "list", "-o", "nft")
	ktest.Run(t, ns, "flush ruleset\n"+saved, "nft", "-f", "-")
	again := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	for _, want := range []string{
		"-A POSTROUTING -o eth0 -j MASQUERADE",
		"-A POSTROUTING -p tcp -j SNAT --to-source 10.0.0.1-10.0.0.5:1000-2000 --persistent",
		"-A OUTPUT -p udp -j REDIRECT --to-ports 5353 --random",
		"-A input -j REJECT --reject-with icmp6-adm-prohibited # -6",
	} {
		if !strings.Contains(again, want+"\n") {
			t.Errorf("after nft -f of list -o nft, list -o iptables:\n%s\nwant the line %q", again, want)
		}
	}

	// translate -o bytecode gives the lines nft --debug=netlink prints for
	// translate's own text.
	words := []string{"--", "-t", "nat", "-A", "POSTROUTING", "-p", "udp", "-j", "SNAT", "--to-source", "1.2.3.4-1.2.3.9:80-90", "--random"}
	tr, err := exec.Command(bin, append([]string{"translate"}, words...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	bcOut, err := exec.Command(bin, append([]string{"translate", "-o", "bytecode"}, words...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	bc := string(bcOut)
	text := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(tr)), "nft '"), "'")
	debug := ktest.Run(t, ns, "flush ruleset\nadd table ip nat\nadd chain ip nat POSTROUTING\n"+text+"\n", "nft", "--debug=netlink", "-f", "-")
	if !strings.Contains(debug, strings.TrimSpace(bc)) {
		t.Errorf("translate -o bytecode:\n%s\nnft --debug=netlink of %q:\n%s", bc, text, debug)
	}
}
