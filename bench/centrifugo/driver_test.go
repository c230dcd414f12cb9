package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// centrifuge-go answers a publish made while its subscription was
	// resubscribing from a goroutine that waits for the subscription or
	// its read timeout, even after Close; it ends by itself.
	// The stand-in server's node, after Shutdown, may still have a worker
	// that waits a second before it unsubscribes an emptied channel.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/centrifugal/centrifuge-go.(*Subscription).onSubscribe.func1"),
		goleak.IgnoreAnyFunction("github.com/centrifugal/centrifuge/internal/dissolve.(*Dissolver).runWorker"))
}

// server is a Centrifugo stand-in on 127.0.0.1: a node of centrifuge, the
// library Centrifugo is built on, speaking the same client protocol over
// WebSocket, and /metrics with the process's RSS and CPU time, as
// Centrifugo's config.json here sets it up.
type server struct {
	addr string
	// publish answers each client publish; nil accepts it.
	publish func(c *centrifuge.Client, n int64) error
	n       atomic.Int64

	mu      sync.Mutex
	clients []*centrifuge.Client
}

// other is a client that is not c.
func (s *server) other(c *centrifuge.Client) *centrifuge.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.clients {
		if o != c {
			return o
		}
	}
	return nil
}

func startServer(t *testing.T, publish func(c *centrifuge.Client, n int64) error) *server {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	node, err := centrifuge.New(centrifuge.Config{
		LogLevel: centrifuge.LogLevelNone,
		Metrics:  centrifuge.MetricsConfig{RegistererGatherer: reg},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{publish: publish}
	node.OnConnecting(func(context.Context, centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{}}, nil // anonymous, as --client.insecure
	})
	node.OnConnect(func(c *centrifuge.Client) {
		s.mu.Lock()
		s.clients = append(s.clients, c)
		s.mu.Unlock()
		c.OnSubscribe(func(_ centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{}, nil)
		})
		c.OnPublish(func(_ centrifuge.PublishEvent, cb centrifuge.PublishCallback) {
			var err error
			if s.publish != nil {
				err = s.publish(c, s.n.Add(1))
			}
			cb(centrifuge.PublishReply{}, err)
		})
	})
	if err := node.Run(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{}))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = node.Shutdown(ctx)
		_ = hs.Close()
	})
	s.addr = lis.Addr().String()
	return s
}

// summary runs the harness with args and decodes its JSON line.
func summary(t *testing.T, args ...string) (map[string]any, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(args, "--quiet"), &stdout, &stderr)
	var sum map[string]any
	if jerr := json.Unmarshal(stdout.Bytes(), &sum); jerr != nil {
		t.Fatalf("stdout %q is not one JSON line: %v (err %v, stderr %q)", stdout.String(), jerr, err, stderr.String())
	}
	return sum, err
}

func TestFanoutDeliversEveryMessage(t *testing.T) {
	for _, protocol := range []string{protocolProtobuf, protocolJSON} {
		t.Run(protocol, func(t *testing.T) {
			srv := startServer(t, nil)
			sum, err := summary(t, "--addr", srv.addr, "--protocol", protocol, "--scenario", "fanout",
				"--subscribers", "20", "--duration", "300ms", "--window", "8")
			if err != nil {
				t.Fatal(err)
			}
			if sum["client_transport"] != "centrifuge-go "+protocol {
				t.Errorf("client_transport %v", sum["client_transport"])
			}
			published, expected, delivered := sum["published"].(float64), sum["expected"].(float64), sum["delivered"].(float64)
			if published == 0 || expected != 20*published || delivered != expected || sum["delivery_ratio"] != 1.0 {
				t.Fatalf("published %v, expected %v, delivered %v: want every message to all 20", published, expected, delivered)
			}
			// A latency that was not read from the payload would be 0.
			if sum["p50_ms"].(float64) <= 0 || sum["errors"] != 0.0 {
				t.Fatalf("p50 %v ms, errors %v", sum["p50_ms"], sum["errors"])
			}
			if _, ok := sum["server_cpu_us_per_delivery"]; !ok {
				t.Fatalf("no server CPU read from /metrics: %v", sum["warnings"])
			}
		})
	}
}

func TestRoomsUseOneChannelEach(t *testing.T) {
	srv := startServer(t, nil)
	sum, err := summary(t, "--addr", srv.addr, "--scenario", "rooms", "--rooms", "6",
		"--subscribers-per-room", "3", "--publishers", "2", "--duration", "300ms")
	if err != nil {
		t.Fatal(err)
	}
	// Publishers are in their own rooms too, but their copies are not
	// deliveries: 3 per message, which a publish reaching every channel
	// would exceed.
	if p, d := sum["published"].(float64), sum["delivered"].(float64); p == 0 || d != 3*p {
		t.Fatalf("published %v, delivered %v: want 3 deliveries per message", p, d)
	}
}

// A refused publish comes back as an error and gives its window slot
// back: the run keeps publishing instead of stalling after one window.
func TestRefusedPublishesAreCountedAndFreeTheWindow(t *testing.T) {
	srv := startServer(t, func(*centrifuge.Client, int64) error { return centrifuge.ErrorPermissionDenied })
	sum, err := summary(t, "--addr", srv.addr, "--scenario", "fanout", "--subscribers", "2",
		"--duration", "300ms", "--window", "4", "--drain", "200ms")
	if err != nil {
		t.Fatal(err)
	}
	if p, e := sum["published"].(float64), sum["errors"].(float64); p <= 4 || e < p-4 || sum["delivered"] != 0.0 {
		t.Fatalf("published %v, errors %v, delivered %v: want every publish refused, more than a window of them", p, e, sum["delivered"])
	}
}

// A client that the server disconnects is a client gone, with the reason,
// rather than one that centrifuge-go quietly reconnects. (A subscriber:
// centrifuge-go itself races when a publisher's connection ends under
// its publishes.)
func TestServerDisconnectEndsTheClient(t *testing.T) {
	var srv *server
	srv = startServer(t, func(publisher *centrifuge.Client, n int64) error {
		if n == 10 {
			go srv.other(publisher).Disconnect(centrifuge.DisconnectForceNoReconnect)
		}
		return nil
	})
	sum, err := summary(t, "--addr", srv.addr, "--scenario", "fanout", "--subscribers", "2",
		"--duration", "500ms", "--drain", "200ms")
	if err != nil {
		t.Fatal(err)
	}
	warnings, _ := json.Marshal(sum["warnings"])
	if sum["disconnects"] != 1.0 || !strings.Contains(string(warnings), "force disconnect") {
		t.Fatalf("disconnects %v, warnings %s: want one subscriber's, with the server's reason", sum["disconnects"], warnings)
	}
	// The other subscriber still got everything.
	if p, d := sum["published"].(float64), sum["delivered"].(float64); d < p || d >= 2*p {
		t.Fatalf("published %v, delivered %v: want every message to one subscriber and some to the other", p, d)
	}
}

func TestIdleReadsTheServersMemory(t *testing.T) {
	srv := startServer(t, nil)
	sum, err := summary(t, "--addr", srv.addr, "--scenario", "idle", "--connections", "50", "--settle", "100ms")
	if err != nil {
		t.Fatal(err)
	}
	if sum["clients"] != 50.0 || sum["errors"] != 0.0 {
		t.Fatalf("clients %v, errors %v", sum["clients"], sum["errors"])
	}
	if _, ok := sum["kb_per_conn"]; !ok {
		t.Fatalf("no kb_per_conn: %v", sum["warnings"])
	}
}

// A server that accepts the connection and never answers fails the
// connects with a timeout, not a hang.
func TestConnectTimesOut(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	_, err = summary(t, "--addr", lis.Addr().String(), "--scenario", "fanout", "--subscribers", "1",
		"--connect-timeout", "300ms", "--http-addr", lis.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "connect timed out") {
		t.Fatalf("err %v, want connect timed out", err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--protocol", "xml"},
		{"--path", "connection"},
		{"--addr", "192.0.2.1:8000"},
	} {
		err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("%v: err %v, want refused", args, err)
		}
	}
}

// A publication that reaches a client before its reading starts is kept
// and delivered first, not lost: for a publisher it is a window token.
func TestPublicationsBeforeReadAreKept(t *testing.T) {
	srv := startServer(t, nil)
	d := driver{protocol: protocolProtobuf, path: "/connection/websocket"}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, network, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub, err := d.Connect(ctx, dial, srv.addr, []string{"r"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pub, err := d.Connect(ctx, dial, srv.addr, []string{"r"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ownCopy := make(chan struct{}, 1)
	go func() { _ = pub.Read(func([]byte) { ownCopy <- struct{}{} }, func() {}) }()
	const payload = "0000000000000000001 early"
	if err := pub.Publish("r", payload); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ownCopy:
	case <-ctx.Done():
		t.Fatal("the publisher's own copy did not come")
	}
	time.Sleep(50 * time.Millisecond) // the subscriber's copy too, unread
	got := make(chan string, 1)
	go func() { _ = sub.Read(func(data []byte) { got <- string(data) }, func() {}) }()
	select {
	case data := <-got:
		if data != payload {
			t.Fatalf("delivered %q, want %q", data, payload)
		}
	case <-ctx.Done():
		t.Fatal("the publication that came before Read was lost")
	}
}
