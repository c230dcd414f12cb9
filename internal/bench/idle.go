package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runIdle holds Connections clients in "/" doing nothing and reads the
// server's RSS before and after: what an idle connection costs the
// server, the number that decides how many clients one node can hold.
func runIdle(ctx context.Context, cfg Config, sum *Summary) error {
	n := cfg.Connections
	sum.Clients = n
	if w := raiseNoFile(n); w != "" {
		sum.warn(w)
		notef(cfg, "%s", w)
	}
	d, note := newDialer(cfg, n)
	if note != "" {
		notef(cfg, "%s", note)
	}
	metrics := cfg.metricsAddr()
	before, err := scrapeRSS(ctx, metrics)
	if err != nil {
		sum.warn(fmt.Sprintf("no server RSS before connecting: %v", err))
		notef(cfg, "cannot read the server's RSS: %v (set --http-addr)", err)
	}

	var connected, disconnects atomic.Int64
	var closing atomic.Bool
	var readers sync.WaitGroup
	stopProgress := startProgress(cfg.Progress, cfg.ProgressInterval, cfg.Scenario, func() snapshot {
		return snapshot{clients: connected.Load()}
	})
	defer stopProgress()

	start := time.Now()
	clients, failed, firstErr := connectAll(ctx, d, cfg, make([]clientSpec, n), func(_ int, c conn) {
		connected.Add(1)
		// Reading costs the client a goroutine per connection but tells
		// when the server drops one; an idle client gets nothing else.
		readers.Go(func() {
			_ = c.read(handler{})
			connected.Add(-1)
			if !closing.Load() {
				disconnects.Add(1)
			}
		})
	})
	sum.ConnectSeconds = time.Since(start).Seconds()
	defer func() {
		stopProgress() // no line about the clients being closed
		closing.Store(true)
		closeAll(clients)
		readers.Wait()
		sum.Disconnects = disconnects.Load()
		sum.Errors = int64(failed) + sum.Disconnects
	}()
	if failed > 0 {
		sum.warn(fmt.Sprintf("%d of %d clients failed to connect; first error: %v", failed, n, firstErr))
	}

	// The server's memory settles after the burst of connects (buffers
	// handed back, goroutine stacks shrunk at the next GC); reading at
	// once would charge the burst to each connection.
	hold := time.Now()
	select {
	case <-time.After(cfg.Settle):
	case <-ctx.Done():
	}
	sum.Seconds = time.Since(hold).Seconds()
	sum.setDeliveries(0, 0, 0, 0, 0)
	held := connected.Load()
	after, err := scrapeRSS(context.WithoutCancel(ctx), metrics)
	if err != nil {
		sum.warn(fmt.Sprintf("no server RSS after connecting: %v", err))
		return nil
	}
	sum.ServerRSSBytes = &after
	if before == 0 {
		return nil
	}
	sum.ServerRSSBeforeBytes = &before
	if held > 0 {
		kb := float64(after-before) / float64(held) / 1024
		sum.KBPerConn = &kb
	}
	return nil
}
