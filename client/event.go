package client

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// Event is an event the server delivered to a socket.
type Event struct {
	Namespace string
	Name      string
	Data      *structpb.Value
	Binary    []byte
	// FromSID is the sending socket; empty when the server emitted it.
	FromSID string
	ackID   uint64
}

// Value returns the event's data as plain Go values (map[string]any,
// []any, string, float64, bool), nil when it has none.
func (e *Event) Value() any { return asInterface(e.Data) }

// Decode unmarshals the event's data into a Go value as encoding/json
// would.
func (e *Event) Decode(into any) error { return Decode(e.Data, into) }

// WantsAck reports whether the sender waits for an acknowledgement, which
// the handler's result provides.
func (e *Event) WantsAck() bool { return e.ackID != 0 }

// Handler handles an event. When the event wants an acknowledgement, the
// result is sent back as its data (JSON-like Go values, as for Emit), or
// the error as its refusal; otherwise both are ignored.
type Handler func(e *Event) (any, error)

// handle runs the event's handler and acknowledges the event if asked.
// It runs on the inbox goroutine.
func (s *Socket) handle(ev *roomcastv1.Event) {
	e := &Event{
		Namespace: ev.Namespace, Name: ev.Event, Data: ev.Data, Binary: ev.Binary,
		FromSID: ev.FromSid, ackID: ev.AckId,
	}
	h := s.handler(e.Name)
	if h == nil {
		if e.WantsAck() {
			// Answer rather than let the sender wait out its timeout.
			s.acknowledge(e, nil, fmt.Errorf("no handler for event %q", e.Name))
		}
		return
	}
	result, err := h(e)
	if e.WantsAck() {
		s.acknowledge(e, result, err)
	}
}

func (s *Socket) acknowledge(e *Event, result any, refusal error) {
	ack := &roomcastv1.AckFrame{AckId: e.ackID}
	if refusal == nil {
		data, err := toValue(result)
		if err != nil {
			refusal = fmt.Errorf("cannot encode the acknowledgement: %w", err)
		}
		ack.Data = data
	}
	if refusal != nil {
		ack.Data = nil
		// An empty error would read as success on the wire.
		ack.Error = refusal.Error()
		if ack.Error == "" {
			ack.Error = "error"
		}
	}
	// A send fails only when the stream is gone, and the server then has
	// nobody to deliver the answer to.
	_ = s.client.send(context.Background(), &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Ack{Ack: ack}})
}
