package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// parkingEcho is echoHandler written to park after idle without a
// message: "fail" ends the stream with that status instead. Reads of one
// stream that overlap, which two goroutines running its handler at once
// would make, are counted in overlaps, when given.
func parkingEcho(idle time.Duration, overlaps *atomic.Int32) StreamHandler {
	var serve func(ss grpc.ServerStream, reading *atomic.Int32) error
	serve = func(ss grpc.ServerStream, reading *atomic.Int32) error {
		parker := ss.(interface {
			WaitOrPark(time.Duration, func() error) bool
		})
		for {
			if parker.WaitOrPark(idle, func() error { return serve(ss, reading) }) {
				return ErrParked
			}
			if reading.Add(1) > 1 && overlaps != nil {
				overlaps.Add(1)
			}
			m := new(wrapperspb.StringValue)
			err := ss.RecvMsg(m)
			reading.Add(-1)
			if errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			if m.GetValue() == "fail" {
				return status.Error(codes.FailedPrecondition, "asked to fail")
			}
			if err := ss.SendMsg(m); err != nil {
				return err
			}
		}
	}
	return func(ss grpc.ServerStream) error { return serve(ss, new(atomic.Int32)) }
}

// handlerGoroutines counts the goroutines running a parkingEcho.
func handlerGoroutines() int {
	var b strings.Builder
	_ = pprofGoroutines(&b)
	// The handler may be inlined into its caller: the name ends the same.
	return strings.Count(b.String(), "parkingEcho.func1(")
}

// waitHandlers waits until n goroutines run a parkingEcho.
func waitHandlers(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for handlerGoroutines() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d handler goroutines after %v, want %d", handlerGoroutines(), waitLimit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startParkingEcho(t testing.TB) *testServer {
	return startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: parkingEcho(20*time.Millisecond, nil)}})
}

// What the other tests count when they see no handler goroutine.
func TestHandlerGoroutinesSeesAWaitingHandler(t *testing.T) {
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: parkingEcho(time.Hour, nil)}})
	cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
	echo(t, cs, "hello")
	if n := handlerGoroutines(); n != 1 {
		t.Fatalf("%d handler goroutines, want 1 waiting for a message", n)
	}
}

// A handler that parks has no goroutine until its client sends again,
// and goes on where it stopped, every time; its final result is the
// stream's status.
func TestParkedHandlerResumesOnEachMessage(t *testing.T) {
	ts := startParkingEcho(t)
	cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
	for range 3 {
		waitHandlers(t, 0)
		echo(t, cs, "hello")
	}
	waitHandlers(t, 0)
	if err := cs.SendMsg(wrapperspb.String("fail")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, cs.RecvMsg(new(wrapperspb.StringValue)), codes.FailedPrecondition)
}

func TestParkedHandlerEndsOKWhenClientHalfCloses(t *testing.T) {
	ts := startParkingEcho(t)
	cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
	echo(t, cs, "hello")
	waitHandlers(t, 0)
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend: %v, want the stream to end OK", err)
	}
}

// A client that goes away while the handler is parked resumes it: the
// handler sees the end, returns, and GracefulStop has nothing to wait for.
func TestParkedHandlerSeesClientGo(t *testing.T) {
	ts := startParkingEcho(t)
	cc := dial(t, ts.addr)
	cs := openStream(t, testContext(t), cc, echoMethod)
	echo(t, cs, "hello")
	waitHandlers(t, 0)
	_ = cc.Close()
	stopped := make(chan struct{})
	go func() { ts.GracefulStop(); close(stopped) }()
	recvWithin(t, stopped, "GracefulStop's return")
}

// GracefulStop waits for a parked handler's stream like any other, and
// Stop ends it: the handler is resumed and returns.
func TestStopsWithParkedHandlers(t *testing.T) {
	ts := startParkingEcho(t)
	cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
	echo(t, cs, "hello")
	waitHandlers(t, 0)
	stopped := make(chan struct{})
	go func() { ts.GracefulStop(); close(stopped) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-stopped:
		t.Fatal("GracefulStop returned with a parked handler's stream open")
	default:
	}
	echo(t, cs, "after the GOAWAY")
	ts.Stop()
	recvWithin(t, stopped, "GracefulStop's return after Stop")
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); err == nil {
		t.Fatal("the stream outlived Stop")
	}
	waitHandlers(t, 0)
}

// A parked handler whose stream passes its deadline is resumed by the
// context alone, and the stream ends DEADLINE_EXCEEDED.
func TestParkedHandlerResumedByItsDeadline(t *testing.T) {
	ts := startParkingEcho(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cs := openStream(t, ctx, dial(t, ts.addr), echoMethod)
	echo(t, cs, "hello")
	waitHandlers(t, 0)
	wantCode(t, cs.RecvMsg(new(wrapperspb.StringValue)), codes.DeadlineExceeded)
	stopped := make(chan struct{})
	go func() { ts.GracefulStop(); close(stopped) }()
	recvWithin(t, stopped, "GracefulStop's return")
}

// A message of many DATA frames reaches a parked handler whole: the
// frames before the last are credited without waking it.
func TestParkedHandlerGetsALargeMessage(t *testing.T) {
	ts := startParkingEcho(t)
	cs := openStream(t, testContext(t), dial(t, ts.addr), echoMethod)
	echo(t, cs, "hello")
	waitHandlers(t, 0)
	echo(t, cs, strings.Repeat("a", 1<<20))
}

// Streams whose pauses straddle the park time, many at once: every
// message comes back, and no stream is ever read by two goroutines.
func TestHandlersParkingAndWakingAtOnce(t *testing.T) {
	const streams, rounds = 8, 100
	var overlaps atomic.Int32
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: parkingEcho(5*time.Millisecond, &overlaps)}})
	cc := dial(t, ts.addr)
	var wg sync.WaitGroup
	for i := range streams {
		cs := openStream(t, testContext(t), cc, echoMethod)
		wg.Go(func() {
			for r := range rounds {
				time.Sleep(time.Duration((i*7+r*13)%11) * time.Millisecond)
				msg := fmt.Sprintf("stream %d round %d", i, r)
				if err := cs.SendMsg(wrapperspb.String(msg)); err != nil {
					t.Error(err)
					return
				}
				got := new(wrapperspb.StringValue)
				if err := cs.RecvMsg(got); err != nil || got.GetValue() != msg {
					t.Errorf("%s: got %q, %v", msg, got.GetValue(), err)
					return
				}
			}
			_ = cs.CloseSend()
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		t.Fatalf("%d reads overlapped another of the same stream", n)
	}
}
