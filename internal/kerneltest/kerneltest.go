// Package kerneltest is test support for the tests of more than one package
// that drive kernel/ inside a namespace of ktest's: kernel/'s own kernel tests
// and the end-to-end tests.
//
// It is a package of its own, not part of ktest, so that ktest, which every
// kernel test starts with, depends on no package of ctmatch's that talks
// netlink: a package that kernel/ imports can still have kernel tests.
package kerneltest

import (
	"context"
	"testing"

	"github.com/ctmatch/ctmatch/internal/netns"
	"github.com/ctmatch/ctmatch/kernel"
)

// Dial connects kernel/ to ns, by path, and closes the connection when the
// test ends; it fails the test when the connection cannot be made.
func Dial(t testing.TB, ns *netns.NS) *kernel.Conn {
	t.Helper()
	c, err := kernel.Dial(context.Background(), kernel.Options{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
