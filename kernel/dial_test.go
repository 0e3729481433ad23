package kernel

import (
	"context"
	"errors"
	"os"
	"testing"
)

// Dial fails on a namespace path that does not exist, before opening any
// socket, and says which path.
func TestDialBadNamespace(t *testing.T) {
	_, err := Dial(context.Background(), Options{NetNS: "/nonexistent/netns"})
	want := "dial network namespace /nonexistent/netns: open /nonexistent/netns: no such file or directory"
	if err == nil || err.Error() != want || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if _, err := Dial(context.Background(), Options{NetNSFd: -2}); err == nil {
		t.Fatal("a negative namespace descriptor was accepted")
	}
}
