package server

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// waitLimit only keeps a broken writer from hanging the test run.
const waitLimit = 5 * time.Second

// fakeSend stands in for the stream's SendMsg: it decodes and keeps every
// frame, and can hold sends until released, as flow control would.
type fakeSend struct {
	t       *testing.T
	hold    chan struct{} // sends wait until it is closed; nil: never wait
	err     error         // what every send returns
	entered chan struct{} // one token per send, on entry

	mu     sync.Mutex
	frames []*roomcastv1.ServerFrame
	sizes  []int
}

func newFakeSend(t *testing.T, hold bool) *fakeSend {
	s := &fakeSend{t: t, entered: make(chan struct{}, 1024)}
	if hold {
		s.hold = make(chan struct{})
	}
	return s
}

func (s *fakeSend) send(f *encodedFrame) error {
	// Like grpc: read the bytes, then give the buffer back.
	b := append([]byte(nil), f.buf.ReadOnlyData()...)
	f.buf.Free()
	frame := new(roomcastv1.ServerFrame)
	if err := proto.Unmarshal(b, frame); err != nil {
		s.t.Errorf("the writer sent bytes that are not a ServerFrame: %v", err)
	}
	s.mu.Lock()
	s.frames = append(s.frames, frame)
	s.sizes = append(s.sizes, len(b))
	s.mu.Unlock()
	s.entered <- struct{}{}
	if s.hold != nil {
		<-s.hold
	}
	return s.err
}

func (s *fakeSend) release() { close(s.hold) }

// waitEntered waits until n more sends have started.
func (s *fakeSend) waitEntered(n int) {
	s.t.Helper()
	for range n {
		select {
		case <-s.entered:
		case <-time.After(waitLimit):
			s.t.Fatalf("the writer sent nothing within %v", waitLimit)
		}
	}
}

// got describes the frames sent: "c<ref>" for a control frame (a reply),
// the event's name for a lone event, "[a b]" for a batch.
func (s *fakeSend) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.frames))
	for i, f := range s.frames {
		switch {
		case f.GetReply() != nil:
			out[i] = fmt.Sprintf("c%d", f.GetReply().Ref)
		case f.GetEvent() != nil:
			out[i] = f.GetEvent().Event
		case f.GetEvents() != nil:
			var names []string
			for _, e := range f.GetEvents().Events {
				names = append(names, e.Event)
			}
			out[i] = "[" + strings.Join(names, " ") + "]"
		default:
			out[i] = fmt.Sprintf("unexpected %v", f)
		}
	}
	return out
}

func (s *fakeSend) frameSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.sizes...)
}

type writerProbe struct {
	overflows atomic.Int32
	errs      chan error
}

func newTestWriter(s *fakeSend, maxQueue, maxFrame int) (*writer, *writerProbe) {
	p := &writerProbe{errs: make(chan error, 16)}
	w := &writer{
		send:       s.send,
		maxQueue:   maxQueue,
		maxFrame:   maxFrame,
		onOverflow: func() { p.overflows.Add(1) },
		onError:    func(err error) { p.errs <- err },
		stats:      &stats{},
	}
	return w, p
}

func ev(t *testing.T, name string, pad int) outItem {
	t.Helper()
	b, err := proto.Marshal(&roomcastv1.Event{Event: name, Binary: make([]byte, pad)})
	if err != nil {
		t.Fatal(err)
	}
	return outItem{data: b}
}

func ctl(t *testing.T, ref uint64) outItem {
	t.Helper()
	b, err := proto.Marshal(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Reply{Reply: &roomcastv1.Reply{Ref: ref}}})
	if err != nil {
		t.Fatal(err)
	}
	return outItem{data: b, control: true}
}

func mustEnqueue(t *testing.T, w *writer, it outItem) {
	t.Helper()
	if !w.enqueue(it, false) {
		t.Fatalf("enqueue refused an item")
	}
}

// waitIdle waits until the drain goroutine has exited.
func waitIdle(t *testing.T, w *writer) {
	t.Helper()
	running, idle := w.idleSignal()
	if !running {
		return
	}
	select {
	case <-idle:
	case <-time.After(waitLimit):
		t.Fatalf("the drain goroutine did not finish within %v", waitLimit)
	}
}

func assertFrames(t *testing.T, s *fakeSend, want ...string) {
	t.Helper()
	got := s.got()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("frames = %v, want %v", got, want)
	}
}

// holdFirst queues a control frame and waits until its send has started
// and is held, so that whatever is queued next waits in one batch.
func holdFirst(t *testing.T, w *writer, s *fakeSend) {
	t.Helper()
	mustEnqueue(t, w, ctl(t, 100))
	s.waitEntered(1)
}

func TestWriterPacksEventsAndKeepsOrder(t *testing.T) {
	s := newFakeSend(t, true)
	w, _ := newTestWriter(s, 1<<20, 1<<20)
	holdFirst(t, w, s)
	for _, it := range []outItem{
		ev(t, "e1", 0), ev(t, "e2", 0), ctl(t, 1), ev(t, "e3", 0), ctl(t, 2),
		ev(t, "e4", 0), ev(t, "e5", 0), ev(t, "e6", 0),
	} {
		mustEnqueue(t, w, it)
	}
	s.release()
	waitIdle(t, w)
	assertFrames(t, s, "c100", "[e1 e2]", "c1", "e3", "c2", "[e4 e5 e6]")
	if n := w.stats.deliveries.Load(); n != 6 {
		t.Fatalf("deliveries = %d, want 6", n)
	}
	w.close(0)
}

func TestWriterRespectsMaxFrame(t *testing.T) {
	s := newFakeSend(t, true)
	// Small events, where the framing of each one is a large share.
	const maxFrame = 64
	w, _ := newTestWriter(s, 1<<20, maxFrame)
	holdFirst(t, w, s)
	var queued [][]byte
	for i := range 12 {
		it := ev(t, fmt.Sprintf("e%02d", i), 3)
		queued = append(queued, it.data)
		mustEnqueue(t, w, it)
	}
	s.release()
	waitIdle(t, w)

	frames := s.got()[1:]
	sizes := s.frameSizes()[1:]
	if len(frames) < 2 {
		t.Fatalf("frames = %v, want the run split into several", frames)
	}
	next := 0
	for i, f := range frames {
		n := strings.Count(f, "e")
		if sizes[i] > maxFrame {
			t.Fatalf("frame %v is %d bytes, over maxFrame %d", f, sizes[i], maxFrame)
		}
		next += n
		// Each frame is as full as the bound allows.
		if next < len(queued) && eventFrameSize(queued[next-n:next+1]) <= maxFrame {
			t.Fatalf("frame %v stopped although the next event fit", f)
		}
	}
	if next != len(queued) {
		t.Fatalf("frames %v hold %d events, want %d", frames, next, len(queued))
	}
	w.close(0)
}

func TestWriterLargeEventGoesAlone(t *testing.T) {
	s := newFakeSend(t, true)
	const maxFrame = 200
	w, _ := newTestWriter(s, 1<<20, maxFrame)
	holdFirst(t, w, s)
	for _, it := range []outItem{
		ev(t, "a1", 10), ev(t, "a2", 10), ev(t, "big", 2*maxFrame), ev(t, "b1", 10), ev(t, "b2", 10),
		ev(t, "huge", 3*maxFrame),
	} {
		mustEnqueue(t, w, it)
	}
	s.release()
	waitIdle(t, w)
	assertFrames(t, s, "c100", "[a1 a2]", "big", "[b1 b2]", "huge")
	w.close(0)
}

func TestWriterDropsVolatileWhenFull(t *testing.T) {
	s := newFakeSend(t, true)
	e1, e2 := ev(t, "e1", 100), ev(t, "e2", 100)
	w, p := newTestWriter(s, len(e1.data)+len(e2.data)+10, 1<<20)
	holdFirst(t, w, s)
	mustEnqueue(t, w, e1)
	mustEnqueue(t, w, e2)
	if w.enqueue(ev(t, "dropped", 100), true) {
		t.Fatalf("a volatile event over the bound was queued")
	}
	if n := w.stats.droppedVolatile.Load(); n != 1 {
		t.Fatalf("droppedVolatile = %d, want 1", n)
	}
	if n := p.overflows.Load(); n != 0 {
		t.Fatalf("a volatile drop ended the client (%d overflows)", n)
	}
	s.release()
	waitIdle(t, w)
	// The client carries on once its queue has drained.
	mustEnqueue(t, w, ev(t, "e3", 100))
	waitIdle(t, w)
	assertFrames(t, s, "c100", "[e1 e2]", "e3")
	if n := w.stats.slowConsumers.Load(); n != 0 {
		t.Fatalf("slowConsumers = %d, want 0", n)
	}
	w.close(0)
}

func TestWriterSlowConsumer(t *testing.T) {
	s := newFakeSend(t, true)
	e1 := ev(t, "e1", 100)
	w, p := newTestWriter(s, len(e1.data)+10, 1<<20)
	holdFirst(t, w, s)
	mustEnqueue(t, w, e1)
	if w.enqueue(ev(t, "over", 100), false) {
		t.Fatalf("an event over the bound was queued")
	}
	// No event is queued any more, and the client is ended only once.
	if w.enqueue(ev(t, "late", 1), true) || w.enqueue(ev(t, "later", 1), false) {
		t.Fatalf("a slow consumer's writer accepted more events")
	}
	if n := p.overflows.Load(); n != 1 {
		t.Fatalf("onOverflow called %d times, want 1", n)
	}
	if n := w.stats.slowConsumers.Load(); n != 1 {
		t.Fatalf("slowConsumers = %d, want 1", n)
	}
	if n := w.stats.droppedVolatile.Load(); n != 0 {
		t.Fatalf("droppedVolatile = %d, want 0", n)
	}
	// The client's last words still go: they follow the frame being
	// written, and the events queued before them (e1) are dropped.
	mustEnqueue(t, w, ctl(t, 1))
	// A control frame that no longer fits is refused, and the client is
	// not counted again.
	if w.enqueue(outItem{data: make([]byte, len(e1.data)+10), control: true}, false) {
		t.Fatalf("a control frame over the bound was queued")
	}
	if n, m := p.overflows.Load(), w.stats.slowConsumers.Load(); n != 1 || m != 1 {
		t.Fatalf("after a second overflow: onOverflow called %d times, slowConsumers = %d; want 1 and 1", n, m)
	}
	s.release()
	w.close(waitLimit) // what the client does on overflow, telling it why
	assertFrames(t, s, "c100", "c1")
}

func TestWriterAcceptsOneOversizedItemWhenEmpty(t *testing.T) {
	s := newFakeSend(t, false)
	w, p := newTestWriter(s, 10, 1<<20)
	mustEnqueue(t, w, ev(t, "big", 100))
	waitIdle(t, w)
	assertFrames(t, s, "big")
	if n := p.overflows.Load(); n != 0 {
		t.Fatalf("onOverflow called %d times, want 0", n)
	}
	w.close(0)
}

func TestWriterStopsOnSendError(t *testing.T) {
	s := newFakeSend(t, true)
	boom := errors.New("boom")
	s.err = boom
	w, p := newTestWriter(s, 1<<20, 1<<20)
	holdFirst(t, w, s)
	mustEnqueue(t, w, ctl(t, 1))
	mustEnqueue(t, w, ev(t, "e1", 0))
	s.release()
	select {
	case err := <-p.errs:
		if !errors.Is(err, boom) {
			t.Fatalf("onError got %v, want %v", err, boom)
		}
	case <-time.After(waitLimit):
		t.Fatalf("onError was not called")
	}
	waitIdle(t, w)
	if w.enqueue(ev(t, "e2", 0), false) {
		t.Fatalf("a writer whose send failed accepted an item")
	}
	assertFrames(t, s, "c100")
	if len(p.errs) != 0 {
		t.Fatalf("onError called more than once")
	}
	w.close(0)
}

func TestWriterCloseDrainsQueue(t *testing.T) {
	s := newFakeSend(t, true)
	w, _ := newTestWriter(s, 1<<20, 1<<20)
	holdFirst(t, w, s)
	mustEnqueue(t, w, ctl(t, 1))
	mustEnqueue(t, w, ev(t, "e1", 0))

	closed := make(chan struct{})
	go func() {
		w.close(waitLimit)
		close(closed)
	}()
	// Release the held send only once close is waiting for the queue.
	for {
		w.mu.Lock()
		closing := w.closing
		w.mu.Unlock()
		if closing {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if w.enqueue(ev(t, "late", 0), false) {
		t.Fatalf("a closing writer accepted an item")
	}
	s.release()
	select {
	case <-closed:
	case <-time.After(2 * waitLimit):
		t.Fatalf("close did not return")
	}
	assertFrames(t, s, "c100", "c1", "e1")
	waitIdle(t, w)
}

func TestWriterCloseZeroDoesNotWaitForBlockedSend(t *testing.T) {
	s := newFakeSend(t, true)
	w, _ := newTestWriter(s, 1<<20, 1<<20)
	holdFirst(t, w, s)
	mustEnqueue(t, w, ctl(t, 1))

	closed := make(chan struct{})
	go func() {
		w.close(0)
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(waitLimit):
		t.Fatalf("close(0) waited for a blocked send")
	}
	// Once the send returns, nothing queued is sent any more.
	s.release()
	waitIdle(t, w)
	assertFrames(t, s, "c100")
}

func TestWriterCloseWithTimeoutGivesUp(t *testing.T) {
	s := newFakeSend(t, true)
	w, _ := newTestWriter(s, 1<<20, 1<<20)
	holdFirst(t, w, s)
	mustEnqueue(t, w, ctl(t, 1))

	closed := make(chan struct{})
	go func() {
		w.close(10 * time.Millisecond)
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(waitLimit):
		t.Fatalf("close did not give up on a send that never ends")
	}
	s.release()
	waitIdle(t, w)
	assertFrames(t, s, "c100")
}

func TestWriterDrainGoroutineExitsWhenIdle(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newFakeSend(t, false)
	w, _ := newTestWriter(s, 1<<20, 1<<20)

	mustEnqueue(t, w, ev(t, "e1", 0))
	waitIdle(t, w)
	w.mu.Lock()
	running := w.running
	w.mu.Unlock()
	if running {
		t.Fatalf("the writer still counts a drain goroutine after its queue emptied")
	}
	// Output after a pause starts a new one.
	mustEnqueue(t, w, ev(t, "e2", 0))
	waitIdle(t, w)
	assertFrames(t, s, "e1", "e2")
	w.close(0)
}
