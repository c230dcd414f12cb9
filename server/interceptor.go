package server

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// session is the state one Connect stream shares between the namespace
// middleware interceptor and the hub.
type session struct {
	srv  *Server
	ctx  context.Context
	md   metadata.MD
	peer string
	// client is set by the hub before the stream's first RecvMsg, so that
	// refusals can be answered through the client's one writer.
	client *client
	// admitted holds, per namespace, the outcome of middleware that said
	// yes, until the hub creates the socket. Only the frame being handled
	// touches it: the reading goroutine, or the goroutine it waits for
	// (onFreshStack).
	admitted map[string]admission
}

type admission struct {
	ns        *Namespace
	handshake *Handshake
	data      map[string]any
}

type sessionKey struct{}

// StreamInterceptor runs namespace middleware and per-event middleware on
// ChatService/Connect streams, frame by frame, before the hub sees them.
// Place it last in the chain, after logging and recovery. The server's own
// gRPC server installs it; embedders that build their own add it with
// ServerOptions (a stream that did not pass through it is wrapped by the
// service itself, so middleware can never be skipped).
func (s *Server) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if info.FullMethod != roomcastv1.ChatService_Connect_FullMethodName {
			return handler(srv, ss)
		}
		return handler(srv, s.guard(ss))
	}
}

func (s *Server) guard(ss grpc.ServerStream) *guardedStream {
	ctx := ss.Context()
	sess := &session{srv: s, admitted: make(map[string]admission)}
	// Kept for the stream's life (every socket's handshake shows it): on
	// roomcast's transport, the stream's own rather than a copy.
	if in, ok := grpc.ServerTransportStreamFromContext(ctx).(interface{ IncomingMetadata() metadata.MD }); ok {
		sess.md = in.IncomingMetadata()
	} else {
		sess.md, _ = metadata.FromIncomingContext(ctx)
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		sess.peer = p.Addr.String()
	}
	sess.ctx = context.WithValue(ctx, sessionKey{}, sess)
	return &guardedStream{ServerStream: ss, sess: sess}
}

func sessionFrom(ctx context.Context) *session {
	sess, _ := ctx.Value(sessionKey{}).(*session)
	return sess
}

// guardedStream answers the frames that middleware refuses and passes the
// others up to the hub.
type guardedStream struct {
	grpc.ServerStream
	sess *session
}

func (g *guardedStream) Context() context.Context { return g.sess.ctx }

// errRefusedFrame is what RecvMsg returns for a frame that middleware
// refused and has answered: the reader goes on to the next, by way of its
// parking (handler_park.go) like after any frame.
var errRefusedFrame = errors.New("the frame was refused by middleware")

func (g *guardedStream) RecvMsg(m any) error {
	if err := g.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	f, ok := m.(*roomcastv1.ClientFrame)
	if !ok || g.admit(f) {
		return nil
	}
	return errRefusedFrame
}

// admit runs middleware on a frame; false means it refused the frame and
// has answered it.
func (g *guardedStream) admit(f *roomcastv1.ClientFrame) bool {
	switch fr := f.Frame.(type) {
	case *roomcastv1.ClientFrame_Connect:
		admitted := false
		onFreshStack(func() { admitted = g.admitConnect(f.Ref, fr.Connect) })
		return admitted
	case *roomcastv1.ClientFrame_Emit:
		return g.admitEvent(f.Ref, fr.Emit, false)
	case *roomcastv1.ClientFrame_Broadcast:
		return g.admitEvent(f.Ref, fr.Broadcast, true)
	case *roomcastv1.ClientFrame_Join:
		return g.admitRooms(f.Ref, fr.Join, true)
	case *roomcastv1.ClientFrame_Leave:
		return g.admitRooms(f.Ref, fr.Leave, false)
	}
	return true
}

func (g *guardedStream) admitRooms(ref uint64, rf *roomcastv1.RoomsFrame, join bool) bool {
	c := g.sess.client
	s := c.socket(canonicalNamespace(rf.Namespace))
	if s == nil {
		return true // the hub refuses frames for namespaces not connected
	}
	change := &RoomChange{Rooms: rf.Rooms, Join: join}
	for _, mw := range s.ns.listeners().roomMiddleware {
		if err := mw(g.sess.ctx, s, change); err != nil {
			c.reply(ref, nil, asError(err, CodePermissionDenied))
			return false
		}
	}
	rf.Rooms = change.Rooms
	return true
}

func (g *guardedStream) admitConnect(ref uint64, cf *roomcastv1.ConnectFrame) bool {
	c := g.sess.client
	name := canonicalNamespace(cf.Namespace)
	if c.socket(name) != nil {
		return true // the hub refuses a second connect
	}
	if err := checkNamespace(name); err != nil {
		c.refuseConnect(ref, name, &Error{Code: err.Code, Message: MessageInvalidNamespace, Data: err.Message})
		return false
	}
	ns := g.sess.srv.namespace(name)
	if ns == nil {
		c.refuseConnect(ref, name, &Error{Code: CodeNotFound, Message: MessageInvalidNamespace})
		return false
	}
	hs := &Handshake{Metadata: g.sess.md, Peer: g.sess.peer, Auth: cf.Auth, Time: time.Now()}
	data, err := ns.admit(g.sess.ctx, hs, c.namespaceCount())
	if err != nil {
		c.refuseConnect(ref, name, asError(err, CodePermissionDenied))
		return false
	}
	g.sess.admitted[name] = admission{ns: ns, handshake: hs, data: data}
	return true
}

func (g *guardedStream) admitEvent(ref uint64, ef *roomcastv1.EmitFrame, broadcast bool) bool {
	c := g.sess.client
	s := c.socket(canonicalNamespace(ef.Namespace))
	if s == nil {
		return true // the hub refuses frames for namespaces not connected
	}
	chain := s.ns.listeners().eventMiddleware
	if len(chain) == 0 {
		return true
	}
	e := eventOf(ef, broadcast)
	for _, mw := range chain {
		if err := mw(g.sess.ctx, s, e); err != nil {
			c.reply(ref, nil, asError(err, CodePermissionDenied))
			return false
		}
	}
	// Middleware may rewrite the event; the hub delivers what it left.
	ef.Event, ef.Data, ef.Binary = e.Name, e.Data, e.Binary
	ef.Rooms, ef.ExceptRooms, ef.Volatile = e.Rooms, e.ExceptRooms, e.Volatile
	return true
}

func eventOf(ef *roomcastv1.EmitFrame, broadcast bool) *Event {
	return &Event{
		Name: ef.Event, Data: ef.Data, Binary: ef.Binary,
		Rooms: ef.Rooms, ExceptRooms: ef.ExceptRooms,
		Volatile: ef.Volatile, Broadcast: broadcast,
	}
}
