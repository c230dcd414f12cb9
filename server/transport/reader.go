package transport

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"google.golang.org/grpc/mem"
)

// readBufferBytes is what one read from the socket may take: a few frames
// at once, a large DATA frame in one go.
const readBufferBytes = 16 << 10

// connReader reads a connection through a buffer it holds only while
// bytes are waiting in it. Most connections are idle most of the time, and
// a buffer per idle connection is memory for nothing: so when the buffer is
// empty it goes back to the pool, and the next read first waits for the
// socket to become readable, without a buffer, then borrows one.
type connReader struct {
	nc  net.Conn
	raw syscall.RawConn // nil: the connection cannot be waited on; reads keep a buffer
	// ready is peekReady bound to this reader, and look a peek that
	// records what it saw and never waits; made once.
	ready, look func(fd uintptr) bool
	peek        [1]byte

	buf  *[]byte
	r, w int
	// readable: waitIdle saw the socket readable, so the next read need
	// not wait for it again.
	readable bool
}

func newConnReader(nc net.Conn) *connReader {
	cr := &connReader{nc: nc}
	if sc, ok := nc.(syscall.Conn); ok && canWaitReadable {
		if raw, err := sc.SyscallConn(); err == nil {
			cr.raw = raw
			cr.ready = cr.peekReady
			cr.look = func(fd uintptr) bool { cr.readable = cr.peekReady(fd); return true }
		}
	}
	return cr
}

// waitIdle waits, when nothing is buffered, until a read would not block
// or idle has passed, which it reports as readable false; idle 0 waits as
// long as it takes.
func (cr *connReader) waitIdle(idle time.Duration) (readable bool, err error) {
	if cr.buf != nil || cr.raw == nil || cr.readable {
		return true, nil
	}
	// A look first: a busy connection, with bytes already waiting, costs
	// no deadline.
	if err := cr.raw.Read(cr.look); err != nil {
		return false, err
	}
	if cr.readable {
		return true, nil
	}
	if idle > 0 {
		if err := cr.nc.SetReadDeadline(time.Now().Add(idle)); err != nil {
			return false, err
		}
	}
	err = cr.raw.Read(cr.ready)
	if idle > 0 {
		// Reads inside a frame must never time out.
		if derr := cr.nc.SetReadDeadline(time.Time{}); derr != nil && err == nil {
			err = derr
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cr.readable = true
	return true, nil
}

func (cr *connReader) Read(p []byte) (int, error) {
	if cr.buf == nil {
		if cr.raw != nil && !cr.readable {
			// Returns when a read would not block: data, end of stream or
			// an error, which the read below then reports.
			if err := cr.raw.Read(cr.ready); err != nil {
				return 0, err
			}
		}
		cr.readable = false
		cr.buf = mem.DefaultBufferPool().Get(readBufferBytes)
		n, err := cr.nc.Read(*cr.buf)
		if n == 0 {
			cr.release()
			return 0, err
		}
		cr.r, cr.w = 0, n
	}
	n := copy(p, (*cr.buf)[cr.r:cr.w])
	cr.r += n
	if cr.r == cr.w {
		cr.release()
	}
	return n, nil
}

func (cr *connReader) release() {
	if cr.buf != nil {
		mem.DefaultBufferPool().Put(cr.buf)
		cr.buf = nil
	}
}
