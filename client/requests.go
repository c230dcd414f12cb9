package client

import (
	"sync"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// requests matches replies to the frames that asked for them by ref. Refs
// are per stream and never 0, which the server uses for refusals of frames
// that had no ref.
type requests struct {
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan *roomcastv1.Reply
	ended   bool
}

// add reserves a ref; the channel gets its reply, or is closed when the
// stream ends first. ok is false once the stream has ended.
func (r *requests) add() (ref uint64, reply <-chan *roomcastv1.Reply, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return 0, nil, false
	}
	if r.pending == nil {
		r.pending = make(map[uint64]chan *roomcastv1.Reply)
	}
	r.next++
	ch := make(chan *roomcastv1.Reply, 1)
	r.pending[r.next] = ch
	return r.next, ch, true
}

// forget drops a ref whose caller stopped waiting.
func (r *requests) forget(ref uint64) {
	r.mu.Lock()
	delete(r.pending, ref)
	r.mu.Unlock()
}

// resolve delivers a reply; false means nobody waits for its ref.
func (r *requests) resolve(reply *roomcastv1.Reply) bool {
	r.mu.Lock()
	ch, ok := r.pending[reply.Ref]
	delete(r.pending, reply.Ref)
	r.mu.Unlock()
	if ok {
		ch <- reply
	}
	return ok
}

// end fails every wait: the stream will carry no more replies.
func (r *requests) end() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = true
	for ref, ch := range r.pending {
		close(ch)
		delete(r.pending, ref)
	}
}
