// Package redis is the adapter that lets several roomcast nodes act as one
// server, as Socket.IO's Redis adapter does: each node keeps the room index
// of its own sockets in memory, publishes every broadcast to Redis once,
// and delivers what other nodes publish to its own sockets. The admin
// API's cluster-wide requests (fetch sockets, join, leave, disconnect,
// room sizes, namespaces) go to every live node, each answering for its
// sockets, with a timeout and the list of nodes that did not answer.
//
// Channels are per namespace, so a node only receives broadcasts of
// namespaces it has. On one Redis they use sharded pub/sub
// (SPUBLISH/SSUBSCRIBE) when it has it (7.0 and later); on a Redis Cluster
// (a go-redis ClusterClient; ParseURL reads redis+cluster:// URLs), plain
// pub/sub, which reaches every node of the cluster, since a node listens
// to channels of many slots on one connection. Messages are protobuf
// (roomcast.cluster.v1).
//
// Guarantees: each broadcast reaches each socket at most once, and the
// broadcasts of one node arrive at every socket in the order they were
// published. While Redis is unreachable, local delivery goes on and
// cross-node broadcasts are dropped (at most once); delivery resumes by
// itself when Redis is back. A node that stops heartbeating drops out of
// cluster answers after NodeTTL.
package redis
