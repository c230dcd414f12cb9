package bench

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// snapshot is what the progress line shows.
type snapshot struct {
	clients, published, delivered int64
}

// startProgress prints a line to w every interval, until the returned
// stop is called, with the figures that read returns. deliveries/s is
// over the last interval, so it shows the current rate rather than an
// average that hides a stall.
func startProgress(w io.Writer, interval time.Duration, scenario string, read func() snapshot) (stop func()) {
	if w == nil {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		last, lastAt := read(), start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				s := read()
				rate := float64(s.delivered-last.delivered) / now.Sub(lastAt).Seconds()
				fmt.Fprintf(w, "bench %s: elapsed %5.1fs  clients %d  published %d  delivered %d  deliveries/s %.0f\n",
					scenario, now.Sub(start).Seconds(), s.clients, s.published, s.delivered, rate)
				last, lastAt = s, now
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
