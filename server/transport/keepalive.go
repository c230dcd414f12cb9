package transport

import (
	"crypto/rand"
	"sync"
	"time"
)

// keepalive notices a client that has gone without a word: after a quiet
// KeepaliveTime it pings, and if nothing at all arrives within
// KeepaliveTimeout it closes the connection. A timer, not a goroutine per
// connection.
type keepalive struct {
	c     *conn
	mu    sync.Mutex
	timer *time.Timer
	// pinged is set while a ping waits for its answer.
	pinged  bool
	stopped bool
}

func newKeepalive(c *conn) *keepalive { return &keepalive{c: c} }

func (k *keepalive) start() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.timer = time.AfterFunc(k.c.srv.cfg.KeepaliveTime, k.tick)
	}
}

func (k *keepalive) tick() {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	if k.c.active.Swap(false) {
		k.pinged = false
		k.timer.Reset(k.c.srv.cfg.KeepaliveTime)
		k.mu.Unlock()
		return
	}
	if k.pinged {
		k.stopped = true
		k.mu.Unlock()
		k.c.close(ErrKeepaliveTimeout)
		return
	}
	k.pinged = true
	k.timer.Reset(k.c.srv.cfg.KeepaliveTimeout)
	k.mu.Unlock()
	var data [8]byte
	_, _ = rand.Read(data[:])
	ping := appendPing(nil, false, data)
	if k.c.wmu.TryLock() {
		_ = k.c.writeLocked(ping)
		k.c.wmu.Unlock()
		return
	}
	// A send holds the writer: the ping goes right after it, from a
	// goroutine of its own, so that the timeout runs meanwhile. A send
	// blocked on a peer that is gone holds the ping back until the timeout
	// closes the connection, which returns both.
	go func() {
		k.c.wmu.Lock()
		_ = k.c.writeLocked(ping)
		k.c.wmu.Unlock()
	}()
}

func (k *keepalive) stop() {
	k.mu.Lock()
	k.stopped = true
	if k.timer != nil {
		k.timer.Stop()
	}
	k.mu.Unlock()
}
