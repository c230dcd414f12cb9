package server

import (
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server/transport"
)

// What can serve the gRPC port (NewPortServer).
const (
	// TransportRoomcast serves ChatService/Connect on roomcast's own HTTP/2
	// transport and everything else through grpc-go.
	TransportRoomcast = "roomcast"
	// TransportGRPCGo serves everything with grpc-go.
	TransportGRPCGo = "grpc-go"
)

// PortServer serves the gRPC port.
type PortServer interface {
	Serve(net.Listener) error
	GRPCServer
}

// NewPortServer returns what serves the gRPC port with transport ("" is
// TransportRoomcast), g built with NewGRPCServer behind it.
func (s *Server) NewPortServer(g *grpc.Server, transport string) (PortServer, error) {
	if err := CheckTransport(transport); err != nil {
		return nil, err
	}
	if transport == TransportGRPCGo {
		return g, nil
	}
	return &transportPort{tr: s.NewTransport(g), g: g}, nil
}

// CheckTransport reports whether NewPortServer knows transport.
func CheckTransport(transport string) error {
	switch transport {
	case "", TransportRoomcast, TransportGRPCGo:
		return nil
	}
	return fmt.Errorf("transport %q: want %s or %s", transport, TransportRoomcast, TransportGRPCGo)
}

// NewTransport returns the server for the gRPC port: it serves
// ChatService/Connect on roomcast's own HTTP/2 transport (a goroutine per
// connection while it has something to read, no goroutine and no read
// buffer once it has been idle for a second, writes without a hand-off;
// see package transport) and every other method through g, built with
// NewGRPCServer, whose interceptors then apply as usual. Connect streams
// get what roomcast's own chain gives them on grpc-go: the namespace
// middleware (the service guards every stream itself) and panic recovery
// (the transport's). Options an embedder added to g for Connect (stream
// interceptors, a stats handler) do not apply to it here: serve such a g
// with TransportGRPCGo.
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

// transportPort is the transport with the grpc.Server behind it.
type transportPort struct {
	tr *transport.Server
	g  *grpc.Server
}

func (p *transportPort) Serve(lis net.Listener) error { return p.tr.Serve(lis) }

// fallbackGrace is how long the grpc.Server's own GracefulStop waits for
// the transport's. grpc-go ends the requests the transport passed it (an
// admin call, a health Watch) at once when it stops: the transport goes
// first so that calls in flight finish, and the grpc.Server follows, in
// time to end what would never finish by itself (a Watch).
const fallbackGrace = 2 * time.Second

func (p *transportPort) GracefulStop() {
	done := make(chan struct{})
	go func() {
		p.tr.GracefulStop()
		close(done)
	}()
	timer := time.NewTimer(fallbackGrace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
	p.g.GracefulStop()
	<-done
}

// Stop stops both at once.
func (p *transportPort) Stop() {
	p.tr.Stop()
	p.g.Stop()
}
