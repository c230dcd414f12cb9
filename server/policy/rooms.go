package policy

import (
	"context"

	"github.com/roomcast/roomcast/server"
)

// Rooms says which rooms clients may join and leave themselves. Server
// code and the admin API join and leave sockets regardless.
type Rooms struct {
	Join         []string // glob patterns (path.Match syntax) clients may join; empty = any room
	ServerOnly   bool     // clients may not join or leave at all; only server code and the admin API
	MaxPerSocket int      // rooms a socket may be in besides its own sid room; 0 = unlimited
}

// roomChange checks a client's join or leave frame. The hub applies a
// frame all or nothing, so one forbidden room refuses the whole frame.
// Leaving is always allowed unless rooms are ServerOnly: it can only
// narrow what a socket receives.
func (e *enforcer) roomChange(_ context.Context, s *server.Socket, rc *server.RoomChange) error {
	if e.rooms.ServerOnly {
		return refusal(server.CodePermissionDenied, MessageRoomsServerOnly, CodeRoomsServerOnly)
	}
	if !rc.Join {
		return nil
	}
	st := e.state(s)
	for _, room := range rc.Rooms {
		if !e.mayJoin(st, room) {
			return refusal(server.CodePermissionDenied, MessageRoomNotAllowed, CodeRoomNotAllowed, "room", room)
		}
	}
	if max := e.rooms.MaxPerSocket; max > 0 {
		in := make(map[string]bool)
		for _, room := range s.Rooms() {
			if room != s.ID() {
				in[room] = true
			}
		}
		have := len(in)
		for _, room := range rc.Rooms {
			if room != s.ID() && !in[room] {
				in[room] = true
			}
		}
		if len(in) > max && len(in) > have {
			e.strike(s, st)
			return refusal(server.CodeResourceExhausted, MessageTooManyRooms, CodeTooManyRooms, "limit", max)
		}
	}
	return nil
}

func (e *enforcer) mayJoin(st *socketState, room string) bool {
	if len(e.rooms.Join) > 0 && !matchAny(e.rooms.Join, room) {
		return false
	}
	if st != nil && st.grants.roomGlobs != nil && !matchAny(st.grants.roomGlobs, room) {
		return false
	}
	return true
}
