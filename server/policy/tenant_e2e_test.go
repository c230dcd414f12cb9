package policy_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

func tenantServer(t *testing.T) *testkit.Server {
	return testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{
			Auth:   mustJWT(t, policy.JWTConfig{Secret: secret}),
			Access: policy.Access{TenantClaim: "tenant", TenantGroup: "tenant"},
			// No Pattern: ApplyPattern takes the namespace pattern's.
		}
		p.ApplyPattern(srv.OfPattern(regexp.MustCompile(`^/tenant-(?P<tenant>[a-z0-9]+)$`)))
	})
}

func TestE2ETenantsAreIsolated(t *testing.T) {
	srv := tenantServer(t)
	tokenA := hs256(t, claims("tenant", "a"))
	tokenB := hs256(t, claims("tenant", "b"))

	a := srv.Open(t)
	mustConnect(t, a, "/tenant-a", tokenA)
	wantConnectError(t, connectWith(a, "/tenant-b", tokenA), policy.MessageTenantMismatch, policy.CodeTenantMismatch)
	wantConnectError(t, connectWith(a, "/tenant-b", ""), policy.MessageUnauthorized, policy.CodeUnauthorized)

	b := srv.Open(t)
	mustConnect(t, b, "/tenant-b", tokenB)

	// What a says in its tenant's namespace never reaches tenant b.
	a.Send(emitFrame(1, "/tenant-a", "hello", "from a", false))
	if ev := a.Event(); ev.Event != "hello" || ev.Namespace != "/tenant-a" {
		t.Fatalf("a got %v", ev)
	}
	wantReply(t, a, 1, "", "")
	b.NoFrame(100 * time.Millisecond)
}

// Each tenant namespace is created on first use, and the policy applies to
// every one of them.
func TestE2ETenantPolicyCoversEveryCreatedNamespace(t *testing.T) {
	srv := tenantServer(t)
	for _, tenant := range []string{"x1", "x2", "x3"} {
		st := srv.Open(t)
		wantConnectError(t, connectWith(st, "/tenant-"+tenant, hs256(t, claims("tenant", "zz"))),
			policy.MessageTenantMismatch, policy.CodeTenantMismatch)
		mustConnect(t, st, "/tenant-"+tenant, hs256(t, claims("tenant", tenant)))
	}
}
