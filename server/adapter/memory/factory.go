package memory

import (
	"context"
	"sync"

	"github.com/roomcast/roomcast/server/adapter"
)

// Factory makes in-memory adapters: a cluster of one node.
type Factory struct {
	mu       sync.Mutex
	adapters map[string]*Adapter
}

var _ adapter.Factory = (*Factory)(nil)

// NewFactory returns a factory of in-memory adapters.
func NewFactory() *Factory { return &Factory{adapters: make(map[string]*Adapter)} }

// New implements adapter.Factory.
func (f *Factory) New(namespace string) adapter.Adapter {
	a := New()
	f.mu.Lock()
	f.adapters[namespace] = a
	f.mu.Unlock()
	return a
}

// Namespaces implements adapter.Factory.
func (f *Factory) Namespaces(context.Context) (map[string]int, adapter.Partial) {
	return f.LocalNamespaces(), adapter.Partial{}
}

// LocalNamespaces maps each namespace made here to its socket count.
func (f *Factory) LocalNamespaces() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.adapters))
	for name, a := range f.adapters {
		out[name] = a.Size()
	}
	return out
}

// Adapter returns the adapter made for a namespace, or nil.
func (f *Factory) Adapter(namespace string) *Adapter {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adapters[namespace]
}
