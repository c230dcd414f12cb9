package e2e

import (
	"context"
	"errors"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// parkTime is a little over how long roomcast's transport lets a
// connection be idle before its reader goroutine goes.
const parkTime = 1500 * time.Millisecond

// readers counts the goroutines of the in-process server that read a
// connection of its transport, or a client's stream.
func readers() int {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	return strings.Count(b.String(), "transport.(*conn).readUntilParked") +
		strings.Count(b.String(), "server.(*client).readLoop")
}

// Clients quiet for longer than the park time have no goroutine reading
// their connections or their streams; events still reach them, and what
// they send next is read and answered, each time they have been quiet.
func TestQuietClientsStillReceiveAndAreHeard(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/", "general")
	bob, bobSID := connected(t, srv, "/", "general")
	for round := range 2 {
		time.Sleep(parkTime)
		if n := readers(); testkit.RoomcastTransport() && n != 0 {
			t.Fatalf("round %d: %d connection and stream readers after %v of quiet, want 0", round, n, parkTime)
		}
		alice.Send(broadcast(1, "/", "typing", "alice", "general"))
		wantEvent(t, bob, "/", "typing", "alice", aliceSID)
		wantReply(t, alice, 1, "")

		time.Sleep(parkTime)
		bob.Send(broadcast(2, "/", "reply", "bob", "general"))
		wantEvent(t, alice, "/", "reply", "bob", bobSID)
		wantReply(t, bob, 2, "")
		barrier(t, srv, "/", alice, bob)
	}
}

// A client whose connect middleware refused is still read by way of the
// handler's parking: quiet, it holds no reader either.
func TestQuietAfterARefusedConnect(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/private").Use(func(context.Context, *server.ConnectRequest) error { return errors.New("no") })
	})
	alice, _ := connected(t, srv, "/", "general")
	alice.Send(connectFrame(7, "/private", nil))
	for {
		if f := alice.Next(); f.GetReply().GetRef() == 7 || f.GetConnectError() != nil {
			break
		}
	}
	time.Sleep(parkTime)
	if n := readers(); testkit.RoomcastTransport() && n != 0 {
		t.Fatalf("%d readers after a refused connect and %v of quiet, want 0", n, parkTime)
	}
}

// Clients that the server or their own context ends while they are
// parked are gone from the server afterwards: the end resumes their
// handlers, which clean up. (Parallel: they run after the tests above,
// which count goroutines.)
func TestParkedClientsEnded(t *testing.T) {
	gone := func(t *testing.T, srv *testkit.Server) {
		t.Helper()
		testkit.Eventually(t, "the client's removal", func() bool { return srv.Stats().Clients == 0 })
	}
	// parked is a server with one client in a room, quiet for parkTime.
	parked := func(t *testing.T) (*testkit.Server, *testkit.Stream) {
		srv := testkit.Start(t, nil)
		alice, _ := connected(t, srv, "/", "general")
		time.Sleep(parkTime)
		return srv, alice
	}
	t.Run("by shutdown", func(t *testing.T) {
		t.Parallel()
		srv, alice := parked(t)
		srv.Shutdown()
		wantShutdown(t, alice, "/")
		gone(t, srv)
	})
	t.Run("by their cancel", func(t *testing.T) {
		t.Parallel()
		srv, alice := parked(t)
		alice.Cancel()
		gone(t, srv)
	})
	t.Run("by their half-close", func(t *testing.T) {
		t.Parallel()
		srv, alice := parked(t)
		alice.CloseSend()
		if err := alice.End(); err != nil {
			t.Fatalf("after a half-close: %v, want the stream to end OK", err)
		}
		gone(t, srv)
	})
	t.Run("by their deadline", func(t *testing.T) {
		t.Parallel()
		srv := testkit.Start(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), parkTime+time.Second)
		defer cancel()
		stream, err := roomcastv1.NewChatServiceClient(srv.Conn(t)).Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(connectFrame(1, "/", nil)); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err = stream.Recv(); err != nil {
				break
			}
		}
		wantStatus(t, err, codes.DeadlineExceeded, "")
		gone(t, srv)
	})
	t.Run("as a slow consumer", func(t *testing.T) {
		t.Parallel()
		srv := testkit.Start(t, nil, server.WithMaxQueueBytes(queueBytes), server.WithDrainTimeout(time.Second))
		slow, _ := stalled(t, srv, "feed")
		pub, _ := connected(t, srv, "/")
		time.Sleep(parkTime)
		for i := 0; srv.Stats().SlowConsumers == 0 && i < 5000; i++ {
			pub.Send(seqEvent(0, i, false, "feed"))
		}
		testkit.Eventually(t, "the slow consumer's removal", func() bool { return srv.Stats().Clients == 1 })
		slow.Resume()
		if err := slow.End(); err == nil {
			t.Fatal("the slow consumer's stream ended OK")
		}
	})
}
