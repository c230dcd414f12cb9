// The terminal chat of Socket.IO's chat example in TypeScript: it talks to
// `roomcast chat` (the Go one), grpcurl users and other copies of itself,
// because all of them send the event "chat message" with data
// {"name", "text"} to a room.
//
//   npm run build && node dist/examples/chat.js --addr localhost:50051 --room general --name alice
//
// Lines typed are broadcast to the room; /join ROOM, /leave [ROOM], /who
// and /quit do what they say. --token enters a namespace that requires
// one; --help lists the options.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { connect, RoomcastError, type Payload, type Socket } from "../src/index.js";

/** The event of Socket.IO's chat example. */
const chatEvent = "chat message";

interface ChatMessage {
  name: string;
  text: string;
}

/**
 * What this chat listens to and emits. Others may send anything under the
 * event name (a grpcurl user's plain string), hence Payload when listening.
 */
type Listen = { [chatEvent]: Payload };
type Emit = { [chatEvent]: ChatMessage };

const help = "* commands: /join ROOM, /leave [ROOM], /who, /quit; any other line is sent to the current room";

const usage = `usage: node dist/examples/chat.js [options]

Socket.IO's chat example in a terminal: lines typed go to the room.
${help.slice(2)}

options:
  --addr HOST:PORT    server address (default localhost:50051)
  --namespace NAME    namespace to connect to (default /)
  --room ROOM         room to join and talk in; empty talks to the whole namespace (default general)
  --name NAME         your name in the chat (default $USER)
  --token TOKEN       bearer token for a namespace that requires one, sent as the connect's
                      auth {"token": ...} (default $ROOMCAST_TOKEN; the environment keeps it
                      out of the process list)
  -h, --help          print this and exit
`;

/** Options are the command line's, or undefined when the user asked for help. */
interface Options {
  addr: string;
  namespace: string;
  room: string;
  name: string;
  token: string;
}

function parseOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      addr: { type: "string", default: "localhost:50051" },
      namespace: { type: "string", default: "/" },
      room: { type: "string", default: "general" },
      name: { type: "string", default: process.env["USER"] || "guest" },
      token: { type: "string", default: process.env["ROOMCAST_TOKEN"] ?? "" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    return undefined;
  }
  return values as Options;
}

async function main(): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions();
  } catch (err) {
    process.stderr.write(`chat: ${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(usage);
    return 0;
  }
  const { addr, namespace, room, name, token } = options;

  const client = await connect(addr);
  client.onError((err) => say(`! ${describe(err)}`));
  const socket = client.socket<Listen, Emit>(namespace);
  socket.on(chatEvent, (data, ev) => say(formatMessage(data, ev.fromSid)));

  let quitting = false;
  const serverEnded = new Promise<string>((resolve) =>
    socket.on("disconnect", (reason) => {
      if (!quitting) resolve(reason);
    }),
  );

  try {
    // Socket.IO's auth.token, which namespace policies read first; no
    // auth at all without a token, so open namespaces see none.
    await socket.connect(token === "" ? {} : { auth: { token } });
  } catch (err) {
    await client.close();
    throw err;
  }
  say(`* connected to ${namespace} as ${name} (sid ${socket.id})`);

  const chat = new Chat(socket, name);
  if (room !== "") {
    try {
      await chat.join(room);
    } catch (err) {
      await client.close();
      throw new Error(`join ${room}: ${describe(err)}`);
    }
  }

  // Lines are handled one at a time, in order, as they are typed.
  const lines = createInterface({ input: process.stdin, terminal: false });
  const input = (async () => {
    for await (const line of lines) {
      if (await chat.handle(line)) {
        break;
      }
    }
  })();
  const ended = await Promise.race([input.then(() => undefined), serverEnded]);
  lines.close();
  quitting = true;
  if (ended !== undefined) {
    await client.close();
    process.stderr.write(`disconnected by the server: ${ended}\n`);
    return 1;
  }
  // Leave politely; close would end the socket anyway, but a namespace
  // disconnect tells the server it was on purpose.
  await socket.disconnect({ timeout: 2000 }).catch(() => {});
  await client.close();
  return 0;
}

/** Chat is what the command knows between lines: whom it talks to. */
class Chat {
  /** Where plain lines go; empty is the whole namespace. */
  private room = "";

  constructor(
    private readonly socket: Socket<Listen, Emit>,
    private readonly name: string,
  ) {}

  /** handle acts on one line and resolves true when the user quits. */
  async handle(raw: string): Promise<boolean> {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") {
      return false;
    }
    if (!line.startsWith("/")) {
      this.send(line);
      return false;
    }
    const trimmed = line.trim();
    const space = trimmed.indexOf(" ");
    const command = space < 0 ? trimmed : trimmed.slice(0, space);
    const arg = space < 0 ? "" : trimmed.slice(space + 1).trim();
    switch (command) {
      case "/join":
        if (arg === "") {
          say("! usage: /join ROOM");
        } else {
          await this.join(arg).catch((err) => say(`! join ${arg}: ${describe(err)}`));
        }
        break;
      case "/leave":
        await this.leave(arg);
        break;
      case "/who":
        this.who();
        break;
      case "/quit":
        return true;
      case "/help":
        say(help);
        break;
      default:
        say(`! unknown command ${command}; ${help.slice(2)}`);
    }
    return false;
  }

  /** send broadcasts a line: the sender has it on screen already. */
  private send(text: string): void {
    const message = { name: this.name, text };
    try {
      const target = this.room === "" ? this.socket : this.socket.to(this.room);
      target.broadcast(chatEvent, message);
    } catch (err) {
      say(`! not sent: ${describe(err)}`);
    }
  }

  /** join enters a room and makes it the one lines go to. */
  async join(room: string): Promise<void> {
    await this.socket.join(room);
    this.room = room;
    say(`* joined ${room}`);
  }

  private async leave(arg: string): Promise<void> {
    const room = arg || this.room;
    if (room === "") {
      say("! usage: /leave ROOM");
      return;
    }
    try {
      await this.socket.leave(room);
    } catch (err) {
      say(`! leave ${room}: ${describe(err)}`);
      return;
    }
    say(`* left ${room}`);
    if (room === this.room) {
      this.room = "";
      say(`* now talking to everyone in ${this.socket.namespace}`);
    }
  }

  /**
   * who lists the rooms the user joined; the socket's own sid-room is an
   * implementation detail of private messages.
   */
  private who(): void {
    const rooms = this.socket.rooms.filter((r) => r !== this.socket.id);
    say(`* rooms: ${rooms.length === 0 ? "(none)" : rooms.join(", ")}`);
  }
}

/**
 * formatMessage prints chat messages as "name: text", and anything else,
 * such as a grpcurl user's plain string, after the sender's sid.
 */
function formatMessage(data: Payload, fromSid: string): string {
  const from = fromSid || "server";
  if (typeof data === "object" && data !== null && !Array.isArray(data) && !(data instanceof Uint8Array)) {
    const { name, text } = data;
    if (typeof name === "string" && typeof text === "string") {
      return `${printable(name)}: ${printable(text)}`;
    }
  }
  if (typeof data === "string") {
    return `${printable(from)}: ${printable(data)}`;
  }
  if (data instanceof Uint8Array) {
    return `${printable(from)}: <${data.length} bytes>`;
  }
  return `${printable(from)}: ${printable(JSON.stringify(data ?? null))}`;
}

/** describe words the server's refusals for a person. */
function describe(err: unknown): string {
  if (!(err instanceof RoomcastError)) {
    return err instanceof Error ? err.message : String(err);
  }
  const data = err.data === undefined ? "" : ` ${JSON.stringify(err.data)}`;
  return `refused: ${err.message} (${err.code})${data}`;
}

/**
 * printable keeps one message on one line and keeps other users' escape
 * sequences away from the terminal.
 */
function printable(s: string): string {
  return s.replace(/\t/g, " ").replace(/[\p{Cc}]/gu, "\uFFFD");
}

function say(line: string): void {
  process.stdout.write(line + "\n");
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`chat: ${describe(err)}\n`);
    process.exitCode = 1;
  },
);
