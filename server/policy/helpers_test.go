package policy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
)

// secret is an HS256 key of the minimum length.
var (
	secret   = []byte("0123456789abcdef0123456789abcdef")
	secret64 = append(append([]byte{}, secret...), secret...)
)

// Keys are generated once: RSA generation is slow under -race.
var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
)

func keys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return rsaKey, ecKey
}

// claims returns valid registered claims plus extra pairs (name, value, ...).
func claims(extra ...any) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub": "alice",
		"iat": time.Now().Add(-time.Minute).Unix(),
		"exp": time.Now().Add(time.Hour).Unix(),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return c
}

func sign(t testing.TB, method jwt.SigningMethod, key any, c jwt.MapClaims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

func hs256(t testing.TB, c jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodHS256, secret, c, "")
}

func connectFrame(namespace string, auth map[string]any) *roomcastv1.ClientFrame {
	cf := &roomcastv1.ConnectFrame{Namespace: namespace}
	if auth != nil {
		s, err := structpb.NewStruct(auth)
		if err != nil {
			panic(err)
		}
		cf.Auth = s
	}
	return &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Connect{Connect: cf}}
}

// connectWith sends a connect with auth {"token": token} (none when token
// is empty) and returns the connected or connect_error frame.
func connectWith(st *testkit.Stream, namespace, token string) *roomcastv1.ServerFrame {
	var auth map[string]any
	if token != "" {
		auth = map[string]any{"token": token}
	}
	st.Send(connectFrame(namespace, auth))
	return st.Next()
}

// mustConnect connects with a token and returns the sid.
func mustConnect(t *testing.T, st *testkit.Stream, namespace, token string) string {
	t.Helper()
	f := connectWith(st, namespace, token)
	c := f.GetConnected()
	if c == nil {
		t.Fatalf("connect %s: got %v, want connected", namespace, f)
	}
	return c.Sid
}

// wantConnectError checks a refused connect's message and data.code.
func wantConnectError(t *testing.T, f *roomcastv1.ServerFrame, message, code string) {
	t.Helper()
	ce := f.GetConnectError()
	if ce == nil {
		t.Fatalf("got %v, want connect_error %q", f, message)
	}
	if ce.Message != message || dataCode(ce.Data) != code {
		t.Fatalf("connect_error = %q %v, want %q with code %s", ce.Message, ce.Data, message, code)
	}
}

func dataCode(v *structpb.Value) string {
	return v.GetStructValue().GetFields()["code"].GetStringValue()
}

func emitFrame(ref uint64, namespace, event string, data any, broadcast bool, rooms ...string) *roomcastv1.ClientFrame {
	var value *structpb.Value
	if data != nil {
		var err error
		if value, err = structpb.NewValue(data); err != nil {
			panic(err)
		}
	}
	ef := &roomcastv1.EmitFrame{Namespace: namespace, Event: event, Data: value, Rooms: rooms}
	if broadcast {
		return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Broadcast{Broadcast: ef}}
	}
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Emit{Emit: ef}}
}

func roomsFrame(ref uint64, namespace string, join bool, rooms ...string) *roomcastv1.ClientFrame {
	rf := &roomcastv1.RoomsFrame{Namespace: namespace, Rooms: rooms}
	if join {
		return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Join{Join: rf}}
	}
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Leave{Leave: rf}}
}

// wantReply reads the next frame, a reply to ref; an empty code wants
// success, otherwise that error code and data.code.
func wantReply(t *testing.T, st *testkit.Stream, ref uint64, code, dataCodeWant string) *roomcastv1.Reply {
	t.Helper()
	r := st.Reply()
	if r.Ref != ref {
		t.Fatalf("reply to ref %d, want %d: %v", r.Ref, ref, r)
	}
	switch {
	case code == "" && r.Error != nil:
		t.Fatalf("ref %d refused: %v", ref, r.Error)
	case code != "" && (r.Error == nil || r.Error.Code != code || dataCode(r.Error.Data) != dataCodeWant):
		t.Fatalf("ref %d: got %v, want %s with code %s", ref, r.Error, code, dataCodeWant)
	}
	return r
}

// nextReply returns the next reply, skipping the events the stream
// receives in between (a socket receives its own emits).
func nextReply(t *testing.T, st *testkit.Stream) *roomcastv1.Reply {
	t.Helper()
	for {
		f := st.Next()
		if r := f.GetReply(); r != nil {
			return r
		}
		if f.GetEvent() == nil && f.GetEvents() == nil {
			t.Fatalf("got %v while waiting for a reply", f)
		}
	}
}
