// Package bench is the load generator behind `roomcast bench`: it drives a
// roomcast server over loopback with many raw ChatService streams and
// reports one Summary.
//
// Scenarios:
//
//   - fanout: one room of subscribers and one publisher that is itself in
//     the room. The publisher keeps at most Window messages in flight and
//     counts one done when its own copy comes back, so it runs at the rate
//     the server can sustain without letting any queue grow without bound;
//     Rate fixes the rate instead (still capped by the window).
//   - rooms: Rooms rooms of SubscribersPerRoom subscribers, and Publishers
//     publishers that each own every Publishers-th room and publish to
//     their rooms in turn, with the same window.
//   - idle: Connections clients connected to "/" that do nothing; the
//     server's RSS is read from its /metrics before and after, which gives
//     the memory that one idle connection costs.
//   - churn: Clients connects per second, each a new connection that enters
//     "/", joins a room and leaves.
//
// A cluster: Addr may list the gRPC addresses of several nodes sharing a
// Redis. Subscribers are spread round-robin over them (so each room spans
// the nodes), publishers connect to the first, and every publisher has a
// witness on each other node: a client in the publisher's rooms whose
// copies, with the publisher's own, reopen the window only once a message
// has arrived on every node. The window then bounds what is in flight
// across the cluster, as it does on one server. Witnesses count in
// Clients but not as subscribers or deliveries.
//
// Every subscriber has its own gRPC connection, as separate processes
// would, and reads frames straight from the generated stream (batches
// unpacked), so the client library's overhead is not in the numbers. The
// payload is a string whose first 19 bytes are the send time in unix
// nanoseconds; latency is taken in the same process at receipt, so no
// clocks need to agree. The Socket.IO harness in bench/socketio uses the
// same payload and the same summary keys.
//
// Everything is bounded: targets must be loopback addresses, phases have
// deadlines, and cancelling the context ends the run early with a summary
// of what ran (Interrupted set).
package bench
