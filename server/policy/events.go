package policy

import (
	"context"

	"github.com/roomcast/roomcast/server"
)

// Events says which events clients may send, by name.
type Events struct {
	Allow []string // event name globs; empty = any
	Deny  []string // event name globs, checked after Allow
}

func (e *Events) allows(name string) bool {
	if len(e.Allow) > 0 && !matchAny(e.Allow, name) {
		return false
	}
	return !matchAny(e.Deny, name)
}

// event checks an event a socket sends. The rate comes first, so that a
// flood costs a token per frame whatever else is wrong with it; refusals
// for broken limits count as strikes, refusals of permission do not.
func (e *enforcer) event(_ context.Context, s *server.Socket, ev *server.Event) error {
	st := e.state(s)
	if st != nil && st.limiter != nil {
		if err := allowEvent(st.limiter); err != nil {
			e.strike(s, st)
			return err
		}
	}
	if st != nil {
		if ev.Broadcast && !st.grants.broadcast {
			return refusal(server.CodePermissionDenied, MessageBroadcastNotAllowed, CodeBroadcastNotAllowed)
		}
		if !ev.Broadcast && !st.grants.emit {
			return refusal(server.CodePermissionDenied, MessageEmitNotAllowed, CodeEmitNotAllowed)
		}
	}
	if !e.events.allows(ev.Name) {
		return refusal(server.CodePermissionDenied, MessageEventNotAllowed, CodeEventNotAllowed, "event", ev.Name)
	}
	if err := checkPayload(e.limits.MaxPayloadBytes, ev); err != nil {
		e.strike(s, st)
		return err
	}
	return nil
}
