package config

import (
	"fmt"
	"path"
	"regexp"

	yaml "go.yaml.in/yaml/v3"

	"github.com/roomcast/roomcast/server/policy"
)

// This file decodes the parts of a namespace's policy that need no key
// material: access (claims), rooms, limits and events. Each returns the
// key nodes present, for the checks that involve several keys.

func (d *decoder) access(n *yaml.Node, p string, a *policy.Access) map[string]*yaml.Node {
	claim := func(dst *string) field {
		return func(v *yaml.Node, p string) { *dst, _ = d.str(v, p) }
	}
	return d.mapping(n, p, map[string]field{
		"namespaces_claim":  claim(&a.NamespacesClaim),
		"tenant_claim":      claim(&a.TenantClaim),
		"tenant_group":      claim(&a.TenantGroup),
		"rooms_claim":       claim(&a.RoomsClaim),
		"permissions_claim": claim(&a.PermissionsClaim),
	})
}

func (d *decoder) rooms(n *yaml.Node, p string, r *policy.Rooms) map[string]*yaml.Node {
	return d.mapping(n, p, map[string]field{
		"join":           func(v *yaml.Node, p string) { r.Join = d.globs(v, p) },
		"server_only":    func(v *yaml.Node, p string) { r.ServerOnly, _ = d.boolean(v, p) },
		"max_per_socket": func(v *yaml.Node, p string) { r.MaxPerSocket, _ = d.count(v, p) },
	})
}

func (d *decoder) limits(n *yaml.Node, p string, l *policy.Limits) map[string]*yaml.Node {
	count := func(dst *int) field {
		return func(v *yaml.Node, p string) { *dst, _ = d.count(v, p) }
	}
	return d.mapping(n, p, map[string]field{
		"events_per_second":         func(v *yaml.Node, p string) { l.EventsPerSecond, _ = d.number(v, p) },
		"burst":                     count(&l.Burst),
		"max_payload_bytes":         count(&l.MaxPayloadBytes),
		"max_sockets":               count(&l.MaxSockets),
		"max_namespaces_per_client": count(&l.MaxNamespacesPerClient),
		"max_strikes":               count(&l.MaxStrikes),
		"strikes_reset_after":       func(v *yaml.Node, p string) { l.StrikesResetAfter, _ = d.duration(v, p) },
	})
}

func (d *decoder) events(n *yaml.Node, p string, e *policy.Events) {
	d.mapping(n, p, map[string]field{
		"allow": func(v *yaml.Node, p string) { e.Allow = d.globs(v, p) },
		"deny":  func(v *yaml.Node, p string) { e.Deny = d.globs(v, p) },
	})
}

// globs decodes a list of path.Match patterns (*, ?, [a-z]). An empty list
// is refused: "allow nothing" and "allow anything" are both plausible
// readings of it, and the policy reads it as the second.
func (d *decoder) globs(n *yaml.Node, p string) []string {
	out := d.strs(n, p, func(glob string) error {
		if _, err := path.Match(glob, ""); err != nil {
			return fmt.Errorf("invalid glob %q: %v", glob, err)
		}
		return nil
	})
	if n = resolve(n); n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.fail(n, p, "empty list: leave the key out instead (either way, any name is allowed)")
	}
	return out
}

// checkAccess checks that the claims access narrows by can exist: they
// come from a verified JWT, and a tenant is a capture group of the
// namespace pattern.
func (d *decoder) checkAccess(nsPath string, pattern *regexp.Regexp, auth authSpec, a policy.Access, present map[string]*yaml.Node) {
	if len(present) == 0 {
		return
	}
	p := join(nsPath, "access")
	for _, key := range []string{"namespaces_claim", "tenant_claim", "tenant_group", "rooms_claim", "permissions_claim"} {
		if n := present[key]; n != nil && auth.typ != "jwt" {
			d.fail(n, join(p, key), "claims come from a verified token: needs auth type jwt, not %s", orNone(auth.typ))
			return
		}
	}
	claim, group := present["tenant_claim"], present["tenant_group"]
	switch {
	case claim != nil && group == nil:
		d.fail(claim, join(p, "tenant_claim"), "needs tenant_group, the capture group of the pattern that holds the tenant")
	case group != nil && claim == nil:
		d.fail(group, join(p, "tenant_group"), "needs tenant_claim, the claim the tenant must equal")
	case group != nil && pattern == nil:
		d.fail(group, join(p, "tenant_group"), "needs a pattern: the tenant is a capture group of the namespace pattern")
	case group != nil:
		if name := a.TenantGroup; name != "" && pattern.SubexpIndex(name) < 0 {
			d.fail(group, join(p, "tenant_group"), "pattern %q has no group named %q; name it with (?P<%s>...)", pattern, name, name)
		}
	}
}

func orNone(authType string) string {
	if authType == "" {
		return "none"
	}
	return authType
}

// checkRooms refuses room globs that server_only makes meaningless.
func (d *decoder) checkRooms(p string, r policy.Rooms, present map[string]*yaml.Node) {
	if r.ServerOnly && present["join"] != nil {
		d.fail(present["join"], join(p, "join"), "server_only forbids clients to join any room; remove join or server_only")
	}
}

// checkLimits refuses a burst without a rate, which would limit nothing.
func (d *decoder) checkLimits(p string, l policy.Limits, present map[string]*yaml.Node) {
	if present["burst"] != nil && present["events_per_second"] == nil {
		d.fail(present["burst"], join(p, "burst"), "needs events_per_second, the rate the burst is for")
	}
}
