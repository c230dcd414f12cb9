// Package testkit is the one way roomcast's tests start a server and talk
// to it frame by frame: a server on 127.0.0.1:0 (or in-process over
// bufconn), raw ChatService streams, and reads with deadlines, so that a
// missing frame fails a test instead of hanging it.
package testkit

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server"
)

// Timeout bounds every wait of a test helper.
const Timeout = 5 * time.Second

// Server is a running roomcast server.
type Server struct {
	*server.Server
	GRPC *grpc.Server
	// Addr is the TCP address, or "bufconn" for an in-process server.
	Addr string
	dial func(ctx context.Context, opts ...grpc.DialOption) (*grpc.ClientConn, error)
}

// Start runs a server on 127.0.0.1 with a random port; the test stops it.
// configure, if not nil, registers namespaces and middleware before
// clients can connect.
func Start(t testing.TB, configure func(*server.Server), opts ...server.Option) *Server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := start(t, lis, configure, opts)
	s.Addr = lis.Addr().String()
	s.dial = func(_ context.Context, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
		return grpc.NewClient(s.Addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	}
	return s
}

// StartInProcess runs a server over bufconn, for hub tests that need no
// real network.
func StartInProcess(t testing.TB, configure func(*server.Server), opts ...server.Option) *Server {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := start(t, lis, configure, opts)
	s.Addr = "bufconn"
	s.dial = func(_ context.Context, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
		return grpc.NewClient("passthrough:///bufconn", append([]grpc.DialOption{
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		}, opts...)...)
	}
	return s
}

func start(t testing.TB, lis net.Listener, configure func(*server.Server), opts []server.Option) *Server {
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := server.New(append([]server.Option{server.WithLogger(logger)}, opts...)...)
	if configure != nil {
		configure(srv)
	}
	g := srv.NewGRPCServer()
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = g.Serve(lis)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		_ = srv.Stop(ctx, g)
		<-served
	})
	return &Server{Server: srv, GRPC: g}
}

// Conn dials the server; the test closes the connection.
func (s *Server) Conn(t testing.TB, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := s.dial(context.Background(), opts...)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// Stream is one raw ChatService/Connect stream.
type Stream struct {
	t      testing.TB
	stream grpc.BidiStreamingClient[roomcastv1.ClientFrame, roomcastv1.ServerFrame]
	cancel context.CancelFunc
	frames chan *roomcastv1.ServerFrame
	err    chan error
}

// Open starts a Connect stream on its own connection, with optional
// metadata pairs (key, value, ...).
func (s *Server) Open(t testing.TB, md ...string) *Stream {
	t.Helper()
	return OpenOn(t, s.Conn(t), md...)
}

// OpenOn starts a Connect stream on an existing connection.
func OpenOn(t testing.TB, cc *grpc.ClientConn, md ...string) *Stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	stream, err := roomcastv1.NewChatServiceClient(cc).Connect(ctx)
	if err != nil {
		cancel()
		t.Fatalf("connect: %v", err)
	}
	st := &Stream{t: t, stream: stream, cancel: cancel,
		frames: make(chan *roomcastv1.ServerFrame, 1024), err: make(chan error, 1)}
	go st.read()
	t.Cleanup(cancel)
	return st
}

func (st *Stream) read() {
	for {
		f, err := st.stream.Recv()
		if err != nil {
			st.err <- err
			close(st.frames)
			return
		}
		st.frames <- f
	}
}

// Send sends a frame, failing the test on error.
func (st *Stream) Send(f *roomcastv1.ClientFrame) {
	st.t.Helper()
	if err := st.stream.Send(f); err != nil {
		st.t.Fatalf("send %v: %v", f, err)
	}
}

// SendJSON sends a frame written as grpcurl's JSON, e.g.
// `{"join":{"namespace":"/","rooms":["general"]}}`.
func (st *Stream) SendJSON(js string) {
	st.t.Helper()
	f := &roomcastv1.ClientFrame{}
	if err := protojson.Unmarshal([]byte(js), f); err != nil {
		st.t.Fatalf("bad frame JSON %s: %v", js, err)
	}
	st.Send(f)
}

// CloseSend half-closes the stream, as a client that is done.
func (st *Stream) CloseSend() { _ = st.stream.CloseSend() }

// Cancel cancels the stream, as a client that goes away.
func (st *Stream) Cancel() { st.cancel() }

// Next returns the next frame, failing the test if none comes in time or
// the stream ends.
func (st *Stream) Next() *roomcastv1.ServerFrame {
	st.t.Helper()
	select {
	case f, ok := <-st.frames:
		if !ok {
			st.t.Fatalf("stream ended while a frame was expected: %v", <-st.err)
		}
		return f
	case <-time.After(Timeout):
		st.t.Fatalf("no frame within %v", Timeout)
	}
	return nil
}

// NoFrame fails the test if a frame arrives within d.
func (st *Stream) NoFrame(d time.Duration) {
	st.t.Helper()
	select {
	case f, ok := <-st.frames:
		if ok {
			st.t.Fatalf("unexpected frame: %v", f)
		}
	case <-time.After(d):
	}
}

// End waits for the stream to end and returns its error (nil for OK),
// skipping any frames still queued.
func (st *Stream) End() error {
	st.t.Helper()
	deadline := time.After(Timeout)
	for {
		select {
		case _, ok := <-st.frames:
			if !ok {
				err := <-st.err
				if err == io.EOF {
					return nil
				}
				return err
			}
		case <-deadline:
			st.t.Fatalf("stream did not end within %v", Timeout)
			return nil
		}
	}
}

// Connect enters a namespace and returns the socket's sid.
func (st *Stream) Connect(namespace string) string {
	st.t.Helper()
	st.Send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Connect{
		Connect: &roomcastv1.ConnectFrame{Namespace: namespace}}})
	f := st.Next()
	c := f.GetConnected()
	if c == nil {
		st.t.Fatalf("connect %s: got %v, want connected", namespace, f)
	}
	return c.Sid
}

// Join joins rooms and waits for the server to confirm.
func (st *Stream) Join(namespace string, rooms ...string) {
	st.t.Helper()
	st.Send(&roomcastv1.ClientFrame{Ref: 1 << 62, Frame: &roomcastv1.ClientFrame_Join{
		Join: &roomcastv1.RoomsFrame{Namespace: namespace, Rooms: rooms}}})
	r := st.Next().GetReply()
	if r == nil || r.Ref != 1<<62 || r.Error != nil {
		st.t.Fatalf("join %v: got reply %v", rooms, r)
	}
}

// Events reads frames until n events have arrived, unpacking batches, and
// fails on any other frame.
func (st *Stream) Events(n int) []*roomcastv1.Event {
	st.t.Helper()
	var out []*roomcastv1.Event
	for len(out) < n {
		f := st.Next()
		switch {
		case f.GetEvent() != nil:
			out = append(out, f.GetEvent())
		case f.GetEvents() != nil:
			out = append(out, f.GetEvents().Events...)
		default:
			st.t.Fatalf("got %v while waiting for events", f)
		}
	}
	if len(out) > n {
		st.t.Fatalf("got %d events, want %d", len(out), n)
	}
	return out
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
