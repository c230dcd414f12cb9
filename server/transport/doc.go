// Package transport is the HTTP/2 server transport roomcast serves gRPC
// clients with. It speaks gRPC over cleartext HTTP/2 (what gRPC clients
// dial with insecure credentials, grpcurl -plaintext included), serves the
// streaming methods it is given itself, and hands every other request to
// an http.Handler, normally a grpc.Server through its ServeHTTP: reflection,
// health and the admin API keep grpc-go's interceptors and behaviour.
//
// Why not grpc-go's own transport for the chat stream: it keeps three
// goroutines per connection (reader, loopy writer, keepalive) plus the
// handler's, and a read buffer, so an idle client costs about 32 KB, and
// every frame sent crosses from the sender to the loopy goroutine before it
// reaches write(2). Here a connection has one goroutine, which reads; it
// holds no read buffer while the socket has nothing to read (it waits for
// readability first, then borrows a pooled buffer, and frames stay at
// 16 KiB), and once the connection has been idle for a second it has no
// goroutine either: one epoll set waits for every such socket and starts
// a reader again when one becomes readable (parker.go, Linux); a stream
// handler that can carry on from a function may let its goroutine go the
// same way (handler_park.go). Keepalive
// is a timer, and a message is written by the goroutine that sends it, in
// one write(2) with its frame headers.
//
// What it implements of HTTP/2 (RFC 9113) is what gRPC uses: the preface
// and SETTINGS, HEADERS with CONTINUATION (HPACK through
// golang.org/x/net/http2), DATA with flow control in both directions,
// RST_STREAM, PING, WINDOW_UPDATE and GOAWAY. Frames are parsed by
// x/net/http2's Framer; what is written is framed here. Priority is
// ignored, as RFC 9113 allows. There is no TLS and no HTTP/1.1: the port
// is for gRPC clients.
package transport
