package server

import (
	"context"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/wirevalue"
	"github.com/roomcast/roomcast/server/adapter"
)

// BroadcastOperator selects the sockets of a namespace that an emit
// reaches. It is a value: To, Except and Volatile return a new operator and
// leave the receiver as it was, so operators can be shared and reused.
type BroadcastOperator struct {
	ns       *Namespace
	rooms    []string
	except   []string
	volatile bool
	from     string // the sending socket, which a broadcast never reaches
}

// To adds target rooms; the event reaches their union, each socket once.
// With no rooms at all it reaches the whole namespace.
func (o BroadcastOperator) To(rooms ...string) BroadcastOperator {
	o.rooms = append(slices.Clip(o.rooms), rooms...)
	return o
}

// Except removes the sockets of these rooms from the targets.
func (o BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	o.except = append(slices.Clip(o.except), rooms...)
	return o
}

// Volatile drops the event for sockets whose queue is full instead of
// disconnecting them as slow consumers.
func (o BroadcastOperator) Volatile() BroadcastOperator {
	o.volatile = true
	return o
}

func (o BroadcastOperator) targets() adapter.Targets {
	return adapter.Targets{Rooms: o.rooms, Except: o.except}
}

// Emit sends the event to the selected sockets and reports how many on
// this node it was queued for. Data is anything JSON-like; []byte goes in
// the event's binary field.
func (o BroadcastOperator) Emit(event string, data any) (int, error) {
	if err := checkEvent(event); err != nil {
		return 0, err
	}
	value, binary, err := splitPayload(data)
	if err != nil {
		return 0, err
	}
	if err := o.ns.srv.checkPayload(value, binary); err != nil {
		return 0, err
	}
	return o.emit(event, value, binary)
}

func (o BroadcastOperator) emit(event string, data *structpb.Value, binary []byte) (int, error) {
	encoded, err := proto.Marshal(&roomcastv1.Event{
		Namespace: o.ns.name,
		Event:     event,
		Data:      data,
		Binary:    binary,
		FromSid:   o.from,
	})
	if err != nil {
		return 0, Errorf(CodeInvalidArgument, "cannot encode event: %v", err)
	}
	start := time.Now()
	n := o.ns.adapter.Broadcast(&adapter.Packet{Event: encoded, Volatile: o.volatile}, o.targets())
	o.ns.srv.metrics.fanout.Observe(time.Since(start).Seconds())
	o.ns.queued.Add(int64(n))
	return n, nil
}

// SocketIDs lists the sids of the selected sockets.
func (o BroadcastOperator) SocketIDs() []string { return o.ns.adapter.Sockets(o.targets()) }

// Sockets returns the selected sockets of this node (Socket.IO's
// fetchSockets on one node).
func (o BroadcastOperator) Sockets() []*Socket {
	var out []*Socket
	for _, sid := range o.SocketIDs() {
		if s := o.ns.Socket(sid); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// FetchSockets describes the selected sockets on every node of the
// cluster (Socket.IO's fetchSockets).
func (o BroadcastOperator) FetchSockets(ctx context.Context) ([]adapter.SocketInfo, adapter.Partial) {
	return o.ns.adapter.FetchSockets(ctx, o.targets())
}

// SocketsJoin makes the selected sockets, on every node, join rooms. It
// reports how many sockets it reached.
func (o BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) (int, adapter.Partial, error) {
	if err := checkRooms(rooms); err != nil {
		return 0, adapter.Partial{}, err
	}
	n, partial := o.ns.adapter.AddSockets(ctx, o.targets(), rooms)
	return n, partial, nil
}

// SocketsLeave makes the selected sockets, on every node, leave rooms.
func (o BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) (int, adapter.Partial, error) {
	if err := checkRooms(rooms); err != nil {
		return 0, adapter.Partial{}, err
	}
	n, partial := o.ns.adapter.DelSockets(ctx, o.targets(), rooms)
	return n, partial, nil
}

// DisconnectSockets disconnects the selected sockets on every node; each
// client gets `disconnected` with the reason ("server namespace
// disconnect" if empty).
func (o BroadcastOperator) DisconnectSockets(ctx context.Context, reason string) (int, adapter.Partial) {
	if reason == "" {
		reason = ReasonServerNamespaceDisconnect
	}
	return o.ns.adapter.DisconnectSockets(ctx, o.targets(), reason)
}

func checkRooms(rooms []string) error {
	if len(rooms) == 0 {
		return Errorf(CodeInvalidArgument, "rooms must not be empty")
	}
	for _, room := range rooms {
		if err := checkRoom(room); err != nil {
			return err
		}
	}
	return nil
}

// splitPayload puts []byte in an event's binary field and anything else in
// its JSON-like data.
func splitPayload(data any) (*structpb.Value, []byte, error) {
	value, binary, err := wirevalue.SplitPayload(data)
	if err != nil {
		return nil, nil, Errorf(CodeInvalidArgument, "%v", err)
	}
	return value, binary, nil
}
