package memory

import (
	"context"
	"slices"

	"github.com/roomcast/roomcast/server/adapter"
)

// The cluster-wide requests, answered for this node alone. A cluster
// adapter answers its own part with the Local methods and asks the other
// nodes for theirs.

// FetchSockets implements adapter.Adapter for one node.
func (a *Adapter) FetchSockets(_ context.Context, t adapter.Targets) ([]adapter.SocketInfo, adapter.Partial) {
	return a.LocalFetchSockets(t), adapter.Partial{}
}

// AddSockets implements adapter.Adapter for one node.
func (a *Adapter) AddSockets(_ context.Context, t adapter.Targets, rooms []string) (int, adapter.Partial) {
	return a.LocalAddSockets(t, rooms), adapter.Partial{}
}

// DelSockets implements adapter.Adapter for one node.
func (a *Adapter) DelSockets(_ context.Context, t adapter.Targets, rooms []string) (int, adapter.Partial) {
	return a.LocalDelSockets(t, rooms), adapter.Partial{}
}

// DisconnectSockets implements adapter.Adapter for one node.
func (a *Adapter) DisconnectSockets(_ context.Context, t adapter.Targets, reason string) (int, adapter.Partial) {
	return a.LocalDisconnectSockets(t, reason), adapter.Partial{}
}

// ClusterRoomSizes implements adapter.Adapter for one node.
func (a *Adapter) ClusterRoomSizes(context.Context) (map[string]int, adapter.Partial) {
	return a.RoomSizes(), adapter.Partial{}
}

// selected returns the local sockets selected by t. Recipients are
// collected under the index's locks and acted on after they are released,
// since acting may call back into the adapter.
func (a *Adapter) selected(t adapter.Targets) []adapter.Recipient {
	var out []adapter.Recipient
	a.each(t, func(r adapter.Recipient) { out = append(out, r) })
	return out
}

// LocalFetchSockets describes the local sockets selected by t.
func (a *Adapter) LocalFetchSockets(t adapter.Targets) []adapter.SocketInfo {
	var out []adapter.SocketInfo
	for _, r := range a.selected(t) {
		info := r.Info()
		info.Rooms = a.Rooms(r.ID())
		slices.Sort(info.Rooms)
		out = append(out, info)
	}
	return out
}

// LocalAddSockets makes the local sockets selected by t join rooms.
func (a *Adapter) LocalAddSockets(t adapter.Targets, rooms []string) int {
	sockets := a.selected(t)
	for _, r := range sockets {
		a.AddAll(r, rooms...)
	}
	return len(sockets)
}

// LocalDelSockets makes the local sockets selected by t leave rooms.
func (a *Adapter) LocalDelSockets(t adapter.Targets, rooms []string) int {
	sockets := a.selected(t)
	for _, r := range sockets {
		a.Del(r.ID(), rooms...)
	}
	return len(sockets)
}

// LocalDisconnectSockets disconnects the local sockets selected by t.
func (a *Adapter) LocalDisconnectSockets(t adapter.Targets, reason string) int {
	sockets := a.selected(t)
	for _, r := range sockets {
		r.Disconnect(reason)
	}
	return len(sockets)
}

// Size returns how many local sockets the namespace has.
func (a *Adapter) Size() int {
	n := 0
	for i := range a.members {
		ms := &a.members[i]
		ms.mu.RLock()
		n += len(ms.m)
		ms.mu.RUnlock()
	}
	return n
}
