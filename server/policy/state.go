package policy

import (
	"encoding/json"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/roomcast/roomcast/server"
)

// socketState is what a policy keeps per socket: the grants read from its
// claims and the counters of its limits. It lives in the socket's data
// under the policy's own key ("policy.1", "policy.2", ... in the order
// policies are first used), so it is released with the socket and no map
// of sockets can outlive them.
type socketState struct {
	grants  grants
	limiter *rate.Limiter // nil: no rate limit

	// Strikes are added by the socket's own frames, one at a time, and read
	// by the admin API from other goroutines.
	mu         sync.Mutex
	strikes    int
	lastStrike time.Time
	resetAfter time.Duration // 0: never
}

// addStrike counts a strike at now, after dropping the earlier ones if
// the last of them is resetAfter old or older, and returns the count.
func (st *socketState) addStrike(now time.Time) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.expiredLocked(now) {
		st.strikes = 0
	}
	st.strikes++
	st.lastStrike = now
	return st.strikes
}

func (st *socketState) expiredLocked(now time.Time) bool {
	return st.resetAfter > 0 && st.strikes > 0 && now.Sub(st.lastStrike) >= st.resetAfter
}

// MarshalJSON shows operators, in the admin API's socket listing, how
// close a socket is to being disconnected.
func (st *socketState) MarshalJSON() ([]byte, error) {
	st.mu.Lock()
	strikes := st.strikes
	if st.expiredLocked(time.Now()) {
		strikes = 0
	}
	st.mu.Unlock()
	return json.Marshal(map[string]any{"strikes": strikes})
}

func (e *enforcer) newState(claims Claims) *socketState {
	return &socketState{grants: e.access.grants(claims), limiter: e.limits.newLimiter(),
		resetAfter: e.limits.StrikesResetAfter}
}

// state returns the socket's state, or nil when the policy keeps none. A
// socket admitted without this policy's connect middleware (its event
// middleware composed on its own) gets one on first use, from whatever
// claims the socket has: frames of one socket are handled one at a time,
// so this cannot race with itself.
func (e *enforcer) state(s *server.Socket) *socketState {
	if !e.keepsState {
		return nil
	}
	if v, ok := s.Get(e.stateKey); ok {
		if st, ok := v.(*socketState); ok {
			return st
		}
	}
	st := e.newState(claimsOf(s))
	s.Set(e.stateKey, st)
	return st
}

func claimsOf(s *server.Socket) Claims {
	switch v, _ := s.Get(ClaimsKey); c := v.(type) {
	case Claims:
		return c
	case map[string]any:
		return c
	}
	return nil
}
