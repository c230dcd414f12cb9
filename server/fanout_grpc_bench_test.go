package server_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
)

// BenchmarkFanoutGRPC is BenchmarkFanout end to end: real ChatService
// streams over bufconn, each read by a client goroutine that decodes its
// frames, and emits from Go in bursts of 64 that must all arrive before the
// next burst. Client decoding runs in the same process and is measured too.
func BenchmarkFanoutGRPC(b *testing.B) {
	const burst = 64
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			srv := testkit.StartInProcess(b, nil)
			ns := srv.Of("/")
			var conns []*grpc.ClientConn
			for range (n + 99) / 100 {
				conns = append(conns, srv.Conn(b))
			}

			var remaining atomic.Int64
			var done atomic.Pointer[chan struct{}]
			ctx, cancel := context.WithCancel(context.Background())
			var readers sync.WaitGroup
			defer func() {
				cancel()
				readers.Wait()
				// Let the server see the streams end before the test kit stops
				// it, which would otherwise log every one as cut short.
				for deadline := time.Now().Add(time.Minute); srv.Stats().Clients > 0 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}()
			for i := range n {
				st, err := roomcastv1.NewChatServiceClient(conns[i%len(conns)]).Connect(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Connect{
					Connect: &roomcastv1.ConnectFrame{Namespace: "/"}}}); err != nil {
					b.Fatal(err)
				}
				f, err := st.Recv()
				if err != nil || f.GetConnected() == nil {
					b.Fatalf("connect: %v %v", f, err)
				}
				if err := ns.Socket(f.GetConnected().Sid).Join("room"); err != nil {
					b.Fatal(err)
				}
				readers.Add(1)
				go func() {
					defer readers.Done()
					for {
						f, err := st.Recv()
						if err != nil {
							return
						}
						got := int64(len(f.GetEvents().GetEvents()))
						if f.GetEvent() != nil {
							got = 1
						}
						if got > 0 && remaining.Add(-got) == 0 {
							close(*done.Load())
						}
					}
				}()
			}

			op := ns.To("room")
			round := func(events int) {
				ch := make(chan struct{})
				done.Store(&ch)
				remaining.Store(int64(events * n))
				for range events {
					if got, err := op.Emit("chat message", map[string]any{"text": "hello, room"}); err != nil || got != n {
						b.Fatalf("Emit reached %d of %d: %v", got, n, err)
					}
				}
				select {
				case <-ch:
				case <-time.After(time.Minute):
					b.Fatalf("%d events did not arrive", remaining.Load())
				}
			}
			round(1) // warm up
			b.ReportAllocs()
			b.ResetTimer()
			for left := b.N; left > 0; left -= burst {
				round(min(left, burst))
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*int64(n)), "ns/recipient")
		})
	}
}
