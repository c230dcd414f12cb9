package e2e

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// wantShutdown reads what a client gets when the server shuts down: one
// disconnected frame per namespace, then the end of the stream.
func wantShutdown(t *testing.T, st *testkit.Stream, namespaces ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, ns := range namespaces {
		want[ns] = true
	}
	for range namespaces {
		f := st.Next()
		d := f.GetDisconnected()
		if d == nil || !want[d.Namespace] || d.Reason != server.ReasonServerShuttingDown {
			t.Fatalf("got %v, want disconnected with reason %q from one of %v", f, server.ReasonServerShuttingDown, want)
		}
		delete(want, d.Namespace)
	}
	wantStatus(t, st.End(), codes.Unavailable, server.ReasonServerShuttingDown)
}

func servingStatus(t *testing.T, srv *testkit.Server, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(srv.Conn(t)).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	return resp.Status
}

func TestShutdownTellsEveryClient(t *testing.T) {
	var calls <-chan hookCall
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/chat")
		calls = recordHooks(s, "/chat")
	})
	alice, _ := connected(t, srv, "/", "general")
	chatSID := alice.Connect("/chat")
	bob, _ := connected(t, srv, "/", "general")
	idle := srv.Open(t) // a stream with no namespace
	idle.Send(emit(1, "/", "e", nil))
	wantReply(t, idle, 1, server.CodeFailedPrecondition)

	if !srv.Ready() {
		t.Fatal("not ready before shutdown")
	}
	if got := servingStatus(t, srv, roomcastv1.ChatService_ServiceDesc.ServiceName); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v before shutdown", got)
	}

	srv.Shutdown()
	wantShutdown(t, alice, "/", "/chat")
	wantShutdown(t, bob, "/")
	wantShutdown(t, idle)
	wantHooks(t, calls, "/chat", chatSID, server.ReasonServerShuttingDown, chatSID)

	if srv.Ready() {
		t.Fatal("Ready() after shutdown")
	}
	if got := servingStatus(t, srv, ""); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health = %v after shutdown", got)
	}
	// New streams are refused.
	late := srv.Open(t)
	wantStatus(t, late.End(), codes.Unavailable, server.ReasonServerShuttingDown)
	testkit.Eventually(t, "no client left", func() bool {
		s := srv.Stats()
		return s.Clients == 0 && s.Sockets == 0
	})
}

func TestStopTellsEveryClient(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) { s.Of("/chat") })
	alice, _ := connected(t, srv, "/chat", "general")
	alice.Connect("/")
	bob, _ := connected(t, srv, "/")

	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	if err := srv.Stop(ctx, srv.Port); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	wantShutdown(t, alice, "/", "/chat")
	wantShutdown(t, bob, "/")
	if srv.Ready() {
		t.Fatal("Ready() after Stop")
	}
	// The listener is closed: a new stream cannot even start.
	stream, err := roomcastv1.NewChatServiceClient(srv.Conn(t)).Connect(ctx)
	if err == nil {
		_, err = stream.Recv()
	}
	wantStatus(t, err, codes.Unavailable, "")
	if got := srv.Stats(); got.Clients != 0 || got.Sockets != 0 {
		t.Fatalf("stats after Stop = %+v", got)
	}
}

func TestShutdownWithStalledClient(t *testing.T) {
	srv := testkit.Start(t, nil, server.WithMaxQueueBytes(queueBytes), server.WithDrainTimeout(100*time.Millisecond))
	slow, _ := stalled(t, srv, "feed")
	pub, _ := connected(t, srv, "/", "feed")

	// Fill what the stalled client can hold without making it a slow
	// consumer: volatile events are dropped once its queue is full.
	for i := 0; srv.Stats().DroppedVolatile == 0; i++ {
		if i == maxChunks*chunk {
			t.Fatal("the stalled client's queue never filled")
		}
		pub.Send(seqEvent(uint64(i+1), i, true, "feed"))
		for {
			f := pub.Next()
			if r := f.GetReply(); r != nil {
				if r.Ref != uint64(i+1) || r.Error != nil {
					t.Fatalf("reply = %v", r)
				}
				break
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	if err := srv.Stop(ctx, srv.Port); err != nil {
		t.Fatalf("Stop with a stalled client: %v", err)
	}
	// The client that reads is told, whatever the stalled one does.
	frames, err := pub.Rest()
	if n := len(frames); n == 0 || frames[n-1].GetDisconnected().GetReason() != server.ReasonServerShuttingDown {
		t.Fatalf("last frame %v, want disconnected", frames[n-1])
	}
	wantStatus(t, err, codes.Unavailable, server.ReasonServerShuttingDown)
	slow.Resume()
	if _, err := slow.Rest(); err == nil {
		t.Fatal("the stalled client's stream ended OK")
	}
	if got := srv.Stats(); got.Clients != 0 || got.Sockets != 0 {
		t.Fatalf("stats after Stop = %+v", got)
	}
}
