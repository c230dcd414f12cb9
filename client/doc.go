// Package client is the Go client of a roomcast server: Socket.IO's client
// model over one gRPC stream. Dial opens one ChatService/Connect stream per
// Client; each namespace the client enters is a Socket with its own sid,
// rooms and event handlers, multiplexed on that stream. A Socket emits to
// its whole namespace or, through the immutable To/Except/Volatile
// operators, to rooms; Broadcast never reaches the sender; EmitWithAck,
// Join and Leave wait for the server's reply. Events reach the handlers
// registered with On in the order the server sent them, on one goroutine
// per Client, so a handler may itself emit and wait for replies. A handler's
// result answers an event that asked for an acknowledgement.
//
// Sockets outlive their connection: handlers stay registered and Connect
// may be called again, which is what automatic reconnection will build on.
package client
