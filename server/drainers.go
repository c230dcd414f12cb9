package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// drainerIdle is how long a drain goroutine waits for another writer before
// it exits: long enough to span the gaps of a steady trickle of messages,
// short enough that a burst's goroutines do not outlive it by much.
const drainerIdle = 2 * time.Second

// drainers runs writers' drains on goroutines kept from earlier drains. A
// new goroutine starts with a 2 KB stack and a drain needs about 8: one
// started per message per recipient spent a fifth of the server's CPU, at
// low rates, copying its stack as it grew. A kept goroutine has grown
// already. Idle clients still hold none: the goroutines belong to the
// server, as many as drains ran at once, and exit after drainerIdle
// without work (drainerIdle).
type drainers struct {
	work chan *writer // unbuffered: a send succeeds only when one waits
	quit chan struct{}
	once sync.Once
	idle time.Duration
	// started counts the goroutines started and waiting those waiting for
	// work, which tests read.
	started, waiting atomic.Int64
}

func newDrainers(idle time.Duration) *drainers {
	return &drainers{work: make(chan *writer), quit: make(chan struct{}), idle: idle}
}

// run drains w on a waiting goroutine, or on a new one if none waits.
func (d *drainers) run(w *writer) {
	select {
	case d.work <- w:
	default:
		d.started.Add(1)
		go d.loop(w)
	}
}

func (d *drainers) loop(w *writer) {
	idle := time.NewTimer(d.idle)
	defer idle.Stop()
	for {
		w.drain()
		w = nil // not kept alive while waiting
		idle.Reset(d.idle)
		d.waiting.Add(1)
		select {
		case w = <-d.work:
			d.waiting.Add(-1)
		case <-idle.C:
			d.waiting.Add(-1)
			return
		case <-d.quit:
			d.waiting.Add(-1)
			return
		}
	}
}

// stop makes waiting goroutines exit; drains in progress finish first.
func (d *drainers) stop() { d.once.Do(func() { close(d.quit) }) }
