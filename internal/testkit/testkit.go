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
	"sync"
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
	// Port is what serves the port: roomcast's transport in front of GRPC,
	// or GRPC alone (see TransportEnv); stop it with Stop(ctx, s.Port).
	Port server.PortServer
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
	port, err := srv.NewPortServer(g, transportName())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = port.Serve(lis)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		_ = srv.Stop(ctx, port)
		<-served
	})
	return &Server{Server: srv, GRPC: g, Port: port}
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
	ctx    context.Context
	cancel context.CancelFunc
	frames chan *roomcastv1.ServerFrame
	err    chan error

	// pending holds the events of a batch that Event has not returned yet;
	// Next returns them first.
	pending []*roomcastv1.Event

	gateMu sync.Mutex
	gate   chan struct{} // nil while reading; Pause sets it, Resume closes it
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
	st := &Stream{t: t, stream: stream, ctx: ctx, cancel: cancel,
		frames: make(chan *roomcastv1.ServerFrame, 1024), err: make(chan error, 1)}
	go st.read()
	t.Cleanup(cancel)
	return st
}

func (st *Stream) read() {
	for {
		st.waitGate()
		f, err := st.stream.Recv()
		if err != nil {
			st.err <- err
			close(st.frames)
			return
		}
		st.frames <- f
	}
}

func (st *Stream) waitGate() {
	st.gateMu.Lock()
	gate := st.gate
	st.gateMu.Unlock()
	if gate == nil {
		return
	}
	select {
	case <-gate:
	case <-st.ctx.Done():
	}
}

// Pause stops reading from the network after at most one more frame, as a
// client that has stalled: the stream's flow-control window fills and the
// server's writes to it block. Open the stream on a connection made with
// small windows (grpc.WithInitialWindowSize) for the stall to come fast.
func (st *Stream) Pause() {
	st.gateMu.Lock()
	if st.gate == nil {
		st.gate = make(chan struct{})
	}
	st.gateMu.Unlock()
}

// Resume reads again after Pause.
func (st *Stream) Resume() {
	st.gateMu.Lock()
	if st.gate != nil {
		close(st.gate)
		st.gate = nil
	}
	st.gateMu.Unlock()
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
	if len(st.pending) > 0 {
		e := st.pending[0]
		st.pending = st.pending[1:]
		return &roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Event{Event: e}}
	}
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
	if len(st.pending) > 0 {
		st.t.Fatalf("unexpected event: %v", st.pending[0])
	}
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

// Rest waits for the stream to end and returns the frames that came
// before the end (batches unpacked into one frame per event) and how it
// ended (nil for OK).
func (st *Stream) Rest() ([]*roomcastv1.ServerFrame, error) {
	st.t.Helper()
	var out []*roomcastv1.ServerFrame
	for _, e := range st.pending {
		out = append(out, &roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Event{Event: e}})
	}
	st.pending = nil
	deadline := time.After(Timeout)
	for {
		select {
		case f, ok := <-st.frames:
			if !ok {
				err := <-st.err
				if err == io.EOF {
					err = nil
				}
				return out, err
			}
			if batch := f.GetEvents(); batch != nil {
				for _, e := range batch.Events {
					out = append(out, &roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Event{Event: e}})
				}
				continue
			}
			out = append(out, f)
		case <-deadline:
			st.t.Fatalf("stream did not end within %v", Timeout)
			return nil, nil
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

// Event returns the next event, unpacking batches: the other events of a
// batch are kept for the following calls (and for Next, which returns
// them first, one per frame). It fails on any frame that is not an event.
func (st *Stream) Event() *roomcastv1.Event {
	st.t.Helper()
	return st.eventFrom(st.Next())
}

// eventFrom returns the event of f, keeping the rest of a batch pending.
func (st *Stream) eventFrom(f *roomcastv1.ServerFrame) *roomcastv1.Event {
	st.t.Helper()
	switch {
	case f.GetEvent() != nil:
		return f.GetEvent()
	case len(f.GetEvents().GetEvents()) > 0:
		events := f.GetEvents().Events
		st.pending = append(st.pending, events[1:]...)
		return events[0]
	}
	st.t.Fatalf("got %v while waiting for an event", f)
	return nil
}

// Reply returns the next frame, which must be a reply.
func (st *Stream) Reply() *roomcastv1.Reply {
	st.t.Helper()
	f := st.Next()
	r := f.GetReply()
	if r == nil {
		st.t.Fatalf("got %v while waiting for a reply", f)
	}
	return r
}

// Eventually polls cond until it holds, failing the test with what if it
// does not within Timeout. Use it for state that changes asynchronously
// (stats, hooks), never to assert how long something takes.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", Timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
