package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
)

// The operations side of the HTTP port: the OpenAPI document, health,
// readiness and Prometheus metrics. None of them needs the admin token.

func TestOpenAPIDocument(t *testing.T) {
	for _, token := range []string{adminToken, ""} { // served even with the admin API off
		app := startAdminApp(t, token)
		code, ctype, body := newRESTClient(t, app, "").raw(http.MethodGet, "/openapi.json", "")
		if code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
			t.Fatalf("/openapi.json: %d %q", code, ctype)
		}
		var doc struct {
			Swagger string                                `json:"swagger"`
			Paths   map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("/openapi.json is not JSON: %v", err)
		}
		if doc.Swagger != "2.0" {
			t.Fatalf("swagger = %q, want 2.0", doc.Swagger)
		}
		for path, method := range map[string]string{
			"/v1/namespaces":                                "get",
			"/v1/namespaces/{namespace}/rooms":              "get",
			"/v1/namespaces/{namespace}/sockets":            "get",
			"/v1/namespaces/{namespace}/events":             "post",
			"/v1/namespaces/{namespace}/sockets:join":       "post",
			"/v1/namespaces/{namespace}/sockets:leave":      "post",
			"/v1/namespaces/{namespace}/sockets:disconnect": "post",
			"/v1/stats": "get",
		} {
			if _, ok := doc.Paths[path][method]; !ok {
				t.Fatalf("/openapi.json has no %s %s; paths: %v", method, path, doc.Paths)
			}
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	app := startAdminApp(t, adminToken)
	ops := newRESTClient(t, app, "")
	st, _ := connected(t, app.Server, "/")

	code, body := ops.call(http.MethodGet, "/healthz", "")
	wantOps(t, "/healthz", code, body, http.StatusOK, `{"status":"ok"}`)
	code, body = ops.call(http.MethodGet, "/readyz", "")
	wantOps(t, "/readyz", code, body, http.StatusOK, `{"adapter":"ok","status":"ready"}`)

	app.Node.Hub.Shutdown()
	if f := st.Next().GetDisconnected(); f == nil || f.Reason != "server shutting down" {
		t.Fatalf("got %v, want disconnected: server shutting down", f)
	}
	wantStatus(t, st.End(), codes.Unavailable, "")

	// Not ready any more, still alive.
	code, body = ops.call(http.MethodGet, "/readyz", "")
	wantOps(t, "/readyz after Shutdown", code, body, http.StatusServiceUnavailable, `{"status":"shutting down"}`)
	code, body = ops.call(http.MethodGet, "/healthz", "")
	wantOps(t, "/healthz after Shutdown", code, body, http.StatusOK, `{"status":"ok"}`)
}

func wantOps(t *testing.T, what string, code int, body any, wantCode int, wantBody string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("%s: %d %v, want %d", what, code, body, wantCode)
	}
	wantJSON(t, what, body, wantBody)
}

func TestMetrics(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)
	admin := adminClient(t, app)

	a, aSID := connected(t, app.Server, "/", "red")
	b, _ := connected(t, app.Server, "/", "red")
	chat, _ := connected(t, app.Server, "/chat")
	chat.Connect("/")
	// A fourth client comes and goes.
	gone, _ := connected(t, app.Server, "/")
	gone.Cancel()
	testkit.Eventually(t, "the fourth client gone", func() bool { return app.Server.Stats().Clients == 3 })

	// Three events in on "/", one on "/chat"; nothing in on "/tenant-…".
	for i := uint64(1); i <= 3; i++ {
		a.Send(emit(i, "/", "msg", nil, "red"))
		wantEvent(t, a, "/", "msg", nil, aSID)
		wantReply(t, a, i, "")
		wantEvent(t, b, "/", "msg", nil, aSID)
	}
	chat.Send(call(1, "/chat", "ping", nil))
	wantReply(t, chat, 1, "")

	// Admin calls: two over REST, one over gRPC, one refused.
	rest.get("/v1/namespaces")
	rest.get("/v1/namespaces")
	rpcOK(admin.GetStats(adminCtx(t, adminToken), &roomcastv1.GetStatsRequest{})).want(t, "GetStats")
	_, err := admin.GetStats(adminCtx(t, "wrong"), &roomcastv1.GetStatsRequest{})
	wantGRPCError(t, "GetStats with a wrong token", err, codes.Unauthenticated)

	code, ctype, raw := newRESTClient(t, app, "").raw(http.MethodGet, "/metrics", "")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("/metrics: %d %q", code, ctype)
	}
	samples := metricSamples(string(raw))
	for sample, want := range map[string]string{
		`roomcast_clients`:                                  "3",
		`roomcast_sockets{namespace="/"}`:                   "3",
		`roomcast_sockets{namespace="/chat"}`:               "1",
		`roomcast_rooms{namespace="/"}`:                     "1",
		`roomcast_events_received_total{namespace="/"}`:     "3",
		`roomcast_events_received_total{namespace="/chat"}`: "1",
		`roomcast_events_queued_total{namespace="/"}`:       "6",
		`roomcast_dropped_total{reason="volatile"}`:         "0",
		`roomcast_dropped_total{reason="slow consumer"}`:    "0",
		grpcHandled("OK", "ListNamespaces"):                 "2",
		grpcHandled("OK", "GetStats"):                       "1",
		grpcHandled("Unauthenticated", "GetStats"):          "1",
		`grpc_server_started_total{grpc_method="ListNamespaces",grpc_service="roomcast.v1.AdminService",grpc_type="unary"}`: "2",
		`roomcast_client_streams_total`:                                 "4",
		`roomcast_client_streams_ended_total{reason="transport close"}`: "1",
	} {
		if got, ok := samples[sample]; !ok || got != want {
			t.Errorf("/metrics: %s = %q (present: %v), want %s", sample, got, ok, want)
		}
	}
	// Connect streams are counted by the hub, not by grpc's per-call
	// metrics, which would wrap every frame.
	for sample := range samples {
		if strings.HasPrefix(sample, "grpc_server_") && strings.Contains(sample, `grpc_method="Connect"`) {
			t.Errorf("/metrics: %s, want Connect left out of grpc_server_*", sample)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", raw)
	}
}

func grpcHandled(code, method string) string {
	return `grpc_server_handled_total{grpc_code="` + code + `",grpc_method="` + method +
		`",grpc_service="roomcast.v1.AdminService",grpc_type="unary"}`
}

// metricSamples maps each sample of Prometheus' text format ("name{labels}")
// to its value.
func metricSamples(text string) map[string]string {
	out := make(map[string]string)
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		out[line[:i]] = line[i+1:]
	}
	return out
}
