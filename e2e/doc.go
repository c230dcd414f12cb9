// Package e2e tests roomcast as its users meet it: a server on a real TCP
// listener on 127.0.0.1, and clients speaking ChatService frame by frame.
package e2e
