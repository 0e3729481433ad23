package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
)

// spool holds the output of translate -f until the whole file has been
// checked: a table the kernel would refuse as a whole (a match reached from
// a hook where it may not run, a jump loop) is found only at its COMMIT,
// and then nothing of the file is printed. It keeps up to spoolMemory bytes
// in memory and the rest in a temporary file, deleted when it is closed, so
// that memory does not grow with the output.
//
// The first error of its temporary file sticks: every later Write, WriteTo
// and Reader returns it, so that what it holds is never printed in part.
type spool struct {
	mem  bytes.Buffer
	file *os.File
	err  error // the first failure of file (a spoolError)
}

// spoolMemory is how much of the output a spool keeps in memory.
const spoolMemory = 1 << 20

// spoolError is the failure of a spool's temporary file: not of standard
// output, which an error of writing names.
type spoolError struct{ err error }

func (e *spoolError) Error() string {
	return "hold the output in a temporary file until the input is read whole: " + e.err.Error()
}

func (e *spoolError) Unwrap() error { return e.err }

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.file == nil && s.mem.Len()+len(p) > spoolMemory {
		if f, err := os.CreateTemp("", "ctmatch-translate-*"); err == nil {
			_ = os.Remove(f.Name()) // unlinked: it goes when it is closed
			s.file = f
			if _, err := f.Write(s.mem.Bytes()); err != nil {
				s.err = &spoolError{err}
				return 0, s.err
			}
			s.mem = bytes.Buffer{}
		} // else: no temporary directory; keep it in memory
	}
	if s.file != nil {
		n, err := s.file.Write(p)
		if err != nil {
			s.err = &spoolError{err}
		}
		return n, s.err
	}
	return s.mem.Write(p)
}

// WriteTo writes what the spool holds to w.
func (s *spool) WriteTo(w io.Writer) (int64, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.file == nil {
		return s.mem.WriteTo(w)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, s.file)
}

// Close drops what the spool holds.
func (s *spool) Close() error {
	s.mem = bytes.Buffer{}
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}

// ReadAt reads what the spool holds at off (the output of -o iptables is
// held so, rule by rule, until it is put in its chains' order).
func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.file != nil {
		return s.file.ReadAt(p, off)
	}
	return bytes.NewReader(s.mem.Bytes()).ReadAt(p, off)
}

// bufferedSpool is a spool written through a buffer, which ReadAt
// flushes first: the rules of -o iptables, one small write each.
type bufferedSpool struct {
	s *spool
	w *bufio.Writer
}

func newBufferedSpool() *bufferedSpool {
	s := &spool{}
	return &bufferedSpool{s: s, w: bufio.NewWriterSize(s, 64<<10)}
}

func (b *bufferedSpool) Write(p []byte) (int, error) { return b.w.Write(p) }

func (b *bufferedSpool) ReadAt(p []byte, off int64) (int, error) {
	if err := b.w.Flush(); err != nil {
		return 0, err
	}
	return b.s.ReadAt(p, off)
}

func (b *bufferedSpool) Close() error { return b.s.Close() }

// Reader returns a reader of what the spool holds, from its start.
func (s *spool) Reader() (io.Reader, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.file == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return s.file, nil
}
