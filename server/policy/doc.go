// Package policy turns a namespace's declared rules into namespace
// middleware: who may connect (no auth, static bearer tokens, or JWTs whose
// claims narrow the namespaces, tenant, rooms and permissions of a socket),
// which rooms clients may join, which events they may send, and how fast and
// how big. A Policy is plain data, so that the YAML loader and Go embedders
// build the same thing; ConnectMiddleware, EventMiddleware and
// RoomMiddleware are ordinary server middleware that compose with an
// embedder's own, and Apply installs all three on a namespace (ApplyPattern
// on a namespace pattern) together with the hooks that count its sockets.
// Every refusal is a *server.Error whose Data carries a machine-readable
// "code" (see errors.go); a socket that keeps breaking limits is
// disconnected with the reason "policy violation".
package policy
