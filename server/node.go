package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"runtime/debug"
	"time"

	"github.com/roomcast/roomcast/server/adapter"
)

// Version is the server's version: set at link time
// (-ldflags "-X github.com/roomcast/roomcast/server.Version=v1.2.3"), or
// taken from the module's build information.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// NewNodeID returns a random node name, for a node started without one.
func NewNodeID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NodeID returns the name of this node.
func (s *Server) NodeID() string { return s.opts.nodeID }

// StartedAt returns when the server was created.
func (s *Server) StartedAt() time.Time { return s.started }

// Version returns the server's version.
func (s *Server) Version() string { return version() }

// Lookup returns the namespace of that name if it exists, without creating
// it.
func (s *Server) Lookup(name string) *Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.namespaces[name]
}

// FetchNamespaces maps every namespace of the cluster to its socket count;
// this node's namespaces are listed even when they have no sockets.
func (s *Server) FetchNamespaces(ctx context.Context) (map[string]int, adapter.Partial) {
	counts, partial := s.opts.adapters.Namespaces(ctx)
	for _, ns := range s.Namespaces() {
		if _, ok := counts[ns.name]; !ok {
			counts[ns.name] = 0
		}
	}
	return counts, partial
}
