package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/roomcast/roomcast/client"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

func TestEmitToRoomReachesMembersOnly(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceGot := connect(t, srv, "/", "news")
	bob, bobGot := connect(t, srv, "/", "news")
	join(t, bob, "general")

	if err := alice.To("general").Emit(ctxFor(t), "news", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	e := bobGot.next(t)
	if e.Name != "news" || e.FromSID != alice.ID() || e.Namespace != "/" {
		t.Fatalf("bob got %+v, want news from %s", e, alice.ID())
	}
	if got := e.Value(); !reflect.DeepEqual(got, map[string]any{"n": 1.0}) {
		t.Fatalf("data %v", got)
	}
	aliceGot.none(t, quiet) // not in general
}

func TestEmitReachesSenderBroadcastDoesNot(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceGot := connect(t, srv, "/", "hi")
	_, bobGot := connect(t, srv, "/", "hi")

	if err := alice.Emit(ctxFor(t), "hi", "emit"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*recorder{aliceGot, bobGot} {
		if got := r.next(t).Value(); got != "emit" {
			t.Fatalf("got %v, want emit", got)
		}
	}
	if err := alice.Broadcast(ctxFor(t), "hi", "broadcast"); err != nil {
		t.Fatal(err)
	}
	if got := bobGot.next(t).Value(); got != "broadcast" {
		t.Fatalf("bob got %v, want broadcast", got)
	}
	aliceGot.none(t, quiet)
}

func TestBroadcastToRoomExceptRoom(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceGot := connect(t, srv, "/", "msg")
	bob, bobGot := connect(t, srv, "/", "msg")
	carol, carolGot := connect(t, srv, "/", "msg")
	join(t, alice, "room")
	join(t, bob, "room")
	join(t, carol, "room", "muted")

	op := alice.To("room")
	if err := op.Except("muted").Broadcast(ctxFor(t), "msg", "only bob"); err != nil {
		t.Fatal(err)
	}
	if got := bobGot.next(t).Value(); got != "only bob" {
		t.Fatalf("bob got %v", got)
	}
	carolGot.none(t, quiet)
	aliceGot.none(t, 0)

	// Except returned a new operator: op still targets the whole room.
	if err := op.Emit(ctxFor(t), "msg", "everyone"); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*recorder{"alice": aliceGot, "bob": bobGot, "carol": carolGot} {
		if got := r.next(t).Value(); got != "everyone" {
			t.Fatalf("%s got %v, want everyone", name, got)
		}
	}
}

func TestEmitToSidIsPrivate(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, _ := connect(t, srv, "/", "dm")
	bob, bobGot := connect(t, srv, "/", "dm")
	_, carolGot := connect(t, srv, "/", "dm")
	if err := alice.To(bob.ID()).Volatile().Emit(ctxFor(t), "dm", "psst"); err != nil {
		t.Fatal(err)
	}
	if got := bobGot.next(t).Value(); got != "psst" {
		t.Fatalf("bob got %v", got)
	}
	carolGot.none(t, quiet)
}

func TestBinaryAndStructData(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, _ := connect(t, srv, "/")
	_, bobGot := connect(t, srv, "/", "file", "point")

	blob := []byte{0, 1, 2, 255}
	if err := alice.Broadcast(ctxFor(t), "file", blob); err != nil {
		t.Fatal(err)
	}
	if e := bobGot.next(t); !bytes.Equal(e.Binary, blob) || e.Data != nil {
		t.Fatalf("got binary %v data %v, want %v and no data", e.Binary, e.Data, blob)
	}

	type point struct {
		X int    `json:"x"`
		Y int    `json:"y"`
		L string `json:"label"`
	}
	if err := alice.Broadcast(ctxFor(t), "point", point{1, 2, "p"}); err != nil {
		t.Fatal(err)
	}
	var got point
	if err := bobGot.next(t).Decode(&got); err != nil || got != (point{1, 2, "p"}) {
		t.Fatalf("decoded %+v, %v", got, err)
	}
}

// Events the server queues faster than it writes arrive packed in batch
// frames; each must reach the handler, in order.
func TestServerEmitsArriveInOrder(t *testing.T) {
	srv := testkit.Start(t, nil)
	_, got := connect(t, srv, "/", "seq")
	const n = 500
	for i := range n {
		if _, err := srv.Of("/").Emit("seq", i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if v := got.next(t).Value(); v != float64(i) {
			t.Fatalf("event %d carries %v", i, v)
		}
	}
}

func TestRefusedEmitGoesToOnError(t *testing.T) {
	srv := testkit.Start(t, nil)
	c := dial(t, srv)
	refusals := make(chan error, 1)
	c.OnError(func(err error) { refusals <- err })
	s, err := c.Connect(ctxFor(t), "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(ctxFor(t), "connect", nil); err != nil { // reserved
		t.Fatal(err)
	}
	select {
	case err := <-refusals:
		var re *client.ReplyError
		if !errors.As(err, &re) || re.Code != server.CodeInvalidArgument {
			t.Fatalf("got %v, want an %s reply error", err, server.CodeInvalidArgument)
		}
	case <-ctxFor(t).Done():
		t.Fatal("no refusal reached OnError")
	}
}

func TestConcurrentEmits(t *testing.T) {
	srv := testkit.Start(t, nil)
	sender, _ := connect(t, srv, "/")
	receiver, got := connect(t, srv, "/", "n")
	join(t, receiver, "inbox")

	const goroutines, each = 8, 100
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var err error
				if i%10 == 0 {
					_, err = sender.To("inbox").EmitWithAck(ctx, "n", fmt.Sprintf("%d/%d", g, i))
				} else {
					err = sender.To("inbox").Emit(ctx, "n", fmt.Sprintf("%d/%d", g, i))
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := make(map[any]bool)
	for range goroutines * each {
		seen[got.next(t).Value()] = true
	}
	if len(seen) != goroutines*each {
		t.Fatalf("%d distinct events, want %d", len(seen), goroutines*each)
	}
	got.none(t, quiet)
}
