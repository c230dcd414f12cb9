// Package adapter defines where a namespace's room index lives and how a
// broadcast reaches its sockets: Socket.IO's adapter. The namespace and
// socket code only ever ask the adapter about rooms, so an implementation
// that spans several nodes (server/adapter/redis) can replace the
// in-memory one (server/adapter/memory) without touching them.
package adapter

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
)

// Recipient is a socket on this node that the adapter can hand packets to,
// describe, and disconnect.
type Recipient interface {
	// ID is the socket's sid, which is also the name of its own room.
	ID() string
	// Deliver queues the packet for the socket. It must not block and must
	// not call back into the adapter: adapters call it while they hold a
	// read lock on their index. It reports whether the packet was queued.
	Deliver(p *Packet) bool
	// Info describes the socket for the admin API; rooms are filled in by
	// the adapter.
	Info() SocketInfo
	// Disconnect ends the socket; it calls back into the adapter, so
	// adapters call it without holding locks.
	Disconnect(reason string)
}

// Packet is one event on its way to many sockets, encoded once.
type Packet struct {
	// Event is an encoded roomcast.v1.Event, shared by every recipient.
	Event []byte
	// Volatile packets are dropped for recipients whose queue is full.
	Volatile bool
}

// Targets selects sockets: the union of Rooms (each socket once; every
// socket of the namespace when Rooms is empty) minus the sockets of Except.
type Targets struct {
	Rooms  []string
	Except []string
}

// SocketInfo describes a socket, wherever in the cluster it is.
type SocketInfo struct {
	SID          string
	Namespace    string
	Rooms        []string
	ConnectedAt  time.Time
	Peer         string
	MetadataKeys []string // never values: they may be secrets
	AuthKeys     []string
	Data         *structpb.Struct // what middleware attached, as JSON

	Node string
}

// Partial says which nodes a cluster-wide request did not hear from: the
// answer covers every other node.
type Partial struct {
	// Missing names nodes that did not answer in time.
	Missing []string
	// Err is why other nodes could not be asked at all (for example Redis
	// is unreachable); the answer then covers this node only.
	Err error
}

// Adapter is the room index of one namespace.
type Adapter interface {
	// AddAll makes a local socket a member of the rooms, registering it if
	// new.
	AddAll(r Recipient, rooms ...string)
	// Del removes a local socket from the rooms.
	Del(sid string, rooms ...string)
	// DelAll removes a local socket from every room and forgets it.
	DelAll(sid string)
	// Rooms lists the rooms of a local socket.
	Rooms(sid string) []string
	// Sockets lists the sids of the local sockets selected by t.
	Sockets(t Targets) []string
	// RoomSizes maps every room with local members to its local member
	// count.
	RoomSizes() map[string]int
	// Broadcast delivers p to the sockets selected by t, on every node,
	// and reports how many local sockets it was handed to.
	Broadcast(p *Packet, t Targets) int

	// The cluster-wide requests behind the admin API (Socket.IO's
	// fetchSockets, socketsJoin, socketsLeave, disconnectSockets). Each
	// waits at most until ctx ends and says which nodes did not answer.

	FetchSockets(ctx context.Context, t Targets) ([]SocketInfo, Partial)
	AddSockets(ctx context.Context, t Targets, rooms []string) (int, Partial)
	DelSockets(ctx context.Context, t Targets, rooms []string) (int, Partial)
	DisconnectSockets(ctx context.Context, t Targets, reason string) (int, Partial)
	// ClusterRoomSizes maps every room of the namespace, on any node, to
	// its member count.
	ClusterRoomSizes(ctx context.Context) (map[string]int, Partial)
}

// Factory makes the adapter of each namespace of a node, and answers the
// questions about the node's cluster as a whole.
type Factory interface {
	// New returns the adapter of a namespace of this node; the hub calls
	// it once per namespace.
	New(namespace string) Adapter
	// Namespaces maps every namespace of the cluster to its socket count.
	Namespaces(ctx context.Context) (map[string]int, Partial)
}
