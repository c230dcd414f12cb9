// Package server is roomcast's hub: Socket.IO's namespaces, sockets, rooms,
// middleware and acknowledgements, served over one gRPC stream per client.
//
// A frame travels in one direction: the gRPC stream and its interceptors
// (interceptor.go runs namespace middleware), the client that handles it
// (client.go, frames.go), the namespace and its adapter that resolve rooms
// (namespace.go, server/adapter), and each recipient's writer (writer.go),
// which packs what is queued for a client into one frame.
//
// Embedding:
//
//	srv := server.New()
//	srv.Of("/chat").Use(auth).On("hello", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
//		return "hi " + s.ID(), nil
//	})
//	g := srv.NewGRPCServer()
//	g.Serve(lis)
package server
