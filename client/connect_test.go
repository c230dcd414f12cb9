package client_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"

	"github.com/roomcast/roomcast/client"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

func TestConnectGetsSidAndOwnRoom(t *testing.T) {
	srv := testkit.Start(t, nil)
	s, _ := connect(t, srv, "/")
	if s.ID() == "" || !s.Connected() {
		t.Fatalf("after connect: id %q, connected %v", s.ID(), s.Connected())
	}
	if got := s.Rooms(); !reflect.DeepEqual(got, []string{s.ID()}) {
		t.Fatalf("rooms %v, want only the own room %s", got, s.ID())
	}
	if srv.Of("/").Socket(s.ID()) == nil {
		t.Fatalf("the server has no socket %s", s.ID())
	}
}

func TestConnectSeveralNamespacesOnOneStream(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) { srv.Of("/chat") })
	c := dial(t, srv)
	root, err := c.Connect(ctxFor(t), "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	chat, err := c.Connect(ctxFor(t), "/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	if root.ID() == chat.ID() {
		t.Fatalf("two namespaces share sid %s", root.ID())
	}
	if srv.Of("/chat").Socket(chat.ID()) == nil || srv.Of("/").Socket(root.ID()) == nil {
		t.Fatal("the server lacks one of the sockets")
	}
	if c.Socket("/chat") != chat {
		t.Fatal("Socket returns a different socket for the same namespace")
	}
}

func TestConnectErrorCarriesMiddlewareMessageAndData(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		srv.Of("/secret").Use(func(ctx context.Context, req *server.ConnectRequest) error {
			return &server.Error{Code: server.CodePermissionDenied, Message: "unauthorized",
				Data: map[string]any{"code": "NO_TOKEN"}}
		})
	})
	c := dial(t, srv)
	s, err := c.Connect(ctxFor(t), "/secret", nil)
	var ce *client.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("got socket %v, error %v; want a *client.ConnectError", s, err)
	}
	want := &client.ConnectError{Namespace: "/secret", Code: server.CodePermissionDenied, Message: "unauthorized",
		Data: map[string]any{"code": "NO_TOKEN"}}
	if !reflect.DeepEqual(ce, want) {
		t.Fatalf("got %#v, want %#v", ce, want)
	}
	if c.Socket("/secret").Connected() {
		t.Fatal("a refused socket reports connected")
	}
	// The stream survives a refusal.
	if _, err := c.Connect(ctxFor(t), "/", nil); err != nil {
		t.Fatalf("connect / after a refusal: %v", err)
	}
}

func TestConnectToUnknownNamespaceIsRefused(t *testing.T) {
	srv := testkit.Start(t, nil)
	_, err := dial(t, srv).Connect(ctxFor(t), "/nowhere", nil)
	var ce *client.ConnectError
	if !errors.As(err, &ce) || ce.Message != server.MessageInvalidNamespace || ce.Code != server.CodeNotFound {
		t.Fatalf("got %v, want connect error %q", err, server.MessageInvalidNamespace)
	}
}

// Middleware sees the stream's metadata and the connect's auth.
func TestHandshakeCarriesMetadataAndAuth(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		srv.Of("/secret").Use(func(ctx context.Context, req *server.ConnectRequest) error {
			if got := req.Handshake.Metadata.Get("authorization"); len(got) != 1 || got[0] != "Bearer abc" {
				return &server.Error{Code: server.CodePermissionDenied, Message: "bad authorization", Data: got}
			}
			if got := req.Handshake.Auth.GetFields()["token"].GetStringValue(); got != "t0k3n" {
				return &server.Error{Code: server.CodePermissionDenied, Message: "bad token", Data: got}
			}
			return nil
		})
	})
	c := dial(t, srv, client.WithMetadata("authorization", "Bearer abc"))
	if _, err := c.Connect(ctxFor(t), "/secret", map[string]any{"token": "t0k3n"}); err != nil {
		t.Fatalf("connect with metadata and auth: %v", err)
	}
	other := dial(t, srv)
	_, err := other.Connect(ctxFor(t), "/secret", map[string]any{"token": "t0k3n"})
	var ce *client.ConnectError
	if !errors.As(err, &ce) || ce.Message != "bad authorization" {
		t.Fatalf("connect without metadata: got %v, want bad authorization", err)
	}
}

func TestDialFailsWithoutServer(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	if c, err := client.Dial(ctxFor(t), addr); err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded with no server", addr)
	}
}
