package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
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
	c conn
	// rooms are the rooms it owns, published to in turn; subs[i] is how
	// many subscribers rooms[i] had once everyone connected.
	rooms []string
	subs  []int64
	// tokens holds one token per message that may still be sent: taken
	// before a send, given back once the message has arrived on every
	// node (or was refused, and will not).
	tokens chan struct{}

	mu sync.Mutex
	// arrived[j] counts the publisher's messages that have arrived on node
	// j: its own copies on the first node, where it is connected, and a
	// witness's copies on each other node. A node's messages from one
	// publisher arrive in order, so the least of these is how many
	// messages have arrived everywhere.
	arrived []int64
	// gone marks the nodes whose reader ended: they no longer hold the
	// window back.
	gone []bool
	// refused and acked count the messages refused, and the tokens given
	// back so far.
	refused, acked int64
}

func newPublisher(rooms []string, window, nodes int) *publisher {
	p := &publisher{rooms: rooms, tokens: make(chan struct{}, window),
		arrived: make([]int64, nodes), gone: make([]bool, nodes)}
	for range window {
		p.tokens <- struct{}{}
	}
	return p
}

// arrive records n of the publisher's messages arriving on node j.
func (p *publisher) arrive(j, n int) {
	p.mu.Lock()
	p.arrived[j] += int64(n)
	p.release()
}

// refuse records a message that the server refused: it will arrive
// nowhere.
func (p *publisher) refuse() {
	p.mu.Lock()
	p.refused++
	p.release()
}

// lost records that node j's reader ended.
func (p *publisher) lost(j int) {
	p.mu.Lock()
	p.gone[j] = true
	p.release()
}

// release gives back the tokens of the messages that have now arrived on
// every node still read, and unlocks p.mu.
func (p *publisher) release() {
	everywhere := int64(-1)
	for j, n := range p.arrived {
		if !p.gone[j] && (everywhere < 0 || n < everywhere) {
			everywhere = n
		}
	}
	n := everywhere + p.refused - p.acked
	if everywhere < 0 || n <= 0 {
		p.mu.Unlock()
		return
	}
	p.acked += n
	p.mu.Unlock()
	for range n {
		select {
		case p.tokens <- struct{}{}:
		default: // a stray event; the window is already full
		}
	}
}

// layout is the clients of a pubsub run, by index: subscribers first
// (subscriber i is in room i/perRoom and on node i%nodes, so that every
// room with at least as many subscribers as there are nodes spans them
// all), then the publishers, on the first node, then each publisher's
// witnesses: publisher p's on node j (0 < j < nodes) has index
// subscribers + publishers + p*(nodes-1) + j-1 and joins p's rooms.
func layout(shape pubsubShape, nodes int) (specs []clientSpec, pubRooms [][]string) {
	nSubs := shape.rooms * shape.perRoom
	specs = make([]clientSpec, 0, nSubs+shape.publishers*nodes)
	for i := range nSubs {
		specs = append(specs, clientSpec{node: i % nodes, rooms: []string{roomName(i / shape.perRoom)}})
	}
	pubRooms = make([][]string, shape.publishers)
	for p := range pubRooms {
		for room := p; room < shape.rooms; room += shape.publishers {
			pubRooms[p] = append(pubRooms[p], roomName(room))
		}
		specs = append(specs, clientSpec{node: 0, rooms: pubRooms[p]})
	}
	for p := range pubRooms {
		for j := 1; j < nodes; j++ {
			specs = append(specs, clientSpec{node: j, rooms: pubRooms[p]})
		}
	}
	return specs, pubRooms
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

	// cpuAddr is the HTTP address whose /metrics gives the server's CPU
	// time, empty when it is not read; cpuBefore is the reading at the
	// start of publishing.
	cpuAddr   string
	cpuBefore float64
}

func runPubSub(ctx context.Context, cfg Config, shape pubsubShape, sum *Summary) error {
	nodes := len(cfg.targets())
	specs, pubRooms := layout(shape, nodes)
	nSubs := shape.rooms * shape.perRoom
	nClients := len(specs)
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
	if nodes > 1 {
		notef(cfg, "%d nodes: subscribers round-robin over them, publishers on %s, and a witness of each publisher on every other node",
			nodes, d.targets[0])
	}

	r := &pubsubRun{cfg: cfg, shape: shape, sum: sum, rec: newRecorder()}
	stopProgress := startProgress(cfg.Progress, cfg.ProgressInterval, cfg.Scenario, func() snapshot {
		return snapshot{clients: r.connected.Load(), published: r.published.Load(), delivered: r.rec.delivered()}
	})
	defer stopProgress()

	pubs := make([]*publisher, shape.publishers)
	for p := range pubs {
		pubs[p] = newPublisher(pubRooms[p], cfg.Window, nodes)
	}
	firstWitness := nSubs + shape.publishers

	// Deferred first, so that it runs last, once every client is closed.
	defer func() {
		sum.Errors, sum.Disconnects = r.errs.Load(), r.disconnects.Load()
		if sum.Disconnects > 0 {
			sum.warn(fmt.Sprintf("%d client streams ended before the run closed them; the first: %s", sum.Disconnects, r.reason))
		}
	}()
	start := time.Now()
	clients, failed, firstErr := connectAll(ctx, d, cfg, specs, func(i int, c conn) {
		switch {
		case i < nSubs:
			r.startSubscriber(c, r.rec.shard(i))
		case i < firstWitness:
			pubs[i-nSubs].c = c
			r.startPublisher(c, pubs[i-nSubs])
		default:
			w := i - firstWitness
			r.startWitness(c, pubs[w/(nodes-1)], w%(nodes-1)+1)
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
			perRoom[specs[i].rooms[0]]++
			subscribed++
		}
	}
	for i := firstWitness; i < nClients; i++ {
		if clients[i] == nil {
			// Its publisher's window would never reopen.
			return fmt.Errorf("a witness on %s could not connect: %v", d.targets[specs[i].node], firstErr)
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

	if cfg.HTTPAddr != "" && nodes == 1 {
		// Only when asked: a guessed address might be another server's.
		if before, err := scrapeCPU(ctx, cfg.HTTPAddr); err != nil {
			sum.warn(fmt.Sprintf("no server CPU time: %v", err))
		} else {
			r.cpuAddr, r.cpuBefore = cfg.HTTPAddr, before
		}
	}
	r.publish(ctx, pubs)
	return nil
}

// startSubscriber reads a subscriber's stream into the recorder until it
// ends.
func (r *pubsubRun) startSubscriber(c conn, sh *shard) {
	r.connected.Add(1)
	r.readers.Go(func() {
		err := c.read(handler{
			events:  sh.deliver,
			refused: func() { r.errs.Add(1) },
		})
		r.ended(err)
	})
}

// startPublisher reads a publisher's own copies back, which tell that its
// messages arrived on the first node.
func (r *pubsubRun) startPublisher(c conn, p *publisher) {
	r.connected.Add(1)
	r.readers.Go(func() {
		err := c.read(handler{
			events: func(stamps []int64, _ int64) { p.arrive(0, len(stamps)) },
			// A refused emit will never come back: give its token back.
			refused: func() { r.errs.Add(1); p.refuse() },
		})
		if !r.closing.Load() {
			p.lost(0)
		}
		r.ended(err)
	})
}

// startWitness reads the copies of p's messages that reach node j. Without
// witnesses, a publisher acknowledged by its own node alone could outrun
// the other nodes, and their backlog (in Redis and in their queues) would
// grow for the whole run: the window would no longer bound what is in
// flight. Witnesses' copies, like the publisher's own, are not counted as
// deliveries.
func (r *pubsubRun) startWitness(c conn, p *publisher, j int) {
	r.connected.Add(1)
	r.readers.Go(func() {
		err := c.read(handler{
			events:  func(stamps []int64, _ int64) { p.arrive(j, len(stamps)) },
			refused: func() { r.errs.Add(1) },
		})
		if !r.closing.Load() {
			p.lost(j)
		}
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
	r.readCPU(ctx, delivered)
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

// readCPU sets the server CPU time since publishing started, in all and
// per delivery, when it is read at all.
func (r *pubsubRun) readCPU(ctx context.Context, delivered int64) {
	if r.cpuAddr == "" {
		return
	}
	after, err := scrapeCPU(context.WithoutCancel(ctx), r.cpuAddr)
	if err != nil {
		r.sum.warn(fmt.Sprintf("no server CPU time after the run: %v", err))
		return
	}
	cpu := after - r.cpuBefore
	r.sum.ServerCPUSeconds = &cpu
	if delivered > 0 {
		perDelivery := cpu * 1e6 / float64(delivered)
		r.sum.ServerCPUMicrosPerDelivery = &perDelivery
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
		// Counted before the send, so that the progress line never shows
		// more delivered than expected.
		r.published.Add(1)
		r.expected.Add(p.subs[k])
		if err := p.c.publish(p.rooms[k], buf.stamp(time.Now().UnixNano())); err != nil {
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
