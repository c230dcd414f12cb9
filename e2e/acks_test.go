package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

type ackResult struct {
	data *structpb.Value
	err  error
}

func waitAck(t *testing.T, ch <-chan ackResult) ackResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(testkit.Timeout):
		t.Fatal("EmitWithAck did not return")
		return ackResult{}
	}
}

func TestHandlerAnswersSendersRef(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/").On("add", func(_ context.Context, _ *server.Socket, e *server.Event) (any, error) {
			sum := 0.0
			for _, v := range e.Data.GetListValue().GetValues() {
				sum += v.GetNumberValue()
			}
			return map[string]any{"sum": sum}, nil
		}).On("nothing", func(context.Context, *server.Socket, *server.Event) (any, error) {
			return nil, nil
		})
	})
	alice, aliceSID := connected(t, srv, "/", "calc")
	bob, _ := connected(t, srv, "/", "calc")

	alice.Send(emit(1, "/", "add", []any{1.0, 2.0, 3.5}, "calc"))
	// The event is delivered too, then the sender gets the answer.
	wantEvent(t, alice, "/", "add", []any{1.0, 2.0, 3.5}, aliceSID)
	r := wantReply(t, alice, 1, "")
	if !equalJSON(r.Data.AsInterface(), map[string]any{"sum": 6.5}) {
		t.Fatalf("answer = %v", r.Data.AsInterface())
	}
	wantEvent(t, bob, "/", "add", []any{1.0, 2.0, 3.5}, aliceSID)

	alice.Send(call(2, "/", "nothing", nil))
	if r := wantReply(t, alice, 2, ""); r.Data != nil {
		t.Fatalf("answer = %v, want none", r.Data)
	}
	barrier(t, srv, "/", alice, bob)
}

func TestHandlerErrorRefusesEvent(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/").On("fail", func(_ context.Context, _ *server.Socket, e *server.Event) (any, error) {
			switch e.Data.GetStringValue() {
			case "coded":
				return nil, &server.Error{Code: server.CodeInvalidArgument, Message: "bad input", Data: map[string]any{"field": "x"}}
			case "wrapped":
				return nil, fmt.Errorf("validating: %w", server.Errorf(server.CodeNotFound, "no such thing"))
			case "uncoded":
				return nil, &server.Error{Message: "no code"}
			default:
				return nil, errors.New("plain failure")
			}
		})
	})
	alice, _ := connected(t, srv, "/", "room")
	bob, _ := connected(t, srv, "/", "room")

	alice.Send(emit(1, "/", "fail", "plain", "room"))
	if r := wantReply(t, alice, 1, server.CodeUnknown); r.Error.Message != "plain failure" {
		t.Fatalf("reply = %v", r)
	}
	alice.Send(emit(0, "/", "fail", "plain", "room"))
	wantReply(t, alice, 0, server.CodeUnknown)

	alice.Send(broadcast(2, "/", "fail", "coded", "room"))
	r := wantReply(t, alice, 2, server.CodeInvalidArgument)
	if r.Error.Message != "bad input" || !equalJSON(r.Error.Data.AsInterface(), map[string]any{"field": "x"}) {
		t.Fatalf("reply = %v", r)
	}
	alice.Send(emit(3, "/", "fail", "wrapped", "room"))
	wantReply(t, alice, 3, server.CodeNotFound)
	alice.Send(emit(4, "/", "fail", "uncoded", "room"))
	wantReply(t, alice, 4, server.CodeUnknown)

	// None of them was delivered.
	barrier(t, srv, "/", alice, bob)
}

func TestServerEmitWithAckFromOnConnection(t *testing.T) {
	results := make(chan ackResult, 1)
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/").OnConnection(func(sock *server.Socket) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
				defer cancel()
				data, err := sock.EmitWithAck(ctx, "question", "ready?")
				results <- ackResult{data, err}
			}()
		})
	})
	st := srv.Open(t)
	st.Connect("/")
	e := wantEvent(t, st, "/", "question", "ready?", "")
	if e.AckId == 0 {
		t.Fatalf("event without ack_id: %v", e)
	}
	st.Send(ackFrame(6, e.AckId, map[string]any{"answer": "yes"}))
	wantReply(t, st, 6, "")
	r := waitAck(t, results)
	if r.err != nil || !equalJSON(r.data.AsInterface(), map[string]any{"answer": "yes"}) {
		t.Fatalf("EmitWithAck = %v, %v", r.data, r.err)
	}
	// The id is used up.
	st.Send(ackFrame(7, e.AckId, nil))
	wantReply(t, st, 7, server.CodeNotFound)
}

func TestServerEmitWithAckFromHandler(t *testing.T) {
	results := make(chan ackResult, 2)
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/").On("start", func(_ context.Context, sock *server.Socket, e *server.Event) (any, error) {
			for _, q := range []string{"first", "second"} {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
					defer cancel()
					data, err := sock.EmitWithAck(ctx, "question", q)
					results <- ackResult{data, err}
				}()
			}
			return "started", nil
		})
	})
	st, _ := connected(t, srv, "/")
	st.Send(call(1, "/", "start", nil))
	// The questions, from goroutines, may come before or after the reply.
	var (
		questions []*roomcastv1.Event
		replied   bool
	)
	for !replied || len(questions) < 2 {
		f := st.Next()
		switch {
		case f.GetReply() != nil && !replied:
			if r := f.GetReply(); r.Ref != 1 || r.Error != nil || r.Data.GetStringValue() != "started" {
				t.Fatalf("reply = %v", r)
			}
			replied = true
		case f.GetEvent() != nil:
			questions = append(questions, f.GetEvent())
		case f.GetEvents() != nil:
			questions = append(questions, f.GetEvents().Events...)
		default:
			t.Fatalf("unexpected frame %v", f)
		}
	}
	if len(questions) != 2 {
		t.Fatalf("got %d questions, want 2", len(questions))
	}
	// Two questions in flight on one stream, answered in reverse order;
	// each answer reaches its own question.
	q1, q2 := questions[0], questions[1]
	if q1.AckId == 0 || q2.AckId == 0 || q1.AckId == q2.AckId {
		t.Fatalf("ack ids %d and %d", q1.AckId, q2.AckId)
	}
	st.Send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Ack{Ack: &roomcastv1.AckFrame{
		AckId: q2.AckId, Error: "refused " + q2.Data.GetStringValue(),
	}}})
	st.Send(ackFrame(0, q1.AckId, "answer to "+q1.Data.GetStringValue()))
	got := map[string]string{}
	for range 2 {
		r := waitAck(t, results)
		if r.err != nil {
			got[r.err.Error()] = "error"
		} else {
			got[r.data.GetStringValue()] = "data"
		}
	}
	want := map[string]string{
		"answer to " + q1.Data.GetStringValue(): "data",
		"refused " + q2.Data.GetStringValue():   "error",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("answers = %v, want %v", got, want)
	}
	// Accepted acks without a ref are not answered.
	barrier(t, srv, "/", st)
}

func TestServerEmitWithAckTimesOut(t *testing.T) {
	results := make(chan ackResult, 1)
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/").OnConnection(func(sock *server.Socket) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				data, err := sock.EmitWithAck(ctx, "question", nil)
				results <- ackResult{data, err}
			}()
		})
	})
	st := srv.Open(t)
	st.Connect("/")
	e := wantEvent(t, st, "/", "question", nil, "")
	// Never answered in time.
	r := waitAck(t, results)
	if r.data != nil {
		t.Fatalf("data = %v", r.data)
	}
	wantServerError(t, r.err, server.CodeDeadlineExceeded)
	// A late answer finds nobody waiting.
	st.Send(ackFrame(3, e.AckId, "late"))
	wantReply(t, st, 3, server.CodeNotFound)
}

func TestAckForUnknownID(t *testing.T) {
	srv := testkit.Start(t, nil)
	st, sid := connected(t, srv, "/")
	st.Send(ackFrame(1, 12345, nil))
	wantReply(t, st, 1, server.CodeNotFound)
	st.Send(ackFrame(0, 0, nil))
	wantReply(t, st, 0, server.CodeNotFound)
	st.Send(emit(0, "/", "fine", nil, sid))
	wantEvent(t, st, "/", "fine", nil, sid)
}

func TestEmitWithAckEndsWhenSocketDisconnects(t *testing.T) {
	results := make(chan ackResult, 1)
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/").OnConnection(func(sock *server.Socket) {
			go func() {
				data, err := sock.EmitWithAck(context.Background(), "question", nil)
				results <- ackResult{data, err}
			}()
		})
	})
	st := srv.Open(t)
	st.Connect("/")
	wantEvent(t, st, "/", "question", nil, "")
	st.Send(disconnectFrame(1, "/"))
	wantReply(t, st, 1, "")
	wantServerError(t, waitAck(t, results).err, server.CodeUnavailable)
}

func TestEmitToDisconnectedSocketFails(t *testing.T) {
	srv := testkit.Start(t, nil)
	st, sid := connected(t, srv, "/")
	sock := srv.Of("/").Socket(sid)
	st.Send(disconnectFrame(1, "/"))
	wantReply(t, st, 1, "")

	// The client's stream is still open, but the socket is gone.
	wantServerError(t, sock.Emit("late", nil), server.CodeUnavailable)
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	_, err := sock.EmitWithAck(ctx, "late", nil)
	wantServerError(t, err, server.CodeUnavailable)

	// Nothing reached the client for the namespace it left.
	newSID := st.Connect("/")
	st.Send(emit(0, "/", "only this", nil, newSID))
	wantEvent(t, st, "/", "only this", nil, newSID)
}
