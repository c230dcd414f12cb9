package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/roomcast/roomcast/internal/testkit"
)

// The command's contract: progress on stderr, exactly one JSON line on
// stdout, flags as documented.
func TestBenchPrintsOneJSONLine(t *testing.T) {
	srv := testkit.Start(t, nil)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--addr", srv.Addr, "--scenario", "rooms",
		"--rooms", "2", "--subscribers-per-room", "2", "--publishers", "2", "--duration", "1200ms"},
		strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "\n"); n != 1 {
		t.Fatalf("stdout has %d lines, want 1: %q", n, stdout.String())
	}
	var sum map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("stdout is not JSON: %v: %s", err, stdout.String())
	}
	if sum["scenario"] != "rooms" || sum["clients"] != float64(6) || sum["delivery_ratio"] != float64(1) || sum["nodes"] != float64(1) {
		t.Errorf("summary %s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "deliveries/s") {
		t.Errorf("no progress line on stderr: %q", stderr.String())
	}
}

// --transport h2 runs the clients on the bench's own HTTP/2 client, and
// the summary says so; an unknown transport is refused by name.
func TestBenchClientTransport(t *testing.T) {
	srv := testkit.Start(t, nil)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--addr", srv.Addr, "--transport", "h2",
		"--subscribers", "5", "--duration", "300ms", "--quiet"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var sum map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("stdout is not JSON: %v: %s", err, stdout.String())
	}
	if sum["client_transport"] != "h2" || sum["delivery_ratio"] != float64(1) {
		t.Errorf("summary %s", stdout.String())
	}

	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"bench", "--addr", srv.Addr, "--transport", "quic"}, strings.NewReader(""), &stdout, &stderr)
	if code == 0 || stdout.Len() != 0 || !strings.Contains(stderr.String(), `transport must be one of [grpc-go h2], not "quic"`) {
		t.Errorf("--transport quic: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestBenchRefusesARemoteTarget(t *testing.T) {
	// Alone, or hidden in a cluster's list.
	for _, addr := range []string{"203.0.113.1:50051", "127.0.0.1:50051,203.0.113.1:50051"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"bench", "--addr", addr}, strings.NewReader(""), &stdout, &stderr)
		if code == 0 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "loopback") {
			t.Errorf("--addr %s: exit %d, stdout %q, stderr %q", addr, code, stdout.String(), stderr.String())
		}
	}
}

// The README's Performance commands, as a user runs them: serve, then
// bench with the server's HTTP address, which adds the server's CPU per
// delivery to the summary. Smaller and shorter than the README's run.
func TestReadmeBench(t *testing.T) {
	readme := readFile(t, "../../README.md")
	line := findLine(t, readme, "./roomcast bench --addr 127.0.0.1:50051 --http-addr 127.0.0.1:8080 ")
	grpcAddr, httpAddr := startServe(t)
	line = strings.NewReplacer("127.0.0.1:50051", grpcAddr, "127.0.0.1:8080", httpAddr,
		"--subscribers 1000", "--subscribers 20", "--duration 10s", "--duration 500ms").Replace(line)
	args := strings.Fields(strings.TrimPrefix(line, "./roomcast "))

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("%s: exit %d; stderr:\n%s", line, code, stderr.String())
	}
	var sum map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("stdout is not JSON: %v: %s", err, stdout.String())
	}
	if sum["scenario"] != "fanout" || sum["delivery_ratio"] != float64(1) {
		t.Errorf("summary %s", stdout.String())
	}
	if cpu, ok := sum["server_cpu_us_per_delivery"].(float64); !ok || cpu <= 0 {
		t.Errorf("server_cpu_us_per_delivery = %v, want a positive number: %s", sum["server_cpu_us_per_delivery"], stdout.String())
	}
}
