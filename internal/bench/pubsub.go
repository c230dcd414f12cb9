package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// pubsubShape is what fanout and rooms have in common: rooms of
// subscribers, and publishers that each own every publishers-th room and
// are themselves in the rooms they own.
type pubsubShape struct {
	rooms, perRoom, publishers int
}

// roomName is room r's name; the prefix keeps a bench's rooms apart from
// a chat's on a shared server.
func roomName(r int) string { return fmt.Sprintf("bench-%d", r) }

// publisher is one publishing client with its window.
type publisher struct {
	c *client
	// rooms are the rooms it owns, published to in turn; subs[i] is how
	// many subscribers rooms[i] had once everyone connected.
	rooms []string
	subs  []int64
	// tokens holds one token per message that may still be sent: taken
	// before a send, given back when the publisher's own copy arrives.
	tokens chan struct{}
}

// done gives back n tokens: n of the publisher's messages came back (or
// were refused, and will not).
func (p *publisher) done(n int) {
	for range n {
		select {
		case p.tokens <- struct{}{}:
		default: // a stray event; the window is already full
		}
	}
}

// pubsubRun is one fanout or rooms run in progress.
type pubsubRun struct {
	cfg   Config
	shape pubsubShape
	sum   *Summary
	rec   *recorder

	connected, published, expected, errs, disconnects atomic.Int64
	// closing is set once the run starts closing its clients, after which
	// streams ending and sends failing are the run's doing, not errors.
	closing atomic.Bool
	readers sync.WaitGroup

	reasonOnce sync.Once
	reason     string // why the first stream ended early; read after readers.Wait
}

func runPubSub(ctx context.Context, cfg Config, shape pubsubShape, sum *Summary) error {
	nSubs := shape.rooms * shape.perRoom
	nClients := nSubs + shape.publishers
	sum.Clients, sum.Subscribers, sum.Publishers, sum.Rooms = nClients, nSubs, shape.publishers, shape.rooms
	sum.PayloadBytes, sum.Window, sum.TargetRate, sum.Volatile = cfg.Payload, cfg.Window, cfg.Rate, cfg.Volatile
	if w := raiseNoFile(nClients); w != "" {
		sum.warn(w)
		notef(cfg, "%s", w)
	}
	d, note := newDialer(cfg, nClients)
	if note != "" {
		notef(cfg, "%s", note)
	}

	r := &pubsubRun{cfg: cfg, shape: shape, sum: sum, rec: newRecorder()}
	stopProgress := startProgress(cfg.Progress, cfg.ProgressInterval, cfg.Scenario, func() snapshot {
		return snapshot{clients: r.connected.Load(), published: r.published.Load(), delivered: r.rec.delivered()}
	})
	defer stopProgress()

	// Subscribers first, publishers last: index i < nSubs is subscriber i
	// in room i/perRoom.
	specs := make([][]string, nClients)
	for i := range nSubs {
		specs[i] = []string{roomName(i / shape.perRoom)}
	}
	pubs := make([]*publisher, shape.publishers)
	for p := range pubs {
		pub := &publisher{tokens: make(chan struct{}, cfg.Window)}
		for room := p; room < shape.rooms; room += shape.publishers {
			pub.rooms = append(pub.rooms, roomName(room))
		}
		for range cfg.Window {
			pub.tokens <- struct{}{}
		}
		pubs[p] = pub
		specs[nSubs+p] = pub.rooms
	}

	// Deferred first, so that it runs last, once every client is closed.
	defer func() {
		sum.Errors, sum.Disconnects = r.errs.Load(), r.disconnects.Load()
		if sum.Disconnects > 0 {
			sum.warn(fmt.Sprintf("%d client streams ended before the run closed them; the first: %s", sum.Disconnects, r.reason))
		}
	}()
	start := time.Now()
	clients, failed, firstErr := connectAll(ctx, d, cfg, specs, func(i int, c *client) {
		if i < nSubs {
			r.startSubscriber(c, r.rec.shard(i))
		} else {
			pubs[i-nSubs].c = c
			r.startPublisher(c, pubs[i-nSubs])
		}
	})
	sum.ConnectSeconds = time.Since(start).Seconds()
	defer func() {
		stopProgress() // no line about the clients being closed
		r.closing.Store(true)
		closeAll(clients)
		r.readers.Wait()
	}()
	r.errs.Add(int64(failed))

	if failed > 0 {
		sum.warn(fmt.Sprintf("%d of %d clients failed to connect; first error: %v", failed, nClients, firstErr))
	}
	if ctx.Err() != nil {
		return nil
	}
	perRoom := make(map[string]int64, shape.rooms)
	subscribed := 0
	for i := range nSubs {
		if clients[i] != nil {
			perRoom[specs[i][0]]++
			subscribed++
		}
	}
	for _, p := range pubs {
		if p.c == nil {
			return fmt.Errorf("a publisher could not connect: %v", firstErr)
		}
		for _, room := range p.rooms {
			p.subs = append(p.subs, perRoom[room])
		}
	}
	if subscribed == 0 {
		return fmt.Errorf("no subscriber could connect: %v", firstErr)
	}

	r.publish(ctx, pubs)
	return nil
}

// startSubscriber reads a subscriber's stream into the recorder until it
// ends.
func (r *pubsubRun) startSubscriber(c *client, sh *shard) {
	r.connected.Add(1)
	r.readers.Go(func() {
		err := c.read(handler{
			events:  sh.deliver,
			refused: func(*roomcastv1.Reply) { r.errs.Add(1) },
		})
		r.ended(err)
	})
}

// startPublisher reads a publisher's own copies back, which reopens its
// window.
func (r *pubsubRun) startPublisher(c *client, p *publisher) {
	r.connected.Add(1)
	r.readers.Go(func() {
		err := c.read(handler{
			events: func(evs []*roomcastv1.Event, _ int64) { p.done(len(evs)) },
			// A refused emit will never come back: give its token back.
			refused: func(*roomcastv1.Reply) { r.errs.Add(1); p.done(1) },
		})
		r.ended(err)
	})
}

// ended counts a stream that ended before the run closed it.
func (r *pubsubRun) ended(err error) {
	r.connected.Add(-1)
	if r.closing.Load() {
		return
	}
	r.errs.Add(1)
	r.disconnects.Add(1)
	r.reasonOnce.Do(func() {
		r.reason = fmt.Sprint(err)
		notef(r.cfg, "a client's stream ended: %v", err)
	})
}

// publish runs the publishers for the duration, waits for the last
// deliveries, and fills the summary.
func (r *pubsubRun) publish(ctx context.Context, pubs []*publisher) {
	cfg := r.cfg
	stop := make(chan struct{})
	var running sync.WaitGroup
	start := time.Now()
	for _, p := range pubs {
		running.Go(func() { r.runPublisher(p, stop, start, cfg.Rate/float64(len(pubs))) })
	}
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	close(stop)

	// A publisher blocked in Send (the server not reading) returns only
	// when its stream closes, so its end is waited for no longer than the
	// drain.
	drain := cfg.Drain
	if ctx.Err() != nil {
		drain = min(drain, time.Second) // interrupted: a short drain, then out
	}
	drainEnd := time.Now().Add(drain)
	stopped := make(chan struct{})
	go func() { running.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(drain):
	}
	publishSeconds := time.Since(start).Seconds()

	// Wait until every expected delivery has come, the drain runs out, or
	// no subscriber is left to receive.
	for r.rec.delivered() < r.expected.Load() && r.connected.Load() > 0 && time.Now().Before(drainEnd) {
		time.Sleep(5 * time.Millisecond)
	}
	seconds := time.Since(start).Seconds()
	// Stop counting here: what arrives while clients close is not
	// measured, so published, expected and delivered agree.
	published, expected, delivered := r.published.Load(), r.expected.Load(), r.rec.delivered()
	last := r.rec.lastDelivery()
	r.closing.Store(true)
	for _, p := range pubs {
		p.c.close() // unblocks a publisher stuck in Send
	}
	<-stopped

	sum := r.sum
	sum.Seconds = seconds
	deliverSeconds := 0.0
	if last > 0 {
		deliverSeconds = float64(last-start.UnixNano()) / 1e9
	}
	sum.setDeliveries(published, expected, delivered, publishSeconds, deliverSeconds)
	sum.setLatency(r.rec.percentiles())
	if sum.Dropped > 0 && !cfg.Volatile && r.disconnects.Load() == 0 && ctx.Err() == nil {
		sum.warn(fmt.Sprintf("%d deliveries did not arrive within the %v drain", sum.Dropped, cfg.Drain))
	}
}

// runPublisher sends until stop, each send taking a token from the window
// and, with a rate, waiting for its turn. Latency is measured from just
// before Send, so time spent waiting for the window is not in it.
func (r *pubsubRun) runPublisher(p *publisher, stop <-chan struct{}, start time.Time, rate float64) {
	cfg := r.cfg
	buf := newPayload(cfg.Payload)
	pace := time.NewTimer(0)
	defer pace.Stop()
	<-pace.C
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-p.tokens:
		}
		if rate > 0 {
			// The i-th message is due at start + i/rate: a publisher that
			// fell behind catches up instead of losing the time.
			due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				pace.Reset(wait)
				select {
				case <-stop:
					return
				case <-pace.C:
				}
			}
		}
		k := i % len(p.rooms)
		f := &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
			Namespace: cfg.Namespace,
			Event:     EventName,
			Data:      structpb.NewStringValue(buf.stamp(time.Now().UnixNano())),
			Rooms:     p.rooms[k : k+1],
			Volatile:  cfg.Volatile,
		}}}
		// Counted before the send, so that the progress line never shows
		// more delivered than expected.
		r.published.Add(1)
		r.expected.Add(p.subs[k])
		if err := p.c.stream.Send(f); err != nil {
			r.published.Add(-1)
			r.expected.Add(-p.subs[k])
			if !r.closing.Load() {
				r.errs.Add(1)
				notef(cfg, "publisher send failed: %v", err)
			}
			return
		}
	}
}

// notef prints a note on the progress writer, where a person watching the
// run sees it; stdout stays the one JSON line.
func notef(cfg Config, format string, args ...any) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "bench %s: "+format+"\n", append([]any{cfg.Scenario}, args...)...)
	}
}
