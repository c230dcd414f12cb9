package redis

import (
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Options configure a Cluster.
type Options struct {
	// Client reaches Redis; required.
	Client goredis.UniversalClient
	// NodeID names this node; required, and the same as the hub's.
	NodeID string
	// Prefix starts every key and channel, so that several clusters (or
	// tests) can share one Redis. Default "roomcast".
	Prefix string
	// RequestTimeout bounds a cluster-wide request when its context has no
	// earlier deadline. Default 5s.
	RequestTimeout time.Duration
	// Heartbeat is how often the node announces itself. Default 1s.
	Heartbeat time.Duration
	// NodeTTL is how long a node stays in cluster answers after its last
	// heartbeat. Default 5s.
	NodeTTL time.Duration
	// PublishQueue bounds the broadcasts waiting to go to Redis; past it
	// they are dropped (and counted). Default 65536.
	PublishQueue int
	Logger       *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Prefix == "" {
		o.Prefix = "roomcast"
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Second
	}
	if o.NodeTTL <= 0 {
		o.NodeTTL = 5 * time.Second
	}
	if o.PublishQueue <= 0 {
		o.PublishQueue = 1 << 16
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

func (o *Options) namespaceChannel(namespace string) string {
	return o.Prefix + "#ns#" + namespace
}

func (o *Options) requestChannel() string { return o.Prefix + "#request" }

func (o *Options) responseChannel(node string) string { return o.Prefix + "#response#" + node }

func (o *Options) nodesKey() string { return o.Prefix + ":nodes" }
