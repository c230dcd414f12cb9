// Command tcpfloor is the latency floor of fan-out on this machine: what
// `roomcast bench --scenario fanout --rate R` measures, with everything
// but TCP taken away. A server process holds --conns loopback connections,
// each with a writer goroutine that sends everything queued for it in one
// write(2), as roomcast's writers do; at --rate messages per second it
// queues one message (a length prefix, the send time and padding to
// --payload bytes) for every connection. A client process reads the
// connections and records each message's latency, send to receipt, as the
// bench does. No HTTP/2, no gRPC, no hub: what remains is the cost of one
// write and one read per connection per batch on two shared cores, which
// roomcast's latency cannot go below.
//
//	go run ./bench/tcpfloor --conns 1000 --rate 2000 --duration 10s
//
// --sweepers N writes with N goroutines instead, each visiting its share
// of the connections in turn: fewer, larger writes.
//
// It prints one JSON line with the bench's keys (latency percentiles in
// ms, deliveries/s, server CPU per delivery), the CPU of the client, and
// the writes per second of the server.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func main() {
	conns := flag.Int("conns", 1000, "connections, each receiving every message")
	rate := flag.Float64("rate", 2000, "messages per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to publish")
	payload := flag.Int("payload", 100, "bytes per message, at least 8 (the send time)")
	sweepers := flag.Int("sweepers", 0, "0: a writer goroutine per connection, as roomcast has; N: N goroutines, each writing to its share of the connections in turn")
	serve := flag.String("serve", "", "internal: run the server side, listening on this address")
	flag.Parse()
	if *payload < 8 || *conns < 1 || *rate <= 0 || *sweepers < 0 {
		log.Fatal("tcpfloor: --payload must be at least 8, --conns and --rate positive, --sweepers not negative")
	}
	r := run{conns: *conns, rate: *rate, duration: *duration, payload: *payload, sweepers: *sweepers}
	if *serve != "" {
		r.serve(*serve)
		return
	}
	r.measure()
}

// run is one measurement's shape.
type run struct {
	conns, payload, sweepers int
	rate                     float64
	duration                 time.Duration
}

// conn is one connection's queue and writer.
type conn struct {
	nc    net.Conn
	mu    sync.Mutex
	queue []byte
	spare []byte
	wake  chan struct{} // holds a token while there is something to write
}

func (c *conn) enqueue(msg []byte) {
	c.mu.Lock()
	c.queue = append(c.queue, msg...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// flush writes what is queued, in one write.
func (c *conn) flush(writes *atomic.Int64) error {
	c.mu.Lock()
	out := c.queue
	c.queue, c.spare = c.spare[:0], nil
	c.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	if _, err := c.nc.Write(out); err != nil {
		return err
	}
	writes.Add(1)
	c.mu.Lock()
	c.spare = out
	c.mu.Unlock()
	return nil
}

// serve accepts the connections, publishes to all of them at the rate for
// the duration, then reports its writes and seconds on stdout and exits.
func (r run) serve(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	var writes atomic.Int64
	cs := make([]*conn, r.conns)
	wakes := make([]chan struct{}, max(r.sweepers, 1))
	for i := range wakes {
		wakes[i] = make(chan struct{}, 1)
	}
	for i := range cs {
		nc, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		cs[i] = &conn{nc: nc, wake: make(chan struct{}, 1)}
		if r.sweepers == 0 {
			go func(c *conn) {
				for range c.wake {
					if c.flush(&writes) != nil {
						return
					}
				}
			}(cs[i])
		} else {
			cs[i].wake = wakes[i%r.sweepers]
		}
	}
	for k := range r.sweepers {
		go func() {
			for range wakes[k] {
				for i := k; i < len(cs); i += r.sweepers {
					_ = cs[i].flush(&writes)
				}
			}
		}()
	}
	msg := make([]byte, 4+r.payload)
	binary.BigEndian.PutUint32(msg, uint32(r.payload))
	start := time.Now()
	published := 0
	for ; ; published++ {
		due := start.Add(time.Duration(float64(published) / r.rate * float64(time.Second)))
		if due.Sub(start) >= r.duration {
			break
		}
		time.Sleep(time.Until(due))
		binary.BigEndian.PutUint64(msg[4:], uint64(time.Now().UnixNano()))
		for _, c := range cs {
			c.enqueue(msg)
		}
	}
	seconds := time.Since(start).Seconds()
	// The last writes: until every queue is empty, or 10 s.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && queued(cs); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the writes taken from the queues
	fmt.Printf("%d %f %d\n", writes.Load(), seconds, published)
	for _, c := range cs {
		c.nc.Close()
	}
}

// queued reports whether any connection still has something to write.
func queued(cs []*conn) bool {
	for _, c := range cs {
		c.mu.Lock()
		n := len(c.queue)
		c.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// measure starts the server process, connects, reads every message, and
// prints the summary.
func (r run) measure() {
	n, rate, duration, payload := r.conns, r.rate, r.duration, r.payload
	srv := exec.Command(os.Args[0], "--serve", "127.0.0.1:0", "--conns", fmt.Sprint(n), "--sweepers", fmt.Sprint(r.sweepers),
		"--rate", fmt.Sprint(rate), "--duration", duration.String(), "--payload", fmt.Sprint(payload))
	srv.Stderr = os.Stderr
	out, err := srv.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		log.Fatal("tcpfloor: the server did not start")
	}
	addr := lines.Text()

	var (
		mu        sync.Mutex
		hist      = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
		delivered atomic.Int64
		readers   sync.WaitGroup
	)
	for range n {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			log.Fatal(err)
		}
		readers.Go(func() {
			// Latencies are kept per connection and merged once: one
			// histogram lock per message would serialise the readers.
			var lat []int64
			r := bufio.NewReaderSize(nc, 32<<10)
			msg := make([]byte, 4+payload)
			for {
				if _, err := io.ReadFull(r, msg); err != nil {
					break
				}
				now := time.Now().UnixNano()
				lat = append(lat, (now-int64(binary.BigEndian.Uint64(msg[4:])))/1000)
			}
			delivered.Add(int64(len(lat)))
			mu.Lock()
			for _, l := range lat {
				_ = hist.RecordValue(min(max(l, 1), hist.HighestTrackableValue()))
			}
			mu.Unlock()
		})
	}
	if !lines.Scan() {
		log.Fatal("tcpfloor: the server ended without its report")
	}
	var writes, published int64
	var seconds float64
	if _, err := fmt.Sscan(lines.Text(), &writes, &seconds, &published); err != nil {
		log.Fatal(err)
	}
	readers.Wait()
	if err := srv.Wait(); err != nil {
		log.Fatal(err)
	}
	ms := func(q float64) float64 { return float64(hist.ValueAtQuantile(q)) / 1000 }
	expected := published * int64(n)
	serverCPU := cpuSeconds(srv.ProcessState.SysUsage())
	sum := map[string]any{
		// The keys the bench prints, where they have a meaning here.
		"scenario": "fanout", "subscribers": n, "target_rate": rate, "payload_bytes": payload, "sweepers": r.sweepers,
		"published_per_s": float64(published) / seconds, "expected": expected, "delivered": delivered.Load(),
		"delivery_ratio":   float64(delivered.Load()) / float64(expected),
		"deliveries_per_s": float64(delivered.Load()) / seconds,
		"p50_ms":           ms(50), "p90_ms": ms(90), "p99_ms": ms(99), "max_ms": float64(hist.Max()) / 1000,
		"server_cpu_seconds":         serverCPU,
		"server_cpu_us_per_delivery": serverCPU * 1e6 / float64(max(delivered.Load(), 1)),
		"client_cpu_seconds":         cpuSeconds(selfUsage()),
		"server_writes_per_s":        float64(writes) / seconds,
	}
	if err := json.NewEncoder(os.Stdout).Encode(sum); err != nil {
		log.Fatal(err)
	}
}

func selfUsage() any {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return &ru
}

func cpuSeconds(u any) float64 {
	ru, ok := u.(*syscall.Rusage)
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
