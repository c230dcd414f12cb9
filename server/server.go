package server

import (
	"context"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/status"
)

// Server is the hub: namespaces, their sockets and rooms, and the client
// streams that carry them.
type Server struct {
	opts    options
	log     *slog.Logger
	stats   stats
	health  *health.Server
	started time.Time
	metrics *metrics
	// drainers run the clients' writers; they stop once the server has
	// shut down and its last client is gone.
	drainers *drainers

	mu         sync.RWMutex
	namespaces map[string]*Namespace
	patterns   []*NamespacePattern
	clients    map[*client]struct{}
	closing    bool
	drained    chan struct{} // closed once closing and no client is left
}

// New returns a server with the namespace "/".
func New(opts ...Option) *Server {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{
		opts:       o,
		log:        o.logger,
		health:     health.NewServer(),
		started:    time.Now(),
		namespaces: make(map[string]*Namespace),
		clients:    make(map[*client]struct{}),
		drained:    make(chan struct{}),
		drainers:   newDrainers(drainerIdle),
	}
	s.metrics = newMetrics(s)
	s.Of("/")
	return s
}

// Of returns the static namespace of that name, creating it if needed. A
// name without a leading "/" gets one, as in Socket.IO.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return s.getOrCreate(name, nil)
}

// getOrCreate returns the namespace of that name, creating it (for the
// pattern, when one made it) if it does not exist yet.
func (s *Server) getOrCreate(name string, pattern *NamespacePattern) *Namespace {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns := s.namespaces[name]; ns != nil {
		return ns
	}
	ns := newNamespace(s, name, pattern)
	s.namespaces[name] = ns
	return ns
}

// OfPattern declares dynamic namespaces: a connect to an unknown name that
// the expression matches creates that namespace. Patterns are tried in the
// order declared; anchor the expression (^...$) to match whole names.
func (s *Server) OfPattern(re *regexp.Regexp) *NamespacePattern {
	p := &NamespacePattern{re: re}
	s.mu.Lock()
	s.patterns = append(s.patterns, p)
	s.mu.Unlock()
	return p
}

// Namespaces returns the namespaces that exist, sorted by name.
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	out := make([]*Namespace, 0, len(s.namespaces))
	for _, ns := range s.namespaces {
		out = append(out, ns)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// namespace returns the namespace a client may connect to by that name,
// creating it from a pattern if needed, or nil.
func (s *Server) namespace(name string) *Namespace {
	s.mu.RLock()
	ns := s.namespaces[name]
	patterns := s.patterns
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, p := range patterns {
		if p.re.MatchString(name) {
			return s.getOrCreate(name, p)
		}
	}
	return nil
}

func (s *Server) addClient(c *client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.clients[c] = struct{}{}
	s.stats.clients.Add(1)
	return true
}

func (s *Server) removeClient(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.signalDrained()
	s.mu.Unlock()
	s.stats.clients.Add(-1)
}

// signalDrained closes drained once the server is closing and its last
// client handler has returned. s.mu must be held.
func (s *Server) signalDrained() {
	if s.closing && len(s.clients) == 0 {
		s.drainers.stop()
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}

// Shutdown tells every client that the server is shutting down, ends their
// streams, and refuses new ones. Health reports NOT_SERVING from then on.
// It returns without waiting; Stop waits.
func (s *Server) Shutdown() {
	s.mu.Lock()
	s.closing = true
	s.signalDrained()
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	s.health.Shutdown()
	for _, c := range clients {
		c.close(ReasonServerShuttingDown, status.Error(codes.Unavailable, ReasonServerShuttingDown))
	}
}

// Ready reports whether the server accepts clients.
func (s *Server) Ready() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return !s.closing
}

// GRPCServer is what Stop stops: a *grpc.Server, or what NewPortServer
// returns.
type GRPCServer interface {
	GracefulStop()
	Stop()
}

// Stop shuts the hub down and stops g gracefully; when ctx ends first, it
// stops g at once. Client handlers return within the drain timeout; a
// stalled peer that never reads would then hold GracefulStop (its stream's
// last frames and trailers wait on flow control) until ctx ends, so once
// every client is gone the transport gets one more drain timeout to flush
// and the rest is cut.
func (s *Server) Stop(ctx context.Context, g GRPCServer) error {
	s.Shutdown()
	done := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(done)
	}()
	drained := s.drained
	var cut <-chan time.Time
	for {
		select {
		case <-done:
			return nil
		case <-drained:
			drained = nil
			timer := time.NewTimer(s.opts.drainTimeout)
			defer timer.Stop()
			cut = timer.C
		case <-cut:
			g.Stop()
			<-done
			return nil
		case <-ctx.Done():
			g.Stop()
			<-done
			return ctx.Err()
		}
	}
}
