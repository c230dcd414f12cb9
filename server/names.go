package server

import (
	"crypto/rand"
	"encoding/base64"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// maxNameBytes bounds namespace, room and event names.
const maxNameBytes = 256

// reservedEvents are Socket.IO's own event names; a client emitting one
// would be confused with the protocol's lifecycle.
var reservedEvents = map[string]bool{
	"connect":        true,
	"connect_error":  true,
	"disconnect":     true,
	"disconnecting":  true,
	"newListener":    true,
	"removeListener": true,
}

// newSID returns 128 random bits, URL-safe: unguessable, so knowing a sid
// is what makes a private message private.
func newSID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkPayload bounds an event's payload, wherever the event comes from: a
// client's frame, the admin API or Go code. A client's stream refuses a
// frame over its receive limit by ending, so an oversized event would
// disconnect every recipient instead of failing once at its source.
func (s *Server) checkPayload(data *structpb.Value, binary []byte) *Error {
	if size := proto.Size(data) + len(binary); size > s.opts.maxPayloadBytes {
		return Errorf(CodeResourceExhausted, "payload of %d bytes exceeds the limit of %d bytes",
			size, s.opts.maxPayloadBytes)
	}
	return nil
}

// canonicalNamespace maps the empty name to "/", as Socket.IO clients do.
func canonicalNamespace(name string) string {
	if name == "" {
		return "/"
	}
	return name
}

func checkNamespace(name string) *Error {
	if name[0] != '/' {
		return Errorf(CodeInvalidArgument, "namespace %q must start with /", name)
	}
	return checkName("namespace", name)
}

func checkRoom(room string) *Error {
	if room == "" {
		return Errorf(CodeInvalidArgument, "room name must not be empty")
	}
	return checkName("room", room)
}

func checkEvent(event string) *Error {
	if event == "" {
		return Errorf(CodeInvalidArgument, "event name must not be empty")
	}
	if reservedEvents[event] {
		return Errorf(CodeInvalidArgument, "event name %q is reserved", event)
	}
	return checkName("event", event)
}

func checkName(kind, name string) *Error {
	if len(name) > maxNameBytes {
		return Errorf(CodeInvalidArgument, "%s name is longer than %d bytes", kind, maxNameBytes)
	}
	if !utf8.ValidString(name) {
		return Errorf(CodeInvalidArgument, "%s name is not valid UTF-8", kind)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return Errorf(CodeInvalidArgument, "%s name %q contains a control character", kind, name)
		}
	}
	return nil
}

// ValidateRoom reports why a room name is refused, or nil.
func ValidateRoom(room string) error {
	if err := checkRoom(room); err != nil {
		return err
	}
	return nil
}

// ValidateEvent reports why an event name is refused, or nil.
func ValidateEvent(event string) error {
	if err := checkEvent(event); err != nil {
		return err
	}
	return nil
}
