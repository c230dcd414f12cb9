package client_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/roomcast/client"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// A server handler's result answers the client's EmitWithAck.
func TestEmitWithAckGetsServerHandlerAnswer(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		srv.Of("/").On("sum", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			total := 0.0
			for _, v := range e.Data.GetListValue().GetValues() {
				total += v.GetNumberValue()
			}
			return map[string]any{"sum": total, "by": s.ID()}, nil
		})
		srv.Of("/").On("fail", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			return nil, &server.Error{Code: server.CodeFailedPrecondition, Message: "not today"}
		})
	})
	s, _ := connect(t, srv, "/")

	answer, err := s.EmitWithAck(ctxFor(t), "sum", []any{1, 2, 3.5})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Sum float64 `json:"sum"`
		By  string  `json:"by"`
	}
	if err := client.Decode(answer, &got); err != nil || got.Sum != 6.5 || got.By != s.ID() {
		t.Fatalf("answer %v decoded to %+v (%v)", answer, got, err)
	}

	_, err = s.EmitWithAck(ctxFor(t), "fail", nil)
	var re *client.ReplyError
	if !errors.As(err, &re) || re.Code != server.CodeFailedPrecondition || re.Message != "not today" {
		t.Fatalf("got %v, want the handler's refusal", err)
	}
}

// A client handler's result answers the server's Socket.EmitWithAck.
func TestClientHandlerAnswersServerEmitWithAck(t *testing.T) {
	connected := make(chan *server.Socket, 1)
	srv := testkit.Start(t, func(srv *server.Server) {
		srv.Of("/").OnConnection(func(s *server.Socket) { connected <- s })
	})
	s := dial(t, srv).Socket("/")
	s.On("ping", func(e *client.Event) (any, error) {
		if !e.WantsAck() {
			t.Error("ping does not want an ack")
		}
		return map[string]any{"pong": e.Value()}, nil
	})
	s.On("boom", func(e *client.Event) (any, error) { return nil, errors.New("handler says no") })
	if err := s.Connect(ctxFor(t), nil); err != nil {
		t.Fatal(err)
	}
	peer := <-connected

	answer, err := peer.EmitWithAck(ctxFor(t), "ping", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got := answer.AsInterface(); !reflect.DeepEqual(got, map[string]any{"pong": "hello"}) {
		t.Fatalf("answer %v", got)
	}
	if _, err := peer.EmitWithAck(ctxFor(t), "boom", nil); err == nil || err.Error() != "handler says no" {
		t.Fatalf("got %v, want the client handler's error", err)
	}
	// An event nobody handles is answered at once, not left to time out.
	if _, err := peer.EmitWithAck(ctxFor(t), "nobody", nil); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("got %v, want a no-handler refusal", err)
	}
}

// A handler may itself wait for a reply: handlers do not run on the
// reader.
func TestHandlerCanWaitForReplies(t *testing.T) {
	connected := make(chan *server.Socket, 1)
	srv := testkit.Start(t, func(srv *server.Server) {
		srv.Of("/").OnConnection(func(s *server.Socket) { connected <- s })
		srv.Of("/").On("double", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			return 2 * e.Data.GetNumberValue(), nil
		})
	})
	s := dial(t, srv).Socket("/")
	s.On("work", func(e *client.Event) (any, error) {
		return s.EmitWithAck(ctxFor(t), "double", e.Value())
	})
	if err := s.Connect(ctxFor(t), nil); err != nil {
		t.Fatal(err)
	}
	answer, err := (<-connected).EmitWithAck(ctxFor(t), "work", 21)
	if err != nil || answer.GetNumberValue() != 42 {
		t.Fatalf("answer %v, error %v; want 42", answer, err)
	}
}

func TestEmitWithAckGivesUpWithContext(t *testing.T) {
	release := make(chan struct{})
	srv := testkit.Start(t, func(srv *server.Server) {
		srv.Of("/").On("slow", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			<-release
			return "late", nil
		})
	})
	s, _ := connect(t, srv, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "slow", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	close(release)
	// The late reply finds nobody waiting and the stream goes on.
	if err := s.Join(ctxFor(t), "after"); err != nil {
		t.Fatal(err)
	}
}
