package server

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server/transport"
)

// ServerOptions returns what a grpc.Server needs to carry the chat service:
// the codec that passes pre-encoded frames through, the connection-level
// interceptors (metrics, logging, panic recovery) followed by namespace
// middleware, and keepalive so that vanished peers are noticed.
func (s *Server) ServerOptions() []grpc.ServerOption {
	logger := logging.LoggerFunc(func(ctx context.Context, level logging.Level, msg string, fields ...any) {
		s.log.Log(ctx, slog.Level(level), msg, fields...)
	})
	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall)}
	recoverOpts := []recovery.Option{recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		s.log.ErrorContext(ctx, "panic in a gRPC handler", "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})}
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(newPassThroughCodec()),
		grpc.ChainUnaryInterceptor(
			s.metrics.grpc.UnaryServerInterceptor(),
			logging.UnaryServerInterceptor(logger, logOpts...),
			recovery.UnaryServerInterceptor(recoverOpts...),
		),
		grpc.ChainStreamInterceptor(
			exceptConnect(s.metrics.grpc.StreamServerInterceptor()),
			exceptConnect(logging.StreamServerInterceptor(logger, logOpts...)),
			recovery.StreamServerInterceptor(recoverOpts...),
			s.StreamInterceptor(),
		),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: s.opts.keepaliveTime, Timeout: s.opts.keepaliveTimeout}),
		// Most connections are idle most of the time: the read buffer is
		// smaller than grpc's 32 KiB default (large frames are still read
		// whole, in more than one read). Write buffers are grpc's shared
		// ones, held only while writing.
		grpc.ReadBufferSize(8 << 10),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
}

// NewGRPCServer returns a grpc.Server with ServerOptions and extra options,
// serving ChatService, grpc.health.v1 and server reflection (so that
// `grpcurl list` works).
func (s *Server) NewGRPCServer(extra ...grpc.ServerOption) *grpc.Server {
	g := grpc.NewServer(append(s.ServerOptions(), extra...)...)
	s.Register(g)
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
	return g
}

// Serving reports another service registered beside ChatService (the
// admin API) as SERVING in grpc.health.v1, until Shutdown.
func (s *Server) Serving(service string) {
	s.health.SetServingStatus(service, healthpb.HealthCheckResponse_SERVING)
}

// Register adds ChatService to a gRPC server built with ServerOptions.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	roomcastv1.RegisterChatServiceServer(r, chatService{srv: s})
	s.health.SetServingStatus(roomcastv1.ChatService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
}

// exceptConnect applies a per-call interceptor (metrics, logging) to every
// RPC but ChatService/Connect, whose streams the hub counts and logs itself
// (roomcast_client_streams_total, roomcast_client_streams_ended_total, the
// "client disconnected" line with its code and duration). Around a stream
// that lives for hours they would cost more than they tell: their wrapper
// of SendMsg was about 7% of the server's CPU in fan-out, and their frames
// under a handler that reads its stream push its stack past the point
// where the runtime shrinks it to 8 KB, about 6 KB more per idle client.
func exceptConnect(next grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if info.FullMethod == roomcastv1.ChatService_Connect_FullMethodName {
			return handler(srv, ss)
		}
		return next(srv, ss, info, handler)
	}
}

type chatService struct {
	roomcastv1.UnimplementedChatServiceServer
	srv *Server
}

func (cs chatService) Connect(stream roomcastv1.ChatService_ConnectServer) error {
	var ss grpc.ServerStream = stream
	sess := sessionFrom(stream.Context())
	if sess == nil {
		g := cs.srv.guard(stream)
		ss, sess = g, g.sess
	}
	c := newClient(cs.srv, ss, sess, newStreamEnder(stream.Context()))
	sess.client = c
	cs.srv.stats.streams.Add(1)
	if !cs.srv.addClient(c) {
		cs.srv.stats.streamEnded(ReasonServerShuttingDown)
		return status.Error(codes.Unavailable, ReasonServerShuttingDown)
	}
	var err error
	defer func() {
		// A parked client is removed when its reading, resumed, ends.
		if !errors.Is(err, transport.ErrParked) {
			cs.srv.removeClient(c)
		}
	}()
	err = c.run()
	return err
}
