package transport

import "syscall"

const canWaitReadable = true

// peekReady tells the runtime's poller to wait (false) while the socket
// has nothing to read. A peek, not a read, so that nothing is consumed
// before there is a buffer to take it; it also sees the end of the stream
// (0 bytes) and errors, which the next read reports.
func (cr *connReader) peekReady(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), cr.peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EINTR
}
