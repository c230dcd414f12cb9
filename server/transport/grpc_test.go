package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// These tests put a real grpc-go client in front of the transport: what
// they check is what roomcast's clients see.

func openStream(t *testing.T, ctx context.Context, cc *grpc.ClientConn, method string) grpc.ClientStream {
	t.Helper()
	cs, err := cc.NewStream(ctx, bidiDesc, method)
	if err != nil {
		t.Fatalf("NewStream(%s): %v", method, err)
	}
	return cs
}

// testContext ends with the test, and after waitLimit: no RPC of a test
// may hang it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	s, ok := status.FromError(err)
	if !ok || s.Code() != want {
		t.Fatalf("got error %v, want code %v", err, want)
	}
	return s
}

func TestGRPCEchoRoundTrip(t *testing.T) {
	ts := startServer(t, Config{})
	cc := dial(t, ts.addr)
	got, err := echoOnce(testContext(t), cc, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got != "hello" {
		t.Fatalf("echo returned %q, want %q", got, "hello")
	}
}

func TestGRPCManyMessagesArriveInOrder(t *testing.T) {
	ts := startServer(t, Config{})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, echoMethod)
	const n = 2000
	// Sending and receiving at once: a sender that waits for nothing
	// would fill both directions' windows and stall.
	sendErr := make(chan error, 1)
	go func() {
		for i := range n {
			if err := cs.SendMsg(wrapperspb.String(fmt.Sprint(i))); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- cs.CloseSend()
	}()
	for i := range n {
		got := new(wrapperspb.StringValue)
		if err := cs.RecvMsg(got); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := fmt.Sprint(i); got.GetValue() != want {
			t.Fatalf("message %d is %q, want %q", i, got.GetValue(), want)
		}
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last echo: %v, want io.EOF", err)
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
}

// Messages past one DATA frame, the 64 KiB stream window and 1 MiB (the
// frame size the server allows) must arrive whole in both directions.
func TestGRPCLargeMessages(t *testing.T) {
	ts := startServer(t, Config{})
	cc := dial(t, ts.addr)
	for _, size := range []int{16<<10 + 1, 64<<10 + 1, 1<<20 + 1, 3 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			// Every byte differs from its neighbours' so that a chunk lost,
			// doubled or reordered shows.
			var b strings.Builder
			for i := 0; b.Len() < size; i++ {
				fmt.Fprintf(&b, "%08d", i)
			}
			want := b.String()[:size]
			got, err := echoOnce(testContext(t), cc, want)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("echo of %d bytes came back as %d bytes, different", len(want), len(got))
			}
		})
	}
}

// The same through the fallback: a grpc.Server whose every method echoes,
// reading the request body and writing the response through the
// transport's http.Request and ResponseWriter.
func TestGRPCLargeMessagesThroughFallback(t *testing.T) {
	gs := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		return echoHandler(ss)
	}))
	t.Cleanup(gs.Stop)
	ts := startServer(t, Config{Fallback: gs})
	cc := dial(t, ts.addr)
	for _, size := range []int{16<<10 + 1, 64<<10 + 1, 1<<20 + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			want := strings.Repeat("0123456789abcdef", size/16+1)[:size]
			cs := openStream(t, testContext(t), cc, "/roomcast.transport.test.Elsewhere/Echo")
			for range 2 {
				if err := cs.SendMsg(wrapperspb.String(want)); err != nil {
					t.Fatal(err)
				}
				got := new(wrapperspb.StringValue)
				if err := cs.RecvMsg(got); err != nil {
					t.Fatal(err)
				}
				if got.GetValue() != want {
					t.Fatalf("echo of %d bytes came back as %d bytes, different", len(want), len(got.GetValue()))
				}
			}
			_ = cs.CloseSend()
			if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
				t.Fatalf("stream ended with %v, want OK", err)
			}
		})
	}
}

// A handler that starts reading only after the client has filled the
// stream's window gets every message: the window held back while it did
// not read must come back as it reads.
func TestGRPCHandlerThatReadsLateGetsEverything(t *testing.T) {
	const n, size = 200, 1 << 10 // 200 KiB: three windows' worth
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		// Not a read until the client has used up the stream's window.
		st := ss.(*stream)
		for deadline := time.Now().Add(waitLimit); ; time.Sleep(time.Millisecond) {
			st.rmu.Lock()
			left := st.recvWindow
			st.rmu.Unlock()
			if left < 2*size {
				break
			}
			if time.Now().After(deadline) {
				return status.Errorf(codes.DeadlineExceeded, "the client stopped with %d bytes of window left", left)
			}
		}
		for i := 0; ; i++ {
			m := new(wrapperspb.StringValue)
			if err := ss.RecvMsg(m); errors.Is(err, io.EOF) {
				if i != n {
					return status.Errorf(codes.DataLoss, "got %d messages, want %d", i, n)
				}
				return nil
			} else if err != nil {
				return err
			}
			if want := fmt.Sprintf("%0*d", size, i); m.GetValue() != want {
				return status.Errorf(codes.DataLoss, "message %d is not the one sent", i)
			}
		}
	}}})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, echoMethod)
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			if err := cs.SendMsg(wrapperspb.String(fmt.Sprintf("%0*d", size, i))); err != nil {
				sent <- err
				return
			}
		}
		sent <- cs.CloseSend()
	}()
	if err := recvWithin(t, sent, "the client's sends"); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want OK", err)
	}
}

func TestGRPCConcurrentStreams(t *testing.T) {
	ts := startServer(t, Config{})
	cc := dial(t, ts.addr)
	ctx := testContext(t)
	const streams, messages = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for s := range streams {
		wg.Go(func() {
			cs, err := cc.NewStream(ctx, bidiDesc, echoMethod)
			if err != nil {
				errs <- err
				return
			}
			for m := range messages {
				want := fmt.Sprintf("stream %d message %d", s, m)
				if err := cs.SendMsg(wrapperspb.String(want)); err != nil {
					errs <- err
					return
				}
				got := new(wrapperspb.StringValue)
				if err := cs.RecvMsg(got); err != nil {
					errs <- err
					return
				}
				if got.GetValue() != want {
					errs <- fmt.Errorf("got %q, want %q", got.GetValue(), want)
					return
				}
			}
			_ = cs.CloseSend()
			if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
				errs <- fmt.Errorf("stream %d did not end OK: %v", s, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestGRPCRequestMetadataReachesHandler(t *testing.T) {
	type seen struct {
		md, own metadata.MD
		peer    *peer.Peer
		method  string
	}
	got := make(chan seen, 1)
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		p, _ := peer.FromContext(ss.Context())
		method, _ := grpc.Method(ss.Context())
		// What the hub keeps instead of a copy.
		var own metadata.MD
		if in, ok := grpc.ServerTransportStreamFromContext(ss.Context()).(interface{ IncomingMetadata() metadata.MD }); ok {
			own = in.IncomingMetadata()
		}
		got <- seen{md, own, p, method}
		return nil
	}}})
	cc := dial(t, ts.addr)
	// Binary values are not text: bytes that are neither UTF-8 nor
	// printable, and one whose base64 needs padding.
	bin := string([]byte{0x00, 0xff, 0xfe, '\n', 0x80})
	ctx := metadata.AppendToOutgoingContext(testContext(t),
		"x-plain", "value one",
		"x-plain", "value two",
		"x-token-bin", bin,
		"x-short-bin", "a",
	)
	cs := openStream(t, ctx, cc, echoMethod)
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want OK", err)
	}
	s := recvWithin(t, got, "the handler's call")
	md := s.md
	// What grpc-go's context gives a handler besides metadata.
	if s.method != echoMethod {
		t.Errorf("grpc.Method is %q, want %q", s.method, echoMethod)
	}
	if s.peer == nil || s.peer.Addr == nil || !strings.HasPrefix(s.peer.Addr.String(), "127.0.0.1:") {
		t.Errorf("the peer is %v, want the client's 127.0.0.1 address", s.peer)
	}
	for key, want := range map[string][]string{
		"x-plain":     {"value one", "value two"},
		"x-token-bin": {bin},
		"x-short-bin": {"a"},
	} {
		if v := md.Get(key); !slices.Equal(v, want) {
			t.Errorf("metadata %q is %q, want %q", key, v, want)
		}
	}
	// grpc-go shows these to handlers too; the transport's own headers it
	// does not.
	if v := md.Get("content-type"); len(v) != 1 || !strings.HasPrefix(v[0], "application/grpc") {
		t.Errorf("content-type is %q, want application/grpc", v)
	}
	if v := md.Get(":authority"); len(v) != 1 {
		t.Errorf(":authority is %q, want one value", v)
	}
	for _, reserved := range []string{"te", "grpc-timeout", ":path", ":method"} {
		if v := md.Get(reserved); len(v) > 0 {
			t.Errorf("metadata has the transport's %q: %q", reserved, v)
		}
	}
	// The transport stream's own metadata is what the copy was made of.
	if !reflect.DeepEqual(s.own, md) {
		t.Errorf("IncomingMetadata is %v, want what FromIncomingContext gives, %v", s.own, md)
	}
}

// echoedStream opens a stream of echoMethod on ts and has one message
// echoed on it.
func echoedStream(t *testing.T, ts *testServer) grpc.ClientStream {
	t.Helper()
	cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
	if err := cs.SendMsg(wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); err != nil {
		t.Fatalf("the echo: %v", err)
	}
	return cs
}

func TestGRPCHeaderAndTrailerReachClient(t *testing.T) {
	bin := string([]byte{0x01, 0x00, 0xff})
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		// Both ways of setting them: the stream's own methods, and the
		// grpc package's through the context.
		if err := ss.SetHeader(metadata.Pairs("x-header", "from SetHeader")); err != nil {
			return err
		}
		if err := grpc.SetHeader(ss.Context(), metadata.Pairs("x-header-bin", bin)); err != nil {
			return err
		}
		ss.SetTrailer(metadata.Pairs("x-trailer", "from SetTrailer"))
		if err := grpc.SetTrailer(ss.Context(), metadata.Pairs("x-trailer-bin", bin)); err != nil {
			return err
		}
		return echoHandler(ss)
	}}})
	cs := echoedStream(t, ts)
	header, err := cs.Header()
	if err != nil {
		t.Fatal(err)
	}
	if v := header.Get("x-header"); !slices.Equal(v, []string{"from SetHeader"}) {
		t.Errorf("header x-header is %q", v)
	}
	if v := header.Get("x-header-bin"); !slices.Equal(v, []string{bin}) {
		t.Errorf("header x-header-bin is %q, want %q", v, bin)
	}
	_ = cs.CloseSend()
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want OK", err)
	}
	trailer := cs.Trailer()
	if v := trailer.Get("x-trailer"); !slices.Equal(v, []string{"from SetTrailer"}) {
		t.Errorf("trailer x-trailer is %q", v)
	}
	if v := trailer.Get("x-trailer-bin"); !slices.Equal(v, []string{bin}) {
		t.Errorf("trailer x-trailer-bin is %q, want %q", v, bin)
	}
}

// A handler that sets header metadata and fails before sending a message
// still has its header delivered as a header: grpc-go's server sends it in
// a HEADERS frame of its own rather than folding it into the trailers.
func TestGRPCHeaderOfHandlerThatFailsBeforeSendingReachesClient(t *testing.T) {
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		if err := ss.SetHeader(metadata.Pairs("x-header", "h")); err != nil {
			return err
		}
		return status.Error(codes.NotFound, "no such room")
	}}})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, echoMethod)
	header, err := cs.Header()
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, cs.RecvMsg(new(wrapperspb.StringValue)), codes.NotFound)
	if v := header.Get("x-header"); !slices.Equal(v, []string{"h"}) {
		t.Fatalf("header x-header is %q, want [h]; trailer is %v", v, cs.Trailer())
	}
}

// Metadata that cannot be an HTTP/2 field (an upper-case key set without
// metadata.Pairs, a value with a newline) must not break the header block
// for the rest: the key is lower-cased, the bad value left out.
func TestGRPCHeaderMetadataThatCannotBeAFieldIsNotFatal(t *testing.T) {
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		if err := ss.SetHeader(metadata.MD{"X-Mixed-Case": {"kept"}, "x-bad-value": {"line\nbreak"}}); err != nil {
			return err
		}
		return echoHandler(ss)
	}}})
	cs := echoedStream(t, ts)
	header, err := cs.Header()
	if err != nil {
		t.Fatal(err)
	}
	if v := header.Get("x-mixed-case"); !slices.Equal(v, []string{"kept"}) {
		t.Errorf("x-mixed-case is %q, want [kept]", v)
	}
	if v := header.Get("x-bad-value"); len(v) > 0 {
		t.Errorf("x-bad-value went out as %q", v)
	}
}

func TestGRPCHandlerErrorStatusReachesClientExactly(t *testing.T) {
	// Bytes grpc-message must percent-encode: non-ASCII, '%', controls;
	// and details, which travel in grpc-status-details-bin.
	const msg = "salle « café » pleine à 100% — réessayez\n\t%41"
	detail := wrapperspb.String("room-42")
	want, err := status.New(codes.FailedPrecondition, msg).WithDetails(detail)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(grpc.ServerStream) error {
		return want.Err()
	}}})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, echoMethod)
	got := wantCode(t, cs.RecvMsg(new(wrapperspb.StringValue)), codes.FailedPrecondition)
	if got.Message() != msg {
		t.Errorf("message is %q, want %q", got.Message(), msg)
	}
	if d := got.Details(); len(d) != 1 || !proto.Equal(d[0].(proto.Message), detail) {
		t.Errorf("details are %v, want [%v]", d, detail)
	}
}

// The same status, after messages went out: then it travels in trailers
// of their own rather than a trailers-only response.
func TestGRPCHandlerErrorAfterMessagesReachesClient(t *testing.T) {
	const msg = "ünïcode 50% off"
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		if err := ss.SendMsg(wrapperspb.String("first")); err != nil {
			return err
		}
		return status.Error(codes.Aborted, msg)
	}}})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, echoMethod)
	got := new(wrapperspb.StringValue)
	if err := cs.RecvMsg(got); err != nil || got.GetValue() != "first" {
		t.Fatalf("first message: %q, %v", got.GetValue(), err)
	}
	s := wantCode(t, cs.RecvMsg(got), codes.Aborted)
	if s.Message() != msg {
		t.Errorf("message is %q, want %q", s.Message(), msg)
	}
}

func TestGRPCHandlerPanicBecomesInternal(t *testing.T) {
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		m := new(wrapperspb.StringValue)
		if err := ss.RecvMsg(m); err != nil {
			return err
		}
		if m.GetValue() == "boom" {
			panic("handler blew up")
		}
		return echoHandler(&replayStream{ServerStream: ss, first: m})
	}}})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, echoMethod)
	if err := cs.SendMsg(wrapperspb.String("boom")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, cs.RecvMsg(new(wrapperspb.StringValue)), codes.Internal)
	// The connection survives a handler's panic.
	if _, err := echoOnce(testContext(t), cc, "still there"); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
}

func TestGRPCClientCancelEndsHandlerContext(t *testing.T) {
	handler, started, ended := waitForContextEnd()
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: handler}})
	cc := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(testContext(t))
	cs := openStream(t, ctx, cc, echoMethod)
	// The headers go with the first message, or on their own with
	// Header(): the handler must be running before the cancel.
	if err := cs.SendMsg(wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	recvWithin(t, started, "the handler's start")
	cancel()
	if err := recvWithin(t, ended, "the end of the handler's context"); !errors.Is(err, context.Canceled) {
		t.Fatalf("handler's context ended with %v, want context.Canceled", err)
	}
	wantCode(t, cs.RecvMsg(new(wrapperspb.StringValue)), codes.Canceled)
}

func TestGRPCClientDeadlineBecomesDeadlineExceeded(t *testing.T) {
	type seen struct {
		hasDeadline bool
		deadline    time.Time
	}
	saw := make(chan seen, 1)
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		d, ok := ss.Context().Deadline()
		saw <- seen{ok, d}
		// Only the deadline (or the client's reset at it) ends this.
		<-ss.Context().Done()
		return ss.Context().Err()
	}}})
	cc := dial(t, ts.addr)
	const timeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	clientDeadline, _ := ctx.Deadline()
	cs := openStream(t, ctx, cc, echoMethod)
	wantCode(t, cs.RecvMsg(new(wrapperspb.StringValue)), codes.DeadlineExceeded)
	s := recvWithin(t, saw, "the handler's call")
	if !s.hasDeadline {
		t.Fatal("the handler's context has no deadline: grpc-timeout was ignored")
	}
	// The server's deadline is the client's, less what grpc-timeout's
	// rounding takes off, plus the request's trip.
	if s.deadline.After(clientDeadline.Add(waitLimit)) {
		t.Fatalf("the handler's deadline %v is far after the client's %v", s.deadline, clientDeadline)
	}
}

func TestGRPCMessageOverMaxRecvIsResourceExhausted(t *testing.T) {
	const limit = 1 << 20
	ts := startServer(t, Config{MaxRecvMessageBytes: limit})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, echoMethod)
	// One message at the limit is fine; the next, one byte over, is not.
	// The wrapper adds a few bytes of its own to the payload.
	atLimit := strings.Repeat("a", limit-8)
	if err := cs.SendMsg(wrapperspb.String(atLimit)); err != nil {
		t.Fatal(err)
	}
	got := new(wrapperspb.StringValue)
	if err := cs.RecvMsg(got); err != nil || got.GetValue() != atLimit {
		t.Fatalf("a message under the limit: %d bytes back, %v", len(got.GetValue()), err)
	}
	// The send may fail once the server has ended the stream: the status
	// is what RecvMsg returns.
	_ = cs.SendMsg(wrapperspb.String(strings.Repeat("b", limit+1)))
	s := wantCode(t, cs.RecvMsg(got), codes.ResourceExhausted)
	if !strings.Contains(s.Message(), "larger than max") {
		t.Errorf("message %q does not say why", s.Message())
	}
	// Only that stream failed.
	if _, err := echoOnce(testContext(t), cc, "small"); err != nil {
		t.Fatalf("a new stream after: %v", err)
	}
}

func TestGRPCHealthCheckThroughFallback(t *testing.T) {
	ts := startServer(t, Config{})
	cc := dial(t, ts.addr)
	resp, err := healthpb.NewHealthClient(cc).Check(testContext(t), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health is %v, want SERVING", resp.GetStatus())
	}
}

// Reflection is a bidi stream served by the grpc.Server: streaming through
// the fallback, both ways, on the same connection as the transport's own.
func TestGRPCReflectionStreamThroughFallback(t *testing.T) {
	ts := startServer(t, Config{})
	cc := dial(t, ts.addr)
	ctx := testContext(t)
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
		}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		if !strings.Contains(strings.Join(names, ","), "grpc.health.v1.Health") {
			t.Fatalf("reflection lists %v, without the health service", names)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("reflection stream ended with %v, want OK", err)
	}
	if _, err := echoOnce(ctx, cc, "alongside"); err != nil {
		t.Fatal(err)
	}
}

// A grpc.Server that has stopped writes nothing for a request it gets
// through ServeHTTP; the client must still get a status, not a stream
// without one.
func TestGRPCFallbackServerStoppedIsUnavailable(t *testing.T) {
	gs := newFallbackGRPCServer(t)
	ts := startServer(t, Config{Fallback: gs})
	cc := dial(t, ts.addr)
	gs.Stop()
	_, err := healthpb.NewHealthClient(cc).Check(testContext(t), &healthpb.HealthCheckRequest{})
	wantCode(t, err, codes.Unavailable)
	// The transport's own streams do not depend on it.
	if _, err := echoOnce(testContext(t), cc, "still served"); err != nil {
		t.Fatal(err)
	}
}

func TestGRPCUnknownMethodIsUnimplemented(t *testing.T) {
	ts := startServer(t, Config{})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, testService+"NoSuchMethod")
	_ = cs.SendMsg(wrapperspb.String("x"))
	_ = cs.CloseSend()
	wantCode(t, cs.RecvMsg(new(wrapperspb.StringValue)), codes.Unimplemented)
}

// The same while the client still has its side open, as a bidi client
// does until it is done: the grpc.Server writes the status and then closes
// the request body and waits for its reader, which the body's Close must
// wake.
func TestGRPCUnknownMethodIsUnimplementedBeforeClientHalfCloses(t *testing.T) {
	ts := startServer(t, Config{})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, testService+"NoSuchMethod")
	_ = cs.SendMsg(wrapperspb.String("x"))
	wantCode(t, cs.RecvMsg(new(wrapperspb.StringValue)), codes.Unimplemented)
}

func TestGRPCGracefulStopFinishesOpenStreamAndRefusesNewOnes(t *testing.T) {
	ts := startServer(t, Config{})
	cc := dial(t, ts.addr)
	ctx := testContext(t)
	cs := openStream(t, ctx, cc, echoMethod)
	roundTrip := func(msg string) {
		t.Helper()
		if err := cs.SendMsg(wrapperspb.String(msg)); err != nil {
			t.Fatal(err)
		}
		got := new(wrapperspb.StringValue)
		if err := cs.RecvMsg(got); err != nil || got.GetValue() != msg {
			t.Fatalf("echo of %q: %q, %v", msg, got.GetValue(), err)
		}
	}
	roundTrip("before")

	stopped := make(chan struct{})
	go func() {
		ts.GracefulStop()
		close(stopped)
	}()
	// The client leaves READY when GOAWAY arrives.
	for s := cc.GetState(); s == connectivity.Ready; s = cc.GetState() {
		if !cc.WaitForStateChange(ctx, s) {
			t.Fatal("the client never saw GOAWAY")
		}
	}
	select {
	case <-stopped:
		t.Fatal("GracefulStop returned while a stream was open")
	default:
	}
	// New streams are refused: the listener is closed, and so is the
	// draining connection to them.
	if _, err := echoOnce(ctx, cc, "new"); status.Code(err) != codes.Unavailable {
		t.Fatalf("a new stream during GracefulStop: %v, want Unavailable", err)
	}
	// The open stream goes on until it ends.
	roundTrip("during")
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		t.Fatalf("the open stream ended with %v, want OK", err)
	}
	recvWithin(t, stopped, "GracefulStop's return after the last stream")
	recvWithin(t, ts.serveDone, "Serve's return")
	if ts.serveErr != nil {
		t.Fatalf("Serve returned %v, want nil", ts.serveErr)
	}
}

func TestGRPCStopEndsOpenStreams(t *testing.T) {
	handlerDone := make(chan error, 1)
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		err := echoHandler(ss)
		handlerDone <- err
		return err
	}}})
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, echoMethod)
	if err := cs.SendMsg(wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); err != nil {
		t.Fatal(err)
	}
	ts.Stop()
	err := cs.RecvMsg(new(wrapperspb.StringValue))
	if c := status.Code(err); c != codes.Unavailable && c != codes.Canceled {
		t.Fatalf("the open stream got %v after Stop, want Unavailable or Canceled", err)
	}
	if err := recvWithin(t, handlerDone, "the handler's return"); err == nil {
		t.Fatal("the handler's read succeeded after Stop")
	}
}

func TestServeAfterStopFails(t *testing.T) {
	ts := startServer(t, Config{})
	ts.Stop()
	lis := mustListen(t)
	if err := ts.Serve(lis); err == nil {
		t.Fatal("Serve after Stop returned nil, want an error")
	}
	// Serve closed the listener it refused.
	if _, err := lis.Accept(); err == nil {
		t.Fatal("the refused listener still accepts")
	}
}

// replayStream hands its first message to the first RecvMsg, then reads
// the stream: a handler that looked at a message can pass it on.
type replayStream struct {
	grpc.ServerStream
	first proto.Message
}

func (r *replayStream) RecvMsg(m any) error {
	if r.first == nil {
		return r.ServerStream.RecvMsg(m)
	}
	proto.Merge(m.(proto.Message), r.first)
	r.first = nil
	return nil
}

func TestServeReturnsListenerError(t *testing.T) {
	s := NewServer(Config{Codec: protoCodec(), Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(s.Stop)
	lis := mustListen(t)
	served := make(chan error, 1)
	go func() { served <- s.Serve(lis) }()
	waitServing(t, lis.Addr().String())
	// Closed under it, not by Stop: Serve reports that.
	_ = lis.Close()
	if err := recvWithin(t, served, "Serve's return"); err == nil {
		t.Fatal("Serve returned nil when its listener failed")
	}
}

// GracefulStop returns once every handler has, as grpc.Server's does: a
// handler still cleaning up after its client went holds it.
func TestGRPCGracefulStopWaitsForHandlers(t *testing.T) {
	started := make(chan struct{})
	var finished atomic.Bool
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		close(started)
		_ = ss.RecvMsg(new(wrapperspb.StringValue)) // returns when the client resets
		time.Sleep(200 * time.Millisecond)
		finished.Store(true)
		return nil
	}}})
	ctx, cancel := context.WithCancel(testContext(t))
	cs := openStream(t, ctx, dial(t, ts.addr), echoMethod)
	if err := cs.SendMsg(wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	recvWithin(t, started, "the handler's start")
	cancel()
	ts.GracefulStop()
	if !finished.Load() {
		t.Fatal("GracefulStop returned before the handler did")
	}
}
