package server

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/roomcast/roomcast/server/adapter"
)

// Namespace is a named channel multiplexed on client streams, with its own
// middleware, handlers and rooms. "/" always exists.
type Namespace struct {
	name    string
	srv     *Server
	adapter adapter.Adapter
	pattern *NamespacePattern // the pattern that created it, if dynamic
	l       listeners

	mu      sync.RWMutex
	sockets map[string]*Socket

	eventsIn atomic.Int64 // events received from clients
	queued   atomic.Int64 // deliveries handed to client queues
}

func newNamespace(srv *Server, name string, pattern *NamespacePattern) *Namespace {
	return &Namespace{
		name:    name,
		srv:     srv,
		adapter: srv.opts.adapters.New(name),
		pattern: pattern,
		sockets: make(map[string]*Socket),
	}
}

// Name returns the namespace's name, such as "/chat".
func (n *Namespace) Name() string { return n.name }

// Use adds connect middleware.
func (n *Namespace) Use(mw ...Middleware) *Namespace { n.l.use(mw); return n }

// UseEvent adds per-event middleware (Socket.IO's socket.use).
func (n *Namespace) UseEvent(mw ...EventMiddleware) *Namespace { n.l.useEvent(mw); return n }

// UseRooms adds middleware for the join and leave frames of clients.
func (n *Namespace) UseRooms(mw ...RoomMiddleware) *Namespace { n.l.useRooms(mw); return n }

// On sets the handler of an event; a later On for the same event replaces
// it, so that exactly one handler answers the sender's ref.
func (n *Namespace) On(event string, h Handler) *Namespace { n.l.on(event, h); return n }

// OnConnection adds a hook that runs when a socket has connected.
func (n *Namespace) OnConnection(fn func(*Socket)) *Namespace { n.l.onConnect(fn); return n }

// OnDisconnecting adds a hook that runs when a socket is leaving, while it
// is still in its rooms.
func (n *Namespace) OnDisconnecting(fn func(s *Socket, reason string)) *Namespace {
	n.l.onDisconnectingHook(fn)
	return n
}

// OnDisconnect adds a hook that runs after a socket has left.
func (n *Namespace) OnDisconnect(fn func(s *Socket, reason string)) *Namespace {
	n.l.onDisconnectHook(fn)
	return n
}

// listeners returns the namespace's listeners, after its pattern's.
func (n *Namespace) listeners() listenerSet {
	own := n.l.snapshot()
	if n.pattern == nil {
		return own
	}
	return n.pattern.l.snapshot().then(own)
}

func (n *Namespace) handler(event string) Handler {
	if h := n.l.handler(event); h != nil {
		return h
	}
	if n.pattern != nil {
		return n.pattern.l.handler(event)
	}
	return nil
}

// To targets rooms; see BroadcastOperator.
func (n *Namespace) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{ns: n}.To(rooms...)
}

// Except excludes rooms; see BroadcastOperator.
func (n *Namespace) Except(rooms ...string) BroadcastOperator {
	return BroadcastOperator{ns: n}.Except(rooms...)
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, data any) (int, error) {
	return BroadcastOperator{ns: n}.Emit(event, data)
}

// Socket returns a connected socket of this node by sid, or nil.
func (n *Namespace) Socket(sid string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[sid]
}

// Sockets returns the sockets connected to this namespace on this node.
func (n *Namespace) Sockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// RoomSizes maps every room of the namespace to its member count; each
// socket's own sid-room included.
func (n *Namespace) RoomSizes() map[string]int { return n.adapter.RoomSizes() }

// admit runs the connect middleware; on success it returns what the
// middleware attached for the socket.
func (n *Namespace) admit(ctx context.Context, hs *Handshake, clientNamespaces int) (map[string]any, error) {
	n.mu.RLock()
	sockets := len(n.sockets)
	n.mu.RUnlock()
	req := &ConnectRequest{Namespace: n.name, Handshake: hs, ClientNamespaces: clientNamespaces, NamespaceSockets: sockets}
	for _, mw := range n.listeners().middleware {
		if err := mw(ctx, req); err != nil {
			return nil, err
		}
	}
	return req.data, nil
}

func (n *Namespace) add(s *Socket) {
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	n.adapter.AddAll(s, s.id)
}

func (n *Namespace) remove(s *Socket) {
	n.adapter.DelAll(s.id)
	n.mu.Lock()
	delete(n.sockets, s.id)
	n.mu.Unlock()
}

// Counts returns how many sockets and rooms the namespace has on this node;
// sockets' own rooms do not count as rooms.
func (n *Namespace) Counts() (sockets, rooms int) {
	sizes := n.adapter.RoomSizes()
	n.mu.RLock()
	defer n.mu.RUnlock()
	for room := range sizes {
		if n.sockets[room] == nil {
			rooms++
		}
	}
	return len(n.sockets), rooms
}

// FetchRoomSizes maps every room of the namespace, on every node, to its
// member count; sockets' own rooms included.
func (n *Namespace) FetchRoomSizes(ctx context.Context) (map[string]int, adapter.Partial) {
	return n.adapter.ClusterRoomSizes(ctx)
}
