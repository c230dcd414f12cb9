package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server/adapter"
	"github.com/roomcast/roomcast/server/adapter/memory"
)

// Both ways of serving a stream (the handler reading, or a reader beside a
// waiting handler) must end it the same way when the server ends it: the
// client's sockets are told why, and the stream's status says it too.
func TestServerEndsStreamWithItsStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		// handlerReads: grpc's transport stream writes statuses, as grpc-go's
		// does; otherwise (hidden here) a reader goroutine serves the stream.
		handlerReads bool
	}{
		{"handler reads", true},
		{"reader goroutine", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := New(WithLogger(slog.New(slog.DiscardHandler)))
			opts := srv.ServerOptions()
			if !tc.handlerReads {
				opts = append(opts, grpc.ChainStreamInterceptor(hideStatusWriter))
			}
			g := grpc.NewServer(opts...)
			srv.Register(g)
			stream := openConnected(t, g, "/")

			readers, underHandler := readLoops()
			if readers != 1 || underHandler != tc.handlerReads {
				t.Fatalf("%d reading goroutines, the handler's own: %v; want 1, %v", readers, underHandler, tc.handlerReads)
			}

			srv.Shutdown()
			f, err := stream.Recv()
			if err != nil || f.GetDisconnected().GetReason() != ReasonServerShuttingDown {
				t.Fatalf("frame after Shutdown %v, %v; want disconnected", f, err)
			}
			_, err = stream.Recv()
			if st := status.Convert(err); err == io.EOF || st.Code() != codes.Unavailable || st.Message() != ReasonServerShuttingDown {
				t.Fatalf("stream ended with %v, want UNAVAILABLE %q", err, ReasonServerShuttingDown)
			}
		})
	}
}

// openConnected serves g on a TCP port of 127.0.0.1 until the test ends,
// opens a Connect stream to it and connects to each namespace in turn.
func openConnected(t *testing.T, g *grpc.Server, namespaces ...string) roomcastv1.ChatService_ConnectClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = g.Serve(lis) }()
	t.Cleanup(func() { g.Stop(); <-served })

	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	stream, err := roomcastv1.NewChatServiceClient(cc).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		connect := &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Connect{Connect: &roomcastv1.ConnectFrame{Namespace: ns}}}
		if err := stream.Send(connect); err != nil {
			t.Fatal(err)
		}
		if f, err := stream.Recv(); err != nil || f.GetConnected() == nil {
			t.Fatalf("connect %s: %v, %v; want connected", ns, f, err)
		}
	}
	return stream
}

// hideStatusWriter gives the handler a transport stream that cannot write
// a status, as another grpc version's might not.
func hideStatusWriter(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := ss.Context()
	sts := grpc.ServerTransportStreamFromContext(ctx)
	return handler(srv, ctxStream{ss, grpc.NewContextWithServerTransportStream(ctx, plainTransportStream{sts})})
}

type plainTransportStream struct{ grpc.ServerTransportStream }

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s ctxStream) Context() context.Context { return s.ctx }

// readLoops counts the goroutines reading a client stream, and reports
// whether the last one found is a Connect handler itself.
func readLoops() (n int, inHandler bool) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "(*client).readLoop") {
			n++
			inHandler = strings.Contains(g, "chatService.Connect")
		}
	}
	return n, inHandler
}

// An adapter that panics while a client ends (a bug, but not ours to
// crash on) costs that socket only: the client's other sockets leave their
// rooms, and the stream still gets its status.
func TestClientEndSurvivesAPanickingAdapter(t *testing.T) {
	srv := New(WithLogger(slog.New(slog.DiscardHandler)), WithAdapter(panickyFactory{memory.NewFactory()}))
	srv.Of("/bad")
	stream := openConnected(t, srv.NewGRPCServer(), "/bad", "/")

	srv.Shutdown()
	var err2 error
	for err2 == nil {
		_, err2 = stream.Recv()
	}
	if st := status.Convert(err2); st.Code() != codes.Unavailable {
		t.Fatalf("stream ended with %v, want UNAVAILABLE", err2)
	}
	if n, _ := srv.Of("/").Counts(); n != 0 {
		t.Fatalf("%d sockets left in /", n)
	}
	// The status goes out last, so the rest of the end has happened.
	if n := srv.stats.endedByReason()[ReasonServerShuttingDown]; n != 1 {
		t.Fatalf("streams ended for shutting down: %d, want 1", n)
	}
}

type panickyFactory struct{ *memory.Factory }

func (f panickyFactory) New(namespace string) adapter.Adapter {
	a := f.Factory.New(namespace)
	if namespace == "/bad" {
		return panickyAdapter{a}
	}
	return a
}

type panickyAdapter struct{ adapter.Adapter }

func (panickyAdapter) DelAll(string) { panic("adapter bug") }
