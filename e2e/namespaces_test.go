package e2e

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

func namespaceNames(srv *testkit.Server) []string {
	var names []string
	for _, ns := range srv.Namespaces() {
		names = append(names, ns.Name())
	}
	return names
}

func TestRootNamespaceExists(t *testing.T) {
	srv := testkit.Start(t, nil)
	if got := namespaceNames(srv); !slices.Equal(got, []string{"/"}) {
		t.Fatalf("namespaces = %v, want [/]", got)
	}
	st := srv.Open(t)
	// An empty namespace means "/".
	st.Send(connectFrame(1, "", nil))
	c := st.Next().GetConnected()
	if c == nil || c.Namespace != "/" || c.Sid == "" {
		t.Fatalf("got %v, want connected to /", c)
	}
	r := wantReply(t, st, 1, "")
	if got := r.GetData().GetStructValue().GetFields()["sid"].GetStringValue(); got != c.Sid {
		t.Fatalf("reply sid = %q, want %q", got, c.Sid)
	}
	if srv.Of("/").Socket(c.Sid) == nil {
		t.Fatalf("socket %s not in /", c.Sid)
	}
}

func TestStaticNamespace(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) { s.Of("/chat") })
	if got := namespaceNames(srv); !slices.Equal(got, []string{"/", "/chat"}) {
		t.Fatalf("namespaces = %v", got)
	}
	alice, aliceSID := connected(t, srv, "/chat", "general")
	bob, _ := connected(t, srv, "/chat", "general")
	root, _ := connected(t, srv, "/", "general")

	alice.Send(emit(1, "/chat", "msg", "hi", "general"))
	wantEvent(t, alice, "/chat", "msg", "hi", aliceSID)
	wantEvent(t, bob, "/chat", "msg", "hi", aliceSID)
	wantReply(t, alice, 1, "")
	// The room "general" of "/" is another room.
	barrier(t, srv, "/", root)
	if got := len(srv.Of("/chat").Sockets()); got != 2 {
		t.Fatalf("/chat has %d sockets, want 2", got)
	}
}

func TestPatternNamespacesAreCreatedOnFirstUseAndIsolated(t *testing.T) {
	var (
		mu      sync.Mutex
		created []string
	)
	srv := testkit.Start(t, func(s *server.Server) {
		s.OfPattern(regexp.MustCompile(`^/tenant-[a-z0-9]+$`)).OnConnection(func(sock *server.Socket) {
			mu.Lock()
			created = append(created, sock.Namespace().Name())
			mu.Unlock()
		})
	})
	if got := namespaceNames(srv); !slices.Equal(got, []string{"/"}) {
		t.Fatalf("namespaces before any connect = %v", got)
	}
	a1, a1SID := connected(t, srv, "/tenant-a", "general")
	a2, _ := connected(t, srv, "/tenant-a", "general")
	b1, _ := connected(t, srv, "/tenant-b42", "general")
	if got := namespaceNames(srv); !slices.Equal(got, []string{"/", "/tenant-a", "/tenant-b42"}) {
		t.Fatalf("namespaces = %v", got)
	}

	a1.Send(emit(1, "/tenant-a", "msg", "for a", "general"))
	wantEvent(t, a1, "/tenant-a", "msg", "for a", a1SID)
	wantEvent(t, a2, "/tenant-a", "msg", "for a", a1SID)
	wantReply(t, a1, 1, "")
	barrier(t, srv, "/tenant-b42", b1)

	// Without rooms too: only the tenant's own sockets.
	a1.Send(emit(2, "/tenant-a", "all", nil))
	wantEvent(t, a1, "/tenant-a", "all", nil, a1SID)
	wantEvent(t, a2, "/tenant-a", "all", nil, a1SID)
	wantReply(t, a1, 2, "")
	barrier(t, srv, "/tenant-b42", b1)
	barrier(t, srv, "/tenant-a", a1, a2)

	// Names the pattern does not match are unknown.
	for _, name := range []string{"/tenant-", "/tenant-UPPER", "/tenant-a/b", "/x/tenant-a"} {
		st := srv.Open(t)
		st.Send(connectFrame(0, name, nil))
		if ce := st.Next().GetConnectError(); ce == nil || ce.Message != server.MessageInvalidNamespace || ce.Namespace != name {
			t.Fatalf("connect %s: got %v, want connect_error %q", name, ce, server.MessageInvalidNamespace)
		}
	}
	if got := namespaceNames(srv); !slices.Equal(got, []string{"/", "/tenant-a", "/tenant-b42"}) {
		t.Fatalf("namespaces after refused connects = %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(created)
	if !slices.Equal(created, []string{"/tenant-a", "/tenant-a", "/tenant-b42"}) {
		t.Fatalf("pattern OnConnection saw %v", created)
	}
}

func TestConnectToUnknownNamespace(t *testing.T) {
	srv := testkit.Start(t, nil)
	st := srv.Open(t)

	st.Send(connectFrame(0, "/nope", nil))
	ce := st.Next().GetConnectError()
	if ce == nil || ce.Namespace != "/nope" || ce.Message != server.MessageInvalidNamespace {
		t.Fatalf("got %v, want connect_error %q", ce, server.MessageInvalidNamespace)
	}

	// With a ref, the connect_error comes with a reply.
	st.Send(connectFrame(9, "/nope", nil))
	if ce := st.Next().GetConnectError(); ce == nil || ce.Message != server.MessageInvalidNamespace {
		t.Fatalf("got %v, want connect_error", ce)
	}
	wantReply(t, st, 9, server.CodeNotFound)

	// A malformed name is an invalid namespace too.
	for _, name := range []string{"chat", "/a\x00b", "/" + strings.Repeat("n", 300)} {
		st.Send(connectFrame(10, name, nil))
		if ce := st.Next().GetConnectError(); ce == nil || ce.Message != server.MessageInvalidNamespace {
			t.Fatalf("connect %q: got %v, want connect_error", name, ce)
		}
		wantReply(t, st, 10, server.CodeInvalidArgument)
	}

	// The stream still works.
	sid := st.Connect("/")
	st.Send(emit(0, "/", "still here", nil, sid))
	wantEvent(t, st, "/", "still here", nil, sid)
	if got := srv.Stats().Sockets; got != 1 {
		t.Fatalf("Stats().Sockets = %d, want 1", got)
	}
}

func TestFramesForNamespaceNotConnected(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) { s.Of("/chat") })
	st, sid := connected(t, srv, "/")

	frames := map[string]func(ref uint64) *roomcastv1.ClientFrame{
		"emit":       func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/chat", "e", nil) },
		"broadcast":  func(ref uint64) *roomcastv1.ClientFrame { return broadcast(ref, "/chat", "e", nil) },
		"join":       func(ref uint64) *roomcastv1.ClientFrame { return joinFrame(ref, "/chat", "r") },
		"leave":      func(ref uint64) *roomcastv1.ClientFrame { return leaveFrame(ref, "/chat", "r") },
		"disconnect": func(ref uint64) *roomcastv1.ClientFrame { return disconnectFrame(ref, "/chat") },
		"unknown ns": func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/nope", "e", nil) },
	}
	for name, frame := range frames {
		for _, ref := range []uint64{0, 21} {
			st.Send(frame(ref))
			r := wantReply(t, st, ref, server.CodeFailedPrecondition)
			if want := server.MessageNotConnected; len(r.Error.Message) < len(want) || r.Error.Message[:len(want)] != want {
				t.Fatalf("%s: message %q, want it to start with %q", name, r.Error.Message, want)
			}
		}
	}
	st.Send(emit(0, "/", "alive", nil, sid))
	wantEvent(t, st, "/", "alive", nil, sid)
}

func TestSecondConnectToSameNamespace(t *testing.T) {
	srv := testkit.Start(t, nil)
	st, sid := connected(t, srv, "/", "room")

	st.Send(connectFrame(5, "/", nil))
	wantReply(t, st, 5, server.CodeAlreadyExists)
	st.Send(connectFrame(0, "", nil))
	wantReply(t, st, 0, server.CodeAlreadyExists)

	// The first socket is untouched: same sid, same rooms.
	if got := len(srv.Of("/").Sockets()); got != 1 {
		t.Fatalf("/ has %d sockets, want 1", got)
	}
	st.Send(emit(0, "/", "still", nil, "room"))
	wantEvent(t, st, "/", "still", nil, sid)
}

func TestOneStreamMultiplexesNamespaces(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/chat")
		s.OfPattern(regexp.MustCompile(`^/tenant-[a-z0-9]+$`))
	})
	st := srv.Open(t)
	rootSID := st.Connect("/")
	chatSID := st.Connect("/chat")
	tenantSID := st.Connect("/tenant-7")
	if rootSID == chatSID || chatSID == tenantSID || rootSID == tenantSID {
		t.Fatalf("sids are not distinct: %s %s %s", rootSID, chatSID, tenantSID)
	}
	st.Join("/", "general")
	st.Join("/chat", "general")

	other, otherSID := connected(t, srv, "/chat", "general")

	st.Send(emit(0, "/", "root event", "r", "general"))
	st.Send(emit(0, "/chat", "chat event", "c", "general"))
	other.Send(emit(0, "/chat", "from other", "o", "general"))
	st.Send(emit(0, "/tenant-7", "tenant event", "t"))
	// st's own events arrive in the order sent, each labelled with its
	// namespace and socket; other's may come anywhere among them.
	var own, others []string
	for range 4 {
		e := st.Event()
		label := e.Namespace + " " + e.Event + " " + e.FromSid
		if e.FromSid == otherSID {
			others = append(others, label)
		} else {
			own = append(own, label)
		}
	}
	wantOwn := []string{"/ root event " + rootSID, "/chat chat event " + chatSID, "/tenant-7 tenant event " + tenantSID}
	if !slices.Equal(own, wantOwn) || !slices.Equal(others, []string{"/chat from other " + otherSID}) {
		t.Fatalf("got %v and %v", own, others)
	}
	got := map[string]bool{}
	for range 2 {
		e := other.Event()
		got[e.Namespace+" "+e.Event+" "+e.FromSid] = true
	}
	if !got["/chat chat event "+chatSID] || !got["/chat from other "+otherSID] {
		t.Fatalf("other got %v", got)
	}

	if got := srv.Stats(); got.Clients != 2 || got.Sockets != 4 {
		t.Fatalf("stats = %+v, want 2 clients and 4 sockets", got)
	}

	// Leaving one namespace leaves the others connected.
	st.Send(disconnectFrame(1, "/chat"))
	wantReply(t, st, 1, "")
	other.Send(emit(2, "/chat", "after", nil, "general"))
	wantEvent(t, other, "/chat", "after", nil, otherSID)
	wantReply(t, other, 2, "")
	barrier(t, srv, "/", st)
	barrier(t, srv, "/tenant-7", st)

	// And it can come back, as a new socket.
	if again := st.Connect("/chat"); again == chatSID {
		t.Fatalf("reconnect reused sid %s", again)
	}
}
