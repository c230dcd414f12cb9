package e2e

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// adminToken is the admin token of the nodes that the admin tests start.
const adminToken = "e2e-admin-token"

// adminNode names the node of the admin tests.
const adminNode = "node-e2e"

// startAdminApp runs a whole node (gRPC port and HTTP port) with admin
// token token and three kinds of namespace: "/", the static "/chat", whose
// middleware attaches data to sockets (user from the connect's auth, roles,
// level), and dynamic "/tenant-<id>" namespaces.
func startAdminApp(t *testing.T, token string) *testkit.App {
	t.Helper()
	return testkit.StartApp(t, token, func(s *server.Server) {
		s.Of("/chat").Use(func(_ context.Context, req *server.ConnectRequest) error {
			req.Set("user", req.Handshake.Auth.GetFields()["user"].GetStringValue())
			req.Set("roles", []string{"member", "mod"})
			req.Set("level", 2)
			return nil
		})
		s.OfPattern(regexp.MustCompile(`^/tenant-[a-z0-9]+$`))
	}, server.WithNodeID(adminNode))
}

// restClient calls a node's HTTP port as an operator would, with plain
// net/http and, when token is set, `Authorization: Bearer <token>`.
type restClient struct {
	t     *testing.T
	base  string
	token string
	hc    *http.Client
}

// newRESTClient returns a client of app's HTTP port with its own
// connection pool, closed when the test ends.
func newRESTClient(t *testing.T, app *testkit.App, token string) *restClient {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &restClient{t: t, base: app.BaseURL, token: token, hc: &http.Client{Transport: tr}}
}

// raw sends a request and returns the status, Content-Type and body.
func (c *restClient) raw(method, path, body string) (int, string, []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// call sends a request whose answer must be JSON, and returns the status
// and the decoded body.
func (c *restClient) call(method, path, body string) (int, any) {
	c.t.Helper()
	code, ctype, b := c.raw(method, path, body)
	if !strings.HasPrefix(ctype, "application/json") {
		c.t.Fatalf("%s %s: %d with Content-Type %q, want JSON: %s", method, path, code, ctype, b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		c.t.Fatalf("%s %s: %d with a body that is not JSON (%v): %s", method, path, code, err, b)
	}
	return code, v
}

// ok sends a request that must succeed and returns the decoded body.
func (c *restClient) ok(method, path, body string) any {
	c.t.Helper()
	code, v := c.call(method, path, body)
	if code != http.StatusOK {
		c.t.Fatalf("%s %s: %d %v, want 200", method, path, code, v)
	}
	return v
}

// get is ok for GET.
func (c *restClient) get(path string) any {
	c.t.Helper()
	return c.ok(http.MethodGet, path, "")
}

// post is ok for POST.
func (c *restClient) post(path, body string) any {
	c.t.Helper()
	return c.ok(http.MethodPost, path, body)
}

// fails sends a request that must fail with the HTTP status and the gRPC
// code of grpc-gateway's error body, whose message must contain every one
// of parts. It returns the message.
func (c *restClient) fails(method, path, body string, httpStatus int, code codes.Code, parts ...string) string {
	c.t.Helper()
	got, v := c.call(method, path, body)
	return wantRESTError(c.t, method+" "+path, got, v, httpStatus, code, parts...)
}

// wantRESTError checks an error answer of the REST API: the status, and a
// body {"code": <gRPC code>, "message": ..., "details": []}.
func wantRESTError(t *testing.T, what string, gotStatus int, body any, httpStatus int, code codes.Code, parts ...string) string {
	t.Helper()
	m, _ := body.(map[string]any)
	msg, _ := m["message"].(string)
	if gotStatus != httpStatus || m["code"] != float64(code) || msg == "" {
		t.Fatalf("%s: %d %v, want %d with code %d (%v) and a message", what, gotStatus, body, httpStatus, code, code)
	}
	if d, ok := m["details"].([]any); len(m) != 3 || !ok || len(d) != 0 {
		t.Fatalf("%s: error body %v, want exactly code, message and no details", what, body)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("%s: message %q does not mention %q", what, msg, p)
		}
	}
	return msg
}

// wantJSON compares a decoded body with the JSON text want, as values:
// key order and whitespace do not matter, everything else does. A
// top-level "missingNodes" (the cluster's nodes that did not answer) must
// be empty, as it always is on one node, and is then left out of the
// comparison.
func wantJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	if m, ok := got.(map[string]any); ok {
		if missing, ok := m["missingNodes"]; ok {
			if l, ok := missing.([]any); !ok || len(l) != 0 {
				t.Fatalf("%s: missingNodes = %v on a single node", what, missing)
			}
			m = maps.Clone(m)
			delete(m, "missingNodes")
			got = m
		}
	}
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Fatalf("%s:\n got  %s\n want %s", what, g, want)
	}
}

// jsonAt walks a decoded JSON body: keys for objects, ints for arrays.
func jsonAt(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v is not an object (looking for %q)", v, k)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("%v has no element %d", v, k)
			}
			v = a[k]
		}
	}
	return v
}

// adminClient dials app's gRPC port; the connection closes with the test.
func adminClient(t *testing.T, app *testkit.App) roomcastv1.AdminServiceClient {
	return roomcastv1.NewAdminServiceClient(app.Conn(t))
}

// adminCtx is a context for one admin RPC, with a deadline and, when token
// is set, `authorization: Bearer <token>` metadata.
func adminCtx(t *testing.T, token string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	t.Cleanup(cancel)
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return ctx
}

// wantGRPCError checks a failed RPC's code and that its message contains
// every one of parts.
func wantGRPCError(t *testing.T, what string, err error, code codes.Code, parts ...string) {
	t.Helper()
	st, ok := status.FromError(err)
	if err == nil || !ok || st.Code() != code {
		t.Fatalf("%s: error %v, want code %v", what, err, code)
	}
	for _, p := range parts {
		if !strings.Contains(st.Message(), p) {
			t.Fatalf("%s: message %q does not mention %q", what, st.Message(), p)
		}
	}
}

// rpcOK holds an RPC's answer for want:
// rpcOK(admin.GetStats(ctx, req)).want(t, "GetStats").
func rpcOK[T any](resp T, err error) rpcAnswer[T] { return rpcAnswer[T]{resp, err} }

type rpcAnswer[T any] struct {
	resp T
	err  error
}

// want fails the test on an RPC error and returns the response.
func (a rpcAnswer[T]) want(t *testing.T, what string) T {
	t.Helper()
	if a.err != nil {
		t.Fatalf("%s: %v", what, a.err)
	}
	return a.resp
}
