package policy

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"sync/atomic"

	"github.com/roomcast/roomcast/server"
)

// Policy is what one namespace (or namespace pattern) enforces. The zero
// Policy allows everything.
//
// A Policy is configuration: it is read once, when its first middleware is
// made, and its methods panic, as regexp.MustCompile does, if it is not
// valid; call Validate first to report mistakes instead.
type Policy struct {
	Auth   Authenticator // nil: no authentication ("none")
	Access Access        // how verified claims narrow access
	Rooms  Rooms
	Limits Limits
	Events Events
	// Pattern is the namespace pattern the policy is for, when it is for a
	// pattern; Access.TenantGroup names one of its capture groups.
	Pattern *regexp.Regexp

	// compiled is shared by the three middleware and the hooks, so that
	// they see one set of socket counts and one per-socket state.
	compiled *enforcer
}

// enforcer is a validated Policy, read once.
type enforcer struct {
	auth     Authenticator
	access   Access
	pattern  *regexp.Regexp
	tenantAt int // index of Access.TenantGroup in pattern
	rooms    Rooms
	limits   Limits
	events   Events

	keepsState bool
	stateKey   string
	counts     socketCounts
}

// policies numbers enforcers, so that two policies on one socket (a
// pattern's and its namespace's own) keep separate state.
var policies atomic.Int64

// Validate reports what makes the policy unusable.
func (p *Policy) Validate() error {
	_, err := compile(p, p.Pattern)
	return err
}

func compile(p *Policy, pattern *regexp.Regexp) (*enforcer, error) {
	var errs []error
	if p.Auth == nil && p.Access.usesClaims() {
		errs = append(errs, errors.New("access: claims need an authenticator"))
	}
	tenantAt := -1
	switch {
	case p.Access.TenantClaim == "" && p.Access.TenantGroup != "":
		errs = append(errs, errors.New("access: tenant group without tenant claim"))
	case p.Access.TenantClaim == "":
	case p.Access.TenantGroup == "":
		errs = append(errs, errors.New("access: tenant claim needs a tenant group"))
	case pattern == nil:
		errs = append(errs, errors.New("access: tenant claim needs a namespace pattern"))
	default:
		if tenantAt = pattern.SubexpIndex(p.Access.TenantGroup); tenantAt < 0 {
			errs = append(errs, fmt.Errorf("access: pattern %s has no group named %q", pattern, p.Access.TenantGroup))
		}
	}
	if err := checkGlobs("rooms.join", p.Rooms.Join); err != nil {
		errs = append(errs, err)
	}
	if p.Rooms.ServerOnly && len(p.Rooms.Join) > 0 {
		errs = append(errs, errors.New("rooms: server-only rooms cannot have join globs"))
	}
	if err := checkGlobs("events.allow", p.Events.Allow); err != nil {
		errs = append(errs, err)
	}
	if err := checkGlobs("events.deny", p.Events.Deny); err != nil {
		errs = append(errs, err)
	}
	l := p.Limits
	if math.IsNaN(l.EventsPerSecond) || math.IsInf(l.EventsPerSecond, 0) || l.EventsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("limits: events per second must be a number ≥ 0, not %v", l.EventsPerSecond))
	}
	if l.Burst > 0 && l.EventsPerSecond == 0 {
		errs = append(errs, errors.New("limits: burst without events per second"))
	}
	for _, n := range []struct {
		name  string
		value int
	}{
		{"rooms.max per socket", p.Rooms.MaxPerSocket},
		{"limits.burst", l.Burst},
		{"limits.max payload bytes", l.MaxPayloadBytes},
		{"limits.max sockets", l.MaxSockets},
		{"limits.max namespaces per client", l.MaxNamespacesPerClient},
		{"limits.max strikes", l.MaxStrikes},
	} {
		if n.value < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", n.name))
		}
	}
	if l.StrikesResetAfter < 0 {
		errs = append(errs, errors.New("limits.strikes reset after must not be negative"))
	}
	if l.StrikesResetAfter > 0 && l.MaxStrikes == 0 {
		errs = append(errs, errors.New("limits: strikes reset after without max strikes"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("policy: %w", errors.Join(errs...))
	}
	e := &enforcer{
		auth: p.Auth, access: p.Access, pattern: pattern, tenantAt: tenantAt,
		rooms: p.Rooms, limits: p.Limits, events: p.Events,
		keepsState: l.EventsPerSecond > 0 || l.MaxStrikes > 0 ||
			p.Access.PermissionsClaim != "" || p.Access.RoomsClaim != "",
	}
	e.stateKey = "policy." + strconv.FormatInt(policies.Add(1), 10)
	return e, nil
}

func (p *Policy) enforcer() *enforcer {
	if p.compiled == nil {
		p.compiled = mustCompile(p, p.Pattern)
	}
	return p.compiled
}

func mustCompile(p *Policy, pattern *regexp.Regexp) *enforcer {
	e, err := compile(p, pattern)
	if err != nil {
		panic(err)
	}
	return e
}

// ConnectMiddleware checks connects: the client's namespace count, the
// token and what its claims allow, and attaches the claims to the socket
// as "claims". On its own it refuses connects to a namespace that has
// MaxSockets sockets; Apply and ApplyPattern also install the hooks that
// hold the limit when connects of several streams race for the last place.
func (p *Policy) ConnectMiddleware() server.Middleware { return p.enforcer().connect }

// EventMiddleware checks the events a socket sends: rate, permissions,
// event names and payload size, in that order, so that a flood costs a
// token per frame whatever else is wrong with it.
func (p *Policy) EventMiddleware() server.EventMiddleware { return p.enforcer().event }

// RoomMiddleware checks the join and leave frames a socket sends.
func (p *Policy) RoomMiddleware() server.RoomMiddleware { return p.enforcer().roomChange }

// Apply installs the policy's middleware on a namespace, with the hooks
// that count its sockets when MaxSockets is set.
func (p *Policy) Apply(ns *server.Namespace) {
	e := p.enforcer()
	ns.Use(e.connect).UseEvent(e.event).UseRooms(e.roomChange)
	if e.limits.MaxSockets > 0 {
		ns.OnConnection(e.connected).OnDisconnect(e.disconnected)
	}
}

// ApplyPattern installs the policy on every namespace a pattern creates.
// A policy without a Pattern takes the namespace pattern's expression for
// its tenant checks.
func (p *Policy) ApplyPattern(np *server.NamespacePattern) {
	if p.compiled == nil && p.Pattern == nil {
		p.compiled = mustCompile(p, regexp.MustCompile(np.String()))
	}
	e := p.enforcer()
	np.Use(e.connect).UseEvent(e.event).UseRooms(e.roomChange)
	if e.limits.MaxSockets > 0 {
		np.OnConnection(e.connected).OnDisconnect(e.disconnected)
	}
}
