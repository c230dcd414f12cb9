// Package memory is the default adapter: the room index of one node, held
// in memory. It keeps Socket.IO's two indexes — room → sockets (each
// room's members a roomSet) and socket → rooms — each split into shards
// with their own locks, so that publishers on different cores rarely wait
// for each other.
package memory

import (
	"sync"

	"github.com/roomcast/roomcast/server/adapter"
)

// shardCount is a power of two well above the core counts we run on.
const shardCount = 32

// Adapter is the in-memory room index of one namespace.
//
// Lock order: a member shard, then room shards one at a time. Broadcasts
// take only read locks, never two at once except that order.
type Adapter struct {
	members [shardCount]memberShard
	rooms   [shardCount]roomShard
}

type memberShard struct {
	mu sync.RWMutex
	m  map[string]*member
}

type member struct {
	r     adapter.Recipient
	rooms map[string]struct{}
}

type roomShard struct {
	mu sync.RWMutex
	m  map[string]*roomSet
}

var _ adapter.Adapter = (*Adapter)(nil)

// New returns an empty index.
func New() *Adapter {
	a := &Adapter{}
	for i := range a.members {
		a.members[i].m = make(map[string]*member)
		a.rooms[i].m = make(map[string]*roomSet)
	}
	return a
}

// shardOf is FNV-1a, inlined so that hashing a name never allocates.
func shardOf(s string) int {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return int(h & (shardCount - 1))
}

// AddAll implements adapter.Adapter.
func (a *Adapter) AddAll(r adapter.Recipient, rooms ...string) {
	sid := r.ID()
	ms := &a.members[shardOf(sid)]
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m := ms.m[sid]
	if m == nil {
		m = &member{r: r, rooms: make(map[string]struct{}, len(rooms))}
		ms.m[sid] = m
	}
	for _, room := range rooms {
		if _, ok := m.rooms[room]; ok {
			continue
		}
		m.rooms[room] = struct{}{}
		rs := &a.rooms[shardOf(room)]
		rs.mu.Lock()
		set := rs.m[room]
		if set == nil {
			set = &roomSet{}
			rs.m[room] = set
		}
		set.add(sid, r)
		rs.mu.Unlock()
	}
}

// Del implements adapter.Adapter.
func (a *Adapter) Del(sid string, rooms ...string) {
	ms := &a.members[shardOf(sid)]
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m := ms.m[sid]
	if m == nil {
		return
	}
	for _, room := range rooms {
		if _, ok := m.rooms[room]; !ok {
			continue
		}
		delete(m.rooms, room)
		a.removeFromRoom(room, sid)
	}
}

// DelAll implements adapter.Adapter.
func (a *Adapter) DelAll(sid string) {
	ms := &a.members[shardOf(sid)]
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m := ms.m[sid]
	if m == nil {
		return
	}
	for room := range m.rooms {
		a.removeFromRoom(room, sid)
	}
	delete(ms.m, sid)
}

func (a *Adapter) removeFromRoom(room, sid string) {
	rs := &a.rooms[shardOf(room)]
	rs.mu.Lock()
	if set := rs.m[room]; set != nil {
		set.remove(sid)
		if set.len() == 0 {
			delete(rs.m, room)
		}
	}
	rs.mu.Unlock()
}

// Rooms implements adapter.Adapter.
func (a *Adapter) Rooms(sid string) []string {
	ms := &a.members[shardOf(sid)]
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	m := ms.m[sid]
	if m == nil {
		return nil
	}
	rooms := make([]string, 0, len(m.rooms))
	for room := range m.rooms {
		rooms = append(rooms, room)
	}
	return rooms
}

// RoomSizes implements adapter.Adapter.
func (a *Adapter) RoomSizes() map[string]int {
	sizes := make(map[string]int)
	for i := range a.rooms {
		rs := &a.rooms[i]
		rs.mu.RLock()
		for room, set := range rs.m {
			sizes[room] = set.len()
		}
		rs.mu.RUnlock()
	}
	return sizes
}

// Sockets implements adapter.Adapter.
func (a *Adapter) Sockets(t adapter.Targets) []string {
	var sids []string
	a.each(t, func(r adapter.Recipient) { sids = append(sids, r.ID()) })
	return sids
}

// Broadcast implements adapter.Adapter.
func (a *Adapter) Broadcast(p *adapter.Packet, t adapter.Targets) int {
	n := 0
	a.each(t, func(r adapter.Recipient) {
		if r.Deliver(p) {
			n++
		}
	})
	return n
}

// each calls fn once for every socket selected by t, under read locks.
func (a *Adapter) each(t adapter.Targets, fn func(adapter.Recipient)) {
	except := a.exceptSet(t.Except)
	switch len(t.Rooms) {
	case 0:
		for i := range a.members {
			ms := &a.members[i]
			ms.mu.RLock()
			for sid, m := range ms.m {
				if _, skip := except[sid]; !skip {
					fn(m.r)
				}
			}
			ms.mu.RUnlock()
		}
	case 1:
		// The common case needs no de-duplication, hence no allocation.
		rs := &a.rooms[shardOf(t.Rooms[0])]
		rs.mu.RLock()
		if set := rs.m[t.Rooms[0]]; set != nil {
			for _, m := range set.list {
				if _, skip := except[m.sid]; !skip {
					fn(m.r)
				}
			}
		}
		rs.mu.RUnlock()
	default:
		seen := make(map[string]struct{})
		for _, room := range t.Rooms {
			rs := &a.rooms[shardOf(room)]
			rs.mu.RLock()
			if set := rs.m[room]; set != nil {
				for _, m := range set.list {
					if _, dup := seen[m.sid]; dup {
						continue
					}
					seen[m.sid] = struct{}{}
					if _, skip := except[m.sid]; !skip {
						fn(m.r)
					}
				}
			}
			rs.mu.RUnlock()
		}
	}
}

// exceptSet returns the sids of the except rooms, nil when there are none.
func (a *Adapter) exceptSet(rooms []string) map[string]struct{} {
	if len(rooms) == 0 {
		return nil
	}
	set := make(map[string]struct{})
	for _, room := range rooms {
		rs := &a.rooms[shardOf(room)]
		rs.mu.RLock()
		if members := rs.m[room]; members != nil {
			for _, m := range members.list {
				set[m.sid] = struct{}{}
			}
		}
		rs.mu.RUnlock()
	}
	return set
}
