package client

import "sync"

// inbox runs callbacks (event handlers, disconnect and error hooks) one at
// a time, in the order the reader queued them, on a goroutine of its own.
// The reader never waits for a handler, so a handler can emit and wait for
// a reply that the reader has yet to read. The queue is unbounded for the
// same reason: a bound would make that handler wait for itself.
type inbox struct {
	mu     sync.Mutex
	queue  []func()
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

func newInbox() *inbox {
	b := &inbox{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.run()
	return b
}

// push queues fn; after close it is dropped.
func (b *inbox) push(fn func()) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.queue = append(b.queue, fn)
	b.mu.Unlock()
	b.signal()
}

// close lets the queued callbacks run, then ends the goroutine.
func (b *inbox) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.signal()
}

func (b *inbox) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *inbox) run() {
	defer close(b.done)
	for {
		b.mu.Lock()
		batch, closed := b.queue, b.closed
		b.queue = nil
		b.mu.Unlock()
		for _, fn := range batch {
			fn()
		}
		if len(batch) == 0 {
			if closed {
				return
			}
			<-b.wake
		}
	}
}
