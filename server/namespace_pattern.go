package server

import "regexp"

// NamespacePattern creates namespaces on first use for names that match a
// regular expression ("one namespace per tenant"), as Socket.IO's parent
// namespaces do. Its middleware, handlers and hooks apply to every
// namespace it creates, before the namespace's own. Like Socket.IO by
// default, created namespaces stay after their last socket has left.
type NamespacePattern struct {
	re *regexp.Regexp
	l  listeners
}

// String returns the pattern's regular expression.
func (p *NamespacePattern) String() string { return p.re.String() }

// Use adds connect middleware for every namespace the pattern creates.
func (p *NamespacePattern) Use(mw ...Middleware) *NamespacePattern { p.l.use(mw); return p }

// UseEvent adds per-event middleware for every namespace the pattern creates.
func (p *NamespacePattern) UseEvent(mw ...EventMiddleware) *NamespacePattern {
	p.l.useEvent(mw)
	return p
}

// UseRooms adds join and leave middleware for every namespace the pattern
// creates.
func (p *NamespacePattern) UseRooms(mw ...RoomMiddleware) *NamespacePattern {
	p.l.useRooms(mw)
	return p
}

// On sets an event handler for every namespace the pattern creates.
func (p *NamespacePattern) On(event string, h Handler) *NamespacePattern { p.l.on(event, h); return p }

// OnConnection adds a connection hook for every namespace the pattern creates.
func (p *NamespacePattern) OnConnection(fn func(*Socket)) *NamespacePattern {
	p.l.onConnect(fn)
	return p
}

// OnDisconnecting adds a hook that runs while a leaving socket still has
// its rooms, for every namespace the pattern creates.
func (p *NamespacePattern) OnDisconnecting(fn func(s *Socket, reason string)) *NamespacePattern {
	p.l.onDisconnectingHook(fn)
	return p
}

// OnDisconnect adds a hook that runs after a socket has left, for every
// namespace the pattern creates.
func (p *NamespacePattern) OnDisconnect(fn func(s *Socket, reason string)) *NamespacePattern {
	p.l.onDisconnectHook(fn)
	return p
}
