package server

import (
	"sync"

	"google.golang.org/grpc"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server/transport"
)

// NewTransport returns the server for the gRPC port: it serves
// ChatService/Connect on roomcast's own HTTP/2 transport (a goroutine per
// connection, no buffer while idle, writes without a hand-off; see package
// transport) and every other method through g, built with NewGRPCServer,
// whose interceptors then apply as usual. Connect streams get what g's
// chain would give them: the namespace middleware (the service guards
// every stream itself) and panic recovery; g's per-call logging and
// metrics skip Connect anyway (exceptConnect).
func (s *Server) NewTransport(g *grpc.Server) *transport.Server {
	connect := func(ss grpc.ServerStream) error {
		return chatService{srv: s}.Connect(&grpc.GenericServerStream[roomcastv1.ClientFrame, roomcastv1.ServerFrame]{ServerStream: ss})
	}
	return transport.NewServer(transport.Config{
		Streams:          map[string]transport.StreamHandler{roomcastv1.ChatService_Connect_FullMethodName: connect},
		Fallback:         g,
		Codec:            newPassThroughCodec(),
		KeepaliveTime:    s.opts.keepaliveTime,
		KeepaliveTimeout: s.opts.keepaliveTimeout,
		Logger:           s.log,
	})
}

// Servers stops several servers as one: the transport and the grpc.Server
// behind it.
type Servers []GRPCServer

// GracefulStop stops them all at once: the transport waits for the
// requests it passed to the grpc.Server (a health Watch, say), which only
// the grpc.Server's own GracefulStop ends.
func (ss Servers) GracefulStop() {
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Go(s.GracefulStop)
	}
	wg.Wait()
}

func (ss Servers) Stop() {
	for _, s := range ss {
		s.Stop()
	}
}
