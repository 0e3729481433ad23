package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
)

// MARK and CONNMARK through every path: add rule, insert rule, apply, list
// -o iptables, list -o nft (reloaded by nft) and translate -o bytecode. A
// CONNMARK whose masks combine both marks has its own test,
// TestCLICombinedMarks.
func TestCLIMark(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "ip", "mangle", "PREROUTING", "--create", "--", "-t", "mangle", "-p", "tcp", "-j", "MARK", "--set-xmark", "0x40000/0xff0000")
	mustCLI(t, bin, ns, "", "insert", "rule", "ip", "mangle", "PREROUTING", "--", "-t", "mangle", "-j", "CONNMARK", "--restore-mark", "--ctmask", "0xff0000")
	mustCLI(t, bin, ns, "add rule inet fw output -- -j MARK --or-mark 4\nadd rule inet fw output -6 -- -j CONNMARK --save-mark\nadd rule inet fw output -- -j CONNMARK --set-mark 0x10/0xf0\n", "apply", "--create", "-f", "-")

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
	wantListedAndReloaded(t, bin, ns, wantWords)

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

// A CONNMARK whose masks combine both marks through every path: translate
// prints nft 1.1.2's text and warns once per run that nft 1.0.6 cannot read
// it (exit 0); add rule, insert rule and apply load it over netlink; list -o
// iptables gives the words back; list -o nft writes the text with a comment
// above each such rule; list -o bytecode shows the bitwise of two
// registers. nft 1.0.6 itself refuses the text and aborts listing the rule
// (its netlink_delinearize asserts on NFT_BITWISE_XOR), which the test
// records: were such an nft to read them, the caveat would be stale. nft
// 1.1.2 and later list the rules in ctmatch's text, and load the text as
// the same expressions.
func TestCLICombinedMarks(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	restore := []string{"-t", "mangle", "-j", "CONNMARK", "--restore-mark", "--nfmask", "0xff0000", "--ctmask", "0xff0000"}
	save := []string{"-t", "mangle", "-j", "CONNMARK", "--save-mark", "--nfmask", "0xff", "--ctmask", "0xff00"}

	cmd := exec.Command(bin, "translate", "-f", "-")
	cmd.Stdin = strings.NewReader("-A PREROUTING " + strings.Join(restore, " ") + "\n-A POSTROUTING " + strings.Join(save, " ") + "\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var r cliResult
	if err := cmd.Run(); err != nil {
		r.code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	wantText := []string{
		"nft 'add rule ip mangle PREROUTING counter meta mark set meta mark & 0xff00ffff ^ ct mark & 0x00ff0000'",
		"nft 'add rule ip mangle POSTROUTING counter ct mark set ct mark & 0xffff00ff ^ meta mark & 0x000000ff'",
	}
	if r.code != 0 || r.stdout != strings.Join(wantText, "\n")+"\n" {
		t.Errorf("translate: exit %d\n%s\nwant exit 0 and\n%s", r.code, r.stdout, strings.Join(wantText, "\n"))
	}
	if n := strings.Count(r.stderr, "warning:"); n != 1 || !strings.Contains(r.stderr, "nft 1.1.2") || !strings.Contains(r.stderr, "<stdin>:1:") {
		t.Errorf("translate: standard error\n%s\nwant one warning, at line 1, naming nft 1.1.2", r.stderr)
	}

	mustCLI(t, bin, ns, "", append([]string{"add", "rule", "ip", "fw", "pre", "--create", "--"}, restore...)...)
	mustCLI(t, bin, ns, "", append([]string{"insert", "rule", "ip", "fw", "pre", "--"}, save...)...)
	mustCLI(t, bin, ns, "add rule inet fw6 out -6 -- "+strings.Join(save, " ")+"\n", "apply", "--create", "-f", "-")

	out := mustCLI(t, bin, ns, "", "list", "-o", "iptables")
	for _, want := range []string{
		"-A pre -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff00\n-A pre -j CONNMARK --restore-mark --nfmask 0xff0000 --ctmask 0xff0000\n",
		"-A out -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff00 # -6\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list -o iptables:\n%s\nwant %q", out, want)
		}
	}
	listed := mustCLI(t, bin, ns, "", "list", "-o", "nft")
	for _, want := range []string{
		"# the next rule needs nft 1.1.2 or later to be read",
		"\t\tcounter packets 0 bytes 0 meta mark set meta mark & 0xff00ffff ^ ct mark & 0x00ff0000\n",
		"\t\tmeta nfproto ipv6 counter packets 0 bytes 0 ct mark set ct mark & 0xffff00ff ^ meta mark & 0x000000ff\n",
	} {
		if !strings.Contains(listed, want) {
			t.Errorf("list -o nft:\n%s\nwant %q", listed, want)
		}
	}
	if n := strings.Count(listed, "# the next rule needs nft 1.1.2"); n != 3 {
		t.Errorf("list -o nft has %d notes for 3 rules:\n%s", n, listed)
	}
	bc := mustCLI(t, bin, ns, "", "list", "-o", "bytecode")
	if n := strings.Count(bc, "[ bitwise reg 1 = ( reg 1 ^ reg 2 ) ]"); n != 3 {
		t.Errorf("list -o bytecode shows %d bitwises of two registers for 3 rules:\n%s", n, bc)
	}

	text := "add table ip t\nadd chain ip t c\nadd rule ip t c " + strings.TrimSuffix(strings.TrimPrefix(wantText[0], "nft 'add rule ip mangle PREROUTING "), "'") + "\n"
	if nftVersion(t).NewForms() {
		// nft 1.1.2 and later read the text and list the rules as ctmatch
		// writes them, and the text loads what ctmatch loads.
		listing, stderr, err := ktest.Exec(ns, "", "nft", "list", "ruleset")
		if err != nil {
			t.Fatalf("nft %s list ruleset: %v: %s", nftVersionText(t), err, stderr)
		}
		for _, want := range []string{
			"meta mark set meta mark & 0xff00ffff ^ ct mark & 0x00ff0000\n",
			"ct mark set ct mark & 0xffff00ff ^ meta mark & 0x000000ff\n",
		} {
			if n := strings.Count(listing, want); n < 1 {
				t.Errorf("nft %s list ruleset:\n%s\nwant %q", nftVersionText(t), listing, want)
			}
		}
		ktest.Run(t, ns, "", "nft", "flush", "ruleset")
		ktest.Run(t, ns, text, "nft", "-f", "-")
		got := ""
		for _, r := range dumpChain(t, ns, expr.FamilyIP, "t", "c") {
			lines, err := expr.DebugLines(r.Exprs)
			if err != nil {
				t.Fatal(err)
			}
			got = "  " + strings.Join(lines, "\n  ") + "\n"
		}
		if !strings.Contains(bc, got) || !strings.Contains(got, "[ bitwise reg 1 = ( reg 1 ^ reg 2 ) ]") {
			t.Errorf("nft %s -f of the text loads\n%s\nnot what ctmatch loads:\n%s", nftVersionText(t), got, bc)
		}
		t.Logf("nft %s reads the text and lists the rules as ctmatch writes them", nftVersionText(t))
		return
	}
	if _, stderr, err := ktest.Exec(ns, "", "nft", "list", "ruleset"); err == nil {
		t.Errorf("nft list ruleset lists the rules (the installed nft reads a bitwise of two registers: the caveat is stale)")
	} else {
		t.Logf("nft list ruleset: %v: %s", err, strings.TrimSpace(stderr))
	}
	ktest.Run(t, ns, "", "nft", "flush", "ruleset")
	if _, stderr, err := ktest.Exec(ns, text, "nft", "-f", "-"); err == nil {
		t.Errorf("nft -f reads the text (the installed nft reads a bitwise of two registers: the caveat is stale)")
	} else {
		t.Logf("nft -f: %v: %s", err, strings.TrimSpace(stderr))
	}
}
