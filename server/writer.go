package server

import (
	"runtime"
	"sync"
	"time"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// outItem is one thing queued for a client: an encoded Event shared with
// other recipients, or an encoded control ServerFrame (reply, connected...).
type outItem struct {
	data    []byte
	control bool
}

// writer is a client's bounded outgoing queue. Publishers append and never
// wait for the network; a goroutine that the client holds only while there
// is something to send (one of the server's drainers) drains the queue,
// packing consecutive events into one ServerFrame so that a burst costs
// one SendMsg rather than one per event.
type writer struct {
	send       func(*encodedFrame) error
	maxQueue   int // bytes
	maxFrame   int // bytes per packed frame; one larger event goes alone
	onOverflow func()
	onError    func(error)
	stats      *stats

	mu      sync.Mutex
	queue   []outItem
	spare   []outItem
	queued  int
	running bool
	// idle, made only for someone who waits for it, is closed when the
	// running drain goroutine exits.
	idle    chan struct{}
	drainFn func() // w.drain, made once: a go statement on it allocates nothing
	// drainers, when set, runs the drain goroutine; otherwise it is a
	// goroutine of its own.
	drainers *drainers
	closing  bool // refuse new items
	// overflowed refuses new events once the queue overflowed: only
	// control frames (replies, the client's disconnected frames) are taken.
	overflowed bool
	stopped    bool // send nothing more

	// Owned by the drain goroutine.
	events [][]byte
	frame  encodedFrame
}

// enqueue queues an item. When it does not fit, a volatile item is dropped
// and anything else ends the client as a slow consumer. It reports whether
// the item was queued.
func (w *writer) enqueue(it outItem, volatile bool) bool {
	w.mu.Lock()
	if w.closing || (w.overflowed && !it.control) {
		w.mu.Unlock()
		return false
	}
	if w.queued+len(it.data) > w.maxQueue && w.queued > 0 {
		if w.overflowed {
			// A control frame that no longer fits: the client is ending
			// already, and counted once.
			w.mu.Unlock()
			return false
		}
		if volatile {
			w.mu.Unlock()
			w.stats.droppedVolatile.Add(1)
			return false
		}
		// A slow consumer. The events it has not received are dropped, so
		// that the frames telling it why it ends, which follow, go out
		// right after the batch already being written.
		w.overflowed = true
		w.dropEventsLocked()
		w.mu.Unlock()
		w.stats.slowConsumers.Add(1)
		w.onOverflow()
		return false
	}
	w.queue = append(w.queue, it)
	w.queued += len(it.data)
	start := !w.running
	if start {
		w.running = true
		if w.drainFn == nil {
			w.drainFn = w.drain
		}
	}
	w.mu.Unlock()
	if start {
		if w.drainers != nil {
			w.drainers.run(w)
		} else {
			go w.drainFn()
		}
	}
	return true
}

// dropEventsLocked empties the queue of its events, keeping its control
// frames in order. w.mu must be held.
func (w *writer) dropEventsLocked() {
	kept := w.queue[:0]
	w.queued = 0
	for _, it := range w.queue {
		if it.control {
			kept = append(kept, it)
			w.queued += len(it.data)
		}
	}
	clear(w.queue[len(kept):])
	w.queue = kept
}

func (w *writer) drain() {
	for {
		// Let the goroutines already runnable (publishers, other writers)
		// go first: what they queue meanwhile joins this frame, and one
		// write(2) then carries more events.
		runtime.Gosched()
		w.mu.Lock()
		if w.stopped || len(w.queue) == 0 {
			w.running = false
			if w.idle != nil {
				close(w.idle)
				w.idle = nil
			}
			w.mu.Unlock()
			return
		}
		batch := w.queue
		w.queue, w.spare = w.spare, nil
		w.queued = 0
		w.mu.Unlock()

		err := w.write(batch)
		clear(batch)

		w.mu.Lock()
		w.spare = batch[:0]
		if err != nil {
			w.stopped, w.closing = true, true
		}
		w.mu.Unlock()
		if err != nil {
			w.onError(err)
		}
	}
}

// write sends a batch in order: runs of events packed into frames of at
// most maxFrame bytes, control frames as they are.
func (w *writer) write(batch []outItem) error {
	w.events = w.events[:0]
	size := 0 // of the run's events inside a batch frame, their framing included
	for _, it := range batch {
		// The bound is on the frame's encoded size, which is what a client's
		// receive limit applies to: each event's tag and length count too.
		cost := protowire.SizeTag(eventBatchEvents) + protowire.SizeBytes(len(it.data))
		if !it.control && (size == 0 || protowire.SizeTag(serverFrameEvents)+protowire.SizeBytes(size+cost) <= w.maxFrame) {
			w.events = append(w.events, it.data)
			size += cost
			continue
		}
		if err := w.flushEvents(); err != nil {
			return err
		}
		size = 0
		if it.control {
			if err := w.sendBuffer(mem.SliceBuffer(it.data)); err != nil {
				return err
			}
			continue
		}
		w.events = append(w.events, it.data)
		size = cost
	}
	return w.flushEvents()
}

// minPooledBytes is the least capacity that grpc pools (a power of two
// above its threshold).
var minPooledBytes = func() int {
	n := 64
	for mem.IsBelowBufferPoolingThreshold(n) {
		n *= 2
	}
	return n
}()

func (w *writer) flushEvents() error {
	if len(w.events) == 0 {
		return nil
	}
	// grpc hands a buffer back to its pool only when its capacity is above
	// the pooling threshold: a smaller one (a frame of one or two events)
	// would be dropped after the write, and the pool would allocate anew
	// for every such frame. So even a small frame takes a poolable buffer.
	pool := mem.DefaultBufferPool()
	bp := pool.Get(max(eventFrameSize(w.events), minPooledBytes))
	*bp = appendEventFrame((*bp)[:0], w.events)
	// grpc frees the buffer back to the pool once it is on the wire.
	buf := mem.NewBuffer(bp, pool)
	w.stats.deliveries.Add(int64(len(w.events)))
	clear(w.events)
	w.events = w.events[:0]
	return w.sendBuffer(buf)
}

func (w *writer) sendBuffer(b mem.Buffer) error {
	w.frame.buf = b
	err := w.send(&w.frame)
	w.frame.buf = nil
	return err
}

// idleSignal reports whether a drain goroutine runs and, if one does, a
// channel closed when it exits.
func (w *writer) idleSignal() (running bool, idle <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running {
		return false, nil
	}
	if w.idle == nil {
		w.idle = make(chan struct{})
	}
	return true, w.idle
}

// close refuses new items, gives the drain goroutine up to wait to send
// what is queued (a client's last disconnected frames), then stops sending.
// A send blocked on flow control is ended by the stream's end, which the
// caller brings about next (by sending the status, or returning from the
// handler).
func (w *writer) close(wait time.Duration) {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	running, idle := w.idleSignal()
	if running && wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-idle:
		case <-timer.C:
		}
		timer.Stop()
	}
	w.mu.Lock()
	w.stopped = true
	w.queue, w.spare, w.queued = nil, nil, 0
	w.mu.Unlock()
}
