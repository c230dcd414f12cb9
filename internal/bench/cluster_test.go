package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	redisadapter "github.com/roomcast/roomcast/server/adapter/redis"
)

// startCluster runs two nodes on loopback sharing the Redis of
// ROOMCAST_TEST_REDIS_URL under a prefix of the test's own, or skips.
func startCluster(t *testing.T) []*testkit.Server {
	t.Helper()
	url := os.Getenv("ROOMCAST_TEST_REDIS_URL")
	if url == "" {
		t.Skip("set ROOMCAST_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the cluster bench tests")
	}
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatalf("ROOMCAST_TEST_REDIS_URL: %v", err)
	}
	client := goredis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "roomcast-bench-test-" + hex.EncodeToString(b[:])
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var nodes []*testkit.Server
	for _, id := range []string{"node-a", "node-b"} {
		cluster, err := redisadapter.New(context.Background(), redisadapter.Options{Client: client, NodeID: id, Prefix: prefix, Logger: logger})
		if err != nil {
			t.Fatalf("join cluster: %v", err)
		}
		// Registered before the server, so that it runs after the server
		// has stopped.
		t.Cleanup(func() { cluster.Close() })
		nodes = append(nodes, testkit.Start(t, nil, server.WithAdapter(cluster), server.WithNodeID(id)))
	}
	return nodes
}

// peakSockets samples how many sockets each node holds in "/" until stop
// is called, and returns the largest counts seen.
func peakSockets(nodes []*testkit.Server) (stop func() []int) {
	peaks := make([]atomic.Int64, len(nodes))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			for i, n := range nodes {
				if c := int64(len(n.Of("/").Sockets())); c > peaks[i].Load() {
					peaks[i].Store(c)
				}
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	return func() []int {
		close(done)
		wg.Wait()
		out := make([]int, len(nodes))
		for i := range peaks {
			out[i] = int(peaks[i].Load())
		}
		return out
	}
}

func TestFanoutAcrossTwoNodes(t *testing.T) {
	nodes := startCluster(t)
	stop := peakSockets(nodes)
	m := run(t, Config{Scenario: ScenarioFanout, Addr: nodes[0].Addr + "," + nodes[1].Addr,
		Subscribers: 20, Duration: time.Second, Window: 16})
	peaks := stop()
	requireKeys(t, m, "nodes")
	if num(t, m, "nodes") != 2 {
		t.Errorf("nodes %v, want 2", m["nodes"])
	}
	// 20 subscribers, the publisher and its witness on node b.
	if num(t, m, "clients") != 22 || num(t, m, "subscribers") != 20 {
		t.Errorf("clients %v subscribers %v, want 22 and 20", m["clients"], m["subscribers"])
	}
	// Half the subscribers on each node; the publisher on the first, its
	// witness on the second.
	if peaks[0] != 11 || peaks[1] != 11 {
		t.Errorf("sockets per node %v, want [11 11]", peaks)
	}
	// Every message reached the subscribers of both nodes, once.
	requireAllDelivered(t, m, 20)
}

func TestRoomsAcrossTwoNodes(t *testing.T) {
	nodes := startCluster(t)
	m := run(t, Config{Scenario: ScenarioRooms, Addr: nodes[0].Addr + ", " + nodes[1].Addr,
		Rooms: 4, SubscribersPerRoom: 3, Publishers: 2, Duration: time.Second})
	if num(t, m, "nodes") != 2 || num(t, m, "clients") != 12+2+2 {
		t.Errorf("nodes %v clients %v, want 2 and 16", m["nodes"], m["clients"])
	}
	requireAllDelivered(t, m, 3)
}

func TestChurnAcrossTwoNodes(t *testing.T) {
	nodes := startCluster(t)
	m := run(t, Config{Scenario: ScenarioChurn, Addr: nodes[0].Addr + "," + nodes[1].Addr, Clients: 20, Duration: time.Second})
	if num(t, m, "nodes") != 2 || num(t, m, "connects") <= 0 || num(t, m, "errors") != 0 {
		t.Errorf("nodes %v connects %v errors %v", m["nodes"], m["connects"], m["errors"])
	}
}

func TestIdleTakesOneAddress(t *testing.T) {
	_, err := Run(context.Background(), Config{Scenario: ScenarioIdle, Addr: "127.0.0.1:1,127.0.0.1:2"})
	if err == nil || !strings.Contains(err.Error(), "one address") {
		t.Errorf("idle with two addresses: %v", err)
	}
}
