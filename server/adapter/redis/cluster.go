package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/roomcast/roomcast/server/adapter"
	"github.com/roomcast/roomcast/server/adapter/memory"
)

// Cluster is one node's membership of a roomcast cluster: the factory of
// its namespaces' adapters, its subscriptions, heartbeats and requests.
type Cluster struct {
	opts    Options
	client  goredis.UniversalClient
	sharded bool
	pubsub  *goredis.PubSub
	local   *memory.Factory
	queue   chan outgoing

	mu       sync.Mutex
	adapters map[string]*Adapter
	pending  map[string]*pendingRequest
	// lastOthers are the other live nodes as last seen in Redis.
	lastOthers []string

	health  health
	dropped atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ adapter.Factory = (*Cluster)(nil)

// New joins the cluster. Redis must be reachable now; later outages are
// survived.
func New(ctx context.Context, opts Options) (*Cluster, error) {
	opts.setDefaults()
	if opts.Client == nil {
		return nil, errors.New("redis adapter: a Redis client is required")
	}
	if opts.NodeID == "" {
		return nil, errors.New("redis adapter: a node id is required")
	}
	if err := opts.Client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis adapter: cannot reach Redis: %w", err)
	}
	// Two nodes of one name would each take the other's answers.
	if last, err := opts.Client.ZScore(ctx, opts.nodesKey(), opts.NodeID).Result(); err == nil &&
		time.Since(time.UnixMilli(int64(last))) < opts.NodeTTL {
		return nil, fmt.Errorf("redis adapter: node id %q is already live in cluster %q; give each node its own --node-id (a restarted node may wait %v)",
			opts.NodeID, opts.Prefix, opts.NodeTTL)
	}
	goredis.SetLogger(redisLog{log: opts.Logger})
	runCtx, cancel := context.WithCancel(context.Background())
	c := &Cluster{
		opts:     opts,
		client:   opts.Client,
		sharded:  shardedPubSub(ctx, opts.Client),
		local:    memory.NewFactory(),
		queue:    make(chan outgoing, opts.PublishQueue),
		adapters: make(map[string]*Adapter),
		pending:  make(map[string]*pendingRequest),
		health:   health{log: opts.Logger, up: true},
		ctx:      runCtx,
		cancel:   cancel,
	}
	c.pubsub = c.subscribe(ctx, opts.requestChannel(), opts.responseChannel(opts.NodeID))
	if err := c.heartbeat(ctx); err != nil {
		cancel()
		c.pubsub.Close()
		return nil, fmt.Errorf("redis adapter: cannot announce the node: %w", err)
	}
	c.wg.Add(3)
	go c.receive()
	go c.publish()
	go c.beat()
	opts.Logger.Info("redis adapter joined the cluster", "node", opts.NodeID, "prefix", opts.Prefix, "sharded_pubsub", c.sharded)
	return c, nil
}

// shardedPubSub reports whether to use sharded pub/sub: when Redis has
// SPUBLISH (7.0 and later), and not on a Redis Cluster. There a
// connection may only SSUBSCRIBE to channels of the slots its node serves,
// and a node subscribes to channels of several slots on one connection;
// plain pub/sub reaches every node of a Redis Cluster.
func shardedPubSub(ctx context.Context, client goredis.UniversalClient) bool {
	if _, ok := client.(*goredis.ClusterClient); ok {
		return false
	}
	return client.Do(ctx, "PUBSUB", "SHARDNUMSUB").Err() == nil
}

func (c *Cluster) subscribe(ctx context.Context, channels ...string) *goredis.PubSub {
	if c.sharded {
		return c.client.SSubscribe(ctx, channels...)
	}
	return c.client.Subscribe(ctx, channels...)
}

// listen adds channels to the subscription. While Redis is away the
// channels are remembered and subscribed on reconnection.
func (c *Cluster) listen(ctx context.Context, channels ...string) {
	var err error
	if c.sharded {
		err = c.pubsub.SSubscribe(ctx, channels...)
	} else {
		err = c.pubsub.Subscribe(ctx, channels...)
	}
	if err != nil {
		c.health.down(err)
	}
}

// New implements adapter.Factory: the namespace's local index, with
// broadcasts and requests that reach the other nodes.
func (c *Cluster) New(namespace string) adapter.Adapter {
	a := &Adapter{Adapter: c.local.New(namespace).(*memory.Adapter), cluster: c, namespace: namespace}
	c.mu.Lock()
	c.adapters[namespace] = a
	c.mu.Unlock()
	c.listen(c.ctx, c.opts.namespaceChannel(namespace))
	return a
}

func (c *Cluster) adapter(namespace string) *Adapter {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.adapters[namespace]
}

// Namespaces implements adapter.Factory.
func (c *Cluster) Namespaces(ctx context.Context) (map[string]int, adapter.Partial) {
	counts := c.local.LocalNamespaces()
	responses, partial := c.request(ctx, newRequest("", adapter.Targets{}, opNamespaces()))
	for _, r := range responses {
		for name, n := range r.Sizes {
			counts[name] += int(n)
		}
	}
	return counts, partial
}

// Status is nil while Redis is reachable, and says why not otherwise.
func (c *Cluster) Status() error { return c.health.err() }

// Dropped counts broadcasts that could not be handed to Redis.
func (c *Cluster) Dropped() int64 { return c.dropped.Load() }

// Close leaves the cluster: the node stops heartbeating, removes itself
// from the live nodes, and stops its goroutines.
func (c *Cluster) Close() error {
	c.cancel()
	err := c.pubsub.Close()
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
	defer cancel()
	return errors.Join(err, c.client.ZRem(ctx, c.opts.nodesKey(), c.opts.NodeID).Err())
}

// redisLog sends go-redis's own messages (a failed dial, each retry) to
// the node's logger at debug level: the adapter already says once, as a
// warning, that Redis is away, and logs in the node's format.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
