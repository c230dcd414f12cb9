package config

import (
	"crypto/elliptic"
	"strings"
	"testing"
)

// TestErrors checks each validation: the message names the file, the line
// and the key path of the mistake.
func TestErrors(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"empty.txt":     "# nothing but a comment\n\n",
		"spaced.txt":    "tok-1   # a comment after a token\n",
		"garbage.pem":   "not a key\n",
		"bad.jwks":      "{not json",
		"nokeys.jwks":   `{"keys": []}`,
		"notype.jwks":   `{"keys": [{"kid": "a"}]}`,
		"private.pem":   writePEM(t, "PRIVATE KEY", []byte{1, 2, 3}),
		"p224.pem":      func() string { s, _ := ecPublicPEM(t, elliptic.P224()); return s }(),
		"p256.pem":      func() string { s, _ := ecPublicPEM(t, elliptic.P256()); return s }(),
		"rsa1024.pem":   rsaPublicPEM(t, 1024),
		"empty-secret":  "\n",
		"two-lines.txt": "one\ntwo\n",
	}
	jwtNS := func(jwt ...string) string {
		return lines(append([]string{
			"namespaces:",
			"  - name: /secure",
			"    auth:",
			"      type: jwt",
			"      jwt:",
		}, jwt...)...)
	}
	for _, tc := range []struct {
		name   string
		config string
		line   int
		key    string
		msg    string
	}{
		// The top level.
		{"unknown key", "grpc_adr: :1\n", 1, "grpc_adr", `unknown key (did you mean "grpc_addr"?)`},
		{"unknown key far from any", "colour: blue\n", 1, "colour", "want one of adapter, admin_token"},
		{"unknown adapter", "adapter: etcd\n", 1, "adapter", "etcd"},
		{"unknown transport", "transport: quic\n", 1, "transport", `want roomcast or grpc-go, got "quic"`},
		{"redis url without scheme", "redis_url: 127.0.0.1:6379\n", 1, "redis_url", "first path segment in URL cannot contain colon; want redis://[USER:PASSWORD@]HOST:PORT/DB"},
		{"redis url of another scheme", "redis_url: http://127.0.0.1:6379\n", 1, "redis_url", "invalid URL scheme: http; want redis://"},
		{"redis url database not a number", "redis_url: redis://127.0.0.1:6379/zero\n", 1, "redis_url", `invalid database number: "zero"`},
		{"redis url unknown option", "redis_url: redis://127.0.0.1:6379/0?colour=blue\n", 1, "redis_url", "unexpected option: colour"},
		{"redis url bad port, password kept out", "redis_url: redis://u:hunter2@127.0.0.1:six/0\n", 1, "redis_url", `invalid port ":six" after host; want`},
		{"odd unknown key is quoted", "\"a\\nb\": 1\n", 1, `"a\nb"`, "unknown key"},
		{"repeated key", lines("log_format: text", "log_format: json"), 2, "log_format", "repeated key (first at line 1)"},
		{"address without port", "grpc_addr: localhost\n", 1, "grpc_addr", `want host:port, e.g. :50051, got "localhost"`},
		{"address as a number", "http_addr: 8080\n", 1, "http_addr", "want host:port"},
		{"log format", "log_format: xml\n", 1, "log_format", `want text or json, got "xml"`},
		{"duration without unit", "shutdown_timeout: 10\n", 1, "shutdown_timeout", `want a duration such as 10s or 1m30s, got "10"`},
		{"negative duration", "shutdown_timeout: -1s\n", 1, "shutdown_timeout", "must not be negative"},
		{"no value", "admin_token:\n", 1, "admin_token", "want a string, got no value"},
		{"empty string", "admin_token: ''\n", 1, "admin_token", "must not be empty"},
		{"admin token twice", lines("admin_token: a", "admin_token_file: t.txt"), 2, "admin_token_file", "admin_token and admin_token_file are alternatives"},
		{"admin token env unset", "admin_token_env: NOPE\n", 1, "admin_token_env", "environment variable NOPE is not set"},
		{"admin token env empty", "admin_token_env: EMPTY\n", 1, "admin_token_env", "environment variable EMPTY is empty"},
		{"admin token file missing", "admin_token_file: missing.txt\n", 1, "admin_token_file", "cannot read"},
		{"admin token file of two lines", "admin_token_file: two-lines.txt\n", 1, "admin_token_file", "has a space or line break inside"},
		{"admin token file empty", "admin_token_file: empty-secret\n", 1, "admin_token_file", "the file is empty"},
		{"not a mapping", "- a\n", 1, "", "want a mapping of"},

		// Namespaces.
		{"namespaces not a list", "namespaces: /chat\n", 1, "namespaces", `want a list, got "/chat"`},
		{"neither name nor pattern", lines("namespaces:", "  - auth: {type: none}"), 2, "namespaces[0]", "needs name"},
		{"name and pattern", lines("namespaces:", "  - name: /a", "    pattern: ^/a$"), 3, "namespaces[0].pattern", "name and pattern are alternatives"},
		{"name without slash", lines("namespaces:", "  - name: chat"), 2, "namespaces[0].name", `namespace "chat" must start with /`},
		{"name too long", lines("namespaces:", "  - name: /"+strings.Repeat("a", 300)), 2, "namespaces[0].name", "longer than 256 bytes"},
		{"name twice", lines("namespaces:", "  - name: /a", "  - name: /a"), 3, "namespaces[1].name", "namespace /a is already declared at line 2"},
		{"pattern twice", lines("namespaces:", "  - pattern: ^/a$", "  - pattern: ^/a$"), 3, "namespaces[1].pattern", "already declared at line 2"},
		{"pattern syntax", lines("namespaces:", "  - pattern: ^/(a$"), 2, "namespaces[0].pattern", "invalid regular expression: missing closing )"},
		{"pattern unanchored", lines("namespaces:", "  - pattern: /tenant-.*"), 2, "namespaces[0].pattern", "must be anchored"},
		{"pattern anchored at one end", lines("namespaces:", "  - pattern: ^/tenant-.*"), 2, "namespaces[0].pattern", "must be anchored"},
		{"pattern one alternative unanchored", lines("namespaces:", "  - pattern: ^/a$|/b"), 2, "namespaces[0].pattern", "must be anchored"},
		{"pattern without slash", lines("namespaces:", "  - pattern: ^tenant-[a-z]+$"), 2, "namespaces[0].pattern", "can never match"},
		{"unknown namespace key", lines("namespaces:", "  - name: /a", "    room: {}"), 3, "namespaces[0].room", `did you mean "rooms"?`},

		// Auth.
		{"auth without type", lines("namespaces:", "  - name: /a", "    auth:", "      tokens: [t]"), 4, "namespaces[0].auth", "needs type: none, tokens or jwt"},
		{"auth unknown type", lines("namespaces:", "  - name: /a", "    auth: {type: oauth}"), 3, "namespaces[0].auth.type", `want none or tokens or jwt, got "oauth"`},
		{"tokens without tokens", lines("namespaces:", "  - name: /a", "    auth:", "      type: tokens"), 4, "namespaces[0].auth.type", "type tokens needs tokens (a list) or tokens_file"},
		{"tokens with type none", lines("namespaces:", "  - name: /a", "    auth:", "      type: none", "      tokens: [t]"), 5, "namespaces[0].auth.tokens", "only with type: tokens"},
		{"jwt with type tokens", lines("namespaces:", "  - name: /a", "    auth:", "      type: tokens", "      tokens: [t]", "      jwt: {secret_env: JWT_SECRET}"), 6, "namespaces[0].auth.jwt", "only with type: jwt"},
		{"tokens twice", lines("namespaces:", "  - name: /a", "    auth:", "      type: tokens", "      tokens: [t]", "      tokens_file: t.txt"), 6, "namespaces[0].auth.tokens_file", "tokens and tokens_file are alternatives"},
		{"tokens empty", lines("namespaces:", "  - name: /a", "    auth:", "      type: tokens", "      tokens: []"), 5, "namespaces[0].auth.tokens", "empty list"},
		{"token with space", lines("namespaces:", "  - name: /a", "    auth:", "      type: tokens", "      tokens:", "        - ok", "        - ' padded'"), 7, "namespaces[0].auth.tokens[1]", "leading or trailing whitespace"},
		{"tokens file missing", lines("namespaces:", "  - name: /a", "    auth:", "      type: tokens", "      tokens_file: nope.txt"), 5, "namespaces[0].auth.tokens_file", "no such file"},
		{"tokens file without tokens", lines("namespaces:", "  - name: /a", "    auth:", "      type: tokens", "      tokens_file: empty.txt"), 5, "namespaces[0].auth.tokens_file", "the file has no tokens"},
		{"tokens file with inline comment", lines("namespaces:", "  - name: /a", "    auth:", "      type: tokens", "      tokens_file: spaced.txt"), 5, "namespaces[0].auth.tokens_file", "line 1 of the file has a space"},
		{"jwt without jwt", lines("namespaces:", "  - name: /a", "    auth:", "      type: jwt"), 4, "namespaces[0].auth.type", "type jwt needs a jwt section"},

		// JWT.
		{"jwt without key", jwtNS("        issuer: me"), 6, "namespaces[0].auth.jwt", "needs a key: one of secret_env"},
		{"jwt two keys", jwtNS("        secret_env: JWT_SECRET", "        public_key_file: p256.pem"), 7, "namespaces[0].auth.jwt.public_key_file", "secret_env and public_key_file are alternatives"},
		{"jwt secret env unset", jwtNS("        secret_env: NOT_SET"), 6, "namespaces[0].auth.jwt.secret_env", "environment variable NOT_SET is not set"},
		{"jwt secret env empty", jwtNS("        secret_env: EMPTY"), 6, "namespaces[0].auth.jwt.secret_env", "environment variable EMPTY is empty"},
		{"jwt secret too short", jwtNS("        secret_env: SHORT"), 6, "namespaces[0].auth.jwt.secret_env", "the secret is 5 bytes; HS256 needs at least 32"},
		{"jwt secret too short for HS512", jwtNS("        secret_env: JWT_SECRET", "        algorithms: [HS512]"), 6, "namespaces[0].auth.jwt.secret_env", "HS512 needs at least 64"},
		{"jwt secret file empty", jwtNS("        secret_file: empty-secret"), 6, "namespaces[0].auth.jwt.secret_file", "the file is empty"},
		{"jwt unknown algorithm", jwtNS("        secret_env: JWT_SECRET", "        algorithms:", "          - HS256", "          - HS999"), 9, "namespaces[0].auth.jwt.algorithms[1]", `unknown algorithm "HS999"`},
		{"jwt alg none", jwtNS("        secret_env: JWT_SECRET", "        algorithms: [none]"), 7, "namespaces[0].auth.jwt.algorithms[0]", "never allowed"},
		{"jwt algorithms empty", jwtNS("        secret_env: JWT_SECRET", "        algorithms: []"), 7, "namespaces[0].auth.jwt.algorithms", "empty list"},
		{"jwt HS256 with a public key", jwtNS("        public_key_file: p256.pem", "        algorithms: [HS256]"), 7, "namespaces[0].auth.jwt.algorithms[0]", "HS256 needs a shared secret"},
		{"jwt RS256 with a secret", jwtNS("        secret_env: JWT_SECRET", "        algorithms: [RS256]"), 7, "namespaces[0].auth.jwt.algorithms[0]", "RS256 needs a public key"},
		{"jwt RS256 with an EC key", jwtNS("        public_key_file: p256.pem", "        algorithms: [RS256]"), 7, "namespaces[0].auth.jwt.algorithms[0]", "RS256 needs an RSA key"},
		{"jwt key not PEM", jwtNS("        public_key_file: garbage.pem"), 6, "namespaces[0].auth.jwt.public_key_file", "no PEM block"},
		{"jwt private key", jwtNS("        public_key_file: private.pem"), 6, "namespaces[0].auth.jwt.public_key_file", "holds a private key"},
		{"jwt EC key on P-224", jwtNS("        public_key_file: p224.pem"), 6, "namespaces[0].auth.jwt.public_key_file", "the ECDSA key is on P-224"},
		{"jwt ES384 with a P-256 key", jwtNS("        public_key_file: p256.pem", "        algorithms: [ES384]"), 7, "namespaces[0].auth.jwt.algorithms[0]", "ES384 needs an ECDSA P-384 key; public_key_file holds an ECDSA P-256 key"},
		{"jwt RSA key too small", jwtNS("        public_key_file: rsa1024.pem"), 6, "namespaces[0].auth.jwt.public_key_file", "the RSA key has 1024 bits"},
		{"jwks not JSON", jwtNS("        jwks_file: bad.jwks"), 6, "namespaces[0].auth.jwt.jwks_file", "not a JWKS document"},
		{"jwks without keys", jwtNS("        jwks_file: nokeys.jwks"), 6, "namespaces[0].auth.jwt.jwks_file", "has no keys"},
		{"jwks key without kty", jwtNS("        jwks_file: notype.jwks"), 6, "namespaces[0].auth.jwt.jwks_file", "has no kty"},
		{"jwt leeway", jwtNS("        secret_env: JWT_SECRET", "        leeway: 30"), 7, "namespaces[0].auth.jwt.leeway", "want a duration"},
		{"jwt issuer empty", jwtNS("        secret_env: JWT_SECRET", "        issuer:"), 7, "namespaces[0].auth.jwt.issuer", "no value"},
		{"jwt unknown key", jwtNS("        secret_env: JWT_SECRET", "        audiences: [a]"), 7, "namespaces[0].auth.jwt.audiences", `did you mean "audience"?`},

		// Access.
		{"access without auth", lines("namespaces:", "  - name: /a", "    access:", "      rooms_claim: rooms"), 4, "namespaces[0].access.rooms_claim", "needs auth type jwt, not none"},
		{"access with tokens", lines("namespaces:", "  - name: /a", "    auth: {type: tokens, tokens: [t]}", "    access:", "      rooms_claim: rooms"), 5, "namespaces[0].access.rooms_claim", "needs auth type jwt, not tokens"},
		{"tenant claim without group", lines("namespaces:", "  - pattern: ^/t-(?P<tenant>[a-z]+)$", "    auth: {type: jwt, jwt: {secret_env: JWT_SECRET}}", "    access:", "      tenant_claim: tenant"), 5, "namespaces[0].access.tenant_claim", "needs tenant_group"},
		{"tenant group without claim", lines("namespaces:", "  - pattern: ^/t-(?P<tenant>[a-z]+)$", "    auth: {type: jwt, jwt: {secret_env: JWT_SECRET}}", "    access:", "      tenant_group: tenant"), 5, "namespaces[0].access.tenant_group", "needs tenant_claim"},
		{"tenant group on a static name", lines("namespaces:", "  - name: /t", "    auth: {type: jwt, jwt: {secret_env: JWT_SECRET}}", "    access:", "      tenant_claim: tenant", "      tenant_group: tenant"), 6, "namespaces[0].access.tenant_group", "needs a pattern"},
		{"tenant group not in pattern", lines("namespaces:", "  - pattern: ^/t-(?P<org>[a-z]+)$", "    auth: {type: jwt, jwt: {secret_env: JWT_SECRET}}", "    access:", "      tenant_claim: tenant", "      tenant_group: tenant"), 6, "namespaces[0].access.tenant_group", `has no group named "tenant"`},

		// Rooms, limits, events.
		{"room glob", lines("namespaces:", "  - name: /a", "    rooms:", "      join: ['chat-[']"), 4, "namespaces[0].rooms.join[0]", `invalid glob "chat-["`},
		{"room globs empty", lines("namespaces:", "  - name: /a", "    rooms:", "      join: []"), 4, "namespaces[0].rooms.join", "empty list"},
		{"server only with join", lines("namespaces:", "  - name: /a", "    rooms:", "      join: [a]", "      server_only: true"), 4, "namespaces[0].rooms.join", "server_only forbids"},
		{"server only yes", lines("namespaces:", "  - name: /a", "    rooms:", "      server_only: yes"), 4, "namespaces[0].rooms.server_only", `want true or false, got "yes"`},
		{"max per socket negative", lines("namespaces:", "  - name: /a", "    rooms:", "      max_per_socket: -1"), 4, "namespaces[0].rooms.max_per_socket", "must not be negative"},
		{"rate infinite", lines("namespaces:", "  - name: /a", "    limits:", "      events_per_second: .inf"), 4, "namespaces[0].limits.events_per_second", `want a number, got ".inf"`},
		{"rate negative", lines("namespaces:", "  - name: /a", "    limits:", "      events_per_second: -2.5"), 4, "namespaces[0].limits.events_per_second", "must not be negative"},
		{"burst without rate", lines("namespaces:", "  - name: /a", "    limits:", "      burst: 5"), 4, "namespaces[0].limits.burst", "needs events_per_second"},
		{"count not whole", lines("namespaces:", "  - name: /a", "    limits:", "      max_sockets: 1.5"), 4, "namespaces[0].limits.max_sockets", `want a whole number up to 2147483647, got "1.5"`},
		{"count a word", lines("namespaces:", "  - name: /a", "    limits:", "      max_payload_bytes: 1MB"), 4, "namespaces[0].limits.max_payload_bytes", "want a whole number"},
		{"count too big", lines("namespaces:", "  - name: /a", "    limits:", "      max_strikes: 99999999999"), 4, "namespaces[0].limits.max_strikes", "want a whole number"},
		{"section not a mapping", lines("namespaces:", "  - name: /a", "    limits: 10"), 3, "namespaces[0].limits", "want a mapping of burst, events_per_second"},
		{"section without value", lines("namespaces:", "  - name: /a", "    events:"), 3, "namespaces[0].events", "got no value"},
		{"event globs", lines("namespaces:", "  - name: /a", "    events:", "      deny: ['[']"), 4, "namespaces[0].events.deny[0]", "invalid glob"},
		{"event glob not a string", lines("namespaces:", "  - name: /a", "    events:", "      allow: [{a: b}]"), 4, "namespaces[0].events.allow[0]", "want a string, got a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tc.config, files)
			wantError(t, err, tc.line, tc.key, tc.msg)
		})
	}
}

// TestRedisURL checks that redis_url takes what the adapter's Redis
// client takes, and that a refusal never repeats the URL's password.
func TestRedisURL(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"redis://127.0.0.1:6379/0",
		"rediss://user:pass@redis.example.com:6380/2",
		"redis://127.0.0.1?dial_timeout=3s&pool_size=20",
		"unix:///run/redis.sock?db=1",
		"redis+cluster://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000",
		"rediss+cluster://user:pass@redis.example.com:7000",
	} {
		cfg := mustLoad(t, "redis_url: "+url+"\n", nil)
		if cfg.RedisURL != url || cfg.Settings()["redis_url"] != url {
			t.Errorf("redis_url %s loaded as %q", url, cfg.RedisURL)
		}
	}
	_, err := load(t, "redis_url: redis://u:hunter2@127.0.0.1:six/0\n", nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v, want an error without the password", err)
	}
	// A Redis Cluster's URL is read by the cluster parser, which refuses
	// what it does not know.
	_, err = load(t, "redis_url: redis+cluster://u:hunter2@10.0.0.1:7000?colour=blue\n", nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "redis+cluster://") {
		t.Fatalf("got %v, want a refusal that names the cluster form and not the password", err)
	}
}

// TestSyntaxErrors checks that errors found by the YAML parser are located
// like the others.
func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, config string
		line         int
		msg          string
	}{
		{"unclosed list", lines("grpc_addr: ':1'", "namespaces: [", ""), 3, "did not find expected node content"},
		{"tab indentation", lines("namespaces:", "\t- name: /"), 2, "cannot start any token"},
		{"second document", lines("grpc_addr: ':1'", "---", "http_addr: ':2'"), 2, "a second YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tc.config, nil)
			if err == nil {
				t.Fatal("loaded")
			}
			if got := err.Error(); !strings.Contains(got, "roomcast.yaml:") || !strings.Contains(got, tc.msg) {
				t.Fatalf("got %q, want the file, line %d and %q", got, tc.line, tc.msg)
			}
			var e *Error
			if !asError(err, &e) || e.Line != tc.line {
				t.Fatalf("got %v, want line %d", err, tc.line)
			}
		})
	}
}

// TestAllErrorsAtOnce checks that one load reports every mistake, so that
// fixing a file takes one round.
func TestAllErrorsAtOnce(t *testing.T) {
	t.Parallel()
	config := lines(
		"grpc_adr: ':1'",
		"log_format: xml",
		"namespaces:",
		"  - name: nope",
		"  - pattern: /x",
	)
	_, err := load(t, config, nil)
	wantError(t, err, 1, "grpc_adr", "unknown key")
	wantError(t, err, 2, "log_format", "want text or json")
	wantError(t, err, 4, "namespaces[0].name", "must start with /")
	wantError(t, err, 5, "namespaces[1].pattern", "must be anchored")
	if n := strings.Count(err.Error(), "\n") + 1; n != 4 {
		t.Fatalf("got %d errors, want 4:\n%v", n, err)
	}
}

// TestErrorsKeepSecrets checks that messages about tokens and secrets do
// not repeat them: configuration errors end up in logs.
func TestErrorsKeepSecrets(t *testing.T) {
	t.Parallel()
	config := lines(
		"namespaces:",
		"  - name: /a",
		"    auth:",
		"      type: tokens",
		"      tokens: ['hunter2 ']",
		"  - name: /b",
		"    auth:",
		"      type: jwt",
		"      jwt: {secret_env: SHORT}",
	)
	_, err := load(t, config, nil)
	if err == nil {
		t.Fatal("loaded")
	}
	for _, secret := range []string{"hunter2", testEnv["SHORT"]} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error repeats a secret: %v", err)
		}
	}
}
