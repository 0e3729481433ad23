package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/kernel"
)

// The tests of this file's family (cli_*_test.go) run the ctmatch command
// itself, built from this module, against the kernel: each in a network
// namespace of its own, given to ctmatch as --netns /proc/self/fd/3 (the
// namespace is the child's descriptor 3), so that the child needs no
// access to this process's descriptors.

// ctmatchCLI builds the ctmatch command into a directory of the test and
// returns its path.
func ctmatchCLI(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "ctmatch")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/ctmatch/ctmatch/cmd/ctmatch").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/ctmatch: %v\n%s", err, out)
	}
	return bin
}

// cliResult is what one run of ctmatch gave.
type cliResult struct {
	stdout, stderr string
	code           int
}

// withNetns returns args with --netns /proc/self/fd/3 before "--", or at
// the end when there is no "--".
func withNetns(args []string) []string {
	out := make([]string, 0, len(args)+2)
	for i, a := range args {
		if a == "--" {
			out = append(out, "--netns", "/proc/self/fd/3")
			return append(out, args[i:]...)
		}
		out = append(out, a)
	}
	return append(out, "--netns", "/proc/self/fd/3")
}

// cliCommand returns the command that runs bin with args (and --netns) in
// ns, under the programs of wrap (such as setpriv and its arguments).
func cliCommand(bin string, ns *netns.NS, stdin string, wrap []string, args ...string) *exec.Cmd {
	argv := append(append(append([]string(nil), wrap...), bin), withNetns(args)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{ns.File()}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return cmd
}

// runCLI runs ctmatch with args in ns and returns its streams and exit code.
func runCLI(t *testing.T, bin string, ns *netns.NS, stdin string, args ...string) cliResult {
	t.Helper()
	return runWrapped(t, bin, ns, stdin, nil, args...)
}

func runWrapped(t *testing.T, bin string, ns *netns.NS, stdin string, wrap []string, args ...string) cliResult {
	t.Helper()
	cmd := cliCommand(bin, ns, stdin, wrap, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := cliResult{stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run ctmatch %q: %v", args, err)
	}
	return r
}

// mustCLI runs ctmatch and fails the test unless it exits 0.
func mustCLI(t *testing.T, bin string, ns *netns.NS, stdin string, args ...string) string {
	t.Helper()
	r := runCLI(t, bin, ns, stdin, args...)
	if r.code != 0 {
		t.Fatalf("ctmatch %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// rulesetState is what a command that must change nothing must leave as it
// was: the generation and nft's listing with handles.
func rulesetState(t *testing.T, ns *netns.NS) (uint32, string) {
	t.Helper()
	c, err := kernel.Dial(context.Background(), kernel.Options{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	gen, err := c.Generation(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return gen, ktest.Run(t, ns, "", "nft", "-a", "list", "ruleset")
}

// unchangedSince fails the test when the ruleset moved from state.
func unchangedSince(t *testing.T, ns *netns.NS, what string, gen uint32, listing string) {
	t.Helper()
	g, l := rulesetState(t, ns)
	if g != gen || l != listing {
		t.Errorf("%s changed the ruleset: generation %d → %d\nbefore:\n%s\nafter:\n%s", what, gen, g, listing, l)
	}
}
