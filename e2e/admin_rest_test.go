package e2e

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// The REST form of AdminService, as an operator meets it with curl: JSON
// over the HTTP port, namespace names percent-encoded in paths ("/" is %2F,
// "/chat" is %2Fchat, "/tenant-42" is %2Ftenant-42).

var loopbackPeer = regexp.MustCompile(`^127\.0\.0\.1:[0-9]+$`)

func TestAdminRESTListsNamespacesRoomsAndSockets(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)

	// A dynamic namespace does not exist until a client connects to it, and
	// the admin API never creates one.
	rest.fails(http.MethodGet, "/v1/namespaces/%2Ftenant-42/sockets", "", http.StatusNotFound, 5, `"/tenant-42"`)

	alice := app.Open(t, "authorization", "Bearer secret-value", "x-tenant", "acme-corp")
	aliceSID := alice.Connect("/")
	alice.Join("/", "general", "vip")
	bob := app.Open(t)
	bobSID := bob.Connect("/")
	bob.Join("/", "general")
	carol := app.Open(t, "authorization", "Bearer secret-value")
	carol.Send(connectFrame(0, "/chat", map[string]any{"user": "carol", "token": "auth-secret"}))
	carolSID := carol.Next().GetConnected().GetSid()
	if carolSID == "" {
		t.Fatal("carol is not connected to /chat")
	}
	carol.Join("/chat", "lobby")
	dave := app.Open(t)
	daveSID := dave.Connect("/tenant-42")

	wantJSON(t, "namespaces", rest.get("/v1/namespaces"), `{"namespaces":[
		{"name":"/","sockets":"2"},
		{"name":"/chat","sockets":"1"},
		{"name":"/tenant-42","sockets":"1"}]}`)

	// Rooms: a socket's own sid-room only on request.
	wantJSON(t, "rooms of /", rest.get("/v1/namespaces/%2F/rooms"), `{"rooms":[
		{"name":"general","members":"2"},
		{"name":"vip","members":"1"}]}`)
	members := map[string]int{"general": 2, "vip": 1, aliceSID: 1, bobSID: 1}
	var rooms []string
	for _, name := range slices.Sorted(maps.Keys(members)) {
		rooms = append(rooms, fmt.Sprintf(`{"name":%q,"members":"%d"}`, name, members[name]))
	}
	wantJSON(t, "rooms of / with sid-rooms", rest.get("/v1/namespaces/%2F/rooms?include_socket_rooms=true"),
		`{"rooms":[`+strings.Join(rooms, ",")+`]}`)
	wantJSON(t, "rooms of /chat", rest.get("/v1/namespaces/%2Fchat/rooms"), `{"rooms":[{"name":"lobby","members":"1"}]}`)
	wantJSON(t, "rooms of /tenant-42", rest.get("/v1/namespaces/%2Ftenant-42/rooms"), `{"rooms":[]}`)
	wantJSON(t, "rooms of /tenant-42 with sid-rooms", rest.get("/v1/namespaces/%2Ftenant-42/rooms?include_socket_rooms=true"),
		fmt.Sprintf(`{"rooms":[{"name":%q,"members":"1"}]}`, daveSID))

	// Sockets of "/": everything but the secrets.
	code, _, raw := rest.raw(http.MethodGet, "/v1/namespaces/%2F/sockets", "")
	if code != http.StatusOK {
		t.Fatalf("sockets of /: %d %s", code, raw)
	}
	for _, secret := range []string{"secret-value", "acme-corp"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("sockets of / show the metadata value %q: %s", secret, raw)
		}
	}
	socks := socketsBySID(t, rest.get("/v1/namespaces/%2F/sockets"))
	if len(socks) != 2 {
		t.Fatalf("sockets of / = %v, want alice and bob", socks)
	}
	a := wantSocketJSON(t, socks[aliceSID], aliceSID, "/", []string{"general", "vip", aliceSID})
	b := wantSocketJSON(t, socks[bobSID], bobSID, "/", []string{"general", bobSID})
	if keys := a["metadataKeys"].([]any); !slices.Contains(keys, any("authorization")) || !slices.Contains(keys, any("x-tenant")) {
		t.Fatalf("alice's metadata keys = %v, want authorization and x-tenant among them", keys)
	}
	if keys := b["metadataKeys"].([]any); slices.Contains(keys, any("authorization")) || slices.Contains(keys, any("x-tenant")) {
		t.Fatalf("bob's metadata keys = %v: bob sent neither authorization nor x-tenant", keys)
	}
	for _, s := range []map[string]any{a, b} {
		if !isSortedStrings(s["metadataKeys"].([]any)) {
			t.Fatalf("metadata keys not sorted: %v", s["metadataKeys"])
		}
		wantJSON(t, "auth keys", s["authKeys"], `[]`)
		wantJSON(t, "data without middleware", s["data"], `null`)
	}

	// Only the sockets in some rooms (the union).
	only := func(path string, sids ...string) {
		t.Helper()
		got := socketsBySID(t, rest.get(path))
		if len(got) != len(sids) {
			t.Fatalf("%s: %d sockets, want %v", path, len(got), sids)
		}
		for _, sid := range sids {
			if got[sid] == nil {
				t.Fatalf("%s: %s missing from %v", path, sid, got)
			}
		}
	}
	only("/v1/namespaces/%2F/sockets?rooms=vip", aliceSID)
	only("/v1/namespaces/%2F/sockets?rooms=general", aliceSID, bobSID)
	only("/v1/namespaces/%2F/sockets?rooms=vip&rooms=general", aliceSID, bobSID)
	only("/v1/namespaces/%2F/sockets?rooms="+bobSID, bobSID)
	only("/v1/namespaces/%2F/sockets?rooms=nobody")
	only("/v1/namespaces/%2Fchat/sockets?rooms=general")

	// "/chat": what middleware attached, and the keys, never the values, of
	// the connect's auth.
	code, _, raw = rest.raw(http.MethodGet, "/v1/namespaces/%2Fchat/sockets", "")
	if code != http.StatusOK || bytes.Contains(raw, []byte("auth-secret")) || bytes.Contains(raw, []byte("secret-value")) {
		t.Fatalf("sockets of /chat: %d %s, want 200 without auth or metadata values", code, raw)
	}
	socks = socketsBySID(t, rest.get("/v1/namespaces/%2Fchat/sockets"))
	c := wantSocketJSON(t, socks[carolSID], carolSID, "/chat", []string{"lobby", carolSID})
	if len(socks) != 1 {
		t.Fatalf("sockets of /chat = %v, want carol only", socks)
	}
	wantJSON(t, "carol's auth keys", c["authKeys"], `["token","user"]`)
	wantJSON(t, "carol's data", c["data"], `{"user":"carol","roles":["member","mod"],"level":2}`)
	if keys := c["metadataKeys"].([]any); !slices.Contains(keys, any("authorization")) {
		t.Fatalf("carol's metadata keys = %v, want authorization among them", keys)
	}

	// The dynamic namespace, now that it exists.
	socks = socketsBySID(t, rest.get("/v1/namespaces/%2Ftenant-42/sockets"))
	if len(socks) != 1 {
		t.Fatalf("sockets of /tenant-42 = %v, want dave only", socks)
	}
	wantSocketJSON(t, socks[daveSID], daveSID, "/tenant-42", []string{daveSID})
}

// socketsBySID indexes a ListSockets body by sid.
func socketsBySID(t *testing.T, body any) map[string]map[string]any {
	t.Helper()
	out := make(map[string]map[string]any)
	list, ok := jsonAt(t, body, "sockets").([]any)
	if !ok {
		t.Fatalf("no sockets list in %v", body)
	}
	for _, s := range list {
		m := s.(map[string]any)
		out[m["sid"].(string)] = m
	}
	return out
}

// wantSocketJSON checks one SocketInfo of a REST body and returns it.
func wantSocketJSON(t *testing.T, s map[string]any, sid, namespace string, rooms []string) map[string]any {
	t.Helper()
	if s == nil {
		t.Fatalf("socket %s is not listed", sid)
	}
	if s["sid"] != sid || s["namespace"] != namespace || s["node"] != adminNode {
		t.Fatalf("socket %v, want sid %s in %s on %s", s, sid, namespace, adminNode)
	}
	wantRooms := slices.Sorted(slices.Values(rooms))
	var got []string
	for _, r := range s["rooms"].([]any) {
		got = append(got, r.(string))
	}
	if !slices.Equal(got, wantRooms) {
		t.Fatalf("socket %s rooms = %v, want %v", sid, got, wantRooms)
	}
	if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(s["connectedAt"])); err != nil || at.IsZero() {
		t.Fatalf("socket %s connectedAt = %v (%v), want an RFC 3339 time", sid, s["connectedAt"], err)
	}
	if !loopbackPeer.MatchString(fmt.Sprint(s["peer"])) {
		t.Fatalf("socket %s peer = %v, want 127.0.0.1:port", sid, s["peer"])
	}
	return s
}

func isSortedStrings(v []any) bool {
	return slices.IsSortedFunc(v, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
}

func TestAdminRESTEmitReachesExactlyTheTargets(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)

	a, _ := connected(t, app.Server, "/", "red")
	b, _ := connected(t, app.Server, "/", "red", "blue")
	c, _ := connected(t, app.Server, "/", "blue")
	d, _ := connected(t, app.Server, "/")
	chat, _ := connected(t, app.Server, "/chat", "red")
	tenant, _ := connected(t, app.Server, "/tenant-42", "red")
	other, _ := connected(t, app.Server, "/tenant-7", "red")

	emitREST := func(path, body string, recipients int) {
		t.Helper()
		wantJSON(t, "POST "+path+" "+body, rest.post(path, body), fmt.Sprintf(`{"recipients":"%d"}`, recipients))
	}

	// The whole namespace.
	emitREST("/v1/namespaces/%2F/events", `{"event":"all","data":{"n":1}}`, 4)
	for _, st := range []*testkit.Stream{a, b, c, d} {
		wantEvent(t, st, "/", "all", map[string]any{"n": 1}, "")
	}
	// The union of rooms, each socket once.
	emitREST("/v1/namespaces/%2F/events", `{"event":"union","data":"u","rooms":["red","blue"]}`, 3)
	for _, st := range []*testkit.Stream{a, b, c} {
		wantEvent(t, st, "/", "union", "u", "")
	}
	// Rooms except rooms.
	emitREST("/v1/namespaces/%2F/events", `{"event":"except","data":[1,2],"rooms":["red"],"except_rooms":["blue"]}`, 1)
	wantEvent(t, a, "/", "except", []any{1, 2}, "")
	// The whole namespace except rooms (camelCase works as well).
	emitREST("/v1/namespaces/%2F/events", `{"event":"rest","data":true,"exceptRooms":["red"]}`, 2)
	wantEvent(t, c, "/", "rest", true, "")
	wantEvent(t, d, "/", "rest", true, "")
	// Binary, volatile, and a room nobody is in.
	emitREST("/v1/namespaces/%2F/events", `{"event":"blob","binary":"AAEC/w==","rooms":["blue"],"volatile":true}`, 2)
	for _, st := range []*testkit.Stream{b, c} {
		if e := st.Event(); e.Event != "blob" || !bytes.Equal(e.Binary, []byte{0, 1, 2, 255}) || e.Data != nil {
			t.Fatalf("got %v, want blob with binary 00 01 02 ff", e)
		}
	}
	emitREST("/v1/namespaces/%2F/events", `{"event":"void","rooms":["nobody"]}`, 0)

	// The same room name in other namespaces is another room.
	emitREST("/v1/namespaces/%2Fchat/events", `{"event":"chat-red","data":"c","rooms":["red"]}`, 1)
	wantEvent(t, chat, "/chat", "chat-red", "c", "")
	emitREST("/v1/namespaces/%2Ftenant-42/events", `{"event":"tenant-red","data":42,"rooms":["red"]}`, 1)
	wantEvent(t, tenant, "/tenant-42", "tenant-red", 42, "")

	// Nothing else reached anyone.
	barrier(t, app.Server, "/", a, b, c, d)
	barrier(t, app.Server, "/chat", chat)
	barrier(t, app.Server, "/tenant-42", tenant)
	barrier(t, app.Server, "/tenant-7", other)
}

func TestAdminRESTSocketsJoinAndLeaveChangeDeliveries(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)

	a, aSID := connected(t, app.Server, "/", "red")
	b, bSID := connected(t, app.Server, "/")
	c, cSID := connected(t, app.Server, "/")
	chat, chatSID := connected(t, app.Server, "/chat")

	count := func(body any, want int) {
		t.Helper()
		wantJSON(t, "answer", body, fmt.Sprintf(`{"sockets":"%d"}`, want))
	}
	toBlue := func(recipients int, streams ...*testkit.Stream) {
		t.Helper()
		wantJSON(t, "emit to blue", rest.post("/v1/namespaces/%2F/events", `{"event":"blue","rooms":["blue"]}`),
			fmt.Sprintf(`{"recipients":"%d"}`, recipients))
		for _, st := range streams {
			wantEvent(t, st, "/", "blue", nil, "")
		}
		barrier(t, app.Server, "/", a, b, c)
	}
	toBlue(0)

	// By rooms: everyone in red joins blue.
	count(rest.post("/v1/namespaces/%2F/sockets:join", `{"selector":{"rooms":["red"]},"rooms":["blue"]}`), 1)
	toBlue(1, a)
	// By sids.
	count(rest.post("/v1/namespaces/%2F/sockets:join", fmt.Sprintf(`{"selector":{"sids":[%q]},"rooms":["blue","green"]}`, cSID)), 1)
	toBlue(2, a, c)
	// Rooms and sids: the union.
	count(rest.post("/v1/namespaces/%2F/sockets:join", fmt.Sprintf(`{"selector":{"rooms":["red"],"sids":[%q]},"rooms":["team"]}`, bSID)), 2)
	wantJSON(t, "rooms of /", rest.get("/v1/namespaces/%2F/rooms"), `{"rooms":[
		{"name":"blue","members":"2"},
		{"name":"green","members":"1"},
		{"name":"red","members":"1"},
		{"name":"team","members":"2"}]}`)

	// Leave by sids.
	count(rest.post("/v1/namespaces/%2F/sockets:leave", fmt.Sprintf(`{"selector":{"sids":[%q]},"rooms":["blue"]}`, aSID)), 1)
	toBlue(1, c)
	// Leave by rooms.
	count(rest.post("/v1/namespaces/%2F/sockets:leave", `{"selector":{"rooms":["green"]},"rooms":["blue","green"]}`), 1)
	toBlue(0)
	// No selector: every socket of the namespace.
	count(rest.post("/v1/namespaces/%2F/sockets:leave", `{"rooms":["team"]}`), 3)
	wantJSON(t, "rooms of /", rest.get("/v1/namespaces/%2F/rooms"), `{"rooms":[{"name":"red","members":"1"}]}`)

	// Another namespace, by sid.
	count(rest.post("/v1/namespaces/%2Fchat/sockets:join", fmt.Sprintf(`{"selector":{"sids":[%q]},"rooms":["blue"]}`, chatSID)), 1)
	wantJSON(t, "emit to /chat blue", rest.post("/v1/namespaces/%2Fchat/events", `{"event":"chat-blue","rooms":["blue"]}`), `{"recipients":"1"}`)
	wantEvent(t, chat, "/chat", "chat-blue", nil, "")
	wantJSON(t, "rooms of /chat", rest.get("/v1/namespaces/%2Fchat/rooms"), `{"rooms":[{"name":"blue","members":"1"}]}`)
	// A sid of "/" selects nothing in "/chat".
	count(rest.post("/v1/namespaces/%2Fchat/sockets:join", fmt.Sprintf(`{"selector":{"sids":[%q]},"rooms":["x"]}`, bSID)), 0)
	barrier(t, app.Server, "/", a, b, c)
	barrier(t, app.Server, "/chat", chat)
}

func TestAdminRESTDisconnectSockets(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)

	a, _ := connected(t, app.Server, "/", "red")
	b, _ := connected(t, app.Server, "/", "red")
	c, _ := connected(t, app.Server, "/")
	chat, chatSID := connected(t, app.Server, "/chat", "red")
	tenant, _ := connected(t, app.Server, "/tenant-42")

	wantDisconnected := func(st *testkit.Stream, namespace, reason string) {
		t.Helper()
		f := st.Next().GetDisconnected()
		if f == nil || f.Namespace != namespace || f.Reason != reason {
			t.Fatalf("got %v, want disconnected from %s: %q", f, namespace, reason)
		}
	}

	// By rooms, with the default reason.
	wantJSON(t, "disconnect red", rest.post("/v1/namespaces/%2F/sockets:disconnect", `{"selector":{"rooms":["red"]}}`), `{"sockets":"2"}`)
	wantDisconnected(a, "/", "server namespace disconnect")
	wantDisconnected(b, "/", "server namespace disconnect")
	barrier(t, app.Server, "/", c)
	barrier(t, app.Server, "/chat", chat)
	wantJSON(t, "namespaces", rest.get("/v1/namespaces"), `{"namespaces":[
		{"name":"/","sockets":"1"},
		{"name":"/chat","sockets":"1"},
		{"name":"/tenant-42","sockets":"1"}]}`)
	wantJSON(t, "rooms of /", rest.get("/v1/namespaces/%2F/rooms"), `{"rooms":[]}`)

	// The client stream lives on: a namespace disconnect is not a hang-up.
	a.Connect("/")

	// By sid, with a reason.
	wantJSON(t, "disconnect chat", rest.post("/v1/namespaces/%2Fchat/sockets:disconnect",
		fmt.Sprintf(`{"selector":{"sids":[%q]},"reason":"maintenance window"}`, chatSID)), `{"sockets":"1"}`)
	wantDisconnected(chat, "/chat", "maintenance window")
	// Gone sockets are not selected again.
	wantJSON(t, "disconnect chat again", rest.post("/v1/namespaces/%2Fchat/sockets:disconnect",
		fmt.Sprintf(`{"selector":{"sids":[%q]}}`, chatSID)), `{"sockets":"0"}`)

	// No selector: the whole (dynamic) namespace.
	wantJSON(t, "disconnect tenant", rest.post("/v1/namespaces/%2Ftenant-42/sockets:disconnect", `{}`), `{"sockets":"1"}`)
	wantDisconnected(tenant, "/tenant-42", "server namespace disconnect")

	wantJSON(t, "namespaces", rest.get("/v1/namespaces"), `{"namespaces":[
		{"name":"/","sockets":"2"},
		{"name":"/chat","sockets":"0"},
		{"name":"/tenant-42","sockets":"0"}]}`)
	barrier(t, app.Server, "/", a, c)
}

func TestAdminRESTStats(t *testing.T) {
	app := startAdminApp(t, adminToken)
	rest := newRESTClient(t, app, adminToken)

	wantStats := func(want string) map[string]any {
		t.Helper()
		got := rest.get("/v1/stats").(map[string]any)
		if up, ok := got["uptimeSeconds"].(float64); !ok || up <= 0 {
			t.Fatalf("uptimeSeconds = %v, want > 0", got["uptimeSeconds"])
		}
		if v, ok := got["version"].(string); !ok || v == "" || v != app.Version() {
			t.Fatalf("version = %v, want %q", got["version"], app.Version())
		}
		rest := make(map[string]any, len(got))
		for k, v := range got {
			if k != "uptimeSeconds" && k != "version" {
				rest[k] = v
			}
		}
		wantJSON(t, "stats", rest, want)
		return got
	}
	wantStats(`{"clients":"0","sockets":"0","namespaceSockets":{"/":"0","/chat":"0"},"rooms":"0",
		"eventsIn":"0","deliveries":"0","droppedVolatile":"0","slowConsumers":"0"}`)

	a, aSID := connected(t, app.Server, "/", "red")
	b, _ := connected(t, app.Server, "/", "red", "blue")
	c, _ := connected(t, app.Server, "/chat", "red")
	c.Connect("/") // one client, two sockets
	tenant, _ := connected(t, app.Server, "/tenant-42")

	// Two events in, from a client: each reaches a and b.
	for i, data := range []string{"one", "two"} {
		a.Send(emit(uint64(i+1), "/", "msg", data, "red"))
		wantEvent(t, a, "/", "msg", data, aSID)
		wantReply(t, a, uint64(i+1), "")
		wantEvent(t, b, "/", "msg", data, aSID)
	}
	// One event from the admin API: not an event in, one delivery.
	wantJSON(t, "emit", rest.post("/v1/namespaces/%2Fchat/events", `{"event":"hello"}`), `{"recipients":"1"}`)
	wantEvent(t, c, "/chat", "hello", nil, "")

	first := wantStats(`{"clients":"4","sockets":"5","namespaceSockets":{"/":"3","/chat":"1","/tenant-42":"1"},"rooms":"3",
		"eventsIn":"2","deliveries":"5","droppedVolatile":"0","slowConsumers":"0"}`)

	tenant.Cancel()
	if err := tenant.End(); err == nil {
		t.Fatal("a cancelled stream ended without an error")
	}
	testkit.Eventually(t, "the cancelled client is gone", func() bool {
		st := app.Stats()
		return st.Clients == 3 && st.Sockets == 4
	})
	second := wantStats(`{"clients":"3","sockets":"4","namespaceSockets":{"/":"3","/chat":"1","/tenant-42":"0"},"rooms":"3",
		"eventsIn":"2","deliveries":"5","droppedVolatile":"0","slowConsumers":"0"}`)
	if second["uptimeSeconds"].(float64) < first["uptimeSeconds"].(float64) {
		t.Fatalf("uptime went back from %v to %v", first["uptimeSeconds"], second["uptimeSeconds"])
	}
}

func TestAdminRESTStatsCountDrops(t *testing.T) {
	app := testkit.StartApp(t, adminToken, nil, server.WithMaxQueueBytes(64<<10))
	rest := newRESTClient(t, app, adminToken)

	// A client that stops reading, on a connection with small flow-control
	// windows: what the server writes to it soon stays queued.
	cc := app.Conn(t, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	slow := testkit.OpenOn(t, cc)
	slow.Connect("/")
	slow.Join("/", "feed")
	slow.Pause()

	emitFeed := func(volatile bool) int {
		t.Helper()
		body := fmt.Sprintf(`{"event":"feed","data":%q,"rooms":["feed"],"volatile":%t}`, strings.Repeat("p", 2<<10), volatile)
		switch got := jsonAt(t, rest.post("/v1/namespaces/%2F/events", body), "recipients"); got {
		case "0":
			return 0
		case "1":
			return 1
		default:
			t.Fatalf("emit reached %v sockets, want 0 or 1", got)
			return 0
		}
	}
	// Volatile events to the stalled client: once its queue is full, each
	// one is dropped, and answered with no recipient.
	dropped := 0
	for i := 0; dropped < 3; i++ {
		if i == 1000 {
			t.Fatal("1000 volatile events of 2 KiB did not fill a queue of 64 KiB")
		}
		dropped += 1 - emitFeed(true)
	}
	wantStatsDrops := func(volatile, slowConsumers int) {
		t.Helper()
		st := rest.get("/v1/stats")
		if jsonAt(t, st, "droppedVolatile") != fmt.Sprint(volatile) || jsonAt(t, st, "slowConsumers") != fmt.Sprint(slowConsumers) {
			t.Fatalf("stats %v, want %d volatile events dropped and %d slow consumers", st, volatile, slowConsumers)
		}
	}
	wantStatsDrops(dropped, 0)

	// An event that must be delivered and does not fit ends the client as a
	// slow consumer.
	if emitFeed(false) != 0 {
		t.Fatal("an event that does not fit was queued")
	}
	wantStatsDrops(dropped, 1)
	slow.Resume()
	if err := slow.End(); err == nil {
		t.Fatal("the slow consumer's stream ended with OK, want an error")
	}
	testkit.Eventually(t, "the slow consumer is gone", func() bool { return app.Stats().Clients == 0 })
	wantJSON(t, "namespaces", rest.get("/v1/namespaces"), `{"namespaces":[{"name":"/","sockets":"0"}]}`)
}
