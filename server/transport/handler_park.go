package transport

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
)

// Parking a stream's handler. A connection that parks lets its reading
// goroutine go (parker.go), but the goroutine of each of its streams'
// handlers still waits in RecvMsg, on a stack of its own. A handler that
// can carry on from a function may let it go too: WaitOrPark waits a
// while for the next message, and when none comes it keeps the function
// and says so; the handler returns ErrParked, the stream stays open, and
// the function runs on a new goroutine once a read would not block (a
// message, the end of the stream or its context), its result taken as
// the handler's.

// ErrParked is what a handler returns once WaitOrPark has parked it.
var ErrParked = errors.New("transport: the stream's handler parked")

// WaitOrPark waits up to idle for RecvMsg to have something to return: a
// message, the end of the stream, or its context's end. Then it reports
// false. When idle passes first it registers resume and reports true, and
// the handler must return ErrParked at once, touching the stream no more.
func (st *stream) WaitOrPark(idle time.Duration, resume func() error) bool {
	st.rmu.Lock()
	if st.readyLocked() || st.ctx.Err() != nil {
		st.rmu.Unlock()
		return false
	}
	if st.parkTimer == nil {
		st.parkTimer = time.NewTimer(idle)
	} else {
		st.parkTimer.Reset(idle)
	}
	// Waiting, the handler needs every held byte, as in a read.
	st.reading = true
	credit := st.deferred
	st.deferred = 0
	st.rmu.Unlock()
	st.c.creditStream(st, credit)
wait:
	for {
		select {
		case <-st.rwake:
			// A wake may be left over from a message already read, or be
			// for part of one: only a readable stream ends the wait.
			st.rmu.Lock()
			ready := st.readyLocked()
			st.rmu.Unlock()
			if ready {
				st.parkTimer.Stop()
				st.doneWaiting()
				return false
			}
		case <-st.ctx.Done():
			st.parkTimer.Stop()
			st.doneWaiting()
			return false
		case <-st.parkTimer.C:
			break wait
		}
	}
	// The watch first: registered after the handler, it could be left
	// behind by a resume that came in between.
	stop := context.AfterFunc(st.ctx, func() {
		st.rmu.Lock()
		st.unparkLocked()
		st.rmu.Unlock()
	})
	st.rmu.Lock()
	if st.readyLocked() || st.ctx.Err() != nil {
		st.reading = false
		st.rmu.Unlock()
		stop()
		return false
	}
	// reading stays set: bytes that come now, short of a whole message,
	// are credited at once, as for a handler waiting in a read.
	st.parkedHandler, st.stopWatch = resume, stop
	st.rmu.Unlock()
	return true
}

func (st *stream) doneWaiting() {
	st.rmu.Lock()
	st.reading = false
	st.rmu.Unlock()
}

// readyLocked reports whether a read would return at once: a message,
// the end of the stream or its failure.
func (st *stream) readyLocked() bool {
	return st.readableLocked() || st.rerr != nil || st.bodyClosed
}

// unparkLocked starts a parked handler's resume, if one is parked and a
// read would return (or the context ended, which the caller knows).
func (st *stream) unparkLocked() {
	resume := st.parkedHandler
	if resume == nil {
		return
	}
	st.parkedHandler = nil
	st.reading = false
	if st.stopWatch != nil {
		st.stopWatch()
		st.stopWatch = nil
	}
	go st.c.resumeHandler(st, resume)
}

// resumeHandler carries on a parked handler, as runHandler started it.
func (c *conn) resumeHandler(st *stream, resume func() error) {
	c.handlerReturned(st, c.srv.call(st, func(grpc.ServerStream) error { return resume() }))
}
