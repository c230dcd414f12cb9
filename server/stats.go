package server

import (
	"maps"
	"sync"
	"sync/atomic"
)

// stats are the server's counters, updated on the hot path without locks.
type stats struct {
	clients         atomic.Int64
	sockets         atomic.Int64
	eventsIn        atomic.Int64
	deliveries      atomic.Int64
	droppedVolatile atomic.Int64
	slowConsumers   atomic.Int64

	// streams counts Connect streams started; ended counts those that
	// ended, by reason (a handful of values: the Reason constants).
	streams atomic.Int64
	endedMu sync.Mutex
	ended   map[string]int64
}

func (st *stats) streamEnded(reason string) {
	st.endedMu.Lock()
	if st.ended == nil {
		st.ended = make(map[string]int64)
	}
	st.ended[reason]++
	st.endedMu.Unlock()
}

func (st *stats) endedByReason() map[string]int64 {
	st.endedMu.Lock()
	defer st.endedMu.Unlock()
	return maps.Clone(st.ended)
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
