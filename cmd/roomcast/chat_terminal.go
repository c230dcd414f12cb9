package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
)

// printable keeps one message on one line and keeps other users' escape
// sequences away from the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

// lineWriter writes whole lines from several goroutines: the input loop
// and the client's event handlers.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) println(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, line)
}

// lineReader reads stdin on a goroutine of its own, so that the chat can
// also wait for the server and for ctx.
type lineReader struct {
	lines   chan string
	done    chan struct{}
	readErr error // set before lines is closed
}

func readLines(r io.Reader) *lineReader {
	lr := &lineReader{lines: make(chan string), done: make(chan struct{})}
	go func() {
		defer close(lr.lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lr.lines <- sc.Text():
			case <-lr.done:
				return
			}
		}
		lr.readErr = sc.Err()
	}()
	return lr
}

// err is why input ended, nil at EOF; valid once lines is closed.
func (lr *lineReader) err() error { return lr.readErr }

// stop lets the reading goroutine end after its current read.
func (lr *lineReader) stop() { close(lr.done) }
