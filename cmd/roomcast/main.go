// Command roomcast is the roomcast server and its tools in one binary:
//
//	roomcast serve   the chat server (gRPC) with health on the HTTP port
//	roomcast chat    Socket.IO's chat example in a terminal
//	roomcast bench   load against a server on this machine, with a JSON summary
//	roomcast token   a signed JWT for trying out namespaces with auth type jwt
//
// Every flag can also be set by a ROOMCAST_* environment variable named
// after it (--grpc-addr is ROOMCAST_GRPC_ADDR); a flag on the command line
// wins over the environment. serve's settings can also come from its
// configuration file (--config, key grpc_addr), below both.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: roomcast <command> [flags]

commands:
  serve   run the server
  chat    chat in a terminal
  bench   load a server on this machine: fanout, rooms, idle, churn
  token   sign a JWT (HS256) for namespaces with auth type jwt, for tests and scripts

Run "roomcast <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stderr)
	case "chat":
		err = runChat(ctx, args[1:], stdin, stdout, stderr)
	case "bench":
		err = runBench(ctx, args[1:], stdout, stderr)
	case "token":
		err = runToken(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "roomcast: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0 // -h: the usage, printed by the flag set, is the answer
	case err != nil:
		fmt.Fprintf(stderr, "roomcast %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
