package testkit

import (
	"time"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// PollEvent returns the next event if one arrives within d, and nil
// otherwise; unlike Event it does not fail the test, for waits on
// something that comes back by itself (a reconnection). Frames that are
// not events fail the test.
func (st *Stream) PollEvent(d time.Duration) *roomcastv1.Event {
	st.t.Helper()
	if len(st.pending) > 0 {
		return st.Event()
	}
	select {
	case f, ok := <-st.frames:
		if !ok {
			st.t.Fatalf("stream ended while polling for an event: %v", <-st.err)
		}
		return st.eventFrom(f)
	case <-time.After(d):
		return nil
	}
}
