// Package ktest is the entry point of every ctmatch test that needs the
// kernel: it makes a network namespace for the test, finds the tools the test
// uses as oracles, and decides between skipping and failing.
//
// A kernel test skips only when the process lacks the privilege to make a
// namespace (EPERM or EACCES) or when an oracle tool is missing and cannot be
// had without privilege. With CTMATCH_E2E=1 (set by CI and by `make test` when
// run as root) every such skip is a failure instead, so a kernel test can never
// hide behind a skip where it should run.
//
// Each kernel test logs a marker line that `make test` counts: Marker+"ran" when
// it runs, Marker+"skipped: REASON" when it skips.
package ktest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/internal/netns"
)

// Marker starts the line every kernel test logs, for the test counter.
const Marker = "ctmatch-kernel-test: "

// Required reports whether kernel tests must run (CTMATCH_E2E=1).
func Required() bool { return os.Getenv("CTMATCH_E2E") == "1" }

// Skip skips t as a kernel test that cannot run for reason, or fails it when
// kernel tests are required.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if Required() {
		t.Fatalf("%sfailed: CTMATCH_E2E=1 but the test cannot run: %s", Marker, reason)
	}
	t.Skipf("%sskipped: %s", Marker, reason)
}

// Namespace marks t as a kernel test and returns a new network namespace for
// it, with loopback up, closed when the test ends. The tools named are looked
// up first (nft, iptables, …): a test asks for every oracle it runs.
func Namespace(t testing.TB, tools ...string) *netns.NS {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			Skip(t, tool+" is not installed (make test installs it when run as root)")
		}
	}
	ns, err := netns.New()
	if err != nil {
		if netns.IsPermission(err) {
			Skip(t, "no privilege to create a network namespace: "+err.Error())
		}
		t.Fatalf("%sfailed: %v", Marker, err)
	}
	t.Cleanup(func() { ns.Close() })
	t.Log(Marker + "ran")
	return ns
}

// Run runs name with args inside ns and returns its standard output; the test
// fails with the command's standard error when it exits non-zero.
func Run(t testing.TB, ns *netns.NS, stdin string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := Exec(ns, stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, errOut)
	}
	return out
}

// ExecTimeout bounds every command Exec runs: a tool that hangs fails its
// test instead of the whole run.
const ExecTimeout = 2 * time.Minute

// Exec runs name with args inside ns, with stdin as its standard input, and
// returns its standard output and standard error.
func Exec(ns *netns.NS, stdin string, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := ns.CommandContext(ctx, name, args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err = cmd.Run()
	return o.String(), e.String(), err
}
