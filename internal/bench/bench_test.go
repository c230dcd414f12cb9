package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

// run runs cfg against a fresh server at a tiny scale and returns the
// summary decoded from its JSON line, as a user of the command sees it.
func run(t *testing.T, cfg Config) map[string]any {
	t.Helper()
	m, _ := runWithProgress(t, cfg)
	return m
}

// runWithProgress is run that also returns the progress lines.
func runWithProgress(t *testing.T, cfg Config) (map[string]any, string) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = testkit.Start(t, nil).Addr
	}
	var progress bytes.Buffer
	cfg.Progress = &progress
	cfg.ProgressInterval = 200 * time.Millisecond
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}
	var out bytes.Buffer
	if err := sum.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	line := out.String()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("summary is not one line: %q", line)
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("summary is not JSON: %v: %s", err, line)
	}
	t.Logf("summary: %s", line)
	return m, progress.String()
}

var commonKeys = []string{"scenario", "clients", "connect_seconds", "published", "expected", "delivered",
	"delivery_ratio", "deliveries_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "dropped", "errors"}

func requireKeys(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range append(commonKeys, keys...) {
		if _, ok := m[k]; !ok {
			t.Errorf("summary has no %q: %v", k, m)
		}
	}
}

func num(t *testing.T, m map[string]any, k string) float64 {
	t.Helper()
	v, ok := m[k].(float64)
	if !ok {
		t.Fatalf("%s = %v, not a number", k, m[k])
	}
	return v
}

// requireAllDelivered checks a fanout or rooms run: every message reached
// every subscriber, and the latency figures are ordered.
func requireAllDelivered(t *testing.T, m map[string]any, subscribers float64) {
	t.Helper()
	published, expected, delivered := num(t, m, "published"), num(t, m, "expected"), num(t, m, "delivered")
	if published <= 0 {
		t.Fatalf("published %v", published)
	}
	if expected != published*subscribers {
		t.Errorf("expected %v, want published %v x %v subscribers", expected, published, subscribers)
	}
	if delivered != expected || num(t, m, "delivery_ratio") != 1 || num(t, m, "dropped") != 0 {
		t.Errorf("delivered %v of %v (ratio %v, dropped %v)", delivered, expected, m["delivery_ratio"], m["dropped"])
	}
	if num(t, m, "errors") != 0 {
		t.Errorf("errors %v", m["errors"])
	}
	p50, p90, p99, maxMs := num(t, m, "p50_ms"), num(t, m, "p90_ms"), num(t, m, "p99_ms"), num(t, m, "max_ms")
	if !(0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= maxMs) {
		t.Errorf("latencies not ordered: p50 %v p90 %v p99 %v max %v", p50, p90, p99, maxMs)
	}
	if num(t, m, "deliveries_per_s") <= 0 {
		t.Errorf("deliveries_per_s %v", m["deliveries_per_s"])
	}
}

func TestFanout(t *testing.T) {
	m, progress := runWithProgress(t, Config{Scenario: ScenarioFanout, Subscribers: 20, Duration: time.Second, Window: 16})
	requireKeys(t, m, "payload_bytes", "window")
	for _, word := range []string{"elapsed", "clients 21", "published", "delivered", "deliveries/s"} {
		if !strings.Contains(progress, word) {
			t.Errorf("progress has no %q:\n%s", word, progress)
		}
	}
	if m["scenario"] != "fanout" || num(t, m, "clients") != 21 {
		t.Errorf("scenario %v clients %v, want fanout and 21", m["scenario"], m["clients"])
	}
	requireAllDelivered(t, m, 20)
}

// Given the server's HTTP address, fanout reports the server's CPU time
// from its /metrics.
func TestFanoutReadsServerCPU(t *testing.T) {
	node := testkit.StartApp(t, "", nil)
	m := run(t, Config{Scenario: ScenarioFanout, Addr: node.Addr, HTTPAddr: node.HTTPAddr, Subscribers: 5, Duration: 300 * time.Millisecond})
	requireAllDelivered(t, m, 5)
	cpu, perDelivery := num(t, m, "server_cpu_seconds"), num(t, m, "server_cpu_us_per_delivery")
	if cpu <= 0 || perDelivery <= 0 {
		t.Errorf("server_cpu_seconds %v, server_cpu_us_per_delivery %v: want both above 0", cpu, perDelivery)
	}
	if want := cpu * 1e6 / num(t, m, "delivered"); perDelivery < want*0.99 || perDelivery > want*1.01 {
		t.Errorf("server_cpu_us_per_delivery %v, want cpu/delivered = %v", perDelivery, want)
	}
	// Without the address nothing is guessed.
	m = run(t, Config{Scenario: ScenarioFanout, Addr: node.Addr, Subscribers: 5, Duration: 100 * time.Millisecond})
	if _, ok := m["server_cpu_seconds"]; ok {
		t.Errorf("server_cpu_seconds without --http-addr: %v", m["server_cpu_seconds"])
	}
}

func TestFanoutAtFixedRate(t *testing.T) {
	m := run(t, Config{Scenario: ScenarioFanout, Subscribers: 5, Duration: time.Second, Rate: 50})
	requireAllDelivered(t, m, 5)
	// Paced, not window-driven: about 50 in the second, certainly far
	// below what the window allows.
	if p := num(t, m, "published"); p > 60 {
		t.Errorf("published %v at rate 50 for 1s", p)
	}
}

func TestRooms(t *testing.T) {
	m := run(t, Config{Scenario: ScenarioRooms, Rooms: 4, SubscribersPerRoom: 5, Publishers: 2, Duration: time.Second})
	requireKeys(t, m, "rooms", "publishers", "subscribers")
	if num(t, m, "clients") != 22 || num(t, m, "subscribers") != 20 {
		t.Errorf("clients %v subscribers %v, want 22 and 20", m["clients"], m["subscribers"])
	}
	requireAllDelivered(t, m, 5)
}

func TestIdleReadsRSSFromMetrics(t *testing.T) {
	const n = 20
	const before, perConn = 50 << 20, 10 << 10 // 10 KiB per connection
	var scrapes atomic.Int64
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		rss := before
		if scrapes.Add(1) > 1 {
			rss = before + n*perConn
		}
		fmt.Fprintf(w, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"+
			"# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %g\n", float64(rss))
	}))
	defer metrics.Close()
	srv := testkit.Start(t, nil)
	m := run(t, Config{Scenario: ScenarioIdle, Addr: srv.Addr, Connections: n,
		HTTPAddr: strings.TrimPrefix(metrics.URL, "http://"), Settle: 100 * time.Millisecond})
	requireKeys(t, m, "kb_per_conn", "server_rss_bytes")
	if got := num(t, m, "kb_per_conn"); got != 10 {
		t.Errorf("kb_per_conn %v, want 10", got)
	}
	if got := num(t, m, "server_rss_bytes"); got != before+n*perConn {
		t.Errorf("server_rss_bytes %v, want %v", got, before+n*perConn)
	}
	if num(t, m, "clients") != n || num(t, m, "errors") != 0 {
		t.Errorf("clients %v errors %v", m["clients"], m["errors"])
	}
	if scrapes.Load() != 2 {
		t.Errorf("scraped %d times, want 2", scrapes.Load())
	}
}

// A node in the test process reports the test's own RSS, so only the
// plumbing is checked here: the scrape of a real /metrics works.
func TestIdleAgainstARealNode(t *testing.T) {
	node := testkit.StartApp(t, "", nil)
	m := run(t, Config{Scenario: ScenarioIdle, Addr: node.Addr, HTTPAddr: node.HTTPAddr, Connections: 10, Settle: 10 * time.Millisecond})
	requireKeys(t, m, "kb_per_conn", "server_rss_bytes")
	if num(t, m, "server_rss_bytes") <= 0 {
		t.Errorf("server_rss_bytes %v", m["server_rss_bytes"])
	}
}

func TestChurn(t *testing.T) {
	m := run(t, Config{Scenario: ScenarioChurn, Clients: 20, Duration: time.Second})
	requireKeys(t, m, "connects_per_s")
	if num(t, m, "connects") <= 0 || num(t, m, "connects_per_s") <= 0 || num(t, m, "errors") != 0 {
		t.Errorf("connects %v connects_per_s %v errors %v", m["connects"], m["connects_per_s"], m["errors"])
	}
	if p50, maxMs := num(t, m, "p50_ms"), num(t, m, "max_ms"); !(0 < p50 && p50 <= maxMs) {
		t.Errorf("connect latency p50 %v max %v", p50, maxMs)
	}
}

func TestInterruptedRunStillSummarises(t *testing.T) {
	srv := testkit.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	sum, err := Run(ctx, Config{Addr: srv.Addr, Scenario: ScenarioFanout, Subscribers: 5, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || sum.Scenario != "fanout" || sum.Clients != 6 {
		t.Errorf("summary %+v", sum)
	}
}

func TestNoServerIsAnError(t *testing.T) {
	srv := testkit.Start(t, nil)
	addr := srv.Addr
	srv.Port.Stop() // the port is now closed
	sum, err := Run(context.Background(), Config{Addr: addr, Scenario: ScenarioFanout, Subscribers: 3, Duration: time.Second})
	if err == nil {
		t.Fatalf("no error against a closed port: %+v", sum)
	}
	if sum == nil || sum.Errors == 0 {
		t.Errorf("summary %+v should count the failed connects", sum)
	}
}

func TestRefusesNonLoopbackTargets(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:50051", "example.com:50051", "192.168.1.2:1"} {
		if _, err := Run(context.Background(), Config{Addr: addr}); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: err %v, want a loopback refusal", addr, err)
		}
	}
	_, err := Run(context.Background(), Config{Addr: "127.0.0.1:1", Scenario: ScenarioIdle, HTTPAddr: "10.1.1.1:8080"})
	if err == nil || !strings.Contains(err.Error(), "http-addr") {
		t.Errorf("non-loopback http-addr: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"unknown scenario":      {Scenario: "storm"},
		"payload too small":     {Payload: 10},
		"publishers over rooms": {Scenario: ScenarioRooms, Rooms: 2, Publishers: 3},
		"negative rate":         {Rate: -1},
	} {
		cfg.Addr = "127.0.0.1:1"
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestServerDisconnectsAreCounted(t *testing.T) {
	srv := testkit.Start(t, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Kick everyone once the run is publishing: all 6 connected, and a
		// little time to send.
		deadline := time.Now().Add(testkit.Timeout)
		for len(srv.Of("/").Sockets()) < 6 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		srv.Of("/").To(roomName(0)).DisconnectSockets(context.Background(), "kicked by the test")
	}()
	sum, err := Run(context.Background(), Config{Addr: srv.Addr, Scenario: ScenarioFanout, Subscribers: 5, Duration: 2 * time.Second})
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if sum.Disconnects != 6 || sum.Errors < 6 {
		t.Errorf("disconnects %d errors %d, want 6 and at least 6", sum.Disconnects, sum.Errors)
	}
	if len(sum.Warnings) == 0 || !strings.Contains(strings.Join(sum.Warnings, "\n"), "kicked by the test") {
		t.Errorf("warnings %q do not give the reason", sum.Warnings)
	}
}

// --token reaches a namespace that asks for one; without it the connects
// are refused and counted as errors.
func TestTokenForASecuredNamespace(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		(&policy.Policy{Auth: policy.NewTokens([]string{"s3cret"})}).Apply(s.Of("/secure"))
	})
	m := run(t, Config{Scenario: ScenarioFanout, Addr: srv.Addr, Namespace: "/secure", Token: "s3cret",
		Subscribers: 3, Duration: 200 * time.Millisecond})
	requireAllDelivered(t, m, 3)

	sum, err := Run(context.Background(), Config{Scenario: ScenarioFanout, Addr: srv.Addr, Namespace: "/secure",
		Subscribers: 3, Duration: 200 * time.Millisecond, Payload: 100, Window: 8, Drain: time.Second,
		ConnectTimeout: 5 * time.Second, ConnectConcurrency: 4, Progress: io.Discard})
	if err == nil || sum.Errors == 0 || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("without the token: err %v, errors %d; want refused connects", err, sum.Errors)
	}
}
