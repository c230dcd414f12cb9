package policy

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/roomcast/roomcast/server"
)

// Limits bounds what one socket, or one client stream, may use.
type Limits struct {
	EventsPerSecond        float64 // per-socket token bucket rate; 0 = unlimited
	Burst                  int     // bucket size (default: ceil(EventsPerSecond))
	MaxPayloadBytes        int     // data+binary per event; 0 = the server's limit
	MaxSockets             int     // sockets in the namespace on this node; 0 = unlimited
	MaxNamespacesPerClient int     // namespaces one client stream may be connected to; 0 = unlimited
	MaxStrikes             int     // refusals for breaking limits before the socket is disconnected; 0 = never
	// StrikesResetAfter puts a socket's strikes back to zero once this long
	// has passed since its last one, so that a long-lived client is not
	// ended by mistakes hours apart; 0 = strikes add up for the socket's
	// whole life.
	StrikesResetAfter time.Duration
}

func (l *Limits) burst() int {
	if l.Burst > 0 {
		return l.Burst
	}
	return max(1, int(math.Ceil(l.EventsPerSecond)))
}

func (l *Limits) newLimiter() *rate.Limiter {
	if l.EventsPerSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(l.EventsPerSecond), l.burst())
}

// allowEvent takes a token from the socket's bucket, or refuses the event
// with how long until the next token, so that a well-behaved client can
// wait instead of retrying blindly.
func allowEvent(lim *rate.Limiter) error {
	now := time.Now()
	if lim.AllowN(now, 1) {
		return nil
	}
	wait := (1 - lim.TokensAt(now)) / float64(lim.Limit())
	retry := int64(math.Ceil(wait * 1000))
	return refusal(server.CodeResourceExhausted, MessageRateLimited, CodeRateLimited, "retry_after_ms", max(retry, 1))
}

func checkPayload(limit int, e *server.Event) error {
	if limit <= 0 {
		return nil
	}
	size := len(e.Binary)
	if e.Data != nil {
		size += proto.Size(e.Data)
	}
	if size > limit {
		return refusal(server.CodeResourceExhausted, MessagePayloadTooLarge, CodePayloadTooLarge, "limit", limit, "size", size)
	}
	return nil
}

// strike counts a refusal for breaking a limit and ends the socket at
// MaxStrikes. The socket's `disconnected` frame then reaches the client
// before the refusal's reply, which the stream still carries.
func (e *enforcer) strike(s *server.Socket, st *socketState) {
	if e.limits.MaxStrikes <= 0 || st == nil {
		return
	}
	if int(st.addStrike(time.Now())) == e.limits.MaxStrikes {
		s.Disconnect(ReasonPolicyViolation)
	}
}

// socketCounts counts the sockets of each namespace a policy is applied
// to, from the connection and disconnect hooks, one at a time, so that
// exactly the sockets over the limit see a count over it. Middleware
// cannot count them itself: a connect it admits may still be refused by
// later middleware, and would then never be uncounted.
type socketCounts struct {
	mu sync.Mutex
	n  map[string]int // by namespace; zero counts are deleted
}

func (c *socketCounts) full(namespace string, limit int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[namespace] >= limit
}

func (c *socketCounts) add(namespace string, delta int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	n := c.n[namespace] + delta
	if n == 0 {
		delete(c.n, namespace)
	} else {
		c.n[namespace] = n
	}
	return n
}

// connected counts a new socket. Connects that other streams had admitted
// at the same moment may have taken the last place first; the socket over
// the limit leaves again, so the limit holds even under a connect storm.
func (e *enforcer) connected(s *server.Socket) {
	if e.counts.add(s.Namespace().Name(), 1) > e.limits.MaxSockets {
		s.Disconnect(ReasonTooManySockets)
	}
}

func (e *enforcer) disconnected(s *server.Socket, _ string) {
	e.counts.add(s.Namespace().Name(), -1)
}
