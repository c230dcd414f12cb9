package server

import (
	"log/slog"
	"time"

	"github.com/roomcast/roomcast/server/adapter"
	"github.com/roomcast/roomcast/server/adapter/memory"
)

// Option configures a Server.
type Option func(*options)

type options struct {
	logger           *slog.Logger
	adapters         adapter.Factory
	maxQueueBytes    int
	maxFrameBytes    int
	maxPayloadBytes  int
	drainTimeout     time.Duration
	nodeID           string
	keepaliveTime    time.Duration
	keepaliveTimeout time.Duration
}

func defaultOptions() options {
	return options{
		logger:   slog.Default(),
		adapters: memory.NewFactory(),
		// A client that falls this far behind is a slow consumer.
		maxQueueBytes: 4 << 20,
		// Well under grpc's default 4 MiB receive limit of clients.
		maxFrameBytes: 1 << 20,
		// Socket.IO's maxHttpBufferSize is 1e6 bytes.
		maxPayloadBytes: 1 << 20,
		drainTimeout:    2 * time.Second,
		nodeID:          NewNodeID(),
		// A peer quiet this long is pinged, and dropped when the answer
		// does not come within keepaliveTimeout: on either transport.
		keepaliveTime:    30 * time.Second,
		keepaliveTimeout: 10 * time.Second,
	}
}

// WithLogger sets the logger of connects, disconnects and errors.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithAdapter sets where each namespace's room index lives and how
// broadcasts reach other nodes; the default keeps it in memory, on one
// node.
func WithAdapter(f adapter.Factory) Option {
	return func(o *options) { o.adapters = f }
}

// WithMaxQueueBytes bounds each client's outgoing queue. Past it, volatile
// events are dropped and anything else disconnects the client as a slow
// consumer.
func WithMaxQueueBytes(n int) Option { return func(o *options) { o.maxQueueBytes = n } }

// WithMaxFrameBytes bounds the frames that pack several events; keep it
// below the receive limit of clients (grpc's default is 4 MiB).
func WithMaxFrameBytes(n int) Option { return func(o *options) { o.maxFrameBytes = n } }

// WithMaxPayloadBytes bounds an event's data plus binary, whether a
// client, the admin API or Go code emits it.
func WithMaxPayloadBytes(n int) Option { return func(o *options) { o.maxPayloadBytes = n } }

// WithDrainTimeout bounds how long a closing client's last frames (the
// reasons it is disconnected) may take to send.
func WithDrainTimeout(d time.Duration) Option { return func(o *options) { o.drainTimeout = d } }

// WithNodeID names this node in a cluster and in the admin API's socket
// listings; a random id by default.
func WithNodeID(id string) Option { return func(o *options) { o.nodeID = id } }

// WithKeepalive sets how long a client may stay quiet before the server
// pings it (30s), and how long the answer may take before the client is
// dropped (10s; with reason "ping timeout" on roomcast's transport).
func WithKeepalive(quiet, answer time.Duration) Option {
	return func(o *options) { o.keepaliveTime, o.keepaliveTimeout = quiet, answer }
}
