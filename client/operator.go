package client

import (
	"context"
	"slices"

	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// BroadcastOperator selects the targets of an emit from a socket, as
// Socket.IO's operators do. It is a value: To, Except and Volatile return
// a new operator and leave the receiver as it was, so operators can be
// shared and reused.
type BroadcastOperator struct {
	socket   *Socket
	rooms    []string
	except   []string
	volatile bool
}

// To targets rooms: the event reaches their union, each socket once. With
// no rooms at all it reaches the whole namespace.
func (s *Socket) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{socket: s}.To(rooms...)
}

// Except excludes the sockets of rooms from the targets.
func (s *Socket) Except(rooms ...string) BroadcastOperator {
	return BroadcastOperator{socket: s}.Except(rooms...)
}

// Volatile lets the server drop the event for recipients that are behind,
// instead of disconnecting them as slow consumers.
func (s *Socket) Volatile() BroadcastOperator {
	return BroadcastOperator{socket: s}.Volatile()
}

// Emit sends an event to the whole namespace, the socket included; see
// BroadcastOperator.Emit.
func (s *Socket) Emit(ctx context.Context, event string, data any) error {
	return BroadcastOperator{socket: s}.Emit(ctx, event, data)
}

// EmitWithAck sends an event to the whole namespace and waits for the
// server's answer; see BroadcastOperator.EmitWithAck.
func (s *Socket) EmitWithAck(ctx context.Context, event string, data any) (*structpb.Value, error) {
	return BroadcastOperator{socket: s}.EmitWithAck(ctx, event, data)
}

// Broadcast sends an event to the whole namespace except this socket.
func (s *Socket) Broadcast(ctx context.Context, event string, data any) error {
	return BroadcastOperator{socket: s}.Broadcast(ctx, event, data)
}

// BroadcastWithAck is Broadcast, waiting for the server's answer.
func (s *Socket) BroadcastWithAck(ctx context.Context, event string, data any) (*structpb.Value, error) {
	return BroadcastOperator{socket: s}.BroadcastWithAck(ctx, event, data)
}

// To adds target rooms.
func (o BroadcastOperator) To(rooms ...string) BroadcastOperator {
	o.rooms = append(slices.Clip(o.rooms), rooms...)
	return o
}

// Except adds rooms whose sockets the event skips.
func (o BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	o.except = append(slices.Clip(o.except), rooms...)
	return o
}

// Volatile marks the event droppable for recipients that are behind.
func (o BroadcastOperator) Volatile() BroadcastOperator {
	o.volatile = true
	return o
}

// Emit sends an event to the targets, the socket included if it is one of
// them, without waiting: the server's refusal, if any, goes to
// Client.OnError. Data is any JSON-like Go value (structs go through
// encoding/json); []byte travels as the event's binary payload.
func (o BroadcastOperator) Emit(ctx context.Context, event string, data any) error {
	return o.send(ctx, event, data, false)
}

// Broadcast is Emit, never delivered to the sending socket.
func (o BroadcastOperator) Broadcast(ctx context.Context, event string, data any) error {
	return o.send(ctx, event, data, true)
}

// EmitWithAck is Emit, waiting for the server's reply: the answer of the
// server's handler for the event (nil if it has none or answered
// nothing), or its refusal as a *ReplyError.
func (o BroadcastOperator) EmitWithAck(ctx context.Context, event string, data any) (*structpb.Value, error) {
	return o.request(ctx, event, data, false)
}

// BroadcastWithAck is Broadcast, waiting for the server's reply as
// EmitWithAck does.
func (o BroadcastOperator) BroadcastWithAck(ctx context.Context, event string, data any) (*structpb.Value, error) {
	return o.request(ctx, event, data, true)
}

func (o BroadcastOperator) send(ctx context.Context, event string, data any, broadcast bool) error {
	f, err := o.frame(event, data, broadcast)
	if err != nil {
		return err
	}
	return o.socket.client.send(ctx, f)
}

func (o BroadcastOperator) request(ctx context.Context, event string, data any, broadcast bool) (*structpb.Value, error) {
	f, err := o.frame(event, data, broadcast)
	if err != nil {
		return nil, err
	}
	r, err := o.socket.client.request(ctx, f)
	if err != nil {
		return nil, err
	}
	return replyResult(r)
}

func (o BroadcastOperator) frame(event string, data any, broadcast bool) (*roomcastv1.ClientFrame, error) {
	if !o.socket.Connected() {
		return nil, ErrNotConnected
	}
	value, binary, err := splitPayload(data)
	if err != nil {
		return nil, err
	}
	emit := &roomcastv1.EmitFrame{
		Namespace: o.socket.namespace, Event: event, Data: value, Binary: binary,
		Rooms: o.rooms, ExceptRooms: o.except, Volatile: o.volatile,
	}
	if broadcast {
		return &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Broadcast{Broadcast: emit}}, nil
	}
	return &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Emit{Emit: emit}}, nil
}
