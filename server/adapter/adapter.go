// Package adapter defines where a namespace's room index lives and how a
// broadcast reaches its sockets: Socket.IO's adapter. The namespace and
// socket code only ever ask the adapter about rooms, so an implementation
// that spans several nodes can replace the in-memory one without touching
// them.
package adapter

// Recipient is a socket on this node that the adapter can hand packets to.
type Recipient interface {
	// ID is the socket's sid, which is also the name of its own room.
	ID() string
	// Deliver queues the packet for the socket. It must not block and must
	// not call back into the adapter: adapters call it while they hold a
	// read lock on their index. It reports whether the packet was queued.
	Deliver(p *Packet) bool
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

// Adapter is the room index of one namespace.
type Adapter interface {
	// AddAll makes the socket a member of the rooms, registering it if new.
	AddAll(r Recipient, rooms ...string)
	// Del removes the socket from the rooms.
	Del(sid string, rooms ...string)
	// DelAll removes the socket from every room and forgets it.
	DelAll(sid string)
	// Rooms lists the rooms of one socket.
	Rooms(sid string) []string
	// Sockets lists the sids selected by t.
	Sockets(t Targets) []string
	// RoomSizes maps every room to its member count.
	RoomSizes() map[string]int
	// Broadcast delivers p to the sockets selected by t and reports how
	// many local sockets it was handed to.
	Broadcast(p *Packet, t Targets) int
}
