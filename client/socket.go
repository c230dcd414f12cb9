package client

import (
	"context"
	"slices"
	"sync"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// Socket is the client's membership of one namespace. It keeps its
// handlers across disconnects, so Connect can be called again; each
// connect gets a new sid from the server.
type Socket struct {
	client    *Client
	namespace string

	mu           sync.Mutex
	sid          string
	connected    bool
	rooms        []string
	handlers     map[string]Handler
	onDisconnect []func(reason string)
}

// Namespace returns the socket's namespace name.
func (s *Socket) Namespace() string { return s.namespace }

// ID returns the sid the server gave the socket; empty while it is not
// connected, as in Socket.IO.
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sid
}

// Connected reports whether the socket is connected to its namespace.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Rooms returns the socket's rooms, sorted, as the server reported them
// after the last Join or Leave; a socket is always in the room named by
// its own sid.
func (s *Socket) Rooms() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rooms)
}

// On sets the handler of an event; nil removes it. A later On for the same
// event replaces the handler, because only one can answer an
// acknowledgement.
func (s *Socket) On(event string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.handlers, event)
		return
	}
	s.handlers[event] = h
}

// OnDisconnect adds a hook that runs when the socket's connection ends:
// the server's reason ("server namespace disconnect", "server shutting
// down", "slow consumer", ...), ReasonClientDisconnect after Disconnect or
// Close, or ReasonTransportClose or ReasonTransportError when the stream
// ends. Hooks run on the goroutine that runs event handlers, after the
// events that arrived before the disconnect.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onDisconnect = append(s.onDisconnect, fn)
}

// Connect enters the namespace with Socket.IO's handshake auth and waits
// for the server's answer. A refusal is a *ConnectError carrying the
// middleware's message and data. Connecting a connected socket does
// nothing.
func (s *Socket) Connect(ctx context.Context, auth map[string]any) error {
	if s.Connected() {
		return nil
	}
	authStruct, err := toStruct(auth)
	if err != nil {
		return err
	}
	r, err := s.client.request(ctx, &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Connect{
		Connect: &roomcastv1.ConnectFrame{Namespace: s.namespace, Auth: authStruct},
	}})
	if err != nil {
		return err
	}
	if r.Error != nil {
		return &ConnectError{
			Namespace: s.namespace,
			Code:      r.Error.Code,
			Message:   r.Error.Message,
			Data:      asInterface(r.Error.Data),
		}
	}
	// The `connected` frame, which the server sends before this reply,
	// has already set the sid.
	return nil
}

// Disconnect leaves the namespace; OnDisconnect hooks run with
// ReasonClientDisconnect. Disconnecting a socket that is not connected
// does nothing.
func (s *Socket) Disconnect(ctx context.Context) error {
	if !s.Connected() {
		return nil
	}
	r, err := s.client.request(ctx, &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Disconnect{
		Disconnect: &roomcastv1.DisconnectFrame{Namespace: s.namespace},
	}})
	if err != nil {
		return err
	}
	// A refusal means the server had already ended the socket, and its
	// `disconnected` frame has run the hooks.
	if r.Error != nil && s.Connected() {
		return replyError(r.Error)
	}
	s.markDisconnected(ReasonClientDisconnect)
	return nil
}

// Join adds the socket to rooms, all or none, and waits for the server.
func (s *Socket) Join(ctx context.Context, rooms ...string) error {
	return s.changeRooms(ctx, rooms, true)
}

// Leave removes the socket from rooms and waits for the server.
func (s *Socket) Leave(ctx context.Context, rooms ...string) error {
	return s.changeRooms(ctx, rooms, false)
}

func (s *Socket) changeRooms(ctx context.Context, rooms []string, join bool) error {
	if !s.Connected() {
		return ErrNotConnected
	}
	change := &roomcastv1.RoomsFrame{Namespace: s.namespace, Rooms: rooms}
	f := &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Leave{Leave: change}}
	if join {
		f.Frame = &roomcastv1.ClientFrame_Join{Join: change}
	}
	r, err := s.client.request(ctx, f)
	if err != nil {
		return err
	}
	data, err := replyResult(r)
	if err != nil {
		return err
	}
	var now []string
	for _, room := range data.GetStructValue().GetFields()["rooms"].GetListValue().GetValues() {
		now = append(now, room.GetStringValue())
	}
	slices.Sort(now)
	s.mu.Lock()
	s.rooms = now
	s.mu.Unlock()
	return nil
}

// markConnected records the server's `connected` frame.
func (s *Socket) markConnected(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sid, s.connected, s.rooms = sid, true, []string{sid}
}

// markDisconnected marks the socket disconnected, once per connection, and queues its
// OnDisconnect hooks behind the events already received.
func (s *Socket) markDisconnected(reason string) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	s.sid, s.connected, s.rooms = "", false, nil
	hooks := slices.Clone(s.onDisconnect)
	s.mu.Unlock()
	s.client.inbox.push(func() {
		for _, fn := range hooks {
			fn(reason)
		}
	})
}

func (s *Socket) handler(event string) Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handlers[event]
}
