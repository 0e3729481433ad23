package kernel

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// nsGetNstype is the ioctl NS_GET_NSTYPE (_IO(0xb7, 0x3), Linux 4.11): on a
// namespace file it returns the namespace's CLONE_NEW* type.
const nsGetNstype = 0xb703

// openNetNS opens the network namespace file at path. It never blocks (a
// FIFO or a device is refused before it is opened for good) and refuses
// whatever is not a network namespace, saying what it is instead.
func openNetNS(path string) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, notNetNS(fileKind(st.Mode))
	}
	// O_NONBLOCK: should path have become a FIFO since, open returns at
	// once; the checks below then refuse it.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if err := checkNetNS(fd); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkNetNS checks that fd is a network namespace: a file of the nsfs file
// system whose namespace type is CLONE_NEWNET.
func checkNetNS(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return notNetNS(fileKind(st.Mode))
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("fstatfs: %w", err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return notNetNS("a file that is not a namespace")
	}
	t, err := unix.IoctlRetInt(fd, nsGetNstype)
	if err != nil {
		return fmt.Errorf("get namespace type: %w", err)
	}
	if t != unix.CLONE_NEWNET {
		return notNetNS(nsKind(t))
	}
	return nil
}

// ErrNotNetNS: the path or descriptor given as a network namespace is not
// one.
var ErrNotNetNS = errors.New("not a network namespace")

func notNetNS(what string) error {
	return fmt.Errorf("%w: %s", ErrNotNetNS, what)
}

// fileKind names a file type for an error message.
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFIFO:
		return "a FIFO (named pipe)"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return "a regular file"
}

// nsKind names a namespace of another type than network.
func nsKind(t int) string {
	for _, k := range []struct {
		t    int
		name string
	}{
		{unix.CLONE_NEWNS, "mount"}, {unix.CLONE_NEWUTS, "UTS"}, {unix.CLONE_NEWIPC, "IPC"},
		{unix.CLONE_NEWUSER, "user"}, {unix.CLONE_NEWPID, "PID"}, {unix.CLONE_NEWCGROUP, "cgroup"},
		{unix.CLONE_NEWTIME, "time"},
	} {
		if t == k.t {
			return "a " + k.name + " namespace"
		}
	}
	return fmt.Sprintf("a namespace of type %#x", t)
}
