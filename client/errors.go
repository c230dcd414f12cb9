package client

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

var (
	// ErrClosed is returned once the client's stream has ended.
	ErrClosed = errors.New("roomcast client: stream closed")
	// ErrNotConnected is returned for frames about a namespace the socket
	// is not connected to, without asking the server.
	ErrNotConnected = errors.New("roomcast client: socket not connected")
)

// Disconnect reasons that the client itself reports to OnDisconnect; the
// server's reasons ("server namespace disconnect", "server shutting down",
// "slow consumer", ...) arrive as the server wrote them.
const (
	// ReasonClientDisconnect: Socket.Disconnect or Client.Close, as
	// Socket.IO names it.
	ReasonClientDisconnect = "io client disconnect"
	// ReasonTransportClose: the server ended the stream normally.
	ReasonTransportClose = "transport close"
	// ReasonTransportError: the stream failed.
	ReasonTransportError = "transport error"
)

// ConnectError is a refused namespace connect: the message and data of the
// namespace middleware that said no (Socket.IO's err.message and err.data).
type ConnectError struct {
	Namespace string
	// Code is the refusal's gRPC canonical code name, e.g. "PERMISSION_DENIED".
	Code    string
	Message string
	// Data is what the middleware attached, as JSON-like Go values.
	Data any
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("connect to namespace %s refused: %s", e.Namespace, e.Message)
}

// ReplyError is the server's refusal of a frame: the error of its reply.
type ReplyError struct {
	// Code is a gRPC canonical code name such as "INVALID_ARGUMENT".
	Code    string
	Message string
	Data    any
}

func (e *ReplyError) Error() string { return e.Code + ": " + e.Message }

func replyError(e *roomcastv1.Error) *ReplyError {
	return &ReplyError{Code: e.Code, Message: e.Message, Data: asInterface(e.Data)}
}

// replyResult turns a reply into the answer's data or its refusal.
func replyResult(r *roomcastv1.Reply) (*structpb.Value, error) {
	if r.Error != nil {
		return nil, replyError(r.Error)
	}
	return r.Data, nil
}
