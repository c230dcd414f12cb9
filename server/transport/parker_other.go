//go:build !linux

package transport

import "errors"

// Elsewhere connections do not park: each keeps its reading goroutine.
type parker struct{}

func newParker() (*parker, error) { return nil, errors.New("transport: parking needs epoll") }

func (*parker) park(*conn) bool   { return false }
func (*parker) forget(*conn) bool { return false }
func (*parker) stop()             {}
