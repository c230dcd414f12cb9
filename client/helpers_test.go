package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/roomcast/roomcast/client"
	"github.com/roomcast/roomcast/internal/testkit"
)

// ctxFor returns a context that ends with the test kit's timeout.
func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// dial opens a client on the server; the test closes it.
func dial(t *testing.T, srv *testkit.Server, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Dial(ctxFor(t), srv.Addr, opts...)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connect dials and enters a namespace, recording the given events from
// before the connect on.
func connect(t *testing.T, srv *testkit.Server, namespace string, events ...string) (*client.Socket, *recorder) {
	t.Helper()
	c := dial(t, srv)
	s := c.Socket(namespace)
	rec := record(s, events...)
	if err := s.Connect(ctxFor(t), nil); err != nil {
		t.Fatalf("connect %s: %v", namespace, err)
	}
	return s, rec
}

// recorder collects the events a socket receives.
type recorder struct {
	events chan *client.Event
}

func record(s *client.Socket, events ...string) *recorder {
	r := &recorder{events: make(chan *client.Event, 10000)}
	for _, name := range events {
		s.On(name, func(e *client.Event) (any, error) {
			r.events <- e
			return nil, nil
		})
	}
	return r
}

func (r *recorder) next(t *testing.T) *client.Event {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(testkit.Timeout):
		t.Fatalf("no event within %v", testkit.Timeout)
		return nil
	}
}

// none fails if an event arrives within d.
func (r *recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case e := <-r.events:
		t.Fatalf("unexpected event %q %v from %s", e.Name, e.Value(), e.FromSID)
	case <-time.After(d):
	}
}

// quiet is how long a test waits to be sure an event does not come.
const quiet = 200 * time.Millisecond

func join(t *testing.T, s *client.Socket, rooms ...string) {
	t.Helper()
	if err := s.Join(ctxFor(t), rooms...); err != nil {
		t.Fatalf("join %v: %v", rooms, err)
	}
}
