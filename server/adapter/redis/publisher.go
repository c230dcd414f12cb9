package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	clusterv1 "github.com/roomcast/roomcast/gen/roomcast/cluster/v1"
)

// outgoing is a message waiting to be published.
type outgoing struct {
	channel string
	payload []byte
}

// maxPipeline bounds how many queued broadcasts go to Redis in one round
// trip.
const maxPipeline = 256

// enqueue hands a broadcast to the publisher without waiting for Redis: a
// publisher never blocks on another node. When the queue is full (Redis
// slow or away) the broadcast is dropped for other nodes and counted.
func (c *Cluster) enqueue(channel string, m *clusterv1.Message) {
	payload, err := proto.Marshal(m)
	if err != nil {
		c.opts.Logger.Error("redis adapter cannot encode a message", "error", err)
		return
	}
	select {
	case c.queue <- outgoing{channel: channel, payload: payload}:
	default:
		c.dropped.Add(1)
	}
}

// publish sends queued broadcasts in order, pipelining whatever has queued
// up meanwhile. One queue and one connection keep each node's broadcasts
// in the order they were made.
func (c *Cluster) publish() {
	defer c.wg.Done()
	batch := make([]outgoing, 0, maxPipeline)
	for {
		select {
		case <-c.ctx.Done():
			return
		case first := <-c.queue:
			batch = append(batch[:0], first)
		}
	fill:
		for len(batch) < maxPipeline {
			select {
			case next := <-c.queue:
				batch = append(batch, next)
			default:
				break fill
			}
		}
		c.send(batch)
		clear(batch)
	}
}

func (c *Cluster) send(batch []outgoing) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	defer cancel()
	pipe := c.client.Pipeline()
	for _, m := range batch {
		_ = pipe.Process(ctx, c.publishCmd(ctx, m.channel, m.payload))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		if c.ctx.Err() == nil {
			c.health.down(err)
		}
		c.dropped.Add(int64(len(batch)))
		return
	}
	c.health.ok()
}

// publishNow sends one message and waits for Redis: for requests and
// responses, whose sender waits anyway.
func (c *Cluster) publishNow(ctx context.Context, channel string, m *clusterv1.Message) error {
	payload, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	cmd := c.publishCmd(ctx, channel, payload)
	_ = c.client.Process(ctx, cmd)
	if err = cmd.Err(); err != nil {
		c.health.down(err)
	}
	return err
}

// publishCmd publishes payload on channel: SPUBLISH with sharded pub/sub,
// PUBLISH otherwise. On a Redis Cluster go-redis sends a PUBLISH, which
// has no key, to each master in turn, so that one channel's messages would
// race each other over several connections; routed by the channel's slot
// instead, they all go to one master over one connection, in order.
func (c *Cluster) publishCmd(ctx context.Context, channel string, payload []byte) *goredis.IntCmd {
	name := "publish"
	if c.sharded {
		name = "spublish"
	}
	cmd := goredis.NewIntCmd(ctx, name, channel, payload)
	cmd.SetFirstKeyPos(1)
	return cmd
}
