package server

import (
	"fmt"
	"runtime/debug"
)

// onFreshStack runs f on a goroutine of its own and waits for it. A stream
// handler reads its stream for hours with a few KB of stack in use, but a
// namespace connect runs deep (middleware verifying a JWT, hooks, logging):
// run there, it would grow the handler's stack to 16 KB, and the runtime
// never shrinks a stack with more than a quarter of it in use, so every
// idle client of a secured namespace would keep 8 KB more. A connect
// happens once per namespace per client; the goroutine is cheap beside it.
// A panic in f is raised again in the caller, with f's stack in its value,
// and so is f ending its goroutine (runtime.Goexit), which would otherwise
// look like a return with nothing decided.
func onFreshStack(f func()) {
	var p any
	returned := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				p = fmt.Sprintf("%v\n\n%s", r, debug.Stack())
			}
		}()
		f()
		returned = true
	}()
	<-done
	if p != nil {
		panic(p)
	}
	if !returned {
		panic("a connect ended its goroutine (runtime.Goexit) without returning")
	}
}
