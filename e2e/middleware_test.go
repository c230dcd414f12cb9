package e2e

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

func TestNamespaceMiddlewareSeesHandshake(t *testing.T) {
	type seen struct {
		namespace, authorization, peer, token, ctxAuthorization string
	}
	got := make(chan seen, 1)
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/chat").Use(func(ctx context.Context, req *server.ConnectRequest) error {
			md, _ := metadata.FromIncomingContext(ctx)
			got <- seen{
				namespace:        req.Namespace,
				authorization:    strings.Join(req.Handshake.Metadata.Get("authorization"), ","),
				peer:             req.Handshake.Peer,
				token:            req.Handshake.Auth.GetFields()["token"].GetStringValue(),
				ctxAuthorization: strings.Join(md.Get("authorization"), ","),
			}
			req.Set("user", "u-"+req.Handshake.Auth.GetFields()["token"].GetStringValue())
			return nil
		}).On("whoami", func(_ context.Context, s *server.Socket, _ *server.Event) (any, error) {
			user, ok := s.Get("user")
			if !ok {
				return nil, errors.New("no user")
			}
			return map[string]any{
				"user":  user,
				"sid":   s.ID(),
				"token": s.Handshake().Auth.GetFields()["token"].GetStringValue(),
				"authz": s.Handshake().Metadata.Get("authorization")[0],
			}, nil
		})
	})

	st := srv.Open(t, "authorization", "Bearer x")
	st.Send(connectFrame(0, "/chat", map[string]any{"token": "abc"}))
	c := st.Next().GetConnected()
	if c == nil {
		t.Fatal("not connected")
	}
	s := <-got
	if s.namespace != "/chat" || s.authorization != "Bearer x" || s.ctxAuthorization != "Bearer x" || s.token != "abc" ||
		!strings.HasPrefix(s.peer, "127.0.0.1:") {
		t.Fatalf("middleware saw %+v", s)
	}

	st.Send(call(4, "/chat", "whoami", nil))
	r := wantReply(t, st, 4, "")
	want := map[string]any{"user": "u-abc", "sid": c.Sid, "token": "abc", "authz": "Bearer x"}
	if !equalJSON(r.Data.AsInterface(), want) {
		t.Fatalf("whoami = %v, want %v", r.Data.AsInterface(), want)
	}
	if v, _ := srv.Of("/chat").Socket(c.Sid).Get("user"); v != "u-abc" {
		t.Fatalf("socket.Get(user) = %v", v)
	}
	// Middleware runs on namespace connects only: "/" has none.
	st.Connect("/")
	select {
	case s := <-got:
		t.Fatalf("/chat middleware ran for /: %+v", s)
	default:
	}
}

func TestNamespaceMiddlewareRejects(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/private").Use(func(_ context.Context, req *server.ConnectRequest) error {
			switch req.Handshake.Auth.GetFields()["token"].GetStringValue() {
			case "good":
				return nil
			case "":
				return &server.Error{Message: "unauthorized", Data: map[string]any{"hint": "send a token"}}
			case "expired":
				return server.Errorf("UNAUTHENTICATED", "token expired")
			default:
				return errors.New("bad token")
			}
		})
	})
	st := srv.Open(t)

	// Without a ref: connect_error only.
	st.Send(connectFrame(0, "/private", nil))
	ce := st.Next().GetConnectError()
	if ce == nil || ce.Namespace != "/private" || ce.Message != "unauthorized" ||
		!equalJSON(ce.Data.AsInterface(), map[string]any{"hint": "send a token"}) {
		t.Fatalf("got %v, want connect_error unauthorized with data", ce)
	}

	// With a ref: connect_error, then a reply with the same error.
	st.Send(connectFrame(8, "/private", nil))
	if ce := st.Next().GetConnectError(); ce == nil || ce.Message != "unauthorized" {
		t.Fatalf("got %v", ce)
	}
	r := wantReply(t, st, 8, server.CodePermissionDenied)
	if r.Error.Message != "unauthorized" || !equalJSON(r.Error.Data.AsInterface(), map[string]any{"hint": "send a token"}) {
		t.Fatalf("reply error = %v", r.Error)
	}

	// A plain error: its text, no data, PERMISSION_DENIED.
	st.Send(connectFrame(9, "/private", map[string]any{"token": "forged"}))
	if ce := st.Next().GetConnectError(); ce == nil || ce.Message != "bad token" || ce.Data != nil {
		t.Fatalf("got %v", ce)
	}
	wantReply(t, st, 9, server.CodePermissionDenied)

	// An *Error's own code is kept.
	st.Send(connectFrame(10, "/private", map[string]any{"token": "expired"}))
	if ce := st.Next().GetConnectError(); ce == nil || ce.Message != "token expired" {
		t.Fatalf("got %v", ce)
	}
	wantReply(t, st, 10, "UNAUTHENTICATED")

	// Refused means not connected.
	st.Send(emit(11, "/private", "e", nil))
	wantReply(t, st, 11, server.CodeFailedPrecondition)
	if got := srv.Stats().Sockets; got != 0 {
		t.Fatalf("Stats().Sockets = %d, want 0", got)
	}

	// The stream still works, and a later connect may succeed.
	st.Send(connectFrame(12, "/private", map[string]any{"token": "good"}))
	c := st.Next().GetConnected()
	if c == nil || c.Namespace != "/private" {
		t.Fatalf("got %v, want connected", c)
	}
	wantReply(t, st, 12, "")
}

func TestMiddlewareOrder(t *testing.T) {
	var (
		mu  sync.Mutex
		ran []string
	)
	step := func(name string) server.Middleware {
		return func(_ context.Context, req *server.ConnectRequest) error {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			var order []any
			if v, ok := req.Get("order"); ok {
				order = v.([]any)
			}
			req.Set("order", append(order, name))
			if req.Handshake.Auth.GetFields()["stop at"].GetStringValue() == name {
				return errors.New("stopped at " + name)
			}
			return nil
		}
	}
	srv := testkit.Start(t, func(s *server.Server) {
		p := s.OfPattern(regexp.MustCompile(`^/t-[0-9]+$`))
		p.Use(step("p1"), step("p2"))
		p.On("order", func(_ context.Context, s *server.Socket, _ *server.Event) (any, error) {
			v, _ := s.Get("order")
			return v, nil
		})
		s.Of("/static").Use(step("s1"), step("s2")).Use(step("s3")).
			On("order", func(_ context.Context, s *server.Socket, _ *server.Event) (any, error) {
				v, _ := s.Get("order")
				return v, nil
			})
	})
	order := func(st *testkit.Stream, namespace string) []any {
		t.Helper()
		st.Send(call(1, namespace, "order", nil))
		return wantReply(t, st, 1, "").Data.AsInterface().([]any)
	}
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := ran
		ran = nil
		return out
	}

	st := srv.Open(t)
	st.Connect("/static")
	if got := order(st, "/static"); !equalJSON(got, []any{"s1", "s2", "s3"}) {
		t.Fatalf("static order = %v", got)
	}
	take()

	// A refusal stops the chain.
	st2 := srv.Open(t)
	st2.Send(connectFrame(0, "/static", map[string]any{"stop at": "s2"}))
	if ce := st2.Next().GetConnectError(); ce == nil || ce.Message != "stopped at s2" {
		t.Fatalf("got %v", ce)
	}
	if got := take(); !slices.Equal(got, []string{"s1", "s2"}) {
		t.Fatalf("ran %v, want [s1 s2]", got)
	}

	// Pattern middleware applies to the namespaces it creates, before
	// the namespace's own.
	st.Connect("/t-1")
	if got := order(st, "/t-1"); !equalJSON(got, []any{"p1", "p2"}) {
		t.Fatalf("pattern order = %v", got)
	}
	srv.Of("/t-1").Use(step("n1"))
	st3 := srv.Open(t)
	st3.Connect("/t-1")
	if got := order(st3, "/t-1"); !equalJSON(got, []any{"p1", "p2", "n1"}) {
		t.Fatalf("pattern then namespace order = %v", got)
	}
	// Another namespace of the pattern has only the pattern's.
	st3.Connect("/t-2")
	if got := order(st3, "/t-2"); !equalJSON(got, []any{"p1", "p2"}) {
		t.Fatalf("/t-2 order = %v", got)
	}
	// And the pattern's middleware can refuse.
	take()
	st3.Send(connectFrame(2, "/t-3", map[string]any{"stop at": "p1"}))
	if ce := st3.Next().GetConnectError(); ce == nil || ce.Message != "stopped at p1" || ce.Namespace != "/t-3" {
		t.Fatalf("got %v", ce)
	}
	wantReply(t, st3, 2, server.CodePermissionDenied)
	if got := take(); !slices.Equal(got, []string{"p1"}) {
		t.Fatalf("ran %v, want [p1]", got)
	}
}

func TestEventMiddleware(t *testing.T) {
	var (
		mu  sync.Mutex
		ran []string
	)
	record := func(s string) {
		mu.Lock()
		ran = append(ran, s)
		mu.Unlock()
	}
	srv := testkit.Start(t, func(s *server.Server) {
		p := s.OfPattern(regexp.MustCompile(`^/t-[0-9]+$`))
		p.UseEvent(func(_ context.Context, _ *server.Socket, e *server.Event) error {
			record("pattern " + e.Name)
			return nil
		})
		s.Of("/chat").Use(func(_ context.Context, req *server.ConnectRequest) error {
			req.Set("role", req.Handshake.Auth.GetFields()["role"].GetStringValue())
			return nil
		}).UseEvent(func(_ context.Context, s *server.Socket, e *server.Event) error {
			record("first " + e.Name)
			if role, _ := s.Get("role"); e.Name == "admin only" && role != "admin" {
				return errors.New("admins only")
			}
			if e.Name == "quota" {
				return server.Errorf(server.CodeResourceExhausted, "quota exceeded")
			}
			return nil
		}, func(_ context.Context, _ *server.Socket, e *server.Event) error {
			record("second " + e.Name)
			if e.Name == "shout" {
				// Middleware may rewrite the event.
				e.Data = structpb.NewStringValue(strings.ToUpper(e.Data.GetStringValue()))
			}
			return nil
		})
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := ran
		ran = nil
		return out
	}

	user := srv.Open(t)
	userSID := user.Connect("/chat")
	user.Join("/chat", "room")
	admin := srv.Open(t)
	admin.Send(connectFrame(0, "/chat", map[string]any{"role": "admin"}))
	adminSID := admin.Next().GetConnected().GetSid()
	admin.Join("/chat", "room")

	// Refused events are answered, with or without a ref, and not delivered.
	user.Send(emit(1, "/chat", "admin only", "x", "room"))
	r := wantReply(t, user, 1, server.CodePermissionDenied)
	if r.Error.Message != "admins only" {
		t.Fatalf("reply error = %v", r.Error)
	}
	user.Send(broadcast(0, "/chat", "admin only", "y", "room"))
	wantReply(t, user, 0, server.CodePermissionDenied)
	if got := take(); !slices.Equal(got, []string{"first admin only", "first admin only"}) {
		t.Fatalf("ran %v", got)
	}
	user.Send(emit(2, "/chat", "quota", nil, "room"))
	wantReply(t, user, 2, server.CodeResourceExhausted)
	barrier(t, srv, "/chat", user, admin)

	// Allowed events run through the whole chain, rewritten.
	admin.Send(emit(3, "/chat", "admin only", "ok", "room"))
	wantEvent(t, admin, "/chat", "admin only", "ok", adminSID)
	wantEvent(t, user, "/chat", "admin only", "ok", adminSID)
	wantReply(t, admin, 3, "")
	user.Send(broadcast(4, "/chat", "shout", "hey", "room"))
	wantEvent(t, admin, "/chat", "shout", "HEY", userSID)
	wantReply(t, user, 4, "")
	take()
	barrier(t, srv, "/chat", user, admin)

	// Pattern event middleware applies to created namespaces.
	user.Connect("/t-1")
	user.Send(call(5, "/t-1", "ping", nil))
	wantReply(t, user, 5, "")
	if got := take(); !slices.Equal(got, []string{"pattern ping"}) {
		t.Fatalf("ran %v", got)
	}
}
