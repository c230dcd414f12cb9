package transport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the "proto" CodecV2
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a
// handler, a connection's reader or a fallback request that outlives its
// server is a leak in the transport.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit bounds every "it did not happen" wait: long enough for a slow
// race-enabled run, short enough that a hang fails rather than stalls.
const waitLimit = 5 * time.Second

// Full method names of the test's own streams. They are made up: nothing
// but these tests knows them.
const (
	testService = "/roomcast.transport.test.Test/"
	// echoMethod answers every message with itself, until the client
	// half-closes.
	echoMethod = testService + "Echo"
)

// testServer is a transport.Server on a random local port, with the
// grpc.Server behind it when the test did not bring a fallback.
type testServer struct {
	*Server
	addr string
	// serveDone is closed when Serve has returned serveErr.
	serveDone chan struct{}
	serveErr  error
}

// startServer serves cfg on 127.0.0.1:0 until the test ends. Unset fields
// get test defaults: the echo stream, the proto codec, a quiet logger and a
// grpc.Server fallback with health and reflection.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	if cfg.Streams == nil {
		cfg.Streams = map[string]StreamHandler{echoMethod: echoHandler}
	}
	if cfg.Codec == nil {
		cfg.Codec = protoCodec()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Fallback == nil {
		cfg.Fallback = newFallbackGRPCServer(t)
	}
	lis := mustListen(t)
	ts := &testServer{Server: NewServer(cfg), addr: lis.Addr().String(), serveDone: make(chan struct{})}
	go func() {
		ts.serveErr = ts.Serve(lis)
		close(ts.serveDone)
	}()
	waitServing(t, ts.addr)
	t.Cleanup(func() {
		// Stop is a no-op after a test's own Stop or GracefulStop. A
		// connection whose end went unnoticed would hold it forever.
		stopped := make(chan struct{})
		go func() { ts.Stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(waitLimit):
			t.Fatalf("Stop did not return within %v", waitLimit)
		}
		select {
		case <-ts.serveDone:
			if ts.serveErr != nil {
				t.Errorf("Serve returned %v after Stop, want nil", ts.serveErr)
			}
		case <-time.After(waitLimit):
			t.Errorf("Serve did not return within %v of Stop", waitLimit)
		}
	})
	return ts
}

// waitServing returns once Serve is accepting on addr: the server has
// answered a preface with its SETTINGS. A test that stops the server
// before then would see Serve refuse to start instead. The probe's
// connection is over, on both sides, when it returns.
func waitServing(t testing.TB, addr string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(waitLimit))
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	var header [9]byte
	if _, err := io.ReadFull(nc, header[:]); err != nil {
		t.Fatalf("the server did not answer the preface: %v", err)
	}
	// The server closes on our EOF. Waiting for that keeps the probe out
	// of the test: a Stop right after startServer finds no connection of
	// the probe's still being set up.
	_ = nc.(*net.TCPConn).CloseWrite()
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Fatalf("the server did not close the probe connection: %v", err)
	}
}

// mustListen listens on a random local port.
func mustListen(t testing.TB) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// newFallbackGRPCServer is the grpc.Server a transport normally falls back
// to: health and reflection, stopped when the test ends.
func newFallbackGRPCServer(t testing.TB) *grpc.Server {
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer())
	reflection.Register(gs)
	t.Cleanup(gs.Stop)
	return gs
}

func protoCodec() encoding.CodecV2 { return encoding.GetCodecV2("proto") }

// dial is a grpc-go client of addr, closed when the test ends.
func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// bidiDesc describes every test stream: messages both ways.
var bidiDesc = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

// echoHandler sends every message back, then ends OK when the client
// half-closes.
func echoHandler(ss grpc.ServerStream) error {
	for {
		m := new(wrapperspb.StringValue)
		if err := ss.RecvMsg(m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := ss.SendMsg(m); err != nil {
			return err
		}
	}
}

// echoOnce opens an echo stream on cc, sends msg, and returns what comes
// back; the stream is then closed and must end OK.
func echoOnce(ctx context.Context, cc *grpc.ClientConn, msg string) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := cc.NewStream(ctx, bidiDesc, echoMethod)
	if err != nil {
		return "", err
	}
	if err := cs.SendMsg(wrapperspb.String(msg)); err != nil {
		return "", err
	}
	if err := cs.CloseSend(); err != nil {
		return "", err
	}
	got := new(wrapperspb.StringValue)
	if err := cs.RecvMsg(got); err != nil {
		return "", err
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		return "", errors.Join(errors.New("the echo stream did not end OK after its one message"), err)
	}
	return got.GetValue(), nil
}

// recvWithin waits for a value on ch, failing the test after waitLimit.
func recvWithin[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("%s did not happen within %v", what, waitLimit)
		var zero T
		return zero
	}
}

// waitForContextEnd returns a handler that closes started when it runs,
// then waits for its stream's context to end and reports how on ended.
func waitForContextEnd() (handler StreamHandler, started <-chan struct{}, ended <-chan error) {
	start := make(chan struct{})
	end := make(chan error, 1)
	return func(ss grpc.ServerStream) error {
		close(start)
		<-ss.Context().Done()
		end <- ss.Context().Err()
		return ss.Context().Err()
	}, start, end
}
