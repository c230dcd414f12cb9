//go:build linux

package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// parked counts s's parked connections.
func parked(s *Server) int {
	p := s.park.Load()
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.byFD {
		if c.parked {
			n++
		}
	}
	return n
}

// waitParked waits until n of s's connections are parked.
func waitParked(t testing.TB, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for parked(s) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections parked after %v, want %d", parked(s), waitLimit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readingGoroutines counts goroutines reading a connection's frames.
func readingGoroutines() int {
	var b strings.Builder
	_ = pprofGoroutines(&b)
	return strings.Count(b.String(), "transport.(*conn).readUntilParked")
}

// pprofGoroutines writes every goroutine's stack.
func pprofGoroutines(w io.Writer) error { return pprof.Lookup("goroutine").WriteTo(w, 2) }

// echo sends msg on cs and checks that it comes back.
func echo(t testing.TB, cs grpc.ClientStream, msg string) {
	t.Helper()
	if err := cs.SendMsg(wrapperspb.String(msg)); err != nil {
		t.Fatal(err)
	}
	got := new(wrapperspb.StringValue)
	if err := cs.RecvMsg(got); err != nil {
		t.Fatal(err)
	}
	if got.GetValue() != msg {
		t.Fatalf("echoed %q, want %q", got.GetValue(), msg)
	}
}

// An idle connection gives up its reading goroutine, and gets one back
// when the client sends again: each time, since a parked socket's
// registration fires once.
func TestIdleConnectionParksAndResumes(t *testing.T) {
	ts := startServer(t, Config{ParkAfter: 20 * time.Millisecond})
	cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
	for i := range 3 {
		echo(t, cs, fmt.Sprint("round ", i))
		waitParked(t, ts.Server, 1)
		// The goroutine that parked it returns right after.
		deadline := time.Now().Add(waitLimit)
		for readingGoroutines() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d goroutines still read a connection, want 0 while it is parked", i, readingGoroutines())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend: %v, want the stream to end OK", err)
	}
}

func TestParkAfterBelowZeroNeverParks(t *testing.T) {
	ts := startServer(t, Config{ParkAfter: -1})
	cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
	echo(t, cs, "hello")
	time.Sleep(100 * time.Millisecond)
	if n := readingGoroutines(); n != 1 || parked(ts.Server) != 0 {
		t.Fatalf("%d reading goroutines, %d parked; want 1 and 0", n, parked(ts.Server))
	}
}

// A client that goes away while its connection is parked wakes the parker
// with its end of stream: the stream's handler hears of it, and the
// connection is gone from the server.
func TestParkedConnectionClosedByClient(t *testing.T) {
	handler, started, ended := waitForContextEnd()
	ts := startServer(t, Config{ParkAfter: 20 * time.Millisecond, Streams: map[string]StreamHandler{echoMethod: handler}})
	cc := dial(t, ts.addr)
	openStream(t, testContext(t), cc, echoMethod)
	recvWithin(t, started, "the handler's start")
	waitParked(t, ts.Server, 1)
	_ = cc.Close()
	if err := recvWithin(t, ended, "the handler's context end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("handler context ended with %v, want canceled", err)
	}
	waitConnsAtMost(t, ts.Server, 0)
}

// A client that stops answering pings is closed by the keepalive while
// parked; with no goroutine of its own left, the close ends its reading.
func TestKeepaliveClosesParkedConnection(t *testing.T) {
	ts := startServer(t, Config{ParkAfter: 20 * time.Millisecond, KeepaliveTime: 200 * time.Millisecond, KeepaliveTimeout: 200 * time.Millisecond})
	c := dialRaw(t, ts.addr)
	c.handshake()
	waitParked(t, ts.Server, 1)
	var pings int
	for _, f := range c.readUntilClosed() {
		if _, ok := f.(*http2.PingFrame); ok {
			pings++
		}
	}
	if pings != 1 {
		t.Fatalf("%d pings before the close, want 1", pings)
	}
	waitConnsAtMost(t, ts.Server, 0)
	if parked(ts.Server) != 0 {
		t.Fatal("a closed connection is still parked")
	}
}

func TestStopEndsParkedConnections(t *testing.T) {
	ts := startServer(t, Config{ParkAfter: 20 * time.Millisecond})
	var streams []grpc.ClientStream
	for range 5 {
		cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
		echo(t, cs, "hello")
		streams = append(streams, cs)
	}
	waitParked(t, ts.Server, 5)
	ts.Stop()
	for _, cs := range streams {
		if err := cs.RecvMsg(new(wrapperspb.StringValue)); err == nil {
			t.Fatal("a stream outlived Stop")
		}
	}
	if parked(ts.Server) != 0 {
		t.Fatal("connections still parked after Stop")
	}
}

// GracefulStop's GOAWAY goes out while the connection is parked, and the
// stream the client then finishes still ends OK.
func TestGracefulStopWaitsForParkedConnection(t *testing.T) {
	ts := startServer(t, Config{ParkAfter: 20 * time.Millisecond})
	cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
	echo(t, cs, "hello")
	waitParked(t, ts.Server, 1)
	stopped := make(chan struct{})
	go func() { ts.GracefulStop(); close(stopped) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-stopped:
		t.Fatal("GracefulStop returned with a stream open")
	default:
	}
	echo(t, cs, "after the GOAWAY")
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend: %v, want the stream to end OK", err)
	}
	recvWithin(t, stopped, "GracefulStop's return")
}

// Many clients that pause around the park time, so that their connections
// park, wake and park again while others do the same: every message still
// comes back, in order, to the client that sent it.
func TestConnectionsParkingAndWakingAtOnce(t *testing.T) {
	const clients, rounds = 20, 15
	ts := startServer(t, Config{ParkAfter: 5 * time.Millisecond})
	var wg sync.WaitGroup
	for i := range clients {
		cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
		wg.Go(func() {
			for r := range rounds {
				msg := fmt.Sprintf("client %d round %d", i, r)
				if err := cs.SendMsg(wrapperspb.String(msg)); err != nil {
					t.Error(err)
					return
				}
				got := new(wrapperspb.StringValue)
				if err := cs.RecvMsg(got); err != nil || got.GetValue() != msg {
					t.Errorf("client %d round %d: %q, %v", i, r, got.GetValue(), err)
					return
				}
				time.Sleep(time.Duration((i+r)%3) * 5 * time.Millisecond)
				runtime.Gosched()
			}
			_ = cs.CloseSend()
		})
	}
	wg.Wait()
}
