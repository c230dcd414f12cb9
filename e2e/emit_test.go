package e2e

import (
	"testing"

	"github.com/roomcast/roomcast/internal/testkit"
)

func TestEmitReachesRoomIncludingSender(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, bob := srv.Open(t), srv.Open(t)
	aliceSID := alice.Connect("/")
	bob.Connect("/")
	alice.Join("/", "general")
	bob.Join("/", "general")

	alice.SendJSON(`{"emit":{"namespace":"/","event":"chat message","data":"hello","rooms":["general"]}}`)
	for _, st := range []*testkit.Stream{alice, bob} {
		e := st.Events(1)[0]
		if e.Event != "chat message" || e.Data.GetStringValue() != "hello" || e.FromSid != aliceSID {
			t.Fatalf("got %v", e)
		}
	}
}
