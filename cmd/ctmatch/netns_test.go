package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/firewall"
)

// noDial replaces the kernel connection for the test: a command that dials
// fails, and the test sees that it did (no test here may ever reach the
// host's ruleset).
func noDial(t *testing.T) *[]string {
	t.Helper()
	var dialed []string
	old := dialClient
	dialClient = func(ctx context.Context, o firewall.DialOptions) (*firewall.Client, error) {
		dialed = append(dialed, o.NetNS)
		return nil, errors.New("the test allows no connection to the kernel")
	}
	t.Cleanup(func() { dialClient = old })
	return &dialed
}

// A --netns that was given must name a namespace: an empty one (a script's
// unset variable) is bad usage, reported before anything dials, and never
// the caller's own namespace.
func TestNetnsEmpty(t *testing.T) {
	dialed := noDial(t)
	words := []string{"--", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"}
	line := "add rule inet cc c0 -- -m conntrack --ctstate NEW -j ACCEPT\n"
	for _, netns := range [][]string{{"--netns", ""}, {"--netns="}, {"--netns", "/run/netns/x", "--netns", ""}} {
		for _, tc := range []struct {
			args  []string
			stdin string
		}{
			{append(append([]string{"add", "rule", "inet", "cc", "c0"}, netns...), words...), ""},
			{append(append([]string{"insert", "rule", "inet", "cc", "c0", "--check"}, netns...), words...), ""},
			{append([]string{"delete", "rule", "inet", "cc", "c0", "handle", "4"}, netns...), ""},
			{append([]string{"list"}, netns...), ""},
			{append([]string{"apply", "-f", "-"}, netns...), line},
		} {
			*dialed = nil
			r := runCLI(t, tc.args, tc.stdin)
			if r.code != exitInvalid || !strings.Contains(r.stderr, "--netns needs the path of a network namespace") || len(*dialed) > 0 {
				t.Errorf("ctmatch %s: exit %d, dialed %q, stderr:\n%s\nwant exit 2, no dial, and the --netns message", shellQuoteArgs(tc.args), r.code, *dialed, r.stderr)
			}
		}
	}
}

// A --netns path that is not a network namespace fails at once with the
// reason, as an error of the system (exit 1), and nothing is changed.
func TestNetnsNotANamespace(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, []string{"list", "--netns", dir}, "")
	want := "ctmatch: dial network namespace " + dir + ": not a network namespace: a directory\n"
	if r.code != exitUnsupported || r.stderr != want {
		t.Errorf("ctmatch list --netns DIR: exit %d, stderr %q; want exit 1, %q", r.code, r.stderr, want)
	}
}
