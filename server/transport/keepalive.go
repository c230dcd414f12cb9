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

func startKeepalive(c *conn) *keepalive {
	k := &keepalive{c: c}
	k.timer = time.AfterFunc(c.srv.cfg.KeepaliveTime, k.tick)
	return k
}

func (k *keepalive) tick() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	if k.c.active.Swap(false) {
		k.pinged = false
		k.timer.Reset(k.c.srv.cfg.KeepaliveTime)
		return
	}
	if k.pinged {
		k.stopped = true
		go k.c.close(errKeepaliveTimeout)
		return
	}
	k.pinged = true
	var data [8]byte
	_, _ = rand.Read(data[:])
	// A write blocked behind a stuck send must not stop the timer: the
	// ping is skipped then, and the timeout still runs.
	if k.c.wmu.TryLock() {
		_ = k.c.writeLocked(appendPing(nil, false, data))
		k.c.wmu.Unlock()
	}
	k.timer.Reset(k.c.srv.cfg.KeepaliveTimeout)
}

func (k *keepalive) stop() {
	k.mu.Lock()
	k.stopped = true
	k.timer.Stop()
	k.mu.Unlock()
}
