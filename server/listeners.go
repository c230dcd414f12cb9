package server

import "sync"

// listeners is what a namespace, or a pattern of namespaces, does with its
// sockets: middleware, event handlers and lifecycle hooks. Slices are only
// ever appended to, so a reader's snapshot stays valid without a copy.
type listeners struct {
	mu              sync.RWMutex
	middleware      []Middleware
	eventMiddleware []EventMiddleware
	roomMiddleware  []RoomMiddleware
	handlers        map[string]Handler
	onConnection    []func(*Socket)
	onDisconnecting []func(*Socket, string)
	onDisconnect    []func(*Socket, string)
}

func (l *listeners) use(mw []Middleware) {
	l.mu.Lock()
	l.middleware = append(l.middleware, mw...)
	l.mu.Unlock()
}

func (l *listeners) useEvent(mw []EventMiddleware) {
	l.mu.Lock()
	l.eventMiddleware = append(l.eventMiddleware, mw...)
	l.mu.Unlock()
}

func (l *listeners) useRooms(mw []RoomMiddleware) {
	l.mu.Lock()
	l.roomMiddleware = append(l.roomMiddleware, mw...)
	l.mu.Unlock()
}

func (l *listeners) on(event string, h Handler) {
	l.mu.Lock()
	if l.handlers == nil {
		l.handlers = make(map[string]Handler)
	}
	l.handlers[event] = h
	l.mu.Unlock()
}

func (l *listeners) onConnect(fn func(*Socket)) {
	l.mu.Lock()
	l.onConnection = append(l.onConnection, fn)
	l.mu.Unlock()
}

func (l *listeners) onDisconnectingHook(fn func(*Socket, string)) {
	l.mu.Lock()
	l.onDisconnecting = append(l.onDisconnecting, fn)
	l.mu.Unlock()
}

func (l *listeners) onDisconnectHook(fn func(*Socket, string)) {
	l.mu.Lock()
	l.onDisconnect = append(l.onDisconnect, fn)
	l.mu.Unlock()
}

// snapshot returns the current listeners; the slices must not be modified.
func (l *listeners) snapshot() listenerSet {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return listenerSet{
		middleware:      l.middleware,
		eventMiddleware: l.eventMiddleware,
		roomMiddleware:  l.roomMiddleware,
		onConnection:    l.onConnection,
		onDisconnecting: l.onDisconnecting,
		onDisconnect:    l.onDisconnect,
	}
}

func (l *listeners) handler(event string) Handler {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.handlers[event]
}

type listenerSet struct {
	middleware      []Middleware
	eventMiddleware []EventMiddleware
	roomMiddleware  []RoomMiddleware
	onConnection    []func(*Socket)
	onDisconnecting []func(*Socket, string)
	onDisconnect    []func(*Socket, string)
}

// then returns a set that runs s's listeners first, then next's: a
// pattern's listeners before those of the namespace it created.
func (s listenerSet) then(next listenerSet) listenerSet {
	return listenerSet{
		middleware:      concat(s.middleware, next.middleware),
		eventMiddleware: concat(s.eventMiddleware, next.eventMiddleware),
		roomMiddleware:  concat(s.roomMiddleware, next.roomMiddleware),
		onConnection:    concat(s.onConnection, next.onConnection),
		onDisconnecting: concat(s.onDisconnecting, next.onDisconnecting),
		onDisconnect:    concat(s.onDisconnect, next.onDisconnect),
	}
}

func concat[T any](a, b []T) []T {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]T, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}
