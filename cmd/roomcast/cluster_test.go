package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomcast/roomcast/client"
)

// TestClusterOfServeProcesses runs three `roomcast serve --adapter redis`
// processes on loopback, chats across them, kills one with SIGKILL, and
// checks that the others keep delivering and stop listing its sockets
// within the documented time (the node TTL, 5 s, plus a request).
func TestClusterOfServeProcesses(t *testing.T) {
	redisURL := os.Getenv("ROOMCAST_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set ROOMCAST_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the cluster test")
	}
	binary := filepath.Join(t.TempDir(), "roomcast")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var prefix [6]byte
	_, _ = rand.Read(prefix[:])
	var nodes []*serveProcess
	for i := range 3 {
		nodes = append(nodes, startServeProcess(t, binary,
			"--adapter", "redis", "--redis-url", redisURL, "--redis-prefix", "roomcast-test-"+hex.EncodeToString(prefix[:]),
			"--node-id", fmt.Sprint("node-", i), "--admin-token", "t0ken"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inbox := make(chan string, 64)
	sockets := chatIn(ctx, t, nodes, "general", func(int, *client.Socket) {}, inbox)

	// A broadcast from node 0 reaches the clients of nodes 1 and 2 once.
	if err := sockets[0].To("general").Broadcast(ctx, "chat message", "hello cluster"); err != nil {
		t.Fatal(err)
	}
	expectMessages(t, inbox, "client-1 got hello cluster", "client-2 got hello cluster")
	if got := listedNodes(t, nodes[0].httpAddr); len(got) != 3 {
		t.Fatalf("admin lists sockets on nodes %v, want 3 sockets", got)
	}

	if err := nodes[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = nodes[2].cmd.Wait()

	if err := sockets[1].To("general").Broadcast(ctx, "chat message", "after the kill"); err != nil {
		t.Fatal(err)
	}
	expectMessages(t, inbox, "client-0 got after the kill")

	deadline := time.Now().Add(15 * time.Second)
	for {
		got := listedNodes(t, nodes[0].httpAddr)
		if len(got) == 2 && got["node-2"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a dead node's sockets are still listed: %v", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// chatIn connects a client to each node, has its socket in "/" join room,
// and returns the sockets. Each socket sends "client-I got MESSAGE" to
// inbox for every "chat message" event; setup registers other handlers
// before the connect.
func chatIn(ctx context.Context, t *testing.T, nodes []*serveProcess, room string, setup func(i int, s *client.Socket), inbox chan<- string) []*client.Socket {
	t.Helper()
	var sockets []*client.Socket
	for i, n := range nodes {
		c, err := client.Dial(ctx, n.grpcAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		s := c.Socket("/")
		who := fmt.Sprint("client-", i)
		s.On("chat message", func(e *client.Event) (any, error) {
			inbox <- fmt.Sprintf("%s got %s", who, e.Data.GetStringValue())
			return nil, nil
		})
		setup(i, s)
		if err := s.Connect(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Join(ctx, room); err != nil {
			t.Fatal(err)
		}
		sockets = append(sockets, s)
	}
	return sockets
}

// expectMessages waits for exactly these messages, in any order.
func expectMessages(t *testing.T, inbox <-chan string, want ...string) {
	t.Helper()
	pending := map[string]bool{}
	for _, w := range want {
		pending[w] = true
	}
	timeout := time.After(10 * time.Second)
	for len(pending) > 0 {
		select {
		case got := <-inbox:
			if !pending[got] {
				t.Fatalf("unexpected %q while waiting for %v", got, pending)
			}
			delete(pending, got)
		case <-timeout:
			t.Fatalf("still waiting for %v", pending)
		}
	}
	select {
	case got := <-inbox:
		t.Fatalf("unexpected %q: a message arrived twice or went astray", got)
	case <-time.After(200 * time.Millisecond):
	}
}

// listedNodes asks a node's REST admin for the sockets of "/" and counts
// them per node.
func listedNodes(t *testing.T, httpAddr string) map[string]int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/v1/namespaces/%2F/sockets", nil)
	req.Header.Set("Authorization", "Bearer t0ken")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Sockets []struct{ Node string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list sockets: %d %v", resp.StatusCode, err)
	}
	counts := map[string]int{}
	for _, s := range body.Sockets {
		counts[s.Node]++
	}
	return counts
}

type serveProcess struct {
	cmd                *exec.Cmd
	grpcAddr, httpAddr string
}

// startServeProcess runs the binary's serve command and reads its
// addresses from its start-up log line; the test stops it.
func startServeProcess(t *testing.T, binary string, flags ...string) *serveProcess {
	t.Helper()
	args := append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, flags...)
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		})
	})
	lines := bufio.NewScanner(stderr)
	addrs := regexp.MustCompile(`grpc_addr=(\S+) http_addr=(\S+)`)
	for lines.Scan() {
		if m := addrs.FindStringSubmatch(lines.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return &serveProcess{cmd: cmd, grpcAddr: m[1], httpAddr: m[2]}
		}
	}
	t.Fatalf("roomcast %v ended without logging its addresses", args)
	return nil
}
