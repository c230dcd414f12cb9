package client_test

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/roomcast/roomcast/client"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// reasons records OnDisconnect calls.
func reasons(s *client.Socket) <-chan string {
	ch := make(chan string, 10)
	s.OnDisconnect(func(reason string) { ch <- reason })
	return ch
}

func wantReason(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("disconnect reason %q, want %q", got, want)
		}
	case <-time.After(testkit.Timeout):
		t.Fatalf("no disconnect within %v, want %q", testkit.Timeout, want)
	}
}

func TestServerKickReachesOnDisconnect(t *testing.T) {
	srv := testkit.Start(t, nil)
	s, _ := connect(t, srv, "/")
	got := reasons(s)
	srv.Of("/").Socket(s.ID()).Disconnect("")
	wantReason(t, got, server.ReasonServerNamespaceDisconnect)
	if s.Connected() || s.ID() != "" {
		t.Fatalf("after a kick: connected %v, id %q", s.Connected(), s.ID())
	}
	if err := s.Emit(ctxFor(t), "x", nil); !errors.Is(err, client.ErrNotConnected) {
		t.Fatalf("emit after a kick: %v", err)
	}
}

func TestClientDisconnectAndReconnect(t *testing.T) {
	srv := testkit.Start(t, nil)
	s, _ := connect(t, srv, "/", "again")
	got := reasons(s)
	first := s.ID()
	if err := s.Disconnect(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	wantReason(t, got, client.ReasonClientDisconnect)
	if srv.Of("/").Socket(first) != nil {
		t.Fatalf("the server still has socket %s", first)
	}
	// Handlers survive; the new connection has a new sid.
	if err := s.Connect(ctxFor(t), nil); err != nil {
		t.Fatal(err)
	}
	if s.ID() == first || s.ID() == "" {
		t.Fatalf("reconnected with sid %q (was %q)", s.ID(), first)
	}
	if _, err := srv.Of("/").Emit("again", 1); err != nil {
		t.Fatal(err)
	}
}

func TestServerShutdownEndsClient(t *testing.T) {
	srv := testkit.Start(t, nil)
	c := dial(t, srv)
	s, err := c.Connect(ctxFor(t), "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := reasons(s)
	srv.Shutdown()
	wantReason(t, got, server.ReasonServerShuttingDown)
	select {
	case <-c.Done():
	case <-time.After(testkit.Timeout):
		t.Fatal("the client did not notice the stream's end")
	}
	if err := c.Err(); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Err() = %v, want ErrClosed", err)
	}
	if err := s.Connect(ctxFor(t), nil); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("connect after the end: %v, want ErrClosed", err)
	}
}

func TestCloseRunsHooksAndLeavesNoGoroutines(t *testing.T) {
	srv := testkit.Start(t, nil)
	before := goleak.IgnoreCurrent()

	c, err := client.Dial(ctxFor(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Socket("/")
	got := reasons(s)
	s.On("tick", func(e *client.Event) (any, error) { return nil, nil })
	if err := s.Connect(ctxFor(t), nil); err != nil {
		t.Fatal(err)
	}
	join(t, s, "room")
	for i := range 100 {
		if _, err := srv.Of("/").To("room").Emit("tick", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	wantReason(t, got, client.ReasonClientDisconnect)
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Emit(ctxFor(t), "x", nil); err == nil {
		t.Fatal("emit after Close succeeded")
	}
	// The server, still running, keeps its writers' drain goroutines a
	// while: they are the server's, not the client's.
	goleak.VerifyNone(t, before, goleak.IgnoreAnyFunction("github.com/roomcast/roomcast/server.(*drainers).loop"))
}
