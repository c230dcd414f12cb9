package e2e

import (
	"context"
	"net/http"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
)

func TestWrongMethodIs405(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)
	for _, c := range []struct{ method, path string }{
		{http.MethodDelete, "/v1/namespaces"},
		{http.MethodGet, "/v1/namespaces/%2F/events"},
	} {
		if code, body := rest.call(c.method, c.path, ""); code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d %v, want 405", c.method, c.path, code, body)
		}
	}
}

func TestHealthCoversEveryService(t *testing.T) {
	app := startAdminApp(t, adminToken)
	health := healthpb.NewHealthClient(app.Conn(t))
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	for _, service := range []string{"", roomcastv1.ChatService_ServiceDesc.ServiceName, roomcastv1.AdminService_ServiceDesc.ServiceName} {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: %v %v, want SERVING", service, resp, err)
		}
	}
	app.Node.Hub.Shutdown()
	resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: roomcastv1.AdminService_ServiceDesc.ServiceName})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health of the admin API after Shutdown: %v %v, want NOT_SERVING", resp, err)
	}
}
