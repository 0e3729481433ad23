package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// transport is the socket under a Conn: whole datagrams out and in. The real
// one is a NETLINK_NETFILTER socket; unit tests put a fake kernel behind it
// (one that can drop replies).
type transport interface {
	// send writes the concatenation of bufs, a whole batch or request, with
	// one sendmsg (one iovec each).
	send(bufs ...[]byte) error
	// receive returns the next datagrams: at least one, and as many more
	// as are queued already. It waits until ctx is done or until deadline
	// (when not zero), which is os.ErrDeadlineExceeded. The datagrams may
	// share the transport's buffer: they are good until the next receive.
	receive(ctx context.Context, deadline time.Time) ([][]byte, error)
	// setBuffers grows the socket's send and receive buffers to at least
	// the sizes asked for, as far as the system allows, and returns the
	// sizes the kernel then reports (it doubles what it is given).
	setBuffers(send, recv int) (gotSend, gotRecv int, err error)
	// queued returns the bytes the kernel charges to the receive queue now
	// (SK_MEMINFO_RMEM_ALLOC), or -1 when unknown.
	queued() int
	close() error
}

// sock is the transport over a netlink socket of mdlayher/netlink. Only its
// dialling, namespace handling and file descriptor are used: the datagrams
// are read raw, so that an error in the middle of the replies neither stops
// the reading nor loses its extended ACK.
type sock struct {
	c   *netlink.Conn
	raw syscall.RawConn
	buf []byte
	// ends and out are receive's, kept from call to call: the datagrams it
	// returns are in buf, good until the next call.
	ends []int
	out  [][]byte
}

// maxDatagram is the largest datagram the kernel sends here: dumps are at
// most 32 KiB, acknowledgements carry no request (NETLINK_CAP_ACK),
// notifications fit in a page.
const maxDatagram = 64 << 10

func dialSocket(nsFd int) (*sock, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: nsFd})
	if err != nil {
		return nil, err
	}
	raw, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	s := &sock{c: c, raw: raw, buf: make([]byte, 16*maxDatagram)}
	// Extended ACKs say which attribute the kernel refused and why. With
	// NETLINK_CAP_ACK an error carries only the request's header, not the
	// whole request: the request is ours, mapped back by sequence number.
	// Kernels without them (before 4.12 and 4.3) still work, with less
	// detailed errors.
	_ = s.setsockopt(unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = s.setsockopt(unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	return s, nil
}

func (s *sock) setsockopt(level, opt, v int) error {
	var serr error
	err := s.raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), level, opt, v)
	})
	if err != nil {
		return err
	}
	return serr
}

func (s *sock) getsockopt(level, opt int) (int, error) {
	var v int
	var serr error
	err := s.raw.Control(func(fd uintptr) {
		v, serr = unix.GetsockoptInt(int(fd), level, opt)
	})
	if err != nil {
		return 0, err
	}
	return v, serr
}

// maxIovecs is the most iovecs one sendmsg takes (UIO_MAXIOV).
const maxIovecs = 1024

func (s *sock) send(bufs ...[]byte) error {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if len(bufs) > maxIovecs {
		// (A batch of more than a gigabyte: one buffer then.)
		bufs = [][]byte{slices.Concat(bufs...)}
	}
	var n int
	var serr error
	err := s.raw.Write(func(fd uintptr) bool {
		n, serr = unix.SendmsgBuffers(int(fd), bufs, nil, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}, 0)
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("sendmsg", serr)
	}
	if n != total {
		return fmt.Errorf("sendmsg: sent %d of %d bytes", n, total)
	}
	return nil
}

func (s *sock) receive(ctx context.Context, deadline time.Time) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	if err := s.c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { s.c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	// Read what is queued, datagram after datagram, into s.buf; wait only
	// when nothing was read yet. Every datagram gets a slot of maxDatagram
	// bytes at least.
	ends := s.ends[:0]
	defer func() { s.ends = ends }()
	used := 0
	var rerr error
	err := s.raw.Read(func(fd uintptr) bool {
		for len(s.buf)-used >= maxDatagram {
			n, _, flags, _, err := unix.Recvmsg(int(fd), s.buf[used:], nil, unix.MSG_DONTWAIT)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return len(ends) > 0
			}
			if err != nil {
				if len(ends) == 0 {
					rerr = os.NewSyscallError("recvmsg", err)
				}
				// Otherwise the next call reports it: the kernel keeps
				// it pending until it is read.
				return true
			}
			if flags&unix.MSG_TRUNC != 0 {
				rerr = fmt.Errorf("recvmsg: datagram larger than %d bytes", len(s.buf)-used)
				return true
			}
			used += n
			ends = append(ends, used)
		}
		return true
	})
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if rerr != nil && len(ends) == 0 {
		return nil, rerr
	}
	s.out = s.out[:0]
	start := 0
	for _, end := range ends {
		s.out = append(s.out, s.buf[start:end:end])
		start = end
	}
	return s.out, rerr
}

// setBuffers grows the buffers with SO_SNDBUFFORCE and SO_RCVBUFFORCE, which
// need CAP_NET_ADMIN in the initial user namespace, and falls back to
// SO_SNDBUF and SO_RCVBUF, which the kernel caps at net.core.wmem_max and
// rmem_max. It never shrinks a buffer. The kernel stores twice the value it
// is given (the rest is for its bookkeeping) and getsockopt reports that.
func (s *sock) setBuffers(send, recv int) (int, int, error) {
	grow := func(force, plain int, want int) (int, error) {
		cur, err := s.getsockopt(unix.SOL_SOCKET, plain)
		if err != nil {
			return 0, err
		}
		if cur >= want {
			return cur, nil
		}
		v := (want + 1) / 2
		if v > maxSockopt {
			v = maxSockopt
		}
		if err := s.setsockopt(unix.SOL_SOCKET, force, v); err != nil {
			if err := s.setsockopt(unix.SOL_SOCKET, plain, v); err != nil {
				return 0, err
			}
		}
		return s.getsockopt(unix.SOL_SOCKET, plain)
	}
	gs, err := grow(unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, send)
	if err != nil {
		return 0, 0, fmt.Errorf("send buffer: %w", err)
	}
	gr, err := grow(unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, recv)
	if err != nil {
		return 0, 0, fmt.Errorf("receive buffer: %w", err)
	}
	return gs, gr, nil
}

// maxSockopt is the largest buffer size setsockopt takes (INT_MAX/2: the
// kernel doubles it into an int).
const maxSockopt = (1<<31 - 1) / 2

func (s *sock) queued() int {
	var info [unix.SK_MEMINFO_VARS]uint32
	l := uint32(unsafe.Sizeof(info))
	var errno syscall.Errno
	err := s.raw.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&l)), 0)
	})
	if err != nil || errno != 0 {
		return -1
	}
	return int(info[unix.SK_MEMINFO_RMEM_ALLOC])
}

func (s *sock) close() error { return s.c.Close() }
