package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	redisadapter "github.com/roomcast/roomcast/server/adapter/redis"
)

// BenchmarkClusterFanout is a cross-node fan-out: a publisher on node A
// emits to a room whose subscribers are all on node B, so that every
// message goes through Redis (publish on A, the subscription of B) before
// B fans it out. An op is one message; a run ends when every subscriber
// has received every message, counted at the client. Both nodes, their
// Redis clients and the subscribers' readers are in this process, so
// allocs/op is everything one message costs the cluster and its clients,
// Redis aside.
//
// Setup (the nodes, connecting and joining the subscribers, a first
// message that proves the path) is done once per size, outside the timed
// part; run with -benchtime=Nx for a fixed number of messages.
func BenchmarkClusterFanout(b *testing.B) {
	nodes := startBenchCluster(b)
	pub, err := dialBenchClient(nodes[0].Addr, "/")
	if err != nil {
		b.Fatalf("publisher: %v", err)
	}
	// The publisher is in no room, so the server sends it nothing; a
	// reader still notices if the stream ends.
	go pub.drain()
	defer func() { pub.close(); <-pub.ended }()

	for _, n := range []int{10, 100, 1000} {
		room := fmt.Sprint("fanout-", n)
		f, err := subscribeFleet(nodes[1].Addr, room, n)
		if err != nil {
			b.Fatalf("%d subscribers: %v", n, err)
		}
		payload := structpb.NewStringValue(strings.Repeat("x", 100))
		frame := &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
			Namespace: "/", Event: "msg", Data: payload, Rooms: []string{room}}}}
		// A namespace's subscription is made when the namespace is, but a
		// first message proves the whole path before anything is timed.
		if err := f.round(pub, frame, 1); err != nil {
			f.close(nodes[1])
			b.Fatalf("first message to %d subscribers: %v", n, err)
		}
		b.Run(fmt.Sprint("subscribers=", n), func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			err := f.round(pub, frame, b.N)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			deliveries := float64(b.N) * float64(n)
			b.ReportMetric(deliveries/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
		})
		f.close(nodes[1])
	}
}

// startBenchCluster runs two nodes on loopback, each with its own Redis
// client (as two processes would have), sharing the Redis of
// ROOMCAST_TEST_REDIS_URL under a prefix of their own; without the
// variable the benchmark is skipped.
func startBenchCluster(b *testing.B) []*testkit.Server {
	b.Helper()
	url := os.Getenv("ROOMCAST_TEST_REDIS_URL")
	if url == "" {
		b.Skip("set ROOMCAST_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the Redis adapter benchmarks")
	}
	opts, err := goredis.ParseURL(url)
	if err != nil {
		b.Fatalf("ROOMCAST_TEST_REDIS_URL: %v", err)
	}
	prefix := "roomcast-bench-" + randomHex(6)
	opts.ClientName = prefix
	logger := slog.New(slog.NewTextHandler(b.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var nodes []*testkit.Server
	for _, id := range []string{"node-a", "node-b"} {
		o := *opts // a client keeps (and fills in) its options: one each
		client := goredis.NewClient(&o)
		b.Cleanup(func() { client.Close() })
		cluster, err := redisadapter.New(context.Background(), redisadapter.Options{
			Client: client, NodeID: id, Prefix: prefix, Logger: logger})
		if err != nil {
			b.Fatalf("join cluster: %v", err)
		}
		// Registered before the server so that it runs after the server
		// has stopped.
		b.Cleanup(func() {
			if n := cluster.Dropped(); n > 0 {
				b.Errorf("node %s dropped %d broadcasts on the way to Redis", id, n)
			}
			cluster.Close()
		})
		nodes = append(nodes, testkit.Start(b, nil, server.WithAdapter(cluster), server.WithNodeID(id)))
	}
	return nodes
}

// benchClient is one raw ChatService stream on its own connection, read
// straight from the generated stream: testkit's streams hand every frame
// through a channel to the test, a hop that a thousand readers would pay
// for on every message and that is no part of the cluster's cost.
type benchClient struct {
	cc     *grpc.ClientConn
	stream grpc.BidiStreamingClient[roomcastv1.ClientFrame, roomcastv1.ServerFrame]
	cancel context.CancelFunc
	// ended is closed when drain returns, err then says why.
	ended chan struct{}
	err   error
}

// dialBenchClient connects to namespace on addr and joins rooms.
func dialBenchClient(addr, namespace string, rooms ...string) (*benchClient, error) {
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// A fan-out client mostly receives: a large window lets the
		// server write a burst without waiting for window updates.
		grpc.WithInitialWindowSize(1<<20), grpc.WithInitialConnWindowSize(1<<20),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &benchClient{cc: cc, cancel: cancel, ended: make(chan struct{})}
	// The handshake must not hang a benchmark when the server does not
	// answer; the stream itself lives until close.
	timer := time.AfterFunc(testkit.Timeout, cancel)
	err = c.handshake(ctx, namespace, rooms)
	if !timer.Stop() && err == nil {
		err = errors.New("handshake timed out")
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *benchClient) handshake(ctx context.Context, namespace string, rooms []string) error {
	var err error
	c.stream, err = roomcastv1.NewChatServiceClient(c.cc).Connect(ctx)
	if err != nil {
		return err
	}
	if err := c.stream.Send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Connect{
		Connect: &roomcastv1.ConnectFrame{Namespace: namespace}}}); err != nil {
		return err
	}
	f, err := c.stream.Recv()
	if err != nil {
		return err
	}
	if f.GetConnected() == nil {
		return fmt.Errorf("connect %s: got %v", namespace, f)
	}
	if len(rooms) == 0 {
		return nil
	}
	if err := c.stream.Send(&roomcastv1.ClientFrame{Ref: 1, Frame: &roomcastv1.ClientFrame_Join{
		Join: &roomcastv1.RoomsFrame{Namespace: namespace, Rooms: rooms}}}); err != nil {
		return err
	}
	f, err = c.stream.Recv()
	if err != nil {
		return err
	}
	if r := f.GetReply(); r == nil || r.Ref != 1 || r.Error != nil {
		return fmt.Errorf("join %v: got %v", rooms, f)
	}
	return nil
}

// drain reads until the stream ends, ignoring frames, then closes ended.
func (c *benchClient) drain() {
	defer close(c.ended)
	for {
		if _, err := c.stream.Recv(); err != nil {
			c.err = err
			return
		}
	}
}

func (c *benchClient) close() {
	c.cancel()
	_ = c.cc.Close()
}

// window is the most messages' worth of deliveries that may be
// outstanding: without a bound, a large b.N would fill the Redis publish
// queue (which drops past its bound) and the subscribers' queues on node
// B (which disconnect a slow consumer), and measure queueing instead.
const window = 1024

// fleet is the subscribers of one room, all on one node, read by one
// goroutine each that counts the events it receives.
type fleet struct {
	clients []*benchClient
	readers sync.WaitGroup
	closing atomic.Bool
	failed  chan error // the first stream to end early
	current atomic.Pointer[round]
}

// round is one batch of messages to the fleet: done is closed when the
// readers have counted want events.
type round struct {
	want, got atomic.Int64
	done      chan struct{}
	// need is the count of events that the publisher waits for when its
	// window is full; waiting is set while it waits, and the reader that
	// finds need reached while waiting is set clears it and signals wake.
	// A stale need makes a wake-up early, never lost: the publisher checks
	// again.
	need    atomic.Int64
	waiting atomic.Bool
	wake    chan struct{}
}

// subscribeFleet connects n subscribers to addr, 32 at a time, each in
// room, and starts their readers.
func subscribeFleet(addr, room string, n int) (*fleet, error) {
	f := &fleet{clients: make([]*benchClient, n), failed: make(chan error, 1)}
	var (
		next    atomic.Int64
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range min(32, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				c, err := dialBenchClient(addr, "/", room)
				if err != nil {
					errOnce.Do(func() { first = err })
					return
				}
				f.clients[i] = c
			}
		})
	}
	wg.Wait()
	for _, c := range f.clients {
		if c != nil {
			f.readers.Go(func() { f.read(c) })
		}
	}
	if first != nil {
		f.close(nil)
		return nil, first
	}
	return f, nil
}

// read counts a subscriber's events into the current round.
func (f *fleet) read(c *benchClient) {
	for {
		frame, err := c.stream.Recv()
		if err == nil && frame.GetDisconnected() != nil {
			err = fmt.Errorf("disconnected: %s", frame.GetDisconnected().Reason)
		}
		if err != nil {
			if !f.closing.Load() {
				select {
				case f.failed <- err:
				default:
				}
			}
			return
		}
		n := int64(len(frame.GetEvents().GetEvents()))
		if frame.GetEvent() != nil {
			n = 1
		}
		r := f.current.Load()
		if n == 0 || r == nil {
			continue
		}
		got := r.got.Add(n)
		if want := r.want.Load(); got >= want && got-n < want {
			close(r.done) // by the reader that crossed want, once
		}
		if got >= r.need.Load() && r.waiting.CompareAndSwap(true, false) {
			select {
			case r.wake <- struct{}{}:
			default: // a wake is pending already
			}
		}
	}
}

// round sends messages frames from pub and waits until every subscriber
// has received every one, keeping at most window messages' worth of
// deliveries outstanding.
func (f *fleet) round(pub *benchClient, frame *roomcastv1.ClientFrame, messages int) error {
	n := int64(len(f.clients))
	r := &round{done: make(chan struct{}), wake: make(chan struct{}, 1)}
	r.want.Store(int64(messages) * n)
	f.current.Store(r)
	defer f.current.Store(nil)
	// Generous: a stall, not a slow machine, is what it is there to catch.
	deadline := time.NewTimer(time.Minute + time.Duration(messages)*time.Millisecond)
	defer deadline.Stop()
	wait := func(what <-chan struct{}) error {
		select {
		case <-what:
			return nil
		case err := <-f.failed:
			return fmt.Errorf("a subscriber's stream ended: %w", err)
		case <-pub.ended:
			return fmt.Errorf("the publisher's stream ended: %w", pub.err)
		case <-deadline.C:
			return fmt.Errorf("%d of %d deliveries arrived in time", r.got.Load(), r.want.Load())
		}
	}
	for i := range int64(messages) {
		// Message i may go once messages 0..i-window are delivered in
		// all, as far as the count tells.
		need := (i - window + 1) * n
		for r.got.Load() < need {
			// need and waiting are set before got is read again: either
			// that read sees the reader's count, or the reader sees them.
			r.need.Store(need)
			r.waiting.Store(true)
			if r.got.Load() >= need {
				r.waiting.Store(false)
				break
			}
			if err := wait(r.wake); err != nil {
				return err
			}
		}
		if err := pub.stream.Send(frame); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	if err := wait(r.done); err != nil {
		return err
	}
	if got := r.got.Load(); got != r.want.Load() {
		return fmt.Errorf("%d deliveries, want %d", got, r.want.Load())
	}
	return nil
}

// close ends every subscriber and, given their node, waits until it has
// seen them go, so that stopping the node later does not report each one
// as cut short.
func (f *fleet) close(node *testkit.Server) {
	f.closing.Store(true)
	var wg sync.WaitGroup
	for _, c := range f.clients {
		if c != nil {
			wg.Go(c.close)
		}
	}
	wg.Wait()
	f.readers.Wait()
	for deadline := time.Now().Add(testkit.Timeout); node != nil && node.Stats().Clients > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}
