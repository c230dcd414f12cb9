package transport

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/status"
)

// StreamHandler serves one stream; its error becomes the stream's status
// (nil: OK).
type StreamHandler func(grpc.ServerStream) error

// Config is what a Server serves and how.
type Config struct {
	// Streams are the methods served here, by full method name
	// ("/package.Service/Method").
	Streams map[string]StreamHandler
	// Fallback serves every other request: a *grpc.Server (through its
	// ServeHTTP) or an http.Handler of one's own.
	Fallback http.Handler
	// Codec marshals what Streams' handlers send and receive; nil means
	// grpc's proto codec.
	Codec encoding.CodecV2
	// MaxRecvMessageBytes bounds one received message; 0 means 4 MiB,
	// grpc-go's default.
	MaxRecvMessageBytes int
	// Keepalive: after Time without a frame from the client the server
	// pings, and closes the connection if nothing comes within Timeout.
	// 0 means 2 hours and 20 seconds, grpc-go's defaults.
	KeepaliveTime    time.Duration
	KeepaliveTimeout time.Duration
	// HandshakeTimeout bounds the wait for a new connection's preface; 0
	// means 20 seconds.
	HandshakeTimeout time.Duration
	// ParkAfter is how long a connection may have nothing to read before
	// its reading goroutine is let go, until there is (see parker.go); 0
	// means 1 second, below 0 never.
	ParkAfter time.Duration
	Logger    *slog.Logger
}

// Server serves gRPC clients on listeners. Serve, GracefulStop and Stop
// are grpc.Server's: GracefulStop waits for every handler, Stop for none.
type Server struct {
	cfg Config

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	stopped   bool
	serving   sync.WaitGroup // connections' goroutines
	handlers  sync.WaitGroup // handlers, the fallback's included
	ctx       context.Context
	cancel    context.CancelFunc

	parkOnce sync.Once
	park     atomic.Pointer[parker]
}

// NewServer returns a server for cfg.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxRecvMessageBytes == 0 {
		cfg.MaxRecvMessageBytes = 4 << 20
	}
	if cfg.KeepaliveTime == 0 {
		cfg.KeepaliveTime = 2 * time.Hour
	}
	if cfg.KeepaliveTimeout == 0 {
		cfg.KeepaliveTimeout = 20 * time.Second
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = 20 * time.Second
	}
	if cfg.ParkAfter == 0 {
		cfg.ParkAfter = defaultParkAfter
	}
	if cfg.Codec == nil {
		cfg.Codec = encoding.GetCodecV2(proto.Name)
	}
	if cfg.Fallback == nil {
		cfg.Fallback = http.NotFoundHandler()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:       cfg,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		ctx:       ctx, cancel: cancel,
	}
}

// Serve accepts connections on lis until Stop or GracefulStop, after which
// it returns nil, or until lis fails.
func (s *Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		lis.Close()
		return errors.New("transport: the server has stopped")
	}
	s.listeners[lis] = struct{}{}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		nc, err := lis.Accept()
		if err != nil {
			s.mu.Lock()
			stopped := s.stopped
			s.mu.Unlock()
			if stopped {
				return nil
			}
			if temporary(err) {
				// Out of file descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.serving.Add(1) // done when the connection's reading ends
		s.mu.Unlock()
		go c.serve()
	}
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// GracefulStop stops accepting, sends every connection GOAWAY, and waits
// for their streams to end and their handlers to return; Stop cuts the
// wait short.
func (s *Server) GracefulStop() {
	for _, c := range s.stopAccepting() {
		// Each on its own: one connection's GOAWAY may wait behind a send
		// blocked on a stalled peer.
		go c.drain()
	}
	s.serving.Wait()
	s.stopParker()
	handled := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(handled)
	}()
	select {
	case <-handled:
	case <-s.ctx.Done():
	}
	s.cancel()
}

// Stop closes every listener and connection at once; streams fail.
func (s *Server) Stop() {
	for _, c := range s.stopAccepting() {
		c.close(errConnClosed)
	}
	s.cancel()
	s.serving.Wait()
	s.stopParker()
}

func (s *Server) stopAccepting() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for lis := range s.listeners {
		lis.Close()
	}
	clear(s.listeners)
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

// call runs a handler; a panic in it is logged and becomes INTERNAL, as
// grpc-go's recovery interceptor would make it.
func (s *Server) call(st *stream, h StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logger.Error("panic in a stream handler", "method", st.method, "panic", r, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return h(st)
}

// temporary reports an accept error worth waiting out (too many open
// files, a connection aborted before it was accepted), as grpc-go and
// net/http treat it.
func temporary(err error) bool {
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}
