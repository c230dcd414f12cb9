package config

import (
	"context"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/roomcast/roomcast/server/policy"
)

// TestPolicies checks that every section reaches the built policy.
func TestPolicies(t *testing.T) {
	t.Parallel()
	ecPEM, ecKey := ecPublicPEM(t, elliptic.P256())
	point, err := ecKey.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
		"x": b64(point[1:33]), "y": b64(point[33:]),
	}}})
	files := map[string]string{
		"tokens.txt": "# operators\nop-token-1\n\n  op-token-2  \n",
		"secret.txt": secret32 + "\n",
		"ec.pem":     ecPEM,
		"keys.jwks":  string(jwks),
	}
	cfg := mustLoad(t, lines(
		"namespaces:",
		"  - name: /",
		"  - name: /ops",
		"    auth:",
		"      type: tokens",
		"      tokens_file: tokens.txt",
		"    rooms:",
		"      server_only: true",
		"  - name: /secure",
		"    auth:",
		"      type: jwt",
		"      jwt:",
		"        algorithms: [HS256]",
		"        secret_env: JWT_SECRET",
		"        issuer: https://issuer.example",
		"        audience: roomcast",
		"        leeway: 30s",
		"    access:",
		"      rooms_claim: rooms",
		"      permissions_claim: perms",
		"      namespaces_claim: nss",
		"    rooms:",
		"      join: ['public-*', lobby]",
		"      max_per_socket: 10",
		"    limits:",
		"      events_per_second: 2.5",
		"      burst: 5",
		"      max_payload_bytes: 65536",
		"      max_sockets: 1000",
		"      max_namespaces_per_client: 3",
		"      max_strikes: 4",
		"      strikes_reset_after: 10m",
		"    events:",
		"      allow: ['chat:*']",
		"      deny: ['chat:admin*']",
		"  - pattern: ^/tenant-(?P<tenant>[a-z0-9]+)$",
		"    auth:",
		"      type: jwt",
		"      jwt: {secret_file: secret.txt}",
		"    access: {tenant_claim: org, tenant_group: tenant}",
		"  - name: /ec",
		"    auth: {type: jwt, jwt: {public_key_file: ec.pem}}",
		"  - name: /jwks",
		"    auth: {type: jwt, jwt: {jwks_file: keys.jwks, algorithms: [ES256]}}",
	), files)

	byName := map[string]Namespace{}
	for _, ns := range cfg.Namespaces {
		byName[ns.String()] = ns
	}
	if len(byName) != 6 {
		t.Fatalf("got namespaces %v, want 6", byName)
	}
	if root := byName["/"]; root.Policy.Auth != nil || root.AuthType != "none" || root.Line != 2 {
		t.Errorf("/: got %+v, want an open namespace declared at line 2", root)
	}

	ops := byName["/ops"]
	if !ops.Policy.Rooms.ServerOnly || ops.AuthType != "tokens" {
		t.Errorf("/ops: got %+v", ops)
	}
	for token, ok := range map[string]bool{"op-token-1": true, "op-token-2": true, "# operators": false, "": false} {
		if _, err := ops.Policy.Auth.Authenticate(context.Background(), token); (err == nil) != ok {
			t.Errorf("/ops: token %q: got error %v, want accepted=%v", token, err, ok)
		}
	}

	secure := byName["/secure"].Policy
	wantAccess := policy.Access{RoomsClaim: "rooms", PermissionsClaim: "perms", NamespacesClaim: "nss"}
	wantRooms := policy.Rooms{Join: []string{"public-*", "lobby"}, MaxPerSocket: 10}
	wantLimits := policy.Limits{EventsPerSecond: 2.5, Burst: 5, MaxPayloadBytes: 65536, MaxSockets: 1000, MaxNamespacesPerClient: 3, MaxStrikes: 4, StrikesResetAfter: 10 * time.Minute}
	if secure.Access != wantAccess || !slices.Equal(secure.Rooms.Join, wantRooms.Join) ||
		secure.Rooms.MaxPerSocket != 10 || secure.Limits != wantLimits ||
		!slices.Equal(secure.Events.Allow, []string{"chat:*"}) || !slices.Equal(secure.Events.Deny, []string{"chat:admin*"}) {
		t.Errorf("/secure: got %+v", secure)
	}
	now := time.Now().Unix()
	claims := map[string]any{"sub": "alice", "iss": "https://issuer.example", "aud": "roomcast", "exp": now + 60}
	if _, err := secure.Auth.Authenticate(context.Background(), hs256(t, secret32, claims)); err != nil {
		t.Errorf("/secure: a token signed with the secret from JWT_SECRET: %v", err)
	}
	claims["iss"] = "someone else"
	if _, err := secure.Auth.Authenticate(context.Background(), hs256(t, secret32, claims)); err == nil {
		t.Error("/secure: a token from another issuer was accepted")
	}

	tenant := byName[`^/tenant-(?P<tenant>[a-z0-9]+)$`]
	if tenant.Pattern == nil || tenant.Policy.Pattern != tenant.Pattern || tenant.Policy.Access.TenantGroup != "tenant" {
		t.Errorf("tenant pattern: got %+v", tenant)
	}
	// The secret file's line break is not part of the secret.
	if _, err := tenant.Policy.Auth.Authenticate(context.Background(), hs256(t, secret32, map[string]any{"exp": now + 60})); err != nil {
		t.Errorf("tenant pattern: a token signed with the secret file's secret: %v", err)
	}
	if byName["/ec"].Policy.Auth == nil || byName["/jwks"].Policy.Auth == nil {
		t.Error("public key and JWKS namespaces have no authenticator")
	}
}

// hs256 signs claims as an HS256 JWT.
func hs256(t *testing.T, secret string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprint(mac, signing)
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
