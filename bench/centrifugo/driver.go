package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/centrifugal/centrifuge-go"

	"github.com/roomcast/roomcast/internal/bench"
)

// Protocols are Centrifugo's client protocols: JSON (what browsers use by
// default) and Protobuf (the lighter one, Centrifugo's best case).
const (
	protocolProtobuf = "protobuf"
	protocolJSON     = "json"
)

// driver connects centrifuge-go clients over WebSocket: each bench client
// is one centrifuge.Client and each room one channel subscription.
type driver struct {
	protocol string
	path     string // the WebSocket endpoint's path
}

func (d driver) Name() string { return "centrifuge-go " + d.protocol }

func (d driver) Connect(ctx context.Context, dial bench.DialFunc, addr string, rooms []string) (bench.DriverConn, error) {
	endpoint := "ws://" + addr + d.path
	cfg := centrifuge.Config{NetDialContext: dial}
	c := &conn{protocol: d.protocol, ended: make(chan struct{}), subs: make(map[string]*centrifuge.Subscription, len(rooms))}
	c.publishCtx, c.cancelPublishes = context.WithCancel(context.Background())
	if d.protocol == protocolJSON {
		c.client = centrifuge.NewJsonClient(endpoint, cfg)
	} else {
		c.client = centrifuge.NewProtobufClient(endpoint, cfg)
	}
	connected := make(chan struct{})
	var once sync.Once
	c.client.OnConnected(func(centrifuge.ConnectedEvent) {
		c.markConnected()
		once.Do(func() { close(connected) })
	})
	// centrifuge-go reconnects by itself; for the bench a connection lost
	// is a client gone, as it is for roomcast's.
	c.client.OnConnecting(func(e centrifuge.ConnectingEvent) {
		if c.wasConnected() {
			c.lost(fmt.Errorf("connection lost: %s (code %d)", e.Reason, e.Code))
		}
	})
	c.client.OnDisconnected(func(e centrifuge.DisconnectedEvent) {
		c.lost(fmt.Errorf("disconnected: %s (code %d)", e.Reason, e.Code))
	})
	// Before the first connect centrifuge-go retries by itself; the bench
	// wants a failed connect to fail, as roomcast's does.
	c.client.OnError(func(e centrifuge.ErrorEvent) {
		c.fail(e.Error)
		if !c.wasConnected() {
			c.lost(e.Error)
		}
	})
	if err := c.client.Connect(); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.wait(ctx, connected); err != nil {
		return nil, err
	}
	for _, room := range rooms {
		if err := c.subscribe(ctx, room); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// conn is one centrifuge-go client.
type conn struct {
	protocol string
	client   *centrifuge.Client
	subs     map[string]*centrifuge.Subscription // written before Connect returns

	// publishes are the publishes waiting for their reply, which Close
	// cancels and waits for.
	publishCtx      context.Context
	cancelPublishes context.CancelFunc
	publishes       sync.WaitGroup

	mu        sync.Mutex
	connected bool
	firstErr  error // the first error the client reported
	deliver   func([]byte)
	refused   func()
	// early holds what arrived before Read, and refusedEarly counts the
	// refusals: Read hands them over first, so that no publisher's token
	// is lost to a race with the start of its reading.
	early        [][]byte
	refusedEarly int
	// dmu keeps deliver to one call at a time, as Read promises.
	dmu sync.Mutex
	// ended is closed, with why set, when the connection is over.
	ended chan struct{}
	why   error
}

func (c *conn) markConnected() { c.mu.Lock(); c.connected = true; c.mu.Unlock() }

func (c *conn) wasConnected() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.connected }

// fail keeps the first error the client reports, which says why a connect
// or subscribe that never completes did not.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.firstErr == nil {
		c.firstErr = err
	}
	c.mu.Unlock()
}

// end marks the connection over, once, with why.
func (c *conn) end(why error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.ended:
	default:
		c.why = why
		close(c.ended)
	}
}

// lost ends a connection that the server or the network ended. The client
// is closed on a goroutine of its own: this runs in one of the client's
// callbacks, which Close waits for.
func (c *conn) lost(why error) {
	c.end(why)
	go c.client.Close()
}

// wait waits for done, the connection's end, or ctx; it closes the client
// unless done came.
func (c *conn) wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-c.ended:
		c.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.firstErr == nil || c.firstErr == c.why {
			return c.why // a failed connect ends with its own error
		}
		return errors.Join(c.why, c.firstErr)
	case <-ctx.Done():
		c.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.firstErr != nil {
			return fmt.Errorf("%w: %w", ctx.Err(), c.firstErr)
		}
		return ctx.Err()
	}
}

// subscribe subscribes to room's channel and waits until it is.
func (c *conn) subscribe(ctx context.Context, room string) error {
	sub, err := c.client.NewSubscription(room)
	if err != nil {
		c.Close()
		return err
	}
	subscribed := make(chan struct{})
	var once sync.Once
	sub.OnSubscribed(func(centrifuge.SubscribedEvent) { once.Do(func() { close(subscribed) }) })
	sub.OnError(func(e centrifuge.SubscriptionErrorEvent) { c.fail(e.Error) })
	sub.OnUnsubscribed(func(e centrifuge.UnsubscribedEvent) {
		const clientClosed = 2 // centrifuge-go's code when Close unsubscribes
		if e.Code != clientClosed {
			c.lost(fmt.Errorf("unsubscribed from %s: %s (code %d)", room, e.Reason, e.Code))
		}
	})
	sub.OnPublication(func(e centrifuge.PublicationEvent) { c.delivered(c.decode(e.Data)) })
	c.subs[room] = sub
	if err := sub.Subscribe(); err != nil {
		c.Close()
		return err
	}
	return c.wait(ctx, subscribed)
}

// encode turns the bench's payload into a publication's data: as it is
// for Protobuf, and as a JSON string for JSON, where data must be JSON.
// The payload is digits and filler, so quoting it needs no escapes.
func (c *conn) encode(data string) []byte {
	if c.protocol == protocolJSON {
		return strconv.AppendQuote(make([]byte, 0, len(data)+2), data)
	}
	return []byte(data)
}

// decode is encode's inverse, enough for the timestamp at the start.
func (c *conn) decode(data []byte) []byte {
	if c.protocol == protocolJSON && len(data) >= 2 && data[0] == '"' {
		return data[1 : len(data)-1]
	}
	return data
}

// Publish sends without waiting for the reply: centrifuge-go's Publish
// waits for it, which would allow one message in flight, so each runs
// on a goroutine of its own, at most the bench's window at once.
func (c *conn) Publish(room, data string) error {
	sub, ok := c.subs[room]
	if !ok {
		return fmt.Errorf("publish to %s: not subscribed to it", room)
	}
	select {
	case <-c.ended:
		return c.readWhy()
	default:
	}
	// A publish on a subscription that is resubscribing would wait for it
	// (centrifuge-go gives up after its read timeout, 5 s); the bench
	// counts a lost connection as a client gone, so it fails now. (A
	// resubscribe on a connection that stays up, which a server asks for
	// with an unsubscribe code of 2500 or more, is not watched for: a
	// callback cannot ask the client its state while Close holds it.)
	if st := sub.State(); st != centrifuge.SubStateSubscribed {
		return fmt.Errorf("publish to %s: subscription %s", room, st)
	}
	payload := c.encode(data)
	// Counted under mu, with ended checked: Close, which ends first, then
	// waits for every publish started.
	c.mu.Lock()
	select {
	case <-c.ended:
		c.mu.Unlock()
		return c.readWhy()
	default:
	}
	c.publishes.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.publishes.Done()
		_, err := sub.Publish(c.publishCtx, payload)
		var refusal *centrifuge.Error
		switch {
		case err == nil || c.publishCtx.Err() != nil:
		case errors.As(err, &refusal):
			c.refusedOne()
		default:
			// Not the server's answer (a timeout, the connection gone):
			// the message may or may not have gone out, so the window
			// cannot be trusted any more.
			c.lost(fmt.Errorf("publish to %s: %w", room, err))
		}
	}()
	return nil
}

// delivered passes one publication on, or keeps it until Read.
func (c *conn) delivered(data []byte) {
	select {
	case <-c.ended:
		return // a reconnect that beat Close: not this client's
	default:
	}
	c.mu.Lock()
	deliver := c.deliver
	if deliver == nil {
		c.early = append(c.early, bytes.Clone(data))
	}
	c.mu.Unlock()
	if deliver != nil {
		c.dmu.Lock()
		deliver(data)
		c.dmu.Unlock()
	}
}

// refusedOne reports one refused publish, or keeps it until Read.
func (c *conn) refusedOne() {
	c.mu.Lock()
	refused := c.refused
	if refused == nil {
		c.refusedEarly++
	}
	c.mu.Unlock()
	if refused != nil {
		refused()
	}
}

func (c *conn) Read(deliver func([]byte), refused func()) error {
	// What came early goes first, under dmu, so that nothing delivered
	// meanwhile overtakes it or runs beside it.
	c.dmu.Lock()
	c.mu.Lock()
	c.deliver, c.refused = deliver, refused
	early, refusedEarly := c.early, c.refusedEarly
	c.early, c.refusedEarly = nil, 0
	c.mu.Unlock()
	for _, data := range early {
		deliver(data)
	}
	c.dmu.Unlock()
	for range refusedEarly {
		refused()
	}
	<-c.ended
	return c.readWhy()
}

func (c *conn) readWhy() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why
}

func (c *conn) Close() {
	c.end(errors.New("closed"))
	c.cancelPublishes()
	c.client.Close()
	c.publishes.Wait()
}
