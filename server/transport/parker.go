package transport

import (
	"context"
	"log/slog"
	"time"
)

// Parking. Most connections of a chat server are idle most of the time,
// and a goroutine blocked reading each one costs its stack, 4 KB once it
// has handled a few frames. So a connection that has had nothing to read
// for Config.ParkAfter parks: its goroutine hands the socket to the
// server's parker (one epoll set and one goroutine for every parked
// connection, Linux only) and returns, and when the socket becomes
// readable again the parker starts a new goroutine that goes on reading
// where the old one stopped. Parking happens between frames, with the
// read buffer given back, so nothing is carried over but the connection's
// own state. Writes do not involve the reader: a parked connection's
// streams send as usual. The parker's goroutine and descriptors live until
// Stop or GracefulStop.

// defaultParkAfter is Config.ParkAfter's default: long enough that a busy
// connection never parks between two frames, short next to how long an
// idle client stays idle.
const defaultParkAfter = time.Second

// parker returns the server's parker, started at the first park; nil
// when connections do not park.
func (s *Server) parker() *parker {
	s.parkOnce.Do(func() {
		if s.cfg.ParkAfter < 0 {
			return
		}
		p, err := newParker()
		if err != nil {
			// Elsewhere than on Linux, expected; on Linux, out of file
			// descriptors most likely: worth knowing, as idle
			// connections then cost a goroutine each.
			level := slog.LevelWarn
			if !canWaitReadable {
				level = slog.LevelDebug
			}
			s.cfg.Logger.Log(context.Background(), level, "idle connections will keep their reading goroutine", "err", err)
			return
		}
		s.park.Store(p)
	})
	return s.park.Load()
}

// stopParker stops the parker, after the last connection ended, and
// keeps one from starting later.
func (s *Server) stopParker() {
	s.parkOnce.Do(func() {})
	if p := s.park.Load(); p != nil {
		p.stop()
	}
}

// park hands c's socket to the parker. It reports true when it did: the
// calling goroutine then returns at once, touching nothing of c's.
func (c *conn) park() bool {
	p := c.srv.parker()
	return p != nil && p.park(c)
}

// closedWhileParked ends the reading of c, just closed, if it was parked:
// no goroutine of its own is left to do it.
func (c *conn) closedWhileParked() {
	if p := c.srv.park.Load(); p != nil && p.forget(c) {
		c.endReading()
	}
}
