package e2e

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
)

// The admin API is guarded by `Authorization: Bearer <admin token>` on both
// transports, and off altogether when no token is configured.

// adminRoutes are every REST route of AdminService, with harmless bodies.
var adminRoutes = []struct{ method, path, body string }{
	{http.MethodGet, "/v1/namespaces", ""},
	{http.MethodGet, "/v1/namespaces/%2F/rooms", ""},
	{http.MethodGet, "/v1/namespaces/%2F/sockets", ""},
	{http.MethodPost, "/v1/namespaces/%2F/events", `{"event":"intrusion"}`},
	{http.MethodPost, "/v1/namespaces/%2F/sockets:join", `{"rooms":["pwned"]}`},
	{http.MethodPost, "/v1/namespaces/%2F/sockets:leave", `{"rooms":["red"]}`},
	{http.MethodPost, "/v1/namespaces/%2F/sockets:disconnect", `{}`},
	{http.MethodGet, "/v1/stats", ""},
}

// adminRPCs calls every AdminService RPC with the same harmless requests.
func adminRPCs(admin roomcastv1.AdminServiceClient) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"ListNamespaces": func(ctx context.Context) error {
			_, err := admin.ListNamespaces(ctx, &roomcastv1.ListNamespacesRequest{})
			return err
		},
		"ListRooms": func(ctx context.Context) error {
			_, err := admin.ListRooms(ctx, &roomcastv1.ListRoomsRequest{Namespace: "/"})
			return err
		},
		"ListSockets": func(ctx context.Context) error {
			_, err := admin.ListSockets(ctx, &roomcastv1.ListSocketsRequest{Namespace: "/"})
			return err
		},
		"Emit": func(ctx context.Context) error {
			_, err := admin.Emit(ctx, &roomcastv1.EmitRequest{Namespace: "/", Event: "intrusion"})
			return err
		},
		"SocketsJoin": func(ctx context.Context) error {
			_, err := admin.SocketsJoin(ctx, &roomcastv1.SocketsJoinRequest{Namespace: "/", Rooms: []string{"pwned"}})
			return err
		},
		"SocketsLeave": func(ctx context.Context) error {
			_, err := admin.SocketsLeave(ctx, &roomcastv1.SocketsLeaveRequest{Namespace: "/", Rooms: []string{"red"}})
			return err
		},
		"DisconnectSockets": func(ctx context.Context) error {
			_, err := admin.DisconnectSockets(ctx, &roomcastv1.DisconnectSocketsRequest{Namespace: "/"})
			return err
		},
		"GetStats": func(ctx context.Context) error {
			_, err := admin.GetStats(ctx, &roomcastv1.GetStatsRequest{})
			return err
		},
	}
}

func TestAdminRESTNeedsTheBearerToken(t *testing.T) {
	app := startAdminApp(t, adminToken)
	st, _ := connected(t, app.Server, "/", "red")

	for _, token := range []string{"", "wrong-token", adminToken + "x", "Bearer"} {
		rest := newRESTClient(t, app, token)
		for _, r := range adminRoutes {
			rest.fails(r.method, r.path, r.body, http.StatusUnauthorized, codes.Unauthenticated, "Bearer")
		}
	}
	// Another scheme with the right secret is still refused.
	rest := newRESTClient(t, app, "")
	for _, header := range []string{"Basic " + adminToken, adminToken, "Bearer" + adminToken} {
		ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app.BaseURL+"/v1/stats", nil)
		req.Header.Set("Authorization", header)
		resp, err := rest.hc.Do(req)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Authorization: %s → %d, want 401", header, resp.StatusCode)
		}
	}

	// Nothing the refused calls asked for happened.
	barrier(t, app.Server, "/", st)
	ok := newRESTClient(t, app, adminToken)
	wantJSON(t, "rooms", ok.get("/v1/namespaces/%2F/rooms"), `{"rooms":[{"name":"red","members":"1"}]}`)
	wantJSON(t, "namespaces", ok.get("/v1/namespaces"), `{"namespaces":[{"name":"/","sockets":"1"},{"name":"/chat","sockets":"0"}]}`)
}

func TestAdminGRPCNeedsTheBearerToken(t *testing.T) {
	app := startAdminApp(t, adminToken)
	st, _ := connected(t, app.Server, "/", "red")
	admin := adminClient(t, app)

	for _, token := range []string{"", "wrong-token", adminToken + "x"} {
		for name, rpc := range adminRPCs(admin) {
			wantGRPCError(t, name+" with token "+token, rpc(adminCtx(t, token)), codes.Unauthenticated, "Bearer")
		}
	}
	for _, value := range []string{"Basic " + adminToken, adminToken, "bearer"} {
		ctx := metadata.AppendToOutgoingContext(adminCtx(t, ""), "authorization", value)
		wantGRPCError(t, "authorization: "+value, adminRPCs(admin)["GetStats"](ctx), codes.Unauthenticated)
	}

	barrier(t, app.Server, "/", st)
	rooms := rpcOK(admin.ListRooms(adminCtx(t, adminToken), &roomcastv1.ListRoomsRequest{Namespace: "/"})).want(t, "ListRooms")
	if len(rooms.Rooms) != 1 || rooms.Rooms[0].Name != "red" || rooms.Rooms[0].Members != 1 {
		t.Fatalf("rooms = %v, want red with one member", rooms)
	}
	// The right token opens every RPC.
	for name, rpc := range adminRPCs(admin) {
		if err := rpc(adminCtx(t, adminToken)); err != nil {
			t.Fatalf("%s with the token: %v", name, err)
		}
	}
}

func TestAdminAPIIsOffWithoutAToken(t *testing.T) {
	app := startAdminApp(t, "")
	st, sid := connected(t, app.Server, "/", "red")
	admin := adminClient(t, app)

	for _, token := range []string{"", adminToken, "anything"} {
		rest := newRESTClient(t, app, token)
		for _, r := range adminRoutes {
			rest.fails(r.method, r.path, r.body, http.StatusServiceUnavailable, codes.Unavailable, "admin API is off", "--admin-token")
		}
		for name, rpc := range adminRPCs(admin) {
			wantGRPCError(t, name, rpc(adminCtx(t, token)), codes.Unavailable, "admin API is off", "--admin-token")
		}
	}

	// Chat is unaffected, and nothing the refused calls asked for happened.
	st.Send(emit(1, "/", "still", "here", "red"))
	wantEvent(t, st, "/", "still", "here", sid)
	wantReply(t, st, 1, "")
	barrier(t, app.Server, "/", st)
	if s := app.Of("/").Socket(sid); s == nil || !slices.Equal(sorted(s.Rooms()), sorted([]string{"red", sid})) {
		t.Fatalf("socket %s changed: %v", sid, s)
	}
}
