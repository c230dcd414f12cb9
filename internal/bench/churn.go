package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// churnRoom is the room every churn client joins, so that each connect
// also exercises the room index on the way in and out.
const churnRoom = "bench-churn"

// runChurn opens Clients connections per second, each entering "/",
// joining a room and closing again: the cost of the connect and
// disconnect path (handshake, sid, room index, logging) rather than of
// messages. Latency is from dial to the join's reply.
func runChurn(ctx context.Context, cfg Config, sum *Summary) error {
	// Closed connections linger in TIME_WAIT for a minute, holding their
	// ports: that many need source addresses too.
	demand := cfg.Clients * int(min(cfg.Duration, time.Minute)/time.Second+1)
	d, note := newDialer(cfg, demand)
	if note != "" {
		notef(cfg, "%s", note)
	}
	if w := raiseNoFile(cfg.MaxInFlight); w != "" {
		sum.warn(w)
		notef(cfg, "%s", w)
	}
	rec := newRecorder()
	var attempted, connects, inFlight, errs, skipped atomic.Int64
	var errOnce sync.Once
	stopProgress := startProgress(cfg.Progress, cfg.ProgressInterval, cfg.Scenario, func() snapshot {
		return snapshot{clients: connects.Load()}
	})
	defer stopProgress()

	// A tick launches every connect that is due by then, so rates above
	// the tick frequency are kept on average.
	interval := max(time.Second/time.Duration(cfg.Clients), time.Millisecond)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	end := time.NewTimer(cfg.Duration)
	defer end.Stop()
	var wg sync.WaitGroup
	start := time.Now()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end.C:
			break loop
		case <-ticker.C:
		}
		due := int64(time.Since(start).Seconds()*float64(cfg.Clients)) - attempted.Load() - skipped.Load()
		for range due {
			if inFlight.Load() >= int64(cfg.MaxInFlight) {
				skipped.Add(1) // the server is slower than the rate: do not pile up
				continue
			}
			inFlight.Add(1)
			i := int(attempted.Add(1))
			wg.Go(func() {
				defer inFlight.Add(-1)
				t := time.Now()
				// Round-robin over the nodes of a cluster, so that each
				// node's connect path takes its share.
				c, err := d.connect(ctx, i%d.nodes(), cfg.ConnectTimeout, cfg.Namespace, []string{churnRoom})
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						errOnce.Do(func() { notef(cfg, "connect failed: %v", err) })
					}
					return
				}
				rec.shard(i).observe(time.Since(t))
				connects.Add(1)
				c.close()
			})
		}
	}
	seconds := time.Since(start).Seconds()
	wg.Wait() // each connect ends within ConnectTimeout, or at once on ctx

	n, s := connects.Load(), skipped.Load()
	rate := perSecond(n, seconds)
	sum.Clients = int(attempted.Load())
	sum.Seconds = seconds
	sum.Connects, sum.ConnectsPerS, sum.Skipped = &n, &rate, &s
	sum.Errors = errs.Load()
	sum.setDeliveries(0, 0, 0, seconds, seconds)
	sum.setLatency(rec.percentiles())
	if s > 0 {
		sum.warn(fmt.Sprintf("%d connects skipped: %d were already in progress", s, cfg.MaxInFlight))
	}
	return nil
}
