package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"
)

// discardStream is a client stream whose sends cost nothing but handing
// the buffer back, as grpc does once a frame is on the wire.
type discardStream struct {
	grpc.ServerStream // nil: only SendMsg and Context are used
	frames            atomic.Int64
}

func (d *discardStream) SendMsg(m any) error {
	m.(*encodedFrame).buf.Free()
	d.frames.Add(1)
	return nil
}

func (d *discardStream) Context() context.Context { return context.Background() }

type benchRoom struct {
	ns        *Namespace
	clients   []*client
	streams   []*discardStream
	overflows atomic.Int64
}

// newBenchRoom puts n sockets with real clients and writers, whose streams
// discard, into the room "room" of "/".
func newBenchRoom(b *testing.B, n int) *benchRoom {
	b.Helper()
	// The queue bound is out of the way: this measures throughput, and a
	// publisher that outruns the drains must not end clients.
	srv := New(WithLogger(slog.New(slog.DiscardHandler)), WithMaxQueueBytes(1<<30))
	r := &benchRoom{ns: srv.Of("/")}
	for range n {
		st := &discardStream{}
		c := newClient(srv, st, &session{srv: srv, ctx: context.Background(), peer: "bench"}, nil)
		c.w.onOverflow = func() { r.overflows.Add(1) }
		s := &Socket{id: newSID(), ns: r.ns, client: c}
		if !c.attach(s) {
			b.Fatal("attach failed")
		}
		r.ns.add(s)
		r.ns.adapter.AddAll(s, "room")
		r.clients = append(r.clients, c)
		r.streams = append(r.streams, st)
	}
	return r
}

// drained waits until every writer has sent all it was given.
func (r *benchRoom) drained(b *testing.B) {
	b.Helper()
	for _, c := range r.clients {
		running, idle := c.w.idleSignal()
		if !running {
			continue
		}
		select {
		case <-idle:
		case <-time.After(time.Minute):
			b.Fatal("a writer did not drain")
		}
	}
	if n := r.overflows.Load(); n != 0 {
		b.Fatalf("%d slow consumers", n)
	}
}

func (r *benchRoom) close() {
	for _, c := range r.clients {
		c.w.close(0)
	}
}

// BenchmarkFanout measures one emit to a room of N sockets on the hub's
// side: encoding once, the adapter's walk of the room, each writer's
// enqueue, and the drain goroutines packing and handing frames to a send
// that discards them. ns/recipient is the whole pipeline's cost per
// delivered event; drains run on the other cores meanwhile, as they would.
func BenchmarkFanout(b *testing.B) {
	data, err := structpb.NewValue(map[string]any{"text": "hello, room", "n": 42.0})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			r := newBenchRoom(b, n)
			defer r.close()
			op := r.ns.To("room")
			// Warm up: queues, pooled buffers and goroutine stacks exist from
			// the first emit on, and are not what is measured.
			if _, err := op.Emit("chat message", data); err != nil {
				b.Fatal(err)
			}
			r.drained(b)
			r.ns.srv.stats.deliveries.Store(0)
			for _, st := range r.streams {
				st.frames.Store(0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if got, err := op.Emit("chat message", data); err != nil || got != n {
					b.Fatalf("Emit reached %d of %d: %v", got, n, err)
				}
			}
			r.drained(b)
			b.StopTimer()

			var frames int64
			for _, st := range r.streams {
				frames += st.frames.Load()
			}
			if want := int64(b.N) * int64(n); r.ns.srv.stats.deliveries.Load() != want {
				b.Fatalf("deliveries = %d, want %d", r.ns.srv.stats.deliveries.Load(), want)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*int64(n)), "ns/recipient")
			b.ReportMetric(float64(int64(b.N)*int64(n))/float64(frames), "events/frame")
		})
	}
}
