package bench

import (
	"runtime"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 µs to an hour with three
// significant digits: 0.1% resolution at every magnitude.
const (
	histMinMicros = 1
	histMaxMicros = int64(time.Hour / time.Microsecond)
	histDigits    = 3
)

// recorder collects deliveries and their latencies from many receiving
// goroutines. One histogram per receiver would cost ~200 KB each (200 MB
// for 1000 subscribers), one shared histogram would serialise them all, so
// receivers share a few shards, each taken once per frame rather than once
// per event.
type recorder struct {
	shards []shard
}

type shard struct {
	mu        sync.Mutex
	h         *hdrhistogram.Histogram
	delivered int64
	last      int64 // unix nanos of the latest delivery
	_         [64]byte
}

func newRecorder() *recorder {
	n := min(max(2*runtime.GOMAXPROCS(0), 4), 64)
	r := &recorder{shards: make([]shard, n)}
	for i := range r.shards {
		r.shards[i].h = hdrhistogram.New(histMinMicros, histMaxMicros, histDigits)
	}
	return r
}

// shard returns the shard of receiver i.
func (r *recorder) shard(i int) *shard { return &r.shards[i%len(r.shards)] }

// deliver counts the events of one frame received at now, given by their
// send times, and records the latency of each that has one.
func (s *shard) deliver(stamps []int64, now int64) {
	s.mu.Lock()
	for _, sent := range stamps {
		if sent > 0 {
			s.recordLocked(now - sent)
		}
	}
	s.delivered += int64(len(stamps))
	s.last = max(s.last, now)
	s.mu.Unlock()
}

// observe records one latency that is not a delivery (churn's connects).
func (s *shard) observe(d time.Duration) {
	s.mu.Lock()
	s.recordLocked(int64(d))
	s.mu.Unlock()
}

func (s *shard) recordLocked(nanos int64) {
	us := min(max(nanos/int64(time.Microsecond), histMinMicros), histMaxMicros)
	_ = s.h.RecordValue(us) // cannot fail: us is within the range
}

// delivered is the total number of deliveries so far.
func (r *recorder) delivered() int64 {
	var n int64
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		n += s.delivered
		s.mu.Unlock()
	}
	return n
}

// lastDelivery is the time of the latest delivery, zero if none.
func (r *recorder) lastDelivery() int64 {
	var t int64
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		t = max(t, s.last)
		s.mu.Unlock()
	}
	return t
}

// percentiles are the latency figures of a summary, in milliseconds.
type percentiles struct {
	p50, p90, p99, max float64
	count              int64
}

func (r *recorder) percentiles() percentiles {
	all := hdrhistogram.New(histMinMicros, histMaxMicros, histDigits)
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		all.Merge(s.h)
		s.mu.Unlock()
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if all.TotalCount() == 0 {
		return percentiles{}
	}
	return percentiles{
		p50:   ms(all.ValueAtQuantile(50)),
		p90:   ms(all.ValueAtQuantile(90)),
		p99:   ms(all.ValueAtQuantile(99)),
		max:   ms(all.Max()),
		count: all.TotalCount(),
	}
}
