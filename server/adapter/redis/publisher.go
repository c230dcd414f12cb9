package redis

import (
	"context"

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
		if c.sharded {
			pipe.SPublish(ctx, m.channel, m.payload)
		} else {
			pipe.Publish(ctx, m.channel, m.payload)
		}
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
	if c.sharded {
		err = c.client.SPublish(ctx, channel, payload).Err()
	} else {
		err = c.client.Publish(ctx, channel, payload).Err()
	}
	if err != nil {
		c.health.down(err)
	}
	return err
}
