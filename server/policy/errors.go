package policy

import "github.com/roomcast/roomcast/server"

// Messages of refusals, which clients see as connect_error messages and
// reply messages. They never contain the token or a key.
const (
	MessageUnauthorized        = "unauthorized"
	MessageTokenExpired        = "token expired"
	MessageTokenNotYetValid    = "token not yet valid"
	MessageInvalidToken        = "invalid token"
	MessageNamespaceNotAllowed = "namespace not allowed"
	MessageTenantMismatch      = "namespace not allowed for tenant"
	MessageTooManySockets      = "too many sockets"
	MessageTooManyNamespaces   = "too many namespaces"
	MessageRateLimited         = "rate limit exceeded"
	MessagePayloadTooLarge     = "payload too large"
	MessageTooManyRooms        = "too many rooms"
	MessageRoomNotAllowed      = "room not allowed"
	MessageRoomsServerOnly     = "rooms are managed by the server"
	MessageEventNotAllowed     = "event not allowed"
	MessageEmitNotAllowed      = "emit not allowed"
	MessageBroadcastNotAllowed = "broadcast not allowed"
)

// Machine-readable codes, sent as the "code" of a refusal's data, so that
// clients branch on them rather than on messages.
const (
	CodeUnauthorized        = "UNAUTHORIZED"
	CodeTokenExpired        = "TOKEN_EXPIRED"
	CodeTokenNotYetValid    = "TOKEN_NOT_YET_VALID"
	CodeInvalidToken        = "INVALID_TOKEN"
	CodeNamespaceNotAllowed = "NAMESPACE_NOT_ALLOWED"
	CodeTenantMismatch      = "TENANT_MISMATCH"
	CodeTooManySockets      = "TOO_MANY_SOCKETS"
	CodeTooManyNamespaces   = "TOO_MANY_NAMESPACES"
	CodeRateLimited         = "RATE_LIMITED"
	CodePayloadTooLarge     = "PAYLOAD_TOO_LARGE"
	CodeTooManyRooms        = "TOO_MANY_ROOMS"
	CodeRoomNotAllowed      = "ROOM_NOT_ALLOWED"
	CodeRoomsServerOnly     = "ROOMS_SERVER_ONLY"
	CodeEventNotAllowed     = "EVENT_NOT_ALLOWED"
	CodeEmitNotAllowed      = "EMIT_NOT_ALLOWED"
	CodeBroadcastNotAllowed = "BROADCAST_NOT_ALLOWED"
)

// Disconnect reasons.
const (
	// ReasonPolicyViolation ends a socket that has broken limits MaxStrikes
	// times.
	ReasonPolicyViolation = "policy violation"
	// ReasonTooManySockets ends a socket that connected while another
	// stream's connect took the namespace's last place at the same moment.
	ReasonTooManySockets = "too many sockets"
)

// refusal builds the error of a refused frame: the reply's code is a gRPC
// code name, and data carries the policy's own code plus any details.
func refusal(grpcCode, message, code string, details ...any) *server.Error {
	data := map[string]any{"code": code}
	for i := 0; i+1 < len(details); i += 2 {
		data[details[i].(string)] = details[i+1]
	}
	return &server.Error{Code: grpcCode, Message: message, Data: data}
}
