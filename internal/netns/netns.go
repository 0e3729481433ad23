// Package netns makes throwaway network namespaces for ctmatch's kernel tests
// and runs code and commands inside them without ever moving the caller's
// goroutine or thread out of its own namespace.
//
// A namespace is created on a goroutine locked to its OS thread: the thread
// unshares its network namespace, the namespace is kept through an open file
// descriptor, and the goroutine exits without unlocking, so the Go runtime
// retires the thread instead of reusing it in the wrong namespace. Do runs a
// function the same way, on a fresh locked thread that joins the namespace.
package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// NS is a network namespace held open by a file descriptor. The namespace lives
// as long as the descriptor (or anything else inside it) does.
type NS struct {
	f *os.File
}

// New creates a new network namespace with its loopback interface up.
// The caller's thread stays where it is.
func New() (*NS, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("unshare network namespace: %w", err)}
			return
		}
		f, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			ch <- result{err: fmt.Errorf("open new network namespace: %w", err)}
			return
		}
		if err := loopbackUp(); err != nil {
			f.Close()
			ch <- result{err: err}
			return
		}
		ch <- result{f: f}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	return &NS{f: r.f}, nil
}

// File returns the descriptor that holds the namespace. It stays owned by ns.
func (ns *NS) File() *os.File { return ns.f }

// Path returns a path to the namespace that is valid in this process while ns
// is open.
func (ns *NS) Path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), ns.f.Fd()) }

// Close releases the namespace; it disappears once nothing else holds it.
func (ns *NS) Close() error { return ns.f.Close() }

// Do runs fn on a fresh OS thread that has joined the namespace, and waits for
// it. The thread is retired afterwards, never reused.
func (ns *NS) Do(fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		ch <- fn()
	}()
	return <-ch
}

// Command returns a command that runs name with args inside the namespace,
// through nsenter(1) with the namespace passed as the child's descriptor 3.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return ns.CommandContext(context.Background(), name, args...)
}

// CommandContext is Command, killed when ctx is done.
func (ns *NS) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=/proc/self/fd/3", "--", name}, args...)...)
	cmd.ExtraFiles = []*os.File{ns.f}
	return cmd
}

// loopbackUp sets the loopback interface of the calling thread's namespace up.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: set flags: %w", err)
	}
	return nil
}

// IsPermission reports whether err says the caller lacks the privilege to make
// or enter a namespace.
func IsPermission(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}
