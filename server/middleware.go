package server

import (
	"context"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"
)

// Handshake is what a socket was admitted with: the stream's metadata and
// peer, and the `auth` of its connect frame. Treat it as read-only: the
// sockets of one stream share its metadata, which on roomcast's transport
// is the stream's own, the map that metadata.FromIncomingContext copies.
type Handshake struct {
	Metadata metadata.MD
	Peer     string
	Auth     *structpb.Struct
	Time     time.Time
}

// ConnectRequest is a namespace connect as middleware sees it.
type ConnectRequest struct {
	Namespace string
	Handshake *Handshake
	// ClientNamespaces is how many namespaces the client stream is
	// already connected to.
	ClientNamespaces int
	// NamespaceSockets is how many sockets the namespace has on this
	// node, counted as the middleware starts.
	NamespaceSockets int
	data             map[string]any
}

// Set attaches a value to the socket that the connect will create; Go
// handlers read it with Socket.Get.
func (r *ConnectRequest) Set(key string, value any) {
	if r.data == nil {
		r.data = make(map[string]any)
	}
	r.data[key] = value
}

// Get returns a value attached by earlier middleware.
func (r *ConnectRequest) Get(key string) (any, bool) {
	v, ok := r.data[key]
	return v, ok
}

// Middleware runs on every connect to its namespace, in the order added,
// before the hub sees the frame. A non-nil error refuses the connect: the
// client gets connect_error with the error's message, and with its Data
// when the error is an *Error.
type Middleware func(ctx context.Context, req *ConnectRequest) error

// Event is an event a client sent, as middleware and handlers see it.
type Event struct {
	Name        string
	Data        *structpb.Value
	Binary      []byte
	Rooms       []string
	ExceptRooms []string
	Volatile    bool
	// Broadcast is true for a broadcast frame, which never reaches its
	// sender.
	Broadcast bool
}

// EventMiddleware runs on every event a socket sends (Socket.IO's
// socket.use), before delivery and handlers. A non-nil error refuses the
// event; the sender gets a reply with the error (code PERMISSION_DENIED
// unless it is an *Error with its own code).
type EventMiddleware func(ctx context.Context, s *Socket, e *Event) error

// RoomChange is a client's join or leave frame as middleware sees it.
type RoomChange struct {
	Rooms []string
	Join  bool // false for leave
}

// RoomMiddleware runs on every join and leave frame a socket sends, before
// the rooms change. A non-nil error refuses the whole frame; the sender
// gets a reply with the error (code PERMISSION_DENIED unless it is an
// *Error with its own code). Joins and leaves made by server code or the
// admin API do not pass through it.
type RoomMiddleware func(ctx context.Context, s *Socket, r *RoomChange) error

// Handler handles an event on the server. Its result answers the sender's
// ref (Socket.IO's acknowledgement callback); an error refuses the event,
// which is then not delivered.
type Handler func(ctx context.Context, s *Socket, e *Event) (any, error)
