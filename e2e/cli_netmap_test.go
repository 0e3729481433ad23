package e2e

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/nftforms"
)

// NETMAP through every path: add rule into the nat base chains (--create),
// apply, list -o iptables (the words back, the chain saying the
// direction), list -o nft (which nft reloads to the same rules), translate
// and translate -o bytecode (the lines nft prints for translate's text). In
// a user chain it is refused with exit 1 before anything is sent, and
// outside the nat table with exit 2.
func TestCLINetmap(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "nat", "PREROUTING", "--create", "--", "-t", "nat", "-d", "192.0.2.0/24", "-j", "NETMAP", "--to", "10.0.0.0/24")
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "nat", "POSTROUTING", "--create", "--", "-t", "nat", "-s", "10.0.0.0/24", "-j", "NETMAP", "--to", "192.0.2.7/255.255.255.0")
	mustCLI(t, bin, ns, "", "add", "rule", "ip6", "nat", "OUTPUT", "--create", "-6", "--", "-t", "nat", "-j", "NETMAP", "--to", "2001:db8::/64")
	mustCLI(t, bin, ns, "add rule ip nat INPUT -- -t nat -p tcp -j NETMAP --to 10.9.0.0/16\n", "apply", "--create", "-f", "-")

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"add", "rule", "ip", "nat", "mine", "--create", "--", "-t", "nat", "-j", "NETMAP", "--to", "10.0.0.0/8"}, 1, "user chain mine"},
		{[]string{"add", "rule", "ip", "nat", "PREROUTING", "--", "-j", "NETMAP", "--to", "10.0.0.0/8"}, 2, "valid only in the nat table"},
		{[]string{"add", "rule", "ip", "nat", "PREROUTING", "--", "-t", "nat", "-j", "NETMAP"}, 2, `"--to" must be specified`},
		{[]string{"add", "rule", "ip", "nat", "PREROUTING", "--", "-t", "nat", "-j", "NETMAP", "--to", "10.0.0.0/255.0.255.0"}, 1, "iptables 1.8.9 loads it as /32"},
	} {
		r := runCLI(t, bin, ns, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("ctmatch %s: exit %d\n%s, want exit %d with %q", strings.Join(c.args, " "), r.code, r.stderr, c.code, c.msg)
		}
	}

	nft := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	for _, want := range []string{
		"ip daddr 192.0.2.0/24 counter packets 0 bytes 0 dnat prefix to 10.0.0.0/24",
		"ip saddr 10.0.0.0/24 counter packets 0 bytes 0 snat prefix to 192.0.2.0/24",
		"counter packets 0 bytes 0 dnat prefix to 2001:db8::/64",
		"meta l4proto tcp counter packets 0 bytes 0 snat prefix to 10.9.0.0/16",
	} {
		if !strings.Contains(nft, want) {
			t.Errorf("nft list ruleset has no %q:\n%s", want, nft)
		}
	}
	if strings.Contains(nft, "chain mine") {
		t.Errorf("the refused rule's chain was made:\n%s", nft)
	}
	wantLines := []string{
		"-A PREROUTING -d 192.0.2.0/24 -j NETMAP --to 10.0.0.0/24",
		"-A POSTROUTING -s 10.0.0.0/24 -j NETMAP --to 192.0.2.0/24",
		"-A OUTPUT -j NETMAP --to 2001:db8::/64",
		"-A INPUT -p tcp -j NETMAP --to 10.9.0.0/16",
	}
	wantListedAndReloaded(t, bin, ns, wantLines)
	again := mustCLI(t, bin, ns, "", "list", "-o", "iptables")

	// apply -f of list -o json, after a flush, loads the same rules: each
	// record's chain says the direction again.
	listing := mustCLI(t, bin, ns, "", "list", "-o", "json")
	before := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	ktest.Run(t, ns, "", "nft", "flush", "ruleset")
	mustCLI(t, bin, ns, listing, "apply", "-f", "-")
	if after := ktest.Run(t, ns, "", "nft", "list", "ruleset"); after != before {
		t.Errorf("nft list ruleset after apply -f of list -o json:\n%s\nbefore:\n%s", after, before)
	}
	if got := mustCLI(t, bin, ns, "", "list", "-o", "iptables"); got != again {
		t.Errorf("list -o iptables after apply of the JSON listing:\n%s\nbefore:\n%s", got, again)
	}

	// A whole file with NETMAP in a user chain reached from PREROUTING and
	// POSTROUTING, which both iptables-restore variants load (xt_NETMAP
	// maps the destination of the one and the source of the other): exit 1
	// at the target, no nat statement printed for it.
	file := t.TempDir() + "/nat.save"
	writeTestFile(t, file, "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"+
		":U - [0:0]\n-A PREROUTING -j U\n-A POSTROUTING -j U\n-A U -j NETMAP --to 10.0.0.0/8\nCOMMIT\n")
	for _, tool := range []string{"iptables-restore", "iptables-legacy-restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		if _, stderr, err := ktest.Exec(ktest.Namespace(t, tool), "", tool, file); err != nil {
			t.Errorf("%s refuses the file: %v\n%s", tool, err, stderr)
		}
	}
	cmd := exec.Command(bin, "translate", "-f", file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	printed, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.Contains(string(printed), "prefix to") || !strings.Contains(stderr.String(), "nat.save:9:9: NETMAP in the user chain U") {
		t.Errorf("translate -f of NETMAP in a user chain: %v\n%s%s", err, printed, stderr.String())
	}

	// translate, and -o bytecode as nft --debug=netlink prints it for
	// translate's text.
	for _, words := range [][]string{
		{"--", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/8", "-j", "NETMAP", "--to", "172.16.0.0/8"},
		{"--", "-t", "nat", "-A", "PREROUTING", "-j", "NETMAP", "--to", "10.1.2.3"},
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
		if !strings.Contains(text, "prefix to") {
			t.Errorf("translate %v: %q has no prefix to", words, text)
		}
		chain := words[4]
		debug := ktest.Run(t, ns, "flush ruleset\nadd table ip nat\nadd chain ip nat "+chain+"\n"+text+"\n", "nft", "--debug=netlink", "-f", "-")
		bc := strings.TrimSpace(string(bcOut))
		same := bc != "" && strings.Contains(debug, bc)
		if !same && nftVersion(t).NewForms() {
			// nft 1.1.2 sends one address in one register
			// (internal/nftforms).
			same = slices.Equal(nftforms.Lines(exprLines(bc)), nftforms.Lines(exprLines(debug)))
		}
		if !same {
			t.Errorf("translate -o bytecode:\n%s\nnft --debug=netlink of %q:\n%s", bc, text, debug)
		}
	}
}

// exprLines returns the expression lines ("[ … ]") of nft --debug=netlink's
// or translate -o bytecode's output, without their indentation.
func exprLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "[ ") {
			lines = append(lines, l)
		}
	}
	return lines
}
