package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// MARK and CONNMARK through every path: add rule, insert rule, apply, list
// -o iptables, list -o nft (reloaded by nft) and translate -o bytecode; a
// CONNMARK whose masks mix both marks is refused with exit 1 before
// anything is sent.
func TestCLIMark(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "mangle", "PREROUTING", "--create", "--", "-t", "mangle", "-p", "tcp", "-j", "MARK", "--set-xmark", "0x40000/0xff0000")
	mustCLI(t, bin, ns, "", "insert", "rule", "ip", "mangle", "PREROUTING", "--", "-t", "mangle", "-j", "CONNMARK", "--restore-mark", "--ctmask", "0xff0000")
	mustCLI(t, bin, ns, "add rule inet fw output -- -j MARK --or-mark 4\nadd rule inet fw output -6 -- -j CONNMARK --save-mark\nadd rule inet fw output -- -j CONNMARK --set-mark 0x10/0xf0\n", "apply", "--create", "-f", "-")

	r := runCLI(t, bin, ns, "", "add", "rule", "ip", "mangle", "PREROUTING", "--", "-t", "mangle", "-j", "CONNMARK", "--restore-mark", "--nfmask", "0xff0000", "--ctmask", "0xff0000")
	if r.code != 1 || !strings.Contains(r.stderr, "NFTA_BITWISE_SREG2") {
		t.Errorf("a masked restore: exit %d\n%s, want exit 1 with the reason", r.code, r.stderr)
	}

	nft := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	for _, want := range []string{
		"meta l4proto tcp counter packets 0 bytes 0 meta mark set meta mark & 0xff04ffff | 0x00040000",
		"counter packets 0 bytes 0 meta mark set ct mark & 0x00ff0000",
		"counter packets 0 bytes 0 meta mark set meta mark | 0x00000004",
		"meta nfproto ipv6 counter packets 0 bytes 0 ct mark set meta mark",
		"counter packets 0 bytes 0 ct mark set ct mark & 0xffffff1f | 0x00000010",
	} {
		if !strings.Contains(nft, want) {
			t.Errorf("nft list ruleset has no %q:\n%s", want, nft)
		}
	}
	wantWords := []string{
		"-A PREROUTING -p tcp -j MARK --set-xmark 0x40000/0xff0000",
		"-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xff0000",
		"-A output -j MARK --set-xmark 0x4/0x4",
		"-A output -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff # -6",
		"-A output -j CONNMARK --set-xmark 0x10/0xf0",
	}
	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	for _, want := range wantWords {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("list -o iptables:\n%s\nwant the line %q", out, want)
		}
	}
	saved := mustCLI(t, bin, ns, "", "list", "-o", "nft")
	ktest.Run(t, ns, "flush ruleset\n"+saved, "nft", "-f", "-")
	again := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	for _, want := range wantWords {
		if !strings.Contains(again, want+"\n") {
			t.Errorf("after nft -f of list -o nft, list -o iptables:\n%s\nwant the line %q", again, want)
		}
	}

	words := []string{"--", "-t", "mangle", "-A", "OUTPUT", "-j", "CONNMARK", "--set-xmark", "0x10/0xf0"}
	tr, err := exec.Command(bin, append([]string{"translate"}, words...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	bcOut, err := exec.Command(bin, append([]string{"translate", "-o", "bytecode"}, words...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(tr)), "nft '"), "'")
	debug := ktest.Run(t, ns, "flush ruleset\nadd table ip mangle\nadd chain ip mangle OUTPUT\n"+text+"\n", "nft", "--debug=netlink", "-f", "-")
	if bc := strings.TrimSpace(string(bcOut)); bc == "" || !strings.Contains(debug, bc) {
		t.Errorf("translate -o bytecode:\n%s\nnft --debug=netlink of %q:\n%s", bc, text, debug)
	}
}
