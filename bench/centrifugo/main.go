// Command centrifugo is the Centrifugo side of `roomcast bench`: the same
// scenarios, counts, payload, window and JSON summary, run by the same
// code (internal/bench) with Centrifugo's own Go client, centrifuge-go,
// over WebSocket. A room is a channel; a publisher publishes into its
// channel as a client, and Centrifugo sends the publication to every
// subscriber, the publisher included, as roomcast's emit does.
//
//	go run ./bench/centrifugo --addr 127.0.0.1:8000 --scenario fanout [--subscribers 1000]
//	go run ./bench/centrifugo --addr 127.0.0.1:8000 --scenario idle [--connections 10000]
//
// The server is Centrifugo v6 started with config.json here (anonymous
// clients that may subscribe and publish, and /metrics on the same port,
// from which the server's RSS and CPU time are read); bench/compare.sh
// installs and starts it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/roomcast/roomcast/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "centrifugo bench:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	d := bench.Defaults()
	fs := flag.NewFlagSet("centrifugo bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8000", "Centrifugo's HTTP address, HOST:PORT (loopback only)")
	path := fs.String("path", "/connection/websocket", "path of Centrifugo's WebSocket endpoint")
	protocol := fs.String("protocol", protocolProtobuf, "client protocol: "+protocolProtobuf+" or "+protocolJSON)
	httpAddr := fs.String("http-addr", "", "address whose /metrics gives the server's RSS and CPU time (default: --addr)")
	scenario := fs.String("scenario", d.Scenario, "what to run: "+strings.Join(bench.Scenarios, ", "))
	duration := fs.Duration("duration", d.Duration, "how long fanout and rooms publish and churn connects")
	subscribers := fs.Int("subscribers", d.Subscribers, "fanout: subscribers in the channel")
	payload := fs.Int("payload", d.Payload, "fanout, rooms: bytes of each message (at least 19, the send timestamp)")
	window := fs.Int("window", d.Window, "fanout, rooms: messages each publisher may have in flight, acknowledged by its own copy")
	rate := fs.Float64("rate", 0, "fanout, rooms: fixed total publish rate in messages/s (0: as fast as the window allows)")
	drain := fs.Duration("drain", d.Drain, "fanout, rooms: how long to wait for the last deliveries after publishing stops")
	rooms := fs.Int("rooms", d.Rooms, "rooms: number of channels")
	perRoom := fs.Int("subscribers-per-room", d.SubscribersPerRoom, "rooms: subscribers in each channel")
	publishers := fs.Int("publishers", d.Publishers, "rooms: publishers, each with its own channels")
	connections := fs.Int("connections", d.Connections, "idle: clients to hold connected")
	settle := fs.Duration("settle", d.Settle, "idle: wait with every client connected before reading the RSS again")
	clients := fs.Int("clients", d.Clients, "churn: connects (and disconnects) per second")
	maxInFlight := fs.Int("max-inflight", d.MaxInFlight, "churn: most connects in progress at once")
	sourceIPs := fs.Int("source-ips", 0, "spread connections over 127.0.0.2..127.0.0.(N+1); 0: when ephemeral ports would run out; -1: never")
	concurrency := fs.Int("connect-concurrency", d.ConnectConcurrency, "clients connecting at once")
	connectTimeout := fs.Duration("connect-timeout", d.ConnectTimeout, "longest one client's connect and subscribe may take")
	quiet := fs.Bool("quiet", false, "no progress line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *protocol != protocolProtobuf && *protocol != protocolJSON {
		return fmt.Errorf("--protocol must be %s or %s, not %q", protocolProtobuf, protocolJSON, *protocol)
	}
	if !strings.HasPrefix(*path, "/") {
		return fmt.Errorf("--path %q must start with /", *path)
	}
	if *httpAddr == "" {
		*httpAddr = *addr
	}
	cfg := bench.Config{
		Addr: *addr, Scenario: *scenario, Duration: *duration,
		Subscribers: *subscribers, Payload: *payload, Window: *window, Rate: *rate, Drain: *drain,
		Rooms: *rooms, SubscribersPerRoom: *perRoom, Publishers: *publishers,
		Connections: *connections, HTTPAddr: *httpAddr, Settle: *settle,
		Clients: *clients, MaxInFlight: *maxInFlight,
		SourceIPs: *sourceIPs, ConnectConcurrency: *concurrency, ConnectTimeout: *connectTimeout,
		Driver: driver{protocol: *protocol, path: *path},
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	return bench.RunTo(ctx, cfg, stdout)
}
