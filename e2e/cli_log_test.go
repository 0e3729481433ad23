package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// LOG and NFLOG through every path: add rule, insert rule, apply, list -o
// iptables, list -o nft (which nft reloads to the same rules) and translate
// -o bytecode (the debug lines nft prints for translate's own text). They
// may stand in any table and chain.
func TestCLILog(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--create", "--", "-m", "conntrack", "--ctstate", "INVALID", "-j", "LOG", "--log-prefix", "bad: ", "--log-level", "debug")
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--", "-p", "tcp", "-j", "LOG", "--log-tcp-sequence", "--log-tcp-options", "--log-ip-options", "--log-uid", "--log-macdecode", "--log-level", "0")
	mustCLI(t, bin, ns, "", "insert", "rule", "inet", "fw", "input", "-6", "--", "-j", "NFLOG", "--nflog-group", "5", "--nflog-prefix", "six", "--nflog-size", "64", "--nflog-threshold", "2")
	mustCLI(t, bin, ns, "add rule ip nat PREROUTING -- -t nat -j LOG\nadd rule ip mangle FORWARD -- -t mangle -j NFLOG --nflog-range 100\n", "apply", "--create", "-f", "-")

	nft := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	for _, want := range []string{
		`ct state invalid counter packets 0 bytes 0 log prefix "bad: " level debug`,
		"meta l4proto tcp counter packets 0 bytes 0 log level emerg flags all",
		`meta nfproto ipv6 counter packets 0 bytes 0 log prefix "six" group 5 snaplen 64 queue-threshold 2`,
		"counter packets 0 bytes 0 log\n",
		"counter packets 0 bytes 0 log group 0\n",
	} {
		if !strings.Contains(nft, want) {
			t.Errorf("nft list ruleset has no %q:\n%s", want, nft)
		}
	}
	wantWords := []string{
		`-A input -m conntrack --ctstate INVALID -j LOG --log-prefix "bad: " --log-level 7`,
		"-A input -p tcp -j LOG --log-level 0 --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode",
		"-A input -j NFLOG --nflog-prefix six --nflog-group 5 --nflog-size 64 --nflog-threshold 2 # -6",
		"-A PREROUTING -j LOG",
		"-A FORWARD -j NFLOG",
	}
	wantListedAndReloaded(t, bin, ns, wantWords)

	for _, words := range [][]string{
		{"--", "-A", "INPUT", "-j", "LOG", "--log-prefix", "in ", "--log-level", "alert", "--log-uid"},
		{"--", "-A", "INPUT", "-j", "NFLOG", "--nflog-group", "3", "--nflog-size", "0"},
	} {
		tr, err := exec.Command(bin, append([]string{"translate"}, words...)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		bcOut, err := exec.Command(bin, append([]string{"translate", "-o", "bytecode"}, words...)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		text := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(tr)), "nft '"), "'")
		debug := ktest.Run(t, ns, "flush ruleset\nadd table ip filter\nadd chain ip filter INPUT\n"+text+"\n", "nft", "--debug=netlink", "-f", "-")
		if bc := strings.TrimSpace(string(bcOut)); bc == "" || !strings.Contains(debug, bc) {
			t.Errorf("translate -o bytecode:\n%s\nnft --debug=netlink of %q:\n%s", bc, text, debug)
		}
	}
}
