package main

import (
	"context"
	"errors"
	"io"
)

func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not yet")
}
