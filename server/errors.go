package server

import (
	"errors"
	"fmt"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// Reply codes: the gRPC canonical code names, so that clients in any
// language can map a refused frame onto the error type they already have.
const (
	CodeInvalidArgument    = "INVALID_ARGUMENT"
	CodeUnauthenticated    = "UNAUTHENTICATED"
	CodeNotFound           = "NOT_FOUND"
	CodeFailedPrecondition = "FAILED_PRECONDITION"
	CodeAlreadyExists      = "ALREADY_EXISTS"
	CodePermissionDenied   = "PERMISSION_DENIED"
	CodeResourceExhausted  = "RESOURCE_EXHAUSTED"
	CodeDeadlineExceeded   = "DEADLINE_EXCEEDED"
	CodeUnavailable        = "UNAVAILABLE"
	CodeInternal           = "INTERNAL"
	// CodeUnknown is a Go handler's error that carries no code of its own.
	CodeUnknown = "UNKNOWN"
)

// Disconnect reasons, named as Socket.IO names them where it has a name.
const (
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	ReasonTransportClose            = "transport close"
	ReasonTransportError            = "transport error"
	// ReasonPingTimeout: the client did not answer the server's keepalive
	// ping in time (roomcast's transport only; on grpc-go's it shows as
	// a transport close).
	ReasonPingTimeout        = "ping timeout"
	ReasonServerShuttingDown = "server shutting down"
	ReasonSlowConsumer       = "slow consumer"
	ReasonInternalError      = "internal error"
)

// Messages of refusals that clients and tests match on.
const (
	MessageInvalidNamespace = "invalid namespace"
	MessageNotConnected     = "not connected to namespace"
)

// Error is a refusal: the error of a reply, or, returned by namespace
// middleware, a connect_error whose Data reaches the client as err.data.
type Error struct {
	Code    string
	Message string
	Data    any
	// Cause is why, in words for the operator: the hub logs it with a
	// refused connect but never sends it. A client is told "invalid
	// token"; telling it which check failed (audience, issuer, signature)
	// would coach a forger, while the operator needs exactly that to fix
	// a misconfigured issuer. It must not hold the token or a key.
	Cause error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the cause, so that errors.Is finds what the refusal was
// made of (policy.ErrTokenExpired, say) in Go code.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an Error with a code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// asError turns any error into an Error, keeping its code when it has one
// (also when wrapped); an *Error without a code gets the fallback code, so
// that every refusal carries one.
func asError(err error, fallbackCode string) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Code == "" {
			return &Error{Code: fallbackCode, Message: e.Message, Data: e.Data, Cause: e.Cause}
		}
		return e
	}
	return &Error{Code: fallbackCode, Message: err.Error()}
}

func (e *Error) proto() *roomcastv1.Error {
	data, _ := toValue(e.Data)
	return &roomcastv1.Error{Code: e.Code, Message: e.Message, Data: data}
}
