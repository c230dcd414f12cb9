package redis

import (
	"context"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Live nodes are members of a sorted set scored by their last heartbeat
// (unix milliseconds). A node that stops heartbeating drops out of the
// answers NodeTTL later, whatever killed it.

func (c *Cluster) heartbeat(ctx context.Context) error {
	now := time.Now()
	key := c.opts.nodesKey()
	pipe := c.client.Pipeline()
	pipe.ZAdd(ctx, key, goredis.Z{Score: float64(now.UnixMilli()), Member: c.opts.NodeID})
	// Forget long-dead nodes so that the set stays small.
	pipe.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.Add(-10*c.opts.NodeTTL).UnixMilli(), 10))
	_, err := pipe.Exec(ctx)
	return err
}

func (c *Cluster) beat() {
	defer c.wg.Done()
	ticker := time.NewTicker(c.opts.Heartbeat)
	defer ticker.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-ticker.C:
			ctx, cancel := context.WithTimeout(c.ctx, c.opts.Heartbeat)
			if err := c.heartbeat(ctx); err != nil {
				if c.ctx.Err() == nil {
					c.health.down(err)
				}
			} else {
				c.health.ok()
			}
			cancel()
		}
	}
}

// otherNodes lists the live nodes other than this one.
func (c *Cluster) otherNodes(ctx context.Context) ([]string, error) {
	since := time.Now().Add(-c.opts.NodeTTL).UnixMilli()
	nodes, err := c.client.ZRangeByScore(ctx, c.opts.nodesKey(), &goredis.ZRangeBy{
		Min: strconv.FormatInt(since, 10), Max: "+inf",
	}).Result()
	if err != nil {
		// Without Redis the nodes cannot be asked; the last ones seen are
		// the ones whose answer is missing.
		c.mu.Lock()
		last := c.lastOthers
		c.mu.Unlock()
		return last, err
	}
	others := nodes[:0]
	for _, n := range nodes {
		if n != c.opts.NodeID {
			others = append(others, n)
		}
	}
	c.mu.Lock()
	c.lastOthers = others
	c.mu.Unlock()
	return others, nil
}
