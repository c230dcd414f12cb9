package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomcast/roomcast/server"
)

// FuzzLoad checks that no file makes the loader panic, that every error
// line names the file, and that whatever loads can be applied to a hub.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("../../examples/roomcast.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example),
		"",
		"grpc_addr: ':1'\nadmin_token_file: tokens.txt\n",
		lines("namespaces:", "  - name: /a", "    auth: {type: tokens, tokens_file: tokens.txt}", "    rooms: {join: [a*], max_per_socket: 3}"),
		lines("namespaces:", "  - pattern: ^/t-(?P<t>[a-z]+)$", "    auth: {type: jwt, jwt: {secret_env: JWT_SECRET, algorithms: [HS256]}}", "    access: {tenant_claim: t, tenant_group: t}"),
		lines("namespaces:", "  - name: /a", "    limits: &l {events_per_second: 1.5, burst: 2}", "  - name: /b", "    limits: *l"),
		"a: [\n",
		"--- \n--- \n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokens.txt"), []byte("t1\n# c\nt2\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	file := filepath.Join(dir, "fuzz.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse(file, data, lookupTestEnv)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, file+":") {
					t.Fatalf("error line %q does not start with the file name", line)
				}
			}
			return
		}
		if len(cfg.Namespaces) == 0 {
			return
		}
		hub := server.New()
		for _, ns := range cfg.Namespaces {
			if ns.Policy == nil {
				t.Fatalf("namespace %s loaded without a policy", ns)
			}
			ns.Apply(hub)
		}
	})
}
