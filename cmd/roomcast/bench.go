package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/roomcast/roomcast/internal/bench"
)

// runBench is `roomcast bench`: a load generator against a server on this
// machine, with a progress line on stderr and one JSON summary line on
// stdout, printed also when Ctrl-C cuts the run short.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	d := bench.Defaults()
	fs := newFlagSet("bench", "Loads a server on this machine and prints one JSON line of results.", stderr)
	addr := fs.String("addr", d.Addr, "server gRPC address, HOST:PORT, or a comma-separated list of a cluster's nodes (loopback only); "+
		"with a list, subscribers (and churn's connects) are spread round-robin over the nodes, publishers connect to the first, "+
		"each publisher has a witness client on every other node that acknowledges its window there, and idle takes one address only")
	scenario := fs.String("scenario", d.Scenario, "what to run: "+strings.Join(bench.Scenarios, ", "))
	namespace := fs.String("namespace", d.Namespace, "namespace every client enters")
	token := fs.String("token", "", "bearer token sent with every stream (authorization metadata), for namespaces that ask for one")
	transport := fs.String("transport", d.Transport, "clients' HTTP/2 stack: "+strings.Join(bench.Transports, " or ")+
		" (the bench's own lean client, which leaves more of the machine to the server)")
	duration := fs.Duration("duration", d.Duration, "how long fanout and rooms publish and churn connects")

	subscribers := fs.Int("subscribers", d.Subscribers, "fanout: subscribers in the room")
	payload := fs.Int("payload", d.Payload, "fanout, rooms: bytes of each message (at least 19, the send timestamp)")
	window := fs.Int("window", d.Window, "fanout, rooms: messages each publisher may have in flight, acknowledged by its own copy")
	rate := fs.Float64("rate", 0, "fanout, rooms: fixed total publish rate in messages/s (0: as fast as the window allows)")
	volatile := fs.Bool("volatile", false, "fanout, rooms: publish volatile events, dropped rather than queued for a full client")
	drain := fs.Duration("drain", d.Drain, "fanout, rooms: how long to wait for the last deliveries after publishing stops")

	rooms := fs.Int("rooms", d.Rooms, "rooms: number of rooms")
	perRoom := fs.Int("subscribers-per-room", d.SubscribersPerRoom, "rooms: subscribers in each room")
	publishers := fs.Int("publishers", d.Publishers, "rooms: publishers, each with its own rooms")

	connections := fs.Int("connections", d.Connections, "idle: clients to hold connected")
	httpAddr := fs.String("http-addr", "", "server HTTP address whose /metrics gives its RSS (idle; default: the --addr host, port 8080) and CPU time (fanout and rooms on one server: server_cpu_us_per_delivery)")
	settle := fs.Duration("settle", d.Settle, "idle: wait with every client connected before reading the RSS again")

	clients := fs.Int("clients", d.Clients, "churn: connects (and disconnects) per second")
	maxInFlight := fs.Int("max-inflight", d.MaxInFlight, "churn: most connects in progress at once")

	sourceIPs := fs.Int("source-ips", 0, "spread connections over 127.0.0.2..127.0.0.(N+1); 0: when ephemeral ports would run out; -1: never")
	initialWindow := fs.Int("initial-window", int(d.InitialWindow), "flow-control window of each client's stream in bytes (0: the transport's default)")
	initialConnWindow := fs.Int("initial-conn-window", int(d.InitialConnWindow), "flow-control window of each client's connection in bytes (0: the transport's default)")
	concurrency := fs.Int("connect-concurrency", d.ConnectConcurrency, "clients connecting at once")
	connectTimeout := fs.Duration("connect-timeout", d.ConnectTimeout, "longest one client's dial, connect and join may take")
	quiet := fs.Bool("quiet", false, "no progress line")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for name, v := range map[string]int{"initial-window": *initialWindow, "initial-conn-window": *initialConnWindow} {
		if v < 0 || v > math.MaxInt32 {
			return fmt.Errorf("--%s must be in [0, %d]", name, math.MaxInt32)
		}
	}

	cfg := bench.Config{
		Addr: *addr, Scenario: *scenario, Namespace: *namespace, Token: *token, Transport: *transport, Duration: *duration,
		Subscribers: *subscribers, Payload: *payload, Window: *window, Rate: *rate, Volatile: *volatile, Drain: *drain,
		Rooms: *rooms, SubscribersPerRoom: *perRoom, Publishers: *publishers,
		Connections: *connections, HTTPAddr: *httpAddr, Settle: *settle,
		Clients: *clients, MaxInFlight: *maxInFlight,
		SourceIPs: *sourceIPs, InitialWindow: int32(*initialWindow), InitialConnWindow: int32(*initialConnWindow),
		ConnectConcurrency: *concurrency, ConnectTimeout: *connectTimeout,
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	return bench.RunTo(ctx, cfg, stdout)
}
