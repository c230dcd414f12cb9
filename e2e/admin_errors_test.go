package e2e

import (
	"net/http"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// Bad admin requests are refused whole, with the field that is wrong: 404 /
// NotFound for a namespace that does not exist, 400 / InvalidArgument for
// the rest, and nothing half-applied.

func TestAdminUnknownNamespace(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)
	admin := adminClient(t, app)

	// "/nope" matches nothing; "/tenant-7" matches the pattern but nobody
	// connected to it, so it does not exist either, and asking about it
	// does not create it.
	for _, ns := range []struct{ path, name string }{{"%2Fnope", "/nope"}, {"%2Ftenant-7", "/tenant-7"}, {"%2Fchat%2Fx", "/chat/x"}} {
		for _, r := range []struct{ method, path, body string }{
			{http.MethodGet, "/v1/namespaces/" + ns.path + "/rooms", ""},
			{http.MethodGet, "/v1/namespaces/" + ns.path + "/sockets", ""},
			{http.MethodPost, "/v1/namespaces/" + ns.path + "/events", `{"event":"x"}`},
			{http.MethodPost, "/v1/namespaces/" + ns.path + "/sockets:join", `{"rooms":["r"]}`},
			{http.MethodPost, "/v1/namespaces/" + ns.path + "/sockets:leave", `{"rooms":["r"]}`},
			{http.MethodPost, "/v1/namespaces/" + ns.path + "/sockets:disconnect", `{}`},
		} {
			rest.fails(r.method, r.path, r.body, http.StatusNotFound, codes.NotFound, `"`+ns.name+`"`)
		}
		ctx := adminCtx(t, adminToken)
		_, err := admin.ListRooms(ctx, &roomcastv1.ListRoomsRequest{Namespace: ns.name})
		wantGRPCError(t, "ListRooms "+ns.name, err, codes.NotFound, ns.name)
		_, err = admin.ListSockets(ctx, &roomcastv1.ListSocketsRequest{Namespace: ns.name})
		wantGRPCError(t, "ListSockets "+ns.name, err, codes.NotFound, ns.name)
		_, err = admin.Emit(ctx, &roomcastv1.EmitRequest{Namespace: ns.name, Event: "x"})
		wantGRPCError(t, "Emit "+ns.name, err, codes.NotFound, ns.name)
		_, err = admin.SocketsJoin(ctx, &roomcastv1.SocketsJoinRequest{Namespace: ns.name, Rooms: []string{"r"}})
		wantGRPCError(t, "SocketsJoin "+ns.name, err, codes.NotFound, ns.name)
		_, err = admin.SocketsLeave(ctx, &roomcastv1.SocketsLeaveRequest{Namespace: ns.name, Rooms: []string{"r"}})
		wantGRPCError(t, "SocketsLeave "+ns.name, err, codes.NotFound, ns.name)
		_, err = admin.DisconnectSockets(ctx, &roomcastv1.DisconnectSocketsRequest{Namespace: ns.name})
		wantGRPCError(t, "DisconnectSockets "+ns.name, err, codes.NotFound, ns.name)
	}
	wantJSON(t, "namespaces", rest.get("/v1/namespaces"), `{"namespaces":[{"name":"/","sockets":"0"},{"name":"/chat","sockets":"0"}]}`)

	// Names that are not namespace names at all.
	rest.fails(http.MethodGet, "/v1/namespaces/chat/rooms", "", http.StatusBadRequest, codes.InvalidArgument, "namespace", "must start with /")
	_, err := admin.ListRooms(adminCtx(t, adminToken), &roomcastv1.ListRoomsRequest{})
	wantGRPCError(t, "ListRooms without a namespace", err, codes.InvalidArgument, "namespace")
	_, err = admin.Emit(adminCtx(t, adminToken), &roomcastv1.EmitRequest{Namespace: "chat", Event: "x"})
	wantGRPCError(t, "Emit to chat", err, codes.InvalidArgument, "namespace", "must start with /")
}

func TestAdminRESTBadInput(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)
	a, aSID := connected(t, app.Server, "/", "red")
	b, _ := connected(t, app.Server, "/", "blue")

	bad := func(method, path, body string, parts ...string) {
		t.Helper()
		rest.fails(method, path, body, http.StatusBadRequest, codes.InvalidArgument, parts...)
	}
	const events = "/v1/namespaces/%2F/events"
	// Field values.
	bad(http.MethodPost, events, `{"data":"no event name"}`, "event", "empty")
	bad(http.MethodPost, events, `{"event":""}`, "event", "empty")
	bad(http.MethodPost, events, `{"event":"connect"}`, "event", "reserved")
	bad(http.MethodPost, events, `{"event":"bell\u0007"}`, "event", "control character")
	bad(http.MethodPost, events, `{"event":"x","rooms":["red","bad\u0001room"]}`, "rooms", "control character")
	bad(http.MethodPost, events, `{"event":"x","rooms":["red",""]}`, "rooms", "empty")
	bad(http.MethodPost, events, `{"event":"x","except_rooms":["line\nbreak"]}`, "except_rooms", "control character")
	bad(http.MethodPost, events, `{"event":"x","data":1,"binary":"AA=="}`, "data", "binary")
	bad(http.MethodGet, "/v1/namespaces/%2F/sockets?rooms=red&rooms=", "", "rooms", "empty")
	bad(http.MethodGet, "/v1/namespaces/%2F/sockets?rooms=%07", "", "rooms", "control character")
	bad(http.MethodGet, "/v1/namespaces/%2F/rooms?include_socket_rooms=maybe", "", "include_socket_rooms")
	// JSON that does not parse, or does not fit the message.
	bad(http.MethodPost, events, `{"event":`)
	bad(http.MethodPost, events, `not json`)
	bad(http.MethodPost, events, `["event"]`)
	bad(http.MethodPost, events, `{"event":5}`, "event")
	bad(http.MethodPost, events, `{"event":"x","volatile":"yes"}`, "volatile")
	bad(http.MethodPost, events, `{"event":"x","binary":"not base64!"}`, "binary")
	bad(http.MethodPost, events, `{"event":"x","rooms":[1]}`, "rooms")
	bad(http.MethodPost, "/v1/namespaces/%2F/sockets:join", `{"rooms":"red"}`)
	bad(http.MethodPost, "/v1/namespaces/%2F/sockets:disconnect", `{"selector":`)

	// socketsJoin / socketsLeave / disconnectSockets: the rooms and the
	// selector are checked before anything changes.
	for _, op := range []string{"join", "leave"} {
		path := "/v1/namespaces/%2F/sockets:" + op
		bad(http.MethodPost, path, `{"selector":{"rooms":["red"]}}`, "rooms", "empty")
		bad(http.MethodPost, path, `{"rooms":[]}`, "rooms", "empty")
		bad(http.MethodPost, path, `{"rooms":["green","bad\u0001"]}`, "rooms", "control character")
		bad(http.MethodPost, path, `{"rooms":["green",""]}`, "rooms", "empty")
		bad(http.MethodPost, path, `{"selector":{"rooms":["red",""]},"rooms":["green"]}`, "selector.rooms", "empty")
		bad(http.MethodPost, path, `{"selector":{"sids":["`+aSID+`","\u0000"]},"rooms":["red"]}`, "selector.sids", "control character")
	}
	bad(http.MethodPost, "/v1/namespaces/%2F/sockets:disconnect", `{"selector":{"rooms":["red",""]}}`, "selector.rooms", "empty")
	bad(http.MethodPost, "/v1/namespaces/%2F/sockets:disconnect", `{"selector":{"sids":["`+aSID+`","\u0001"]}}`, "selector.sids", "control character")

	// Nothing was half-applied: no room joined or left, nobody
	// disconnected, no event sent.
	wantJSON(t, "rooms", rest.get("/v1/namespaces/%2F/rooms"), `{"rooms":[{"name":"blue","members":"1"},{"name":"red","members":"1"}]}`)
	wantJSON(t, "namespaces", rest.get("/v1/namespaces"), `{"namespaces":[{"name":"/","sockets":"2"},{"name":"/chat","sockets":"0"}]}`)
	if s := app.Of("/").Socket(aSID); s == nil || !slices.Equal(sorted(s.Rooms()), sorted([]string{aSID, "red"})) {
		t.Fatalf("socket a changed: %v", s)
	}
	barrier(t, app.Server, "/", a, b)
}

func TestAdminGRPCBadInput(t *testing.T) {
	app := startAdminApp(t, adminToken)
	admin := adminClient(t, app)
	a, aSID := connected(t, app.Server, "/chat", "red")

	bad := func(what string, err error, parts ...string) {
		t.Helper()
		wantGRPCError(t, what, err, codes.InvalidArgument, parts...)
	}
	ctx := adminCtx(t, adminToken)
	_, err := admin.Emit(ctx, &roomcastv1.EmitRequest{Namespace: "/chat"})
	bad("Emit without event", err, "event", "empty")
	_, err = admin.Emit(ctx, &roomcastv1.EmitRequest{Namespace: "/chat", Event: "disconnect"})
	bad("Emit reserved event", err, "event", "reserved")
	_, err = admin.Emit(ctx, &roomcastv1.EmitRequest{Namespace: "/chat", Event: "x", Rooms: []string{"red", "\x01"}})
	bad("Emit to a bad room", err, "rooms", "control character")
	_, err = admin.Emit(ctx, &roomcastv1.EmitRequest{Namespace: "/chat", Event: "x", ExceptRooms: []string{""}})
	bad("Emit except an empty room", err, "except_rooms", "empty")
	_, err = admin.Emit(ctx, &roomcastv1.EmitRequest{Namespace: "/chat", Event: "x", Data: value("d"), Binary: []byte{1}})
	bad("Emit data and binary", err, "data", "binary")
	// Over the payload limit (1 MiB by default), as a client's emit would be.
	_, err = admin.Emit(ctx, &roomcastv1.EmitRequest{Namespace: "/chat", Event: "x", Binary: make([]byte, 1<<20+1)})
	wantGRPCError(t, "Emit over the payload limit", err, codes.ResourceExhausted, "exceeds the limit of 1048576 bytes")
	_, err = admin.ListSockets(ctx, &roomcastv1.ListSocketsRequest{Namespace: "/chat", Rooms: []string{"red", ""}})
	bad("ListSockets in an empty room", err, "rooms", "empty")
	_, err = admin.SocketsJoin(ctx, &roomcastv1.SocketsJoinRequest{Namespace: "/chat", Rooms: []string{"green", "bad\x7f"}})
	bad("SocketsJoin a bad room", err, "rooms", "control character")
	_, err = admin.SocketsJoin(ctx, &roomcastv1.SocketsJoinRequest{Namespace: "/chat"})
	bad("SocketsJoin no room", err, "rooms", "empty")
	_, err = admin.SocketsLeave(ctx, &roomcastv1.SocketsLeaveRequest{Namespace: "/chat",
		Selector: &roomcastv1.Selector{Sids: []string{aSID, ""}}, Rooms: []string{"red"}})
	bad("SocketsLeave with an empty sid", err, "selector.sids", "empty")
	_, err = admin.DisconnectSockets(ctx, &roomcastv1.DisconnectSocketsRequest{Namespace: "/chat",
		Selector: &roomcastv1.Selector{Rooms: []string{"red", "\n"}}})
	bad("DisconnectSockets with a bad room", err, "selector.rooms", "control character")

	rooms := rpcOK(admin.ListRooms(ctx, &roomcastv1.ListRoomsRequest{Namespace: "/chat"})).want(t, "ListRooms")
	if len(rooms.Rooms) != 1 || rooms.Rooms[0].Name != "red" || rooms.Rooms[0].Members != 1 {
		t.Fatalf("rooms of /chat = %v, want red with one member", rooms)
	}
	barrier(t, app.Server, "/chat", a)
}

// The REST and gRPC refusals of one request are the same refusal.
func TestAdminRESTAndGRPCRefuseAlike(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)
	admin := adminClient(t, app)
	connected(t, app.Server, "/", "red")

	msg := rest.fails(http.MethodPost, "/v1/namespaces/%2F/sockets:join", `{"selector":{"rooms":["red"]},"rooms":["ok","no\u0001"]}`,
		http.StatusBadRequest, codes.InvalidArgument, "rooms")
	_, err := admin.SocketsJoin(adminCtx(t, adminToken), &roomcastv1.SocketsJoinRequest{Namespace: "/",
		Selector: &roomcastv1.Selector{Rooms: []string{"red"}}, Rooms: []string{"ok", "no\x01"}})
	wantGRPCError(t, "SocketsJoin", err, codes.InvalidArgument, msg)
	wantJSON(t, "rooms", rest.get("/v1/namespaces/%2F/rooms"), `{"rooms":[{"name":"red","members":"1"}]}`)
}
