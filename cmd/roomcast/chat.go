package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/roomcast/roomcast/client"
)

// chatEvent is the event of Socket.IO's chat example, so that its users,
// grpcurl users and this command talk to each other.
const chatEvent = "chat message"

const chatHelp = `* commands: /join ROOM, /leave [ROOM], /who, /quit; any other line is sent to the current room`

func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("chat", "Socket.IO's chat example in a terminal: lines typed go to the room.\n"+strings.TrimPrefix(chatHelp, "* "), stderr)
	addr := fs.String("addr", "localhost:50051", "server address, HOST:PORT")
	namespace := fs.String("namespace", "/", "namespace to connect to")
	room := fs.String("room", "general", "room to join and talk in; empty talks to the whole namespace")
	name := fs.String("name", defaultChatName(), "your name in the chat")
	token := fs.String("token", "", "bearer token for a namespace that requires one, sent as the connect's auth {\"token\": ...}; "+
		"ROOMCAST_TOKEN keeps it out of the process list")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	c, err := client.Dial(ctx, *addr)
	if err != nil {
		return err
	}
	defer c.Close()

	out := &lineWriter{w: stdout}
	c.OnError(func(err error) { out.println("! " + describeRefusal(err)) })
	s := c.Socket(*namespace)
	s.On(chatEvent, func(e *client.Event) (any, error) {
		out.println(formatChatMessage(e))
		return nil, nil
	})
	ended := make(chan string, 1)
	s.OnDisconnect(func(reason string) {
		select {
		case ended <- reason:
		default:
		}
	})
	if err := s.Connect(ctx, chatAuth(*token)); err != nil {
		return withConnectData(err)
	}
	out.println(fmt.Sprintf("* connected to %s as %s (sid %s)", *namespace, *name, s.ID()))

	chat := &chatSession{socket: s, name: *name, out: out}
	if *room != "" {
		if err := chat.join(ctx, *room); err != nil {
			return fmt.Errorf("join %s: %s", *room, describeRefusal(err))
		}
	}

	input := readLines(stdin)
	defer input.stop()
	for {
		select {
		case line, ok := <-input.lines:
			if !ok {
				return chat.quit(ctx, input.err())
			}
			if chat.handle(ctx, line) {
				return chat.quit(ctx, nil)
			}
		case reason := <-ended:
			return fmt.Errorf("disconnected by the server: %s", reason)
		case <-ctx.Done():
			return chat.quit(context.WithoutCancel(ctx), nil)
		}
	}
}

// chatSession is what the command knows between lines: whom it talks to.
type chatSession struct {
	socket *client.Socket
	name   string
	room   string // where plain lines go; empty is the whole namespace
	out    *lineWriter
}

// handle acts on one line of input and reports whether the user quits.
func (c *chatSession) handle(ctx context.Context, line string) (quit bool) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return false
	}
	if !strings.HasPrefix(line, "/") {
		c.say(ctx, line)
		return false
	}
	command, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch command {
	case "/join":
		if arg == "" {
			c.out.println("! usage: /join ROOM")
			return false
		}
		if err := c.join(ctx, arg); err != nil {
			c.out.println("! join " + arg + ": " + describeRefusal(err))
		}
	case "/leave":
		c.leave(ctx, arg)
	case "/who":
		c.who()
	case "/quit":
		return true
	case "/help":
		c.out.println(chatHelp)
	default:
		c.out.println("! unknown command " + command + "; " + strings.TrimPrefix(chatHelp, "* "))
	}
	return false
}

// say broadcasts a line: the sender has it on screen already.
func (c *chatSession) say(ctx context.Context, text string) {
	message := map[string]any{"name": c.name, "text": text}
	var err error
	if c.room == "" {
		err = c.socket.Broadcast(ctx, chatEvent, message)
	} else {
		err = c.socket.To(c.room).Broadcast(ctx, chatEvent, message)
	}
	if err != nil {
		c.out.println("! not sent: " + describeRefusal(err))
	}
}

// join enters a room and makes it the one lines go to.
func (c *chatSession) join(ctx context.Context, room string) error {
	if err := c.socket.Join(ctx, room); err != nil {
		return err
	}
	c.room = room
	c.out.println("* joined " + room)
	return nil
}

func (c *chatSession) leave(ctx context.Context, room string) {
	if room == "" {
		room = c.room
	}
	if room == "" {
		c.out.println("! usage: /leave ROOM")
		return
	}
	if err := c.socket.Leave(ctx, room); err != nil {
		c.out.println("! leave " + room + ": " + describeRefusal(err))
		return
	}
	c.out.println("* left " + room)
	if room != c.room {
		return
	}
	// Lines go on to a room the user is still in, as they would expect
	// after leaving a room they had joined on top of another; only with no
	// room left do they go to the whole namespace.
	c.room = ""
	for _, r := range c.socket.Rooms() {
		if r != c.socket.ID() {
			c.room = r
		}
	}
	if c.room != "" {
		c.out.println("* now talking to " + c.room)
		return
	}
	c.out.println("* now talking to everyone in " + c.socket.Namespace())
}

// who lists the rooms the user joined; the socket's own sid-room is an
// implementation detail of private messages.
func (c *chatSession) who() {
	rooms := slices.DeleteFunc(c.socket.Rooms(), func(r string) bool { return r == c.socket.ID() })
	if len(rooms) == 0 {
		c.out.println("* rooms: (none)")
		return
	}
	c.out.println("* rooms: " + strings.Join(rooms, ", "))
}

// quitTimeout bounds the goodbye to a server that no longer answers.
const quitTimeout = 2 * time.Second

// quit leaves the namespace politely; Close would end it anyway, but a
// namespace disconnect tells the server it was on purpose.
func (c *chatSession) quit(ctx context.Context, inputErr error) error {
	ctx, cancel := context.WithTimeout(ctx, quitTimeout)
	defer cancel()
	_ = c.socket.Disconnect(ctx)
	return inputErr
}

// formatChatMessage prints Socket.IO chat messages as "name: text", and
// anything else, such as a grpcurl user's plain string, after the
// sender's sid.
func formatChatMessage(e *client.Event) string {
	from := e.FromSID
	if from == "" {
		from = "server"
	}
	switch data := e.Value().(type) {
	case map[string]any:
		name, hasName := data["name"].(string)
		text, hasText := data["text"].(string)
		if hasName && hasText {
			return printable(name) + ": " + printable(text)
		}
	case string:
		return printable(from) + ": " + printable(data)
	case nil:
		if len(e.Binary) > 0 {
			return fmt.Sprintf("%s: <%d bytes>", printable(from), len(e.Binary))
		}
	}
	raw, _ := json.Marshal(e.Value())
	return printable(from) + ": " + printable(string(raw))
}

// describeRefusal words the server's refusals for a person.
func describeRefusal(err error) string {
	var re *client.ReplyError
	if !errors.As(err, &re) {
		return err.Error()
	}
	text := fmt.Sprintf("refused: %s (%s)", re.Message, re.Code)
	if re.Data != nil {
		raw, _ := json.Marshal(re.Data)
		text += " " + string(raw)
	}
	return text
}

// withConnectData adds the middleware's data to a connect refusal, which
// is often what says why (a missing token, an expired one).
func withConnectData(err error) error {
	var ce *client.ConnectError
	if !errors.As(err, &ce) || ce.Data == nil {
		return err
	}
	raw, _ := json.Marshal(ce.Data)
	return fmt.Errorf("%w %s", err, raw)
}

// chatAuth is the connect's handshake auth: Socket.IO's auth.token,
// which namespace policies read before the stream's metadata; none
// without a token, so that open namespaces see no auth at all.
func chatAuth(token string) map[string]any {
	if token == "" {
		return nil
	}
	return map[string]any{"token": token}
}

func defaultChatName() string {
	if user := os.Getenv("USER"); user != "" {
		return user
	}
	return "guest"
}
