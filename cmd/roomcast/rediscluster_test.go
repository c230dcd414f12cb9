package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/roomcast/roomcast/client"
)

// TestClusterOnARedisCluster runs two `roomcast serve --adapter redis`
// processes whose --redis-url names a Redis Cluster of three masters
// (redis+cluster://), started by the test: a broadcast crosses from one
// node to the other, and the admin API lists both nodes' sockets.
func TestClusterOnARedisCluster(t *testing.T) {
	if os.Getenv("ROOMCAST_TEST_REDIS_URL") == "" {
		t.Skip("set ROOMCAST_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the Redis tests; this one also needs redis-server on PATH")
	}
	ports := startRedisCluster(t, 3)
	redisURL := fmt.Sprintf("redis+cluster://127.0.0.1:%d?addr=127.0.0.1:%d&addr=127.0.0.1:%d", ports[0], ports[1], ports[2])

	binary := filepath.Join(t.TempDir(), "roomcast")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var nodes []*serveProcess
	for i := range 2 {
		nodes = append(nodes, startServeProcess(t, binary,
			"--adapter", "redis", "--redis-url", redisURL, "--node-id", fmt.Sprint("node-", i), "--admin-token", "t0ken"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inbox := make(chan string, 16)
	seqs := make(chan float64, 256)
	sockets := chatIn(ctx, t, nodes, "general", func(_ int, s *client.Socket) {
		s.On("seq", func(e *client.Event) (any, error) {
			seqs <- e.Data.GetNumberValue()
			return nil, nil
		})
	}, inbox)

	if err := sockets[0].To("general").Broadcast(ctx, "chat message", "hello redis cluster"); err != nil {
		t.Fatal(err)
	}
	expectMessages(t, inbox, "client-1 got hello redis cluster")
	if err := sockets[1].To("general").Broadcast(ctx, "chat message", "and back"); err != nil {
		t.Fatal(err)
	}
	expectMessages(t, inbox, "client-0 got and back")
	if got := listedNodes(t, nodes[1].httpAddr); got["node-0"] != 1 || got["node-1"] != 1 {
		t.Fatalf("admin on node 1 lists sockets on nodes %v, want one on each", got)
	}

	// One node's broadcasts arrive in the order they were made, also when
	// they are many at once (they go to Redis in pipelines).
	const n = 200
	for i := range n {
		if err := sockets[0].To("general").Broadcast(ctx, "seq", i); err != nil {
			t.Fatal(err)
		}
	}
	for want := range n {
		select {
		case got := <-seqs:
			if got != float64(want) {
				t.Fatalf("broadcast %d arrived as number %v: out of order", want, got)
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d broadcasts arrived", want, n)
		}
	}
}

// startRedisCluster starts n redis-server processes in cluster mode on
// free loopback ports, splits the hash slots between them, and waits
// until the cluster is up; the test stops them. It returns their ports.
func startRedisCluster(t *testing.T, n int) []int {
	t.Helper()
	binary, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not on PATH (.ci/run installs it): %v", err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		ports   []int
		clients []*goredis.Client
		taken   = map[int]bool{}
	)
	// A port chosen free may be taken before redis-server binds it: a node
	// that exits at once is started again on another.
	for attempt := 0; len(ports) < n; attempt++ {
		if attempt == 3*n {
			t.Fatalf("could not start %d redis-server processes; logs in %s", n, dir)
		}
		port := freeClusterPort(t, taken)
		logFile := filepath.Join(dir, fmt.Sprintf("redis-%d.log", port))
		cmd := exec.Command(binary, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)),
			"--dir", dir, "--save", "", "--appendonly", "no", "--logfile", logFile)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-exited
		})
		c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprint("127.0.0.1:", port)})
		t.Cleanup(func() { c.Close() })
		up := false
		for !up {
			select {
			case <-exited:
				log, _ := os.ReadFile(logFile)
				t.Logf("redis-server on port %d exited; trying another port. Its log:\n%s", port, log)
			case <-ctx.Done():
				t.Fatalf("redis-server on port %d did not start", port)
			case <-time.After(20 * time.Millisecond):
				up = c.Ping(ctx).Err() == nil
				continue
			}
			break
		}
		if !up {
			continue
		}
		taken[port], taken[port+10000] = true, true
		ports = append(ports, port)
		clients = append(clients, c)
	}
	const slots = 16384
	for i, c := range clients {
		first, last := i*slots/n, (i+1)*slots/n-1
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", first, last).Err(); err != nil {
			t.Fatalf("CLUSTER ADDSLOTSRANGE on port %d: %v", ports[i], err)
		}
		if i > 0 {
			if err := clients[0].ClusterMeet(ctx, "127.0.0.1", fmt.Sprint(ports[i])).Err(); err != nil {
				t.Fatalf("CLUSTER MEET: %v", err)
			}
		}
	}
	for _, c := range clients {
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("the Redis Cluster did not come up: %v\n%s", err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return ports
}

// freeClusterPort is a loopback port that is free, and whose cluster bus
// port (the port + 10000) is free too, neither of them taken by a node
// already started.
func freeClusterPort(t *testing.T, taken map[int]bool) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port+10000 > 65535 || taken[port] || taken[port+10000] {
			continue
		}
		bus, err := net.Listen("tcp", fmt.Sprint("127.0.0.1:", port+10000))
		if err != nil {
			continue
		}
		bus.Close()
		return port
	}
	t.Fatal("no free port pair for a Redis Cluster node")
	return 0
}
