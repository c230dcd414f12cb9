package server

import "sync/atomic"

// stats are the server's counters, updated on the hot path without locks.
type stats struct {
	clients         atomic.Int64
	sockets         atomic.Int64
	eventsIn        atomic.Int64
	deliveries      atomic.Int64
	droppedVolatile atomic.Int64
	slowConsumers   atomic.Int64
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	// Clients and Sockets are the current client streams and namespace
	// sockets.
	Clients, Sockets int64
	// EventsIn counts events received from clients; Deliveries counts
	// events written to client streams.
	EventsIn, Deliveries int64
	// DroppedVolatile counts volatile events dropped for full queues;
	// SlowConsumers counts clients disconnected for a full queue.
	DroppedVolatile, SlowConsumers int64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Clients:         s.stats.clients.Load(),
		Sockets:         s.stats.sockets.Load(),
		EventsIn:        s.stats.eventsIn.Load(),
		Deliveries:      s.stats.deliveries.Load(),
		DroppedVolatile: s.stats.droppedVolatile.Load(),
		SlowConsumers:   s.stats.slowConsumers.Load(),
	}
}
