package server

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A drain goroutine that finished one writer takes the next instead of a
// new goroutine starting; writers drained at once each get their own;
// every goroutine exits once idle or stopped.
func TestDrainersReuseGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := newDrainers(time.Minute)
	s := newFakeSend(t, false)
	w, _ := newTestWriter(s, 1<<20, 1<<20)
	w.drainers = d
	for i := range 5 {
		mustEnqueue(t, w, ev(t, fmt.Sprint("e", i), 0))
		waitIdle(t, w)
		waitWaiting(t, d, 1)
	}
	assertFrames(t, s, "e0", "e1", "e2", "e3", "e4")
	if n := d.started.Load(); n != 1 {
		t.Errorf("%d goroutines started for 5 drains one after the other, want 1", n)
	}

	// Writers blocked in their sends at the same time each need a goroutine.
	blocked := newFakeSend(t, true)
	before := d.started.Load()
	var ws []*writer
	for i := range 3 {
		w, _ := newTestWriter(blocked, 1<<20, 1<<20)
		w.drainers = d
		mustEnqueue(t, w, ev(t, fmt.Sprint("b", i), 0))
		ws = append(ws, w)
	}
	blocked.waitEntered(3)
	if got := d.started.Load() - before; got != 2 {
		t.Errorf("%d goroutines started for 3 writers draining at once, want 2 beside the one waiting", got)
	}
	blocked.release()
	for _, w := range ws {
		waitIdle(t, w)
	}
	waitWaiting(t, d, 3)
	d.stop()
	waitWaiting(t, d, 0)
}

// waitWaiting waits until n drain goroutines wait for work.
func waitWaiting(t *testing.T, d *drainers, n int64) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for int64(d.idle()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d drain goroutines waiting after %v, want %d", d.idle(), waitLimit, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDrainersExitWhenIdle(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := newDrainers(200 * time.Millisecond)
	s := newFakeSend(t, false)
	w, _ := newTestWriter(s, 1<<20, 1<<20)
	w.drainers = d
	mustEnqueue(t, w, ev(t, "e", 0))
	waitIdle(t, w)
	// Not stopped: the goroutine leaves on its own after the idle time,
	// and the next drain starts a new one.
	waitWaiting(t, d, 1)
	waitWaiting(t, d, 0)
	mustEnqueue(t, w, ev(t, "f", 0))
	waitIdle(t, w)
	assertFrames(t, s, "e", "f")
	if n := d.started.Load(); n != 2 {
		t.Errorf("%d goroutines started, want 2: the first exits when idle", n)
	}
	d.stop()
}
