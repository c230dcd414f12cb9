package memory

import "github.com/roomcast/roomcast/server/adapter"

// roomSet is a room's members. They are kept in a slice: a broadcast walks
// it faster than a map, and a room of one, which every socket's own room
// is, costs one small slice instead of a map. An index finds a member's
// place once the room has more than one.
type roomSet struct {
	list  []roomMember
	index map[string]int // sid → place in list; nil for a room of one
}

type roomMember struct {
	sid string
	r   adapter.Recipient
}

// add puts r in the set, or replaces the recipient of its sid.
func (s *roomSet) add(sid string, r adapter.Recipient) {
	if s.index == nil {
		switch {
		case len(s.list) == 0:
			s.list = append(s.list, roomMember{sid, r})
			return
		case s.list[0].sid == sid:
			s.list[0].r = r
			return
		}
		s.index = map[string]int{s.list[0].sid: 0}
	}
	if i, ok := s.index[sid]; ok {
		s.list[i].r = r
		return
	}
	s.index[sid] = len(s.list)
	s.list = append(s.list, roomMember{sid, r})
}

// remove takes sid out of the set, if it is there.
func (s *roomSet) remove(sid string) {
	if s.index == nil {
		if len(s.list) == 1 && s.list[0].sid == sid {
			s.list[0] = roomMember{}
			s.list = s.list[:0]
		}
		return
	}
	i, ok := s.index[sid]
	if !ok {
		return
	}
	delete(s.index, sid)
	last := len(s.list) - 1
	if i != last {
		s.list[i] = s.list[last]
		s.index[s.list[i].sid] = i
	}
	s.list[last] = roomMember{}
	s.list = s.list[:last]
	if len(s.list) <= 1 {
		s.index = nil
	}
}

func (s *roomSet) len() int { return len(s.list) }
