package policy_test

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

func TestValidate(t *testing.T) {
	auth := policy.NewTokens([]string{"t"})
	for _, tc := range []struct {
		name string
		p    policy.Policy
		want string // "" for valid
	}{
		{"zero", policy.Policy{}, ""},
		{"full", policy.Policy{
			Auth:    auth,
			Access:  policy.Access{NamespacesClaim: "ns", TenantClaim: "t", TenantGroup: "tenant", RoomsClaim: "r", PermissionsClaim: "p"},
			Rooms:   policy.Rooms{Join: []string{"team-*"}, MaxPerSocket: 3},
			Limits:  policy.Limits{EventsPerSecond: 10, Burst: 20, MaxPayloadBytes: 1024, MaxSockets: 5, MaxNamespacesPerClient: 2, MaxStrikes: 3},
			Events:  policy.Events{Allow: []string{"chat.*"}, Deny: []string{"chat.admin"}},
			Pattern: tenantPattern,
		}, ""},
		{"claims without auth", policy.Policy{Access: policy.Access{RoomsClaim: "r"}}, "need an authenticator"},
		{"tenant claim without pattern", policy.Policy{Auth: auth, Access: policy.Access{TenantClaim: "t", TenantGroup: "tenant"}}, "needs a namespace pattern"},
		{"tenant claim without group", policy.Policy{Auth: auth, Access: policy.Access{TenantClaim: "t"}, Pattern: tenantPattern}, "needs a tenant group"},
		{"unknown group", policy.Policy{Auth: auth, Access: policy.Access{TenantClaim: "t", TenantGroup: "org"}, Pattern: tenantPattern}, `no group named "org"`},
		{"group without claim", policy.Policy{Access: policy.Access{TenantGroup: "tenant"}, Pattern: tenantPattern}, "without tenant claim"},
		{"bad room glob", policy.Policy{Rooms: policy.Rooms{Join: []string{"team-["}}}, "rooms.join[0]"},
		{"empty event glob", policy.Policy{Events: policy.Events{Deny: []string{""}}}, "events.deny[0]"},
		{"server only with globs", policy.Policy{Rooms: policy.Rooms{ServerOnly: true, Join: []string{"*"}}}, "server-only"},
		{"NaN rate", policy.Policy{Limits: policy.Limits{EventsPerSecond: math.NaN()}}, "events per second"},
		{"negative rate", policy.Policy{Limits: policy.Limits{EventsPerSecond: -1}}, "events per second"},
		{"burst without rate", policy.Policy{Limits: policy.Limits{Burst: 3}}, "burst without"},
		{"negative limit", policy.Policy{Limits: policy.Limits{MaxSockets: -1}}, "max sockets must not be negative"},
		{"negative strikes reset", policy.Policy{Limits: policy.Limits{MaxStrikes: 3, StrikesResetAfter: -time.Second}}, "strikes reset after must not be negative"},
		{"strikes reset without strikes", policy.Policy{Limits: policy.Limits{StrikesResetAfter: time.Minute}}, "strikes reset after without max strikes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateReportsAllMistakes(t *testing.T) {
	p := policy.Policy{Rooms: policy.Rooms{Join: []string{"["}}, Limits: policy.Limits{MaxStrikes: -1, Burst: 2}}
	err := p.Validate()
	for _, want := range []string{"rooms.join", "max strikes", "burst"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate = %v, want it to mention %q", err, want)
		}
	}
}

func TestInvalidPolicyPanicsWhenApplied(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Apply of an invalid policy did not panic")
		}
	}()
	p := &policy.Policy{Limits: policy.Limits{MaxSockets: -1}}
	p.Apply(server.New().Of("/x"))
}

// A pattern policy without a Pattern takes the namespace pattern's.
func TestApplyPatternTakesThePatternsExpression(t *testing.T) {
	p := &policy.Policy{Auth: policy.NewTokens([]string{"t"}), Access: policy.Access{TenantClaim: "sub", TenantGroup: "tenant"}}
	if p.Validate() == nil {
		t.Fatal("a tenant policy without pattern validated")
	}
	p.ApplyPattern(server.New().OfPattern(regexp.MustCompile(`^/t-(?P<tenant>.+)$`)))
	if _, err := admit(p, "/t-token:0", handshake("t"), 0); err != nil {
		t.Fatalf("own tenant refused: %v", err)
	}
	_, err := admit(p, "/t-token:1", handshake("t"), 0)
	wantRefusal(t, err, server.CodePermissionDenied, policy.MessageTenantMismatch, policy.CodeTenantMismatch)
}
