package server

import (
	"context"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server/adapter"
)

// Socket is a client's membership of one namespace. Its sid names its own
// room, so emitting to the sid is a private message.
type Socket struct {
	id          string
	ns          *Namespace
	client      *client
	handshake   *Handshake
	connectedAt time.Time

	mu   sync.RWMutex
	data map[string]any
}

var _ adapter.Recipient = (*Socket)(nil)

// ID returns the socket's sid.
func (s *Socket) ID() string { return s.id }

// Namespace returns the namespace the socket belongs to.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Handshake returns what the socket connected with.
func (s *Socket) Handshake() *Handshake { return s.handshake }

// ConnectedAt returns when the socket connected.
func (s *Socket) ConnectedAt() time.Time { return s.connectedAt }

// Get returns a value attached to the socket by middleware or Set.
func (s *Socket) Get(key string) (any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.data[key]
	return v, ok
}

// Set attaches a value to the socket.
func (s *Socket) Set(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		s.data = make(map[string]any)
	}
	s.data[key] = value
}

// Data returns a copy of the values attached to the socket.
func (s *Socket) Data() map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]any, len(s.data))
	for k, v := range s.data {
		out[k] = v
	}
	return out
}

// Rooms lists the socket's rooms, its own sid-room included.
func (s *Socket) Rooms() []string { return s.ns.adapter.Rooms(s.id) }

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) error {
	for _, room := range rooms {
		if err := checkRoom(room); err != nil {
			return err
		}
	}
	s.ns.adapter.AddAll(s, rooms...)
	return nil
}

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...string) {
	s.ns.adapter.Del(s.id, rooms...)
}

// To targets rooms for an emit from this socket, which never reaches the
// socket itself (Socket.IO's socket.to(room).emit).
func (s *Socket) To(rooms ...string) BroadcastOperator {
	return s.Broadcast().To(rooms...)
}

// Broadcast targets the whole namespace except this socket.
func (s *Socket) Broadcast() BroadcastOperator {
	return BroadcastOperator{ns: s.ns, from: s.id, except: []string{s.id}}
}

// Emit sends an event to this socket only.
func (s *Socket) Emit(event string, data any) error {
	_, err := s.emit(event, data, 0)
	return err
}

// EmitWithAck sends an event to this socket and waits until the client
// acknowledges it, the context ends, or the socket disconnects. Handlers
// and hooks run on the client's reader, which is what reads the ack: call
// EmitWithAck from them in a goroutine of its own.
func (s *Socket) EmitWithAck(ctx context.Context, event string, data any) (*structpb.Value, error) {
	id, answer := s.client.acks.register(s.id)
	defer s.client.acks.forget(id)
	if _, err := s.emit(event, data, id); err != nil {
		return nil, err
	}
	select {
	case a := <-answer:
		return a.data, a.err
	case <-ctx.Done():
		return nil, Errorf(CodeDeadlineExceeded, "socket %s did not acknowledge %q: %v", s.id, event, ctx.Err())
	}
}

func (s *Socket) emit(event string, data any, ackID uint64) (bool, error) {
	if err := checkEvent(event); err != nil {
		return false, err
	}
	value, binary, err := splitPayload(data)
	if err != nil {
		return false, err
	}
	if err := s.ns.srv.checkPayload(value, binary); err != nil {
		return false, err
	}
	encoded, err := proto.Marshal(&roomcastv1.Event{
		Namespace: s.ns.name, Event: event, Data: value, Binary: binary, AckId: ackID,
	})
	if err != nil {
		return false, Errorf(CodeInvalidArgument, "cannot encode event: %v", err)
	}
	// A socket that has left its namespace must not reach a client whose
	// stream is still open. EmitWithAck registers its ack before this
	// check, so a disconnect after it still ends the wait (failSocket).
	if s.client.socket(s.ns.name) != s || !s.client.w.enqueue(outItem{data: encoded}, false) {
		return false, Errorf(CodeUnavailable, "socket %s is disconnected", s.id)
	}
	return true, nil
}

// Info describes the socket for the admin API: keys of the handshake's
// metadata and auth, never their values, which may be secrets.
func (s *Socket) Info() adapter.SocketInfo {
	hs := s.handshake
	info := adapter.SocketInfo{
		SID:         s.id,
		Namespace:   s.ns.name,
		ConnectedAt: s.connectedAt,
		Peer:        hs.Peer,
		Data:        dataStruct(s.Data()),
		Node:        s.ns.srv.NodeID(),
	}
	for key := range hs.Metadata {
		info.MetadataKeys = append(info.MetadataKeys, key)
	}
	sort.Strings(info.MetadataKeys)
	for key := range hs.Auth.GetFields() {
		info.AuthKeys = append(info.AuthKeys, key)
	}
	sort.Strings(info.AuthKeys)
	return info
}

// dataStruct shows attached values as JSON would; a value JSON cannot carry
// is left out of the admin answer rather than failing it.
func dataStruct(data map[string]any) *structpb.Struct {
	if len(data) == 0 {
		return nil
	}
	v, err := toValue(data)
	if err != nil {
		return nil
	}
	return v.GetStructValue()
}

// Disconnect ends the socket; the client gets `disconnected` with the
// reason, "server namespace disconnect" when empty.
func (s *Socket) Disconnect(reason string) {
	if reason == "" {
		reason = ReasonServerNamespaceDisconnect
	}
	s.client.disconnectSocket(s, reason, true)
}

// Deliver implements adapter.Recipient.
func (s *Socket) Deliver(p *adapter.Packet) bool {
	return s.client.w.enqueue(outItem{data: p.Event}, p.Volatile)
}
