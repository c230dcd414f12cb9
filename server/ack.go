package server

import (
	"sync"

	"google.golang.org/protobuf/types/known/structpb"
)

// ackAnswer is a client's answer to an event sent with an ack_id.
type ackAnswer struct {
	data *structpb.Value
	err  error
}

// ackTable holds the acknowledgements a client's sockets are waiting for.
// Ids are per client stream, because the ack frame names no namespace.
type ackTable struct {
	mu      sync.Mutex
	next    uint64
	pending map[uint64]pendingAck
}

type pendingAck struct {
	sid    string
	answer chan ackAnswer
}

func (t *ackTable) register(sid string) (uint64, <-chan ackAnswer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = make(map[uint64]pendingAck)
	}
	t.next++
	ch := make(chan ackAnswer, 1)
	t.pending[t.next] = pendingAck{sid: sid, answer: ch}
	return t.next, ch
}

func (t *ackTable) forget(id uint64) {
	t.mu.Lock()
	delete(t.pending, id)
	t.mu.Unlock()
}

// resolve delivers an answer; it reports false for an id nobody waits for.
func (t *ackTable) resolve(id uint64, a ackAnswer) bool {
	t.mu.Lock()
	p, ok := t.pending[id]
	delete(t.pending, id)
	t.mu.Unlock()
	if ok {
		p.answer <- a
	}
	return ok
}

// failSocket ends every wait on a socket that has gone.
func (t *ackTable) failSocket(sid string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, p := range t.pending {
		if p.sid == sid {
			p.answer <- ackAnswer{err: err}
			delete(t.pending, id)
		}
	}
}
