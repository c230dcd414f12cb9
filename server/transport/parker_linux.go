package transport

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"
)

// parker waits for the sockets of parked connections with one epoll
// instance and one goroutine for all of them, and gives a connection whose
// socket becomes readable a reading goroutine again. Each socket is
// registered one-shot: it wakes the parker once per park.
type parker struct {
	epfd   int
	wakefd int // an eventfd in the set: written to stop the parker

	mu      sync.Mutex
	byFD    map[int]*conn // parked connections, by their socket
	stopped bool
	done    chan struct{}
}

func newParker() (*parker, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, err
	}
	p := &parker{epfd: epfd, wakefd: wakefd, byFD: make(map[int]*conn), done: make(chan struct{})}
	go p.run()
	return p, nil
}

// park registers c's socket and marks c parked. It reports false when it
// could not, and c must keep reading itself. Once it returns true the
// caller must not touch c's reading state: the parker may already have
// handed it to a new goroutine.
func (p *parker) park(c *conn) bool {
	if c.r.raw == nil {
		return false
	}
	ok := false
	err := c.r.raw.Control(func(fd uintptr) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.stopped {
			return
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
		// The socket stays in the set after it fired, disarmed: the first
		// park adds it, later ones rearm it.
		op := unix.EPOLL_CTL_MOD
		if c.parkFD < 0 {
			op = unix.EPOLL_CTL_ADD
		}
		err := unix.EpollCtl(p.epfd, op, int(fd), &ev)
		switch {
		case errors.Is(err, unix.ENOENT):
			err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
		case errors.Is(err, unix.EEXIST):
			err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
		}
		if err != nil {
			return
		}
		c.parkFD = int(fd)
		c.parked = true
		p.byFD[int(fd)] = c
		ok = true
	})
	return err == nil && ok
}

// take unparks c if it is parked, reporting whether it was: the caller
// then holds c's reading, to resume or to end.
func (p *parker) take(c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	took := c.parked
	c.parked = false
	return took
}

// forget drops c, which has closed. Closing its socket took it out of the
// epoll set. It reports whether c was parked: then no goroutine reads it,
// and the caller ends its reading.
func (p *parker) forget(c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.parkFD >= 0 && p.byFD[c.parkFD] == c {
		delete(p.byFD, c.parkFD)
	}
	took := c.parked
	c.parked = false
	return took
}

func (p *parker) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == p.wakefd {
				return
			}
			p.mu.Lock()
			c := p.byFD[fd]
			p.mu.Unlock()
			// The socket may have closed and its number gone to another
			// parked connection since: a wake-up it does not need costs
			// it one wait, and then it parks again.
			if c != nil && p.take(c) {
				go c.readFrames()
			}
		}
	}
}

// stop ends the parker's goroutine; connections that park afterwards keep
// their own.
func (p *parker) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	p.mu.Unlock()
	one := [8]byte{1}
	_, _ = unix.Write(p.wakefd, one[:])
	<-p.done
	unix.Close(p.epfd)
	unix.Close(p.wakefd)
}
