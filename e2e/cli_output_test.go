package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
)

// Table and chain names are printed so that none reads as more than one
// word: nft 1.0.6 itself prints them bare, whatever they hold (checked
// here: "table inet c; flush ruleset {"), so that its listing of such a name
// is a command; ctmatch quotes the names nft would not read bare, in --echo
// and in every form of list, and escapes control characters in them.
func TestCLINamesQuoted(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	out := mustCLI(t, bin, ns, "", "add", "rule", "inet", "c; flush ruleset", "c; x\x1b[2J", "--create", "--echo", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT")
	want := "add table inet \"c; flush ruleset\"\n" +
		"add chain inet \"c; flush ruleset\" \"c; x\\x1b[2J\"\n" +
		"add rule inet \"c; flush ruleset\" \"c; x\\x1b[2J\" meta nfproto ipv4 ct state new counter accept # handle 2\n"
	if out != want {
		t.Errorf("add rule --echo printed:\n%s\nwant:\n%s", out, want)
	}
	if got := ktest.Run(t, ns, "", "nft", "list", "ruleset"); !strings.HasPrefix(got, "table inet c; flush ruleset {\n\tchain c; x\x1b[2J {\n") {
		t.Errorf("nft 1.0.6 no longer prints names bare (update the comment above):\n%q", got)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list"}, "table inet \"c; flush ruleset\" {\n\tchain \"c; x\\x1b[2J\" {\n\t\tmeta nfproto ipv4 ct state new counter packets 0 bytes 0 accept\n\t}\n}\n"},
		{[]string{"list", "-o", "iptables"}, "# table inet \"c; flush ruleset\"\n# chain \"c; x\\x1b[2J\"\n-A \"c; x\\x1b[2J\" -m conntrack --ctstate NEW -j ACCEPT\n"},
		{[]string{"list", "-o", "bytecode"}, "inet \"c; flush ruleset\" \"c; x\\x1b[2J\"\n"},
		{[]string{"delete", "rule", "inet", "c; flush ruleset", "c; x\x1b[2J", "handle", "2", "--check", "--echo"}, "delete rule inet \"c; flush ruleset\" \"c; x\\x1b[2J\" handle 2\n"},
	} {
		out := mustCLI(t, bin, ns, "", tc.args...)
		if !strings.HasPrefix(out, tc.want) {
			t.Errorf("ctmatch %q printed:\n%s\nwant it to start with:\n%s", tc.args, out, tc.want)
		}
	}
}

// A failed write of standard output is exit 1 with the error: list used
// to exit 2 with a usage hint, and --echo to exit 0.
func TestCLIWriteError(t *testing.T) {
	ns := ktest.Namespace(t)
	bin := ctmatchCLI(t)
	mustCLI(t, bin, ns, "", "add", "rule", "inet", "fw", "input", "--create", "--", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT")
	const full = "write standard output: no space left on device\n"
	const checked = "ctmatch: the kernel checked the changes and nothing was changed; " + full
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"list"}, "ctmatch: " + full},
		{[]string{"list", "-o", "iptables"}, "ctmatch: " + full},
		{[]string{"add", "rule", "inet", "fw", "input", "--echo", "--check", "--", "-m", "conntrack", "--ctstate", "NEW"}, checked},
		{[]string{"apply", "--echo", "--check", "-f", "-"}, checked},
		{[]string{"delete", "rule", "inet", "fw", "input", "handle", "2", "--check", "--echo"}, checked},
		// The change was made: the error says so, lest a caller retry it.
		{[]string{"add", "rule", "inet", "fw", "input", "--echo", "--", "-m", "conntrack", "--ctstate", "NEW"}, "ctmatch: the changes were made; " + full},
	} {
		code, stderr := runToFull(t, bin, ns, "add rule inet fw input -- -m conntrack --ctstate NEW\n", c.args...)
		if code != 1 || stderr != c.want {
			t.Errorf("ctmatch %s > /dev/full: exit %d, stderr %q; want exit 1, %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
	if got := ktest.Run(t, ns, "", "nft", "list", "chain", "inet", "fw", "input"); strings.Count(got, "ct state new") != 2 {
		t.Errorf("after one add rule with --echo into a full output, the chain holds:\n%s\nwant the first rule and the one added", got)
	}
}

// runToFull runs ctmatch in ns with its standard output on /dev/full.
func runToFull(t *testing.T, bin string, ns *netns.NS, stdin string, args ...string) (int, string) {
	t.Helper()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	cmd := cliCommand(bin, ns, stdin, nil, args...)
	var e bytes.Buffer
	cmd.Stdout, cmd.Stderr = full, &e
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), e.String()
	case err != nil:
		t.Fatalf("run ctmatch %q: %v", args, err)
	}
	return 0, e.String()
}
