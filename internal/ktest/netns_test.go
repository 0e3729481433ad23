package ktest_test

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// The namespace is really a new one: it has its own empty ruleset and only a
// loopback interface, which is up, while the test's own thread never moved.
func TestNamespaceIsolated(t *testing.T) {
	ns := ktest.Namespace(t, "nft", "ip")
	links := ktest.Run(t, ns, "", "ip", "-o", "link")
	if n := strings.Count(links, "\n"); n != 1 || !strings.Contains(links, "lo:") || !strings.Contains(links, "UP") {
		t.Fatalf("namespace links = %q, want only lo, up", links)
	}
	ktest.Run(t, ns, "add table ip ctmatch_probe\n", "nft", "-f", "-")
	if got := ktest.Run(t, ns, "", "nft", "list", "tables"); !strings.Contains(got, "ctmatch_probe") {
		t.Fatalf("table not seen inside the namespace: %q", got)
	}
	other := ktest.Namespace(t, "nft")
	if got := ktest.Run(t, other, "", "nft", "list", "tables"); got != "" {
		t.Fatalf("a second namespace sees tables: %q", got)
	}
}
