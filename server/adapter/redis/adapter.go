package redis

import (
	"context"

	clusterv1 "github.com/roomcast/roomcast/gen/roomcast/cluster/v1"
	"github.com/roomcast/roomcast/server/adapter"
	"github.com/roomcast/roomcast/server/adapter/memory"
)

// Adapter is one namespace's index on this node (the embedded in-memory
// adapter, for local sockets) plus the reach to other nodes.
type Adapter struct {
	*memory.Adapter
	cluster   *Cluster
	namespace string
}

var _ adapter.Adapter = (*Adapter)(nil)

// Broadcast delivers to local sockets at once and publishes the broadcast
// once for the other nodes, which deliver to theirs.
func (a *Adapter) Broadcast(p *adapter.Packet, t adapter.Targets) int {
	n := a.Adapter.Broadcast(p, t)
	a.cluster.enqueue(a.cluster.opts.namespaceChannel(a.namespace), &clusterv1.Message{
		Node: a.cluster.opts.NodeID,
		Body: &clusterv1.Message_Broadcast{Broadcast: &clusterv1.Broadcast{
			Namespace: a.namespace, Event: p.Event, Rooms: t.Rooms, ExceptRooms: t.Except, Volatile: p.Volatile,
		}},
	})
	return n
}

// FetchSockets implements adapter.Adapter across the cluster.
func (a *Adapter) FetchSockets(ctx context.Context, t adapter.Targets) ([]adapter.SocketInfo, adapter.Partial) {
	sockets := a.LocalFetchSockets(t)
	responses, partial := a.cluster.request(ctx, newRequest(a.namespace, t, opFetchSockets()))
	for _, r := range responses {
		for _, s := range r.Sockets {
			sockets = append(sockets, fromProtoSocket(s))
		}
	}
	return sockets, partial
}

// AddSockets implements adapter.Adapter across the cluster.
func (a *Adapter) AddSockets(ctx context.Context, t adapter.Targets, rooms []string) (int, adapter.Partial) {
	n := a.LocalAddSockets(t, rooms)
	return a.count(ctx, n, newRequest(a.namespace, t, opAddRooms(rooms)))
}

// DelSockets implements adapter.Adapter across the cluster.
func (a *Adapter) DelSockets(ctx context.Context, t adapter.Targets, rooms []string) (int, adapter.Partial) {
	n := a.LocalDelSockets(t, rooms)
	return a.count(ctx, n, newRequest(a.namespace, t, opRemoveRooms(rooms)))
}

// DisconnectSockets implements adapter.Adapter across the cluster.
func (a *Adapter) DisconnectSockets(ctx context.Context, t adapter.Targets, reason string) (int, adapter.Partial) {
	n := a.LocalDisconnectSockets(t, reason)
	return a.count(ctx, n, newRequest(a.namespace, t, opDisconnect(reason)))
}

func (a *Adapter) count(ctx context.Context, local int, req *clusterv1.Request) (int, adapter.Partial) {
	responses, partial := a.cluster.request(ctx, req)
	for _, r := range responses {
		local += int(r.Count)
	}
	return local, partial
}

// ClusterRoomSizes implements adapter.Adapter across the cluster.
func (a *Adapter) ClusterRoomSizes(ctx context.Context) (map[string]int, adapter.Partial) {
	sizes := a.RoomSizes()
	responses, partial := a.cluster.request(ctx, newRequest(a.namespace, adapter.Targets{}, opRoomSizes()))
	for _, r := range responses {
		for room, n := range r.Sizes {
			sizes[room] += int(n)
		}
	}
	return sizes, partial
}
