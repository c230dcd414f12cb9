package policy

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/roomcast/roomcast/server"
)

// Access says how a token's verified claims narrow what its bearer may
// do. Claims named here but missing from a token grant nothing.
type Access struct {
	NamespacesClaim  string // claim listing the namespace names (or globs) the token may connect to
	TenantClaim      string // claim that must equal the Pattern's capture group TenantGroup
	TenantGroup      string // e.g. "tenant" in ^/tenant-(?P<tenant>[a-z0-9]+)$
	RoomsClaim       string // claim listing room globs the socket may join (narrows Rooms.Join)
	PermissionsClaim string // claim listing any of "emit", "broadcast"; a token with neither may only listen
}

// Permissions a PermissionsClaim may list.
const (
	PermissionEmit      = "emit"
	PermissionBroadcast = "broadcast"
)

func (a *Access) usesClaims() bool {
	return a.NamespacesClaim != "" || a.TenantClaim != "" || a.RoomsClaim != "" || a.PermissionsClaim != ""
}

// checkConnect refuses a connect that the claims do not cover. tenantAt is
// the index of TenantGroup in pattern. The refusal's Cause, for the log,
// tells a missing claim from one that does not match.
func (a *Access) checkConnect(claims Claims, namespace string, pattern *regexp.Regexp, tenantAt int) error {
	if a.NamespacesClaim != "" {
		if allowed := claimList(claims, a.NamespacesClaim); !matchAny(allowed, namespace) {
			r := refusal(server.CodePermissionDenied, MessageNamespaceNotAllowed, CodeNamespaceNotAllowed)
			_, present := claims[a.NamespacesClaim]
			switch {
			case !present:
				r.Cause = fmt.Errorf("the token has no claim %q", a.NamespacesClaim)
			case len(allowed) == 0:
				r.Cause = fmt.Errorf("claim %q lists no namespace", a.NamespacesClaim)
			default:
				r.Cause = fmt.Errorf("claim %q %q does not cover %s", a.NamespacesClaim, allowed, namespace)
			}
			return r
		}
	}
	if a.TenantClaim != "" {
		tenant, ok := claimString(claims, a.TenantClaim)
		m := pattern.FindStringSubmatch(namespace)
		if !ok || tenant == "" || m == nil || m[tenantAt] != tenant {
			r := refusal(server.CodePermissionDenied, MessageTenantMismatch, CodeTenantMismatch)
			switch {
			case !ok || tenant == "":
				r.Cause = fmt.Errorf("the token has no claim %q naming a tenant", a.TenantClaim)
			case m == nil:
				r.Cause = fmt.Errorf("%s does not match the pattern %s", namespace, pattern)
			default:
				r.Cause = fmt.Errorf("claim %q is %q but %s is tenant %q", a.TenantClaim, tenant, namespace, m[tenantAt])
			}
			return r
		}
	}
	return nil
}

// grants is what a socket's claims allow once it is connected, read from
// the claims once rather than on every frame.
type grants struct {
	emit, broadcast bool
	// roomGlobs narrows the rooms the socket may join; nil means the
	// claims do not narrow them.
	roomGlobs []string
}

func (a *Access) grants(claims Claims) grants {
	g := grants{emit: true, broadcast: true}
	if a.PermissionsClaim != "" {
		perms := claimList(claims, a.PermissionsClaim)
		g.emit = slices.Contains(perms, PermissionEmit)
		g.broadcast = slices.Contains(perms, PermissionBroadcast)
	}
	if a.RoomsClaim != "" {
		g.roomGlobs = claimList(claims, a.RoomsClaim)
		if g.roomGlobs == nil {
			g.roomGlobs = []string{} // present but empty: no room at all
		}
	}
	return g
}

// claimList reads a claim that lists names: a JSON array of strings, or a
// string of space-separated names as OAuth's "scope" is. Entries that are
// not strings are ignored.
func claimList(claims Claims, name string) []string {
	switch v := claims[name].(type) {
	case string:
		return strings.Fields(v)
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// claimString reads a claim that names one thing; a whole number (JSON
// numbers decode as float64) reads as its decimal digits, since tenant ids
// are often numeric.
func claimString(claims Claims, name string) (string, bool) {
	switch v := claims[name].(type) {
	case string:
		return v, true
	case float64:
		// Only where float64 is exact; beyond 2^53 "equal" ids may differ.
		if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
			return strconv.FormatInt(int64(v), 10), true
		}
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	}
	return "", false
}
