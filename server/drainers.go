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
// server, as many as drains ran at once, and exit once they have waited
// drainerIdle without work.
//
// Waiting goroutines form a stack: the one that finished last takes the
// next writer, so that under a steady load the same few stay busy and the
// rest age out. Each waits on a channel of its own, a plain receive: a
// select with a timer per goroutine cost as much again as the hand-off.
// One timer, armed while any goroutine waits, retires those that waited
// too long.
type drainers struct {
	idleFor time.Duration

	mu      sync.Mutex
	waiting []*drainer // oldest first
	timer   *time.Timer
	armed   bool // timer will fire
	stopped bool

	// started counts the goroutines started, which tests read.
	started atomic.Int64
}

// drainer is one kept goroutine while it waits: a writer sent on work is
// its next drain, nil tells it to exit.
type drainer struct {
	work  chan *writer
	since time.Time // when it began waiting
}

func newDrainers(idleFor time.Duration) *drainers {
	return &drainers{idleFor: idleFor}
}

// run drains w on the goroutine that waited last, or on a new one if none
// waits.
func (d *drainers) run(w *writer) {
	d.mu.Lock()
	if n := len(d.waiting); n > 0 {
		dr := d.waiting[n-1]
		d.waiting[n-1] = nil
		d.waiting = d.waiting[:n-1]
		d.mu.Unlock()
		dr.work <- w
		return
	}
	d.mu.Unlock()
	d.started.Add(1)
	go d.loop(&drainer{work: make(chan *writer, 1)}, w)
}

func (d *drainers) loop(dr *drainer, w *writer) {
	for w != nil {
		w.drain()
		w = nil // not kept alive while waiting
		if !d.wait(dr) {
			return
		}
		w = <-dr.work
	}
}

// wait puts dr on the stack, unless the drainers have stopped.
func (d *drainers) wait(dr *drainer) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return false
	}
	dr.since = time.Now()
	d.waiting = append(d.waiting, dr)
	if !d.armed {
		d.armed = true
		if d.timer == nil {
			d.timer = time.AfterFunc(d.idleFor, d.retire)
		} else {
			d.timer.Reset(d.idleFor)
		}
	}
	return true
}

// retire ends the goroutines that have waited idleFor or longer, and arms
// the timer for the next to come due.
func (d *drainers) retire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.armed = false
	if d.stopped {
		return
	}
	now := time.Now()
	n := 0
	for n < len(d.waiting) && now.Sub(d.waiting[n].since) >= d.idleFor {
		d.waiting[n].work <- nil
		n++
	}
	rest := copy(d.waiting, d.waiting[n:])
	clear(d.waiting[rest:])
	d.waiting = d.waiting[:rest]
	if rest > 0 {
		d.armed = true
		d.timer.Reset(d.waiting[0].since.Add(d.idleFor).Sub(now))
	}
}

// idle is how many goroutines wait for work.
func (d *drainers) idle() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.waiting)
}

// stop ends the waiting goroutines, and the others once their drain is
// done.
func (d *drainers) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	d.stopped = true
	if d.timer != nil {
		d.timer.Stop()
	}
	for _, dr := range d.waiting {
		dr.work <- nil
	}
	d.waiting = nil
}
