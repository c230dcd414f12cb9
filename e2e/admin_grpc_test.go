package e2e

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
)

// AdminService over gRPC with the generated client: namespace names as
// they are ("/chat"), `authorization: Bearer <token>` as per-RPC metadata.

func TestAdminGRPCListsNamespacesRoomsAndSockets(t *testing.T) {
	app := startAdminApp(t, adminToken)
	admin := adminClient(t, app)

	alice := app.Open(t, "authorization", "Bearer secret-value", "x-tenant", "acme-corp")
	aliceSID := alice.Connect("/")
	alice.Join("/", "general")
	carol := app.Open(t)
	carol.Send(connectFrame(0, "/chat", map[string]any{"user": "carol", "token": "auth-secret"}))
	carolSID := carol.Next().GetConnected().GetSid()
	if carolSID == "" {
		t.Fatal("carol is not connected to /chat")
	}
	dave := app.Open(t)
	daveSID := dave.Connect("/tenant-42")
	dave.Join("/tenant-42", "ops", "general")

	ns := rpcOK(admin.ListNamespaces(adminCtx(t, adminToken), &roomcastv1.ListNamespacesRequest{})).want(t, "ListNamespaces")
	want := &roomcastv1.ListNamespacesResponse{Namespaces: []*roomcastv1.NamespaceInfo{
		{Name: "/", Sockets: 1}, {Name: "/chat", Sockets: 1}, {Name: "/tenant-42", Sockets: 1},
	}}
	if !proto.Equal(ns, want) {
		t.Fatalf("ListNamespaces = %v, want %v", ns, want)
	}

	rooms := rpcOK(admin.ListRooms(adminCtx(t, adminToken), &roomcastv1.ListRoomsRequest{Namespace: "/tenant-42"})).want(t, "ListRooms")
	wantRooms := &roomcastv1.ListRoomsResponse{Rooms: []*roomcastv1.RoomInfo{{Name: "general", Members: 1}, {Name: "ops", Members: 1}}}
	if !proto.Equal(rooms, wantRooms) {
		t.Fatalf("ListRooms(/tenant-42) = %v, want %v", rooms, wantRooms)
	}
	rooms = rpcOK(admin.ListRooms(adminCtx(t, adminToken), &roomcastv1.ListRoomsRequest{Namespace: "/", IncludeSocketRooms: true})).want(t, "ListRooms")
	wantRooms = &roomcastv1.ListRoomsResponse{Rooms: []*roomcastv1.RoomInfo{{Name: "general", Members: 1}, {Name: aliceSID, Members: 1}}}
	slices.SortFunc(wantRooms.Rooms, func(a, b *roomcastv1.RoomInfo) int { return strings.Compare(a.Name, b.Name) })
	if !proto.Equal(rooms, wantRooms) {
		t.Fatalf("ListRooms(/, sid-rooms) = %v, want %v", rooms, wantRooms)
	}

	socks := rpcOK(admin.ListSockets(adminCtx(t, adminToken), &roomcastv1.ListSocketsRequest{Namespace: "/"})).want(t, "ListSockets")
	if len(socks.Sockets) != 1 {
		t.Fatalf("ListSockets(/) = %v, want alice only", socks)
	}
	a := socks.Sockets[0]
	wantSocketInfo(t, a, aliceSID, "/", aliceSID, "general")
	if !slices.Contains(a.MetadataKeys, "authorization") || !slices.Contains(a.MetadataKeys, "x-tenant") || !slices.IsSorted(a.MetadataKeys) {
		t.Fatalf("alice's metadata keys = %v, want sorted, with authorization and x-tenant", a.MetadataKeys)
	}
	if len(a.AuthKeys) != 0 || a.Data != nil {
		t.Fatalf("alice's auth keys %v and data %v, want none", a.AuthKeys, a.Data)
	}
	// The values are nowhere in the answer.
	if raw := a.String(); mentionsAny(raw, "secret-value", "acme-corp") {
		t.Fatalf("socket info shows a metadata value: %s", raw)
	}

	socks = rpcOK(admin.ListSockets(adminCtx(t, adminToken), &roomcastv1.ListSocketsRequest{Namespace: "/chat"})).want(t, "ListSockets")
	if len(socks.Sockets) != 1 {
		t.Fatalf("ListSockets(/chat) = %v, want carol only", socks)
	}
	c := socks.Sockets[0]
	wantSocketInfo(t, c, carolSID, "/chat", carolSID)
	wantData, _ := structpb.NewStruct(map[string]any{"user": "carol", "roles": []any{"member", "mod"}, "level": 2})
	if !slices.Equal(c.AuthKeys, []string{"token", "user"}) || !proto.Equal(c.Data, wantData) {
		t.Fatalf("carol: auth keys %v, data %v; want [token user] and %v", c.AuthKeys, c.Data, wantData)
	}
	if mentionsAny(c.String(), "auth-secret") {
		t.Fatalf("socket info shows an auth value: %s", c)
	}

	// Only the sockets in some rooms.
	socks = rpcOK(admin.ListSockets(adminCtx(t, adminToken),
		&roomcastv1.ListSocketsRequest{Namespace: "/tenant-42", Rooms: []string{"nobody", "ops"}})).want(t, "ListSockets")
	if len(socks.Sockets) != 1 {
		t.Fatalf("ListSockets(/tenant-42 in ops) = %v, want dave only", socks)
	}
	wantSocketInfo(t, socks.Sockets[0], daveSID, "/tenant-42", daveSID, "general", "ops")
	socks = rpcOK(admin.ListSockets(adminCtx(t, adminToken),
		&roomcastv1.ListSocketsRequest{Namespace: "/tenant-42", Rooms: []string{"nobody"}})).want(t, "ListSockets")
	if len(socks.Sockets) != 0 {
		t.Fatalf("ListSockets(/tenant-42 in nobody) = %v, want none", socks)
	}
}

func wantSocketInfo(t *testing.T, s *roomcastv1.SocketInfo, sid, namespace string, rooms ...string) {
	t.Helper()
	rooms = slices.Sorted(slices.Values(rooms))
	if s.Sid != sid || s.Namespace != namespace || s.Node != adminNode || !slices.Equal(s.Rooms, rooms) ||
		!loopbackPeer.MatchString(s.Peer) || s.ConnectedAt == nil || s.ConnectedAt.AsTime().IsZero() {
		t.Fatalf("socket %v, want %s in %s on %s, rooms %v, a 127.0.0.1 peer and a connect time",
			s, sid, namespace, adminNode, rooms)
	}
}

func mentionsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}

func TestAdminGRPCEmitJoinLeaveDisconnect(t *testing.T) {
	app := startAdminApp(t, adminToken)
	admin := adminClient(t, app)

	a, aSID := connected(t, app.Server, "/tenant-9", "red")
	b, bSID := connected(t, app.Server, "/tenant-9", "red", "blue")
	c, _ := connected(t, app.Server, "/tenant-9")
	root, _ := connected(t, app.Server, "/", "red")

	emitTo := func(recipients int64, req *roomcastv1.EmitRequest, streams ...*testkit.Stream) {
		t.Helper()
		resp := rpcOK(admin.Emit(adminCtx(t, adminToken), req)).want(t, "Emit")
		if resp.Recipients != recipients {
			t.Fatalf("Emit %v reached %d sockets, want %d", req, resp.Recipients, recipients)
		}
		for _, st := range streams {
			wantEvent(t, st, req.Namespace, req.Event, req.Data.AsInterface(), "")
		}
		barrier(t, app.Server, req.Namespace, a, b, c)
	}
	emitTo(3, &roomcastv1.EmitRequest{Namespace: "/tenant-9", Event: "all", Data: value("x")}, a, b, c)
	emitTo(2, &roomcastv1.EmitRequest{Namespace: "/tenant-9", Event: "red", Data: value(1), Rooms: []string{"red", "blue"}}, a, b)
	emitTo(1, &roomcastv1.EmitRequest{Namespace: "/tenant-9", Event: "odd", Data: value(true), Rooms: []string{"red"}, ExceptRooms: []string{"blue"}}, a)
	emitTo(1, &roomcastv1.EmitRequest{Namespace: "/tenant-9", Event: "rest", Data: value("r"), ExceptRooms: []string{"red"}}, c)

	// socketsJoin by sid, then by room; socketsLeave by room.
	join := rpcOK(admin.SocketsJoin(adminCtx(t, adminToken), &roomcastv1.SocketsJoinRequest{
		Namespace: "/tenant-9", Selector: &roomcastv1.Selector{Sids: []string{aSID}}, Rooms: []string{"blue"}})).want(t, "SocketsJoin")
	if join.Sockets != 1 {
		t.Fatalf("SocketsJoin answered %d, want 1", join.Sockets)
	}
	emitTo(2, &roomcastv1.EmitRequest{Namespace: "/tenant-9", Event: "blue", Data: value("b"), Rooms: []string{"blue"}}, a, b)
	join = rpcOK(admin.SocketsJoin(adminCtx(t, adminToken), &roomcastv1.SocketsJoinRequest{
		Namespace: "/tenant-9", Selector: &roomcastv1.Selector{Rooms: []string{"blue"}}, Rooms: []string{"green"}})).want(t, "SocketsJoin")
	if join.Sockets != 2 {
		t.Fatalf("SocketsJoin answered %d, want 2", join.Sockets)
	}
	leave := rpcOK(admin.SocketsLeave(adminCtx(t, adminToken), &roomcastv1.SocketsLeaveRequest{
		Namespace: "/tenant-9", Selector: &roomcastv1.Selector{Rooms: []string{"red"}, Sids: []string{bSID}}, Rooms: []string{"blue"}})).want(t, "SocketsLeave")
	if leave.Sockets != 2 {
		t.Fatalf("SocketsLeave answered %d, want 2", leave.Sockets)
	}
	emitTo(0, &roomcastv1.EmitRequest{Namespace: "/tenant-9", Event: "blue", Rooms: []string{"blue"}})
	emitTo(2, &roomcastv1.EmitRequest{Namespace: "/tenant-9", Event: "green", Data: value("g"), Rooms: []string{"green"}}, a, b)

	// disconnectSockets with the default reason and with one.
	disc := rpcOK(admin.DisconnectSockets(adminCtx(t, adminToken), &roomcastv1.DisconnectSocketsRequest{
		Namespace: "/tenant-9", Selector: &roomcastv1.Selector{Sids: []string{aSID}}})).want(t, "DisconnectSockets")
	if disc.Sockets != 1 {
		t.Fatalf("DisconnectSockets answered %d, want 1", disc.Sockets)
	}
	if f := a.Next().GetDisconnected(); f == nil || f.Namespace != "/tenant-9" || f.Reason != "server namespace disconnect" {
		t.Fatalf("a got %v, want disconnected: server namespace disconnect", f)
	}
	disc = rpcOK(admin.DisconnectSockets(adminCtx(t, adminToken), &roomcastv1.DisconnectSocketsRequest{
		Namespace: "/tenant-9", Selector: &roomcastv1.Selector{Rooms: []string{"green"}}, Reason: "kicked by ops"})).want(t, "DisconnectSockets")
	if disc.Sockets != 1 {
		t.Fatalf("DisconnectSockets answered %d, want 1", disc.Sockets)
	}
	if f := b.Next().GetDisconnected(); f == nil || f.Namespace != "/tenant-9" || f.Reason != "kicked by ops" {
		t.Fatalf("b got %v, want disconnected: kicked by ops", f)
	}
	barrier(t, app.Server, "/tenant-9", c)
	barrier(t, app.Server, "/", root)

	ns := rpcOK(admin.ListNamespaces(adminCtx(t, adminToken), &roomcastv1.ListNamespacesRequest{})).want(t, "ListNamespaces")
	want := &roomcastv1.ListNamespacesResponse{Namespaces: []*roomcastv1.NamespaceInfo{
		{Name: "/", Sockets: 1}, {Name: "/chat"}, {Name: "/tenant-9", Sockets: 1},
	}}
	if !proto.Equal(ns, want) {
		t.Fatalf("ListNamespaces = %v, want %v", ns, want)
	}
}

func TestAdminGRPCStats(t *testing.T) {
	app := startAdminApp(t, adminToken)
	admin := adminClient(t, app)

	a, aSID := connected(t, app.Server, "/", "red")
	b, _ := connected(t, app.Server, "/", "red")
	b.Connect("/tenant-1")
	a.Send(broadcast(1, "/", "hi", "there", "red"))
	wantEvent(t, b, "/", "hi", "there", aSID)
	wantReply(t, a, 1, "")
	if resp := rpcOK(admin.Emit(adminCtx(t, adminToken), &roomcastv1.EmitRequest{Namespace: "/", Event: "note"})).want(t, "Emit"); resp.Recipients != 2 {
		t.Fatalf("Emit reached %d, want 2", resp.Recipients)
	}
	wantEvent(t, a, "/", "note", nil, "")
	wantEvent(t, b, "/", "note", nil, "")

	st := rpcOK(admin.GetStats(adminCtx(t, adminToken), &roomcastv1.GetStatsRequest{})).want(t, "GetStats")
	if st.UptimeSeconds <= 0 || st.Version == "" || st.Version != app.Version() {
		t.Fatalf("uptime %v, version %q; want > 0 and %q", st.UptimeSeconds, st.Version, app.Version())
	}
	want := &roomcastv1.GetStatsResponse{
		Clients: 2, Sockets: 3,
		NamespaceSockets: map[string]int64{"/": 2, "/chat": 0, "/tenant-1": 1},
		Rooms:            1, EventsIn: 1, Deliveries: 3,
		UptimeSeconds: st.UptimeSeconds, Version: st.Version,
	}
	if !proto.Equal(st, want) {
		t.Fatalf("GetStats = %v, want %v", st, want)
	}
}
