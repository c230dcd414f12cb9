package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"
)

// Scenario names, as given to --scenario.
const (
	ScenarioFanout = "fanout"
	ScenarioRooms  = "rooms"
	ScenarioIdle   = "idle"
	ScenarioChurn  = "churn"
)

// Scenarios lists the scenario names in the order the usage shows them.
var Scenarios = []string{ScenarioFanout, ScenarioRooms, ScenarioIdle, ScenarioChurn}

// Client transports, as given to --transport: grpc-go's client, or the
// bench's own lean HTTP/2 client (see h2stream.go).
const (
	TransportGRPCGo = "grpc-go"
	TransportH2     = "h2"
)

// Transports lists the client transports.
var Transports = []string{TransportGRPCGo, TransportH2}

// EventName is the event that publishers emit; the Socket.IO harness
// relays an event of the same name.
const EventName = "msg"

// timestampLen is the width of the send time at the start of a payload:
// unix nanoseconds fit in 19 decimal digits until the year 2262.
const timestampLen = 19

// Config is one run. Zero values take the defaults of Defaults, except
// where a zero has its own meaning (Rate, SourceIPs, the window sizes).
type Config struct {
	// Addr is the server's gRPC address, or a comma-separated list of the
	// gRPC addresses of a cluster's nodes; each must be a loopback address.
	// With a list, fanout and rooms spread subscribers round-robin over the
	// nodes and connect publishers to the first (see the package comment),
	// churn spreads its connects the same way, and idle, which reads one
	// server's memory, takes a single address.
	Addr string
	// Scenario is one of Scenarios.
	Scenario string
	// Namespace is the namespace every client enters.
	Namespace string
	// Token, when set, goes with every stream as "authorization: Bearer
	// <token>", for namespaces whose policy asks for one.
	Token string
	// Transport is the clients' HTTP/2 stack, one of Transports.
	Transport string
	// Duration is how long fanout and rooms publish and churn connects.
	Duration time.Duration

	// Subscribers is the size of fanout's room (the publisher not counted).
	Subscribers int
	// Payload is the size in bytes of each message's data string, at least
	// 19 (the timestamp).
	Payload int
	// Window is the most messages one publisher has in flight, i.e. sent
	// but its own copy not yet received.
	Window int
	// Rate, when positive, fixes the total publish rate in messages per
	// second (split evenly across publishers); the window still caps it.
	Rate float64
	// Volatile marks published events volatile: a full queue drops them
	// instead of disconnecting the subscriber.
	Volatile bool
	// Drain is how long to wait after publishing stops for the last
	// deliveries.
	Drain time.Duration

	// Rooms, SubscribersPerRoom and Publishers shape the rooms scenario.
	Rooms              int
	SubscribersPerRoom int
	Publishers         int

	// Connections is how many idle clients to hold open.
	Connections int
	// HTTPAddr is the server's HTTP address, whose /metrics gives its RSS
	// (idle; empty means the host of Addr, port 8080) and its CPU time
	// (fanout and rooms on one server; empty means not read).
	HTTPAddr string
	// Settle is how long idle waits with every client connected before it
	// reads the server's RSS again.
	Settle time.Duration

	// Clients is churn's connects per second.
	Clients int
	// MaxInFlight bounds churn's connects in progress; a tick that finds
	// it reached is skipped and counted.
	MaxInFlight int

	// SourceIPs spreads connections over source addresses 127.0.0.2 ..
	// 127.0.0.(SourceIPs+1), for runs that would otherwise run out of
	// ephemeral ports; 0 chooses from the number of connections, -1 never
	// spreads.
	SourceIPs int
	// InitialWindow and InitialConnWindow are the gRPC flow-control windows
	// of each client's stream and connection; 0 leaves gRPC's default
	// (64 KiB growing by BDP estimation).
	InitialWindow     int32
	InitialConnWindow int32
	// ConnectConcurrency is how many clients connect at once.
	ConnectConcurrency int
	// ConnectTimeout bounds one client's dial, connect and join.
	ConnectTimeout time.Duration

	// Driver, when set, runs the scenario with another server's clients
	// (see Driver); nil runs roomcast's.
	Driver Driver

	// Progress receives a progress line every ProgressInterval; nil
	// prints none.
	Progress         io.Writer
	ProgressInterval time.Duration
}

// Defaults returns the configuration of `roomcast bench` without flags.
func Defaults() Config {
	return Config{
		Addr:               "127.0.0.1:50051",
		Scenario:           ScenarioFanout,
		Transport:          TransportGRPCGo,
		Namespace:          "/",
		Duration:           10 * time.Second,
		Subscribers:        1000,
		Payload:            100,
		Window:             64,
		Drain:              5 * time.Second,
		Rooms:              100,
		SubscribersPerRoom: 10,
		Publishers:         10,
		Connections:        10000,
		Settle:             2 * time.Second,
		Clients:            100,
		MaxInFlight:        256,
		InitialWindow:      1 << 20,
		InitialConnWindow:  1 << 20,
		ConnectConcurrency: 64,
		ConnectTimeout:     10 * time.Second,
		ProgressInterval:   time.Second,
	}
}

// withDefaults fills the zero fields that have a default.
func (c Config) withDefaults() Config {
	d := Defaults()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.Scenario == "" {
		c.Scenario = d.Scenario
	}
	if c.Namespace == "" {
		c.Namespace = d.Namespace
	}
	if c.Transport == "" {
		c.Transport = d.Transport
	}
	setDefault(&c.Duration, d.Duration)
	setDefault(&c.Subscribers, d.Subscribers)
	setDefault(&c.Payload, d.Payload)
	setDefault(&c.Window, d.Window)
	setDefault(&c.Drain, d.Drain)
	setDefault(&c.Rooms, d.Rooms)
	setDefault(&c.SubscribersPerRoom, d.SubscribersPerRoom)
	setDefault(&c.Publishers, d.Publishers)
	setDefault(&c.Connections, d.Connections)
	setDefault(&c.Settle, d.Settle)
	setDefault(&c.Clients, d.Clients)
	setDefault(&c.MaxInFlight, d.MaxInFlight)
	setDefault(&c.ConnectConcurrency, d.ConnectConcurrency)
	setDefault(&c.ConnectTimeout, d.ConnectTimeout)
	setDefault(&c.ProgressInterval, d.ProgressInterval)
	return c
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

// Upper bounds: the tool is for one machine's loopback, and a typo of an
// extra zero should fail fast rather than exhaust the machine.
const (
	maxClients  = 200_000
	maxDuration = time.Hour
	maxPayload  = 1 << 20
	maxWindow   = 1 << 20
)

func (c Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	known := false
	for _, s := range Scenarios {
		known = known || s == c.Scenario
	}
	check(known, "scenario must be one of %v, not %q", Scenarios, c.Scenario)
	check(slices.Contains(Transports, c.Transport), "transport must be one of %v, not %q", Transports, c.Transport)
	check(c.Duration > 0 && c.Duration <= maxDuration, "duration must be in (0, %v]", maxDuration)
	check(c.Drain > 0 && c.Drain <= maxDuration, "drain must be in (0, %v]", maxDuration)
	check(c.Settle >= 0 && c.Settle <= maxDuration, "settle must be in [0, %v]", maxDuration)
	check(c.Payload >= timestampLen && c.Payload <= maxPayload, "payload must be in [%d, %d] bytes", timestampLen, maxPayload)
	check(c.Window > 0 && c.Window <= maxWindow, "window must be in [1, %d]", maxWindow)
	check(c.Rate >= 0, "rate must not be negative")
	check(c.ConnectConcurrency > 0, "connect-concurrency must be positive")
	check(c.ConnectTimeout > 0, "connect-timeout must be positive")
	check(c.InitialWindow >= 0 && c.InitialConnWindow >= 0, "window sizes must not be negative")
	check(c.SourceIPs >= -1 && c.SourceIPs <= 250, "source-ips must be in [-1, 250]")
	switch c.Scenario {
	case ScenarioFanout:
		check(c.Subscribers > 0 && c.Subscribers < maxClients, "subscribers must be in [1, %d)", maxClients)
	case ScenarioRooms:
		check(c.Rooms > 0 && c.SubscribersPerRoom > 0 && c.Publishers > 0, "rooms, subscribers-per-room and publishers must be positive")
		check(c.Publishers <= c.Rooms, "publishers (%d) must not outnumber rooms (%d): each publisher owns its own rooms", c.Publishers, c.Rooms)
		check(c.Rooms*c.SubscribersPerRoom+c.Publishers <= maxClients, "rooms x subscribers-per-room must stay under %d clients", maxClients)
	case ScenarioIdle:
		check(c.Connections > 0 && c.Connections <= maxClients, "connections must be in [1, %d]", maxClients)
	case ScenarioChurn:
		check(c.Clients > 0 && c.Clients <= 100_000, "clients (connects per second) must be in [1, 100000]")
		check(c.MaxInFlight > 0 && c.MaxInFlight <= maxClients, "max-inflight must be in [1, %d]", maxClients)
	}
	if addrs, err := parseAddrs(c.Addr); err != nil {
		errs = append(errs, err)
	} else if c.Scenario == ScenarioIdle && len(addrs) > 1 {
		errs = append(errs, fmt.Errorf("addr: idle reads one server's memory, so it takes one address, not %d", len(addrs)))
	}
	if c.HTTPAddr != "" {
		if err := checkLoopback("http-addr", c.HTTPAddr); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkLoopback refuses any target but this machine: a load generator
// pointed elsewhere by mistake is an attack.
func checkLoopback(name, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: %w", name, addr, err)
	}
	if host == "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s %q: bench only targets loopback addresses (localhost, 127.0.0.0/8, ::1)", name, addr)
}

// parseAddrs splits --addr's comma-separated list, trimming spaces, and
// checks every element: a HOST:PORT on loopback, and no address twice,
// since a repeated node would be counted as two in the summary's "nodes".
func parseAddrs(list string) ([]string, error) {
	var addrs []string
	seen := map[string]bool{}
	for a := range strings.SplitSeq(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, fmt.Errorf("addr %q: an empty address in the list", list)
		}
		if err := checkLoopback("addr", a); err != nil {
			return nil, err
		}
		if seen[dialAddr(a)] {
			return nil, fmt.Errorf("addr %q: %s appears twice", list, a)
		}
		seen[dialAddr(a)] = true
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// targets is the dialable address of each node of c.Addr, which validate
// has checked.
func (c Config) targets() []string {
	addrs, _ := parseAddrs(c.Addr)
	for i, a := range addrs {
		addrs[i] = dialAddr(a)
	}
	return addrs
}

// dialAddr is addr with an empty host made explicit, so that ":50051"
// (the server's own default) works as a target.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// metricsAddr is the HTTP address whose /metrics to read: HTTPAddr, with
// a missing host taken from Addr, or Addr's host on port 8080.
func (c Config) metricsAddr() string {
	grpcHost, _, _ := net.SplitHostPort(dialAddr(c.Addr))
	if c.HTTPAddr == "" {
		return net.JoinHostPort(grpcHost, "8080")
	}
	host, port, err := net.SplitHostPort(c.HTTPAddr)
	if err == nil && host == "" {
		return net.JoinHostPort(grpcHost, port)
	}
	return c.HTTPAddr
}
