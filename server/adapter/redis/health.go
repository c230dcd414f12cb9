package redis

import (
	"log/slog"
	"sync"
)

// health is whether Redis is reachable. Changes are logged once each, not
// once per failed message.
type health struct {
	log *slog.Logger

	mu   sync.Mutex
	up   bool
	last error
}

func (h *health) down(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = err
	if h.up {
		h.up = false
		h.log.Warn("redis adapter lost Redis: cross-node delivery paused, local delivery goes on", "error", err)
	}
}

func (h *health) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.up {
		h.up = true
		h.last = nil
		h.log.Info("redis adapter reached Redis again: cross-node delivery resumed")
	}
}

func (h *health) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.up {
		return nil
	}
	return h.last
}
