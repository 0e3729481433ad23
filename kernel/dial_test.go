package kernel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
	"testing"
)

// Dial fails on a namespace path that does not exist, before opening any
// socket, and says which path.
func TestDialBadNamespace(t *testing.T) {
	_, err := Dial(context.Background(), Options{NetNS: "/nonexistent/netns"})
	want := "dial network namespace /nonexistent/netns: stat /nonexistent/netns: no such file or directory"
	if err == nil || err.Error() != want || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if _, err := Dial(context.Background(), Options{NetNSFd: -2}); err == nil {
		t.Fatal("a negative namespace descriptor was accepted")
	}
}

// Dial refuses at once, saying what it is, a path that is not a network
// namespace: a FIFO (which a plain open would wait on forever for a
// writer), a regular file, a directory, a namespace of another type; and a
// descriptor that is not one.
func TestDialNotNetNS(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{fifo, "dial network namespace " + fifo + ": not a network namespace: a FIFO (named pipe)"},
		{file, "dial network namespace " + file + ": not a network namespace: a file that is not a namespace"},
		{dir, "dial network namespace " + dir + ": not a network namespace: a directory"},
		{"/proc/self/ns/mnt", "dial network namespace /proc/self/ns/mnt: not a network namespace: a mount namespace"},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := Dial(context.Background(), Options{NetNS: tc.path})
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			// Open the FIFO's other end, so that a Dial blocked in open
			// returns and the test ends.
			if w, werr := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0); werr == nil {
				defer w.Close()
			}
			t.Errorf("Dial(%s) still waits after 10 s", tc.path)
			err = <-done
		}
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrNotNetNS) {
			t.Errorf("Dial(%s) = %v, want %s (and ErrNotNetNS)", tc.path, err, tc.want)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = Dial(context.Background(), Options{NetNSFd: int(f.Fd())})
	if !errors.Is(err, ErrNotNetNS) {
		t.Errorf("Dial(NetNSFd of a regular file) = %v, want ErrNotNetNS", err)
	}
}
