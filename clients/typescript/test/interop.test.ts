// The interop test: the TypeScript client against the Go server, next to
// the Go client. It builds `roomcast` and a small Go test server from the
// repository, starts them on free loopback ports, and drives `roomcast
// chat` (the Go client) as a child process through its stdin and stdout,
// so no Go test code is needed on the other side. Every wait is bounded,
// and every child is killed at the end.
import assert from "node:assert/strict";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { Interceptor } from "@connectrpc/connect";
import type { ServerFrame } from "../src/gen/roomcast/v1/chat_pb.js";
import {
  connect,
  ConnectError,
  Reason,
  RoomcastError,
  type Client,
  type ClientOptions,
  type EventContext,
  type Payload,
} from "../src/index.js";

// This file runs as dist/test/interop.test.js.
const tsRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const repoRoot = resolve(tsRoot, "../..");

/** How long one expected line or event may take to arrive. */
const waitMs = 10_000;
/** How long building both Go programs may take on a cold cache. */
const buildMs = 5 * 60_000;

const children: ChildProcess[] = [];
const clients: Client[] = [];
let workDir = "";
let roomcastBin = "";
let testserverBin = "";

before(
  async () => {
    workDir = await mkdtemp(join(tmpdir(), "roomcast-ts-"));
    roomcastBin = join(workDir, "roomcast");
    testserverBin = join(workDir, "testserver");
    const build = promisify(execFile);
    await Promise.all([
      build("go", ["build", "-o", roomcastBin, "./cmd/roomcast"], { cwd: repoRoot, timeout: buildMs }),
      build("go", ["build", "-o", testserverBin, "./clients/typescript/test/testserver"], { cwd: repoRoot, timeout: buildMs }),
    ]);
  },
  { timeout: buildMs + 10_000 },
);

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(children.map((c) => stop(c)));
  if (workDir) {
    await rm(workDir, { recursive: true, force: true });
  }
});

describe("with roomcast serve", () => {
  let addr = "";

  before(async () => {
    const server = start(roomcastBin, ["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"]);
    addr = await grpcAddr(server);
  });

  it("a TypeScript client and roomcast chat talk in one room, each hearing the other", { timeout: 60_000 }, async () => {
    const client = await open(addr);
    const heard = new Heard();
    const socket = client.socket("/");
    socket.on("chat message", (data, ev) => heard.add(data, ev));
    await socket.connect();
    await socket.join("interop");

    const gopher = start(roomcastBin, ["chat", "--addr", addr, "--room", "interop", "--name", "gopher"]);
    const goOut = new Lines(gopher.stdout!, "roomcast chat");
    await goOut.waitFor("* joined interop");

    // TypeScript → Go. The broadcast must not come back to its sender: the
    // marker that follows it is emitted to the room, sender included, and
    // one client's events arrive in order, so once the marker is here the
    // broadcast would have been too.
    socket.to("interop").broadcast("chat message", { name: "tsuser", text: "hello from ts" });
    socket.to("interop").emit("chat message", { name: "tsuser", text: "marker 1" });
    await goOut.waitFor("tsuser: hello from ts");
    await goOut.waitFor("tsuser: marker 1");
    const mine = await heard.waitFor((data) => text(data) === "marker 1");
    assert.equal(mine.ev.fromSid, socket.id);
    assert.deepEqual(heard.texts(), ["marker 1"], "the TypeScript sender heard its own broadcast");

    // Go → TypeScript, and the same check on the Go side: roomcast chat
    // broadcasts what is typed, so it must not print its own line.
    gopher.stdin!.write("hello from go\n");
    const fromGo = await heard.waitFor((data) => text(data) === "hello from go");
    assert.deepEqual(fromGo.data, { name: "gopher", text: "hello from go" });
    assert.notEqual(fromGo.ev.fromSid, "");
    assert.notEqual(fromGo.ev.fromSid, socket.id);
    socket.to("interop").emit("chat message", { name: "tsuser", text: "marker 2" });
    await goOut.waitFor("tsuser: marker 2");
    assert.ok(!goOut.all.includes("gopher: hello from go"), `roomcast chat heard its own broadcast:\n${goOut}`);

    // A room the Go client is not in does not reach it; the namespace does.
    socket.to("elsewhere").emit("chat message", { name: "tsuser", text: "not for gopher" });
    socket.except("elsewhere").broadcast("chat message", { name: "tsuser", text: "for everyone" });
    await goOut.waitFor("tsuser: for everyone");
    assert.ok(!goOut.all.includes("tsuser: not for gopher"), `an emit to another room reached roomcast chat:\n${goOut}`);

    gopher.stdin!.write("/who\n");
    await goOut.waitFor("* rooms: interop");
    gopher.stdin!.write("/quit\n");
    assert.equal(await exited(gopher), 0, `roomcast chat failed:\n${goOut}`);

    const reasons: string[] = [];
    socket.on("disconnect", (reason) => reasons.push(reason));
    await client.close();
    assert.deepEqual(reasons, [Reason.clientDisconnect]);
    assert.equal(socket.connected, false);
    assert.throws(() => socket.emit("chat message", "too late"), { code: "FAILED_PRECONDITION" });
  });

  it("the TypeScript example chat talks to roomcast chat", { timeout: 60_000 }, async () => {
    const gopher = start(roomcastBin, ["chat", "--addr", addr, "--room", "example", "--name", "gopher"]);
    const goOut = new Lines(gopher.stdout!, "roomcast chat");
    const tsChat = start(process.execPath, [join(tsRoot, "dist/examples/chat.js"), "--addr", addr, "--room", "example", "--name", "tsuser"]);
    const tsOut = new Lines(tsChat.stdout!, "chat.js");
    await Promise.all([goOut.waitFor("* joined example"), tsOut.waitFor("* joined example")]);
    assert.match(tsOut.all[0] ?? "", /^\* connected to \/ as tsuser \(sid \S+\)$/);

    tsChat.stdin!.write("hi gopher\n");
    await goOut.waitFor("tsuser: hi gopher");
    gopher.stdin!.write("hi tsuser\n");
    await tsOut.waitFor("gopher: hi tsuser");

    tsChat.stdin!.write("/who\n");
    await tsOut.waitFor("* rooms: example");
    tsChat.stdin!.write("/join second\n");
    await tsOut.waitFor("* joined second");
    tsChat.stdin!.write("/leave example\n");
    await tsOut.waitFor("* left example");
    tsChat.stdin!.write("/who\n");
    await tsOut.waitFor("* rooms: second");
    // Lines now go to the new room, where the Go client follows.
    gopher.stdin!.write("/join second\n");
    await goOut.waitFor("* joined second");
    tsChat.stdin!.write("in second\n");
    await goOut.waitFor("tsuser: in second");

    tsChat.stdin!.write("/quit\n");
    gopher.stdin!.end(); // end of input quits too
    assert.equal(await exited(tsChat), 0, `chat.js failed:\n${tsOut}`);
    assert.equal(await exited(gopher), 0, `roomcast chat failed:\n${goOut}`);
  });
});

describe("the TypeScript example chat's options", () => {
  it("the TypeScript example chat prints its usage with --help", { timeout: 30_000 }, async () => {
    for (const flag of ["--help", "-h"]) {
      const chat = start(process.execPath, [join(tsRoot, "dist/examples/chat.js"), flag]);
      const out = new Lines(chat.stdout!, "chat.js");
      assert.equal(await exited(chat), 0);
      await out.waitFor(/^usage: /);
      await out.waitFor(/^  --token TOKEN /);
    }
    const bad = start(process.execPath, [join(tsRoot, "dist/examples/chat.js"), "--tokn", "x"]);
    const badErr = new Lines(bad.stderr!, "chat.js stderr");
    assert.equal(await exited(bad), 2);
    await badErr.waitFor(/^chat: Unknown option '--tokn'/);
    await badErr.waitFor(/^usage: /);
  });
});

describe("with the Go test server", () => {
  let addr = "";
  let server: ChildProcess;

  before(async () => {
    server = start(testserverBin, []);
    addr = await grpcAddr(server);
  });

  it("a middleware's refusal reaches the TypeScript client with its message and data", { timeout: 30_000 }, async () => {
    const client = await open(addr);
    const socket = client.socket("/secret");
    const seen: ConnectError[] = [];
    socket.on("connect_error", (err) => seen.push(err));

    const refusal = await socket.connect().then(
      () => assert.fail("the connect without a token was admitted"),
      (err: unknown) => err,
    );
    assert.ok(refusal instanceof ConnectError, `not a ConnectError: ${String(refusal)}`);
    assert.equal(refusal.message, "unauthorized");
    assert.deepEqual(refusal.data, { code: "NO_TOKEN" });
    assert.equal(refusal.code, "PERMISSION_DENIED");
    assert.equal(refusal.namespace, "/secret");
    assert.deepEqual(seen, [refusal]);
    assert.equal(socket.connected, false);

    // The same socket may try again, with the handshake auth that works.
    await socket.connect({ auth: { token: "s3cret" } });
    assert.ok(socket.id, "no sid after the connect");
    await client.close();
  });

  it("emitWithAck is answered by a Go handler, or refused with its code and message", { timeout: 30_000 }, async () => {
    const client = await open(addr);
    const socket = await client.connect("/");
    assert.deepEqual(await socket.emitWithAck("ping", { n: 1 }), { pong: { n: 1 } });
    await assert.rejects(socket.emitWithAck("fail", null), (err: unknown) => {
      assert.ok(err instanceof RoomcastError);
      assert.equal(err.code, "INVALID_ARGUMENT");
      assert.equal(err.message, "fail always fails");
      return true;
    });
    // Frames the server refuses are answered with a code too.
    await assert.rejects(socket.to(socket.id!).emitWithAck("connect"), { code: "INVALID_ARGUMENT" });
    await assert.rejects(socket.leave(socket.id!), { code: "INVALID_ARGUMENT" });
    await client.close();
  });

  it("the Go server's EmitWithAck is answered by a TypeScript handler", { timeout: 30_000 }, async () => {
    const client = await open(addr);
    const socket = client.socket("/");
    const answered = new Heard();
    socket.on("answered", (data, ev) => answered.add(data, ev));
    // An async handler: what its promise resolves to is the answer.
    socket.on("ask", async (question) => {
      const q = question as { a: number; b: number };
      await new Promise((r) => setTimeout(r, 10));
      return { product: q.a * q.b };
    });
    await socket.connect();

    socket.emit("ask me", { a: 6, b: 7 });
    const ok = await answered.waitFor(() => true);
    assert.deepEqual(ok.data, { answer: { product: 42 } });
    assert.equal(ok.ev.fromSid, "", "a server emit has no sender");

    // A handler that throws refuses the acknowledgement with its message.
    socket.on("ask", () => {
      throw new Error("no idea");
    });
    socket.emit("ask me", { a: 1, b: 2 });
    const refused = await answered.waitFor((data) => isRecord(data) && "error" in data);
    assert.deepEqual(refused.data, { error: "no idea" });
    await client.close();
  });

  it("events packed into one frame arrive one by one, in order", { timeout: 30_000 }, async () => {
    let packed = 0;
    const countPacked: Interceptor = (next) => async (req) => {
      const res = await next(req);
      if (!res.stream) {
        return res;
      }
      return {
        ...res,
        message: (async function* () {
          for await (const frame of res.message as AsyncIterable<ServerFrame>) {
            if (frame.frame.case === "events") {
              packed++;
            }
            yield frame;
          }
        })(),
      } as typeof res;
    };
    const client = await open(addr, { interceptors: [countPacked] });
    const socket = client.socket("/");
    const items: number[] = [];
    socket.on("burst item", (data) => {
      items.push(data as number);
    });
    await socket.connect();

    const n = 1000;
    assert.equal(await socket.emitWithAck("burst", n), n);
    await until(() => items.length >= n, () => `${items.length} of ${n} burst items arrived`);
    assert.deepEqual(items, Array.from({ length: n }, (_, i) => i));
    assert.ok(packed > 0, "the server sent no `events` frame: the test shows nothing about them");
    await client.close();
  });

  it("emitWithAck gives up after its timeout or when its signal aborts", { timeout: 30_000 }, async () => {
    const client = await open(addr);
    const socket = await client.connect("/");
    // "slow" answers after the given milliseconds.
    await assert.rejects(socket.emitWithAck("slow", 1_000, { timeout: 100 }), (err: unknown) => {
      assert.ok(err instanceof RoomcastError);
      assert.equal(err.code, "DEADLINE_EXCEEDED");
      return true;
    });
    await assert.rejects(socket.emitWithAck("slow", 1_000, { signal: AbortSignal.timeout(100) }), { name: "TimeoutError" });
    // The stream is still good for the calls that follow.
    assert.deepEqual(await socket.emitWithAck("slow", 1), "slept");
    await client.close();
  });

  it("both example chats enter a namespace that requires a token with --token", { timeout: 60_000 }, async () => {
    const args = ["--addr", addr, "--namespace", "/secret", "--room", "vault"];
    const tsChat = start(process.execPath, [join(tsRoot, "dist/examples/chat.js"), ...args, "--name", "tsuser", "--token", "s3cret"]);
    const gopher = start(roomcastBin, ["chat", ...args, "--name", "gopher", "--token", "s3cret"]);
    const tsOut = new Lines(tsChat.stdout!, "chat.js");
    const goOut = new Lines(gopher.stdout!, "roomcast chat");
    await Promise.all([tsOut.waitFor("* joined vault"), goOut.waitFor("* joined vault")]);
    assert.match(tsOut.all[0] ?? "", /^\* connected to \/secret as tsuser \(sid \S+\)$/);
    tsChat.stdin!.write("behind the door\n");
    await goOut.waitFor("tsuser: behind the door");
    tsChat.stdin!.end();
    gopher.stdin!.end();
    assert.equal(await exited(tsChat), 0, `chat.js failed:\n${tsOut}`);
    assert.equal(await exited(gopher), 0, `roomcast chat failed:\n${goOut}`);

    // Without the token, the refusal and its data are what the user reads.
    const refused = start(process.execPath, [join(tsRoot, "dist/examples/chat.js"), ...args, "--name", "mallory"]);
    const refusedErr = new Lines(refused.stderr!, "chat.js stderr");
    assert.equal(await exited(refused), 1);
    await refusedErr.waitFor('chat: refused: unauthorized (PERMISSION_DENIED) {"code":"NO_TOKEN"}');
  });

  it("the server's shutdown reaches disconnect listeners with its reason", { timeout: 30_000 }, async () => {
    const client = await open(addr);
    const socket = await client.connect("/");
    const reason = new Promise<string>((resolve) => socket.on("disconnect", resolve));
    server.stdin!.end(); // the test server stops when its input ends
    assert.equal(await bounded(reason, "the disconnect"), "server shutting down");
    await bounded(client.done, "the end of the stream");
    assert.ok(client.error instanceof RoomcastError);
    await assert.rejects(socket.emitWithAck("ping"), { code: "FAILED_PRECONDITION" });
    assert.equal(await exited(server), 0);
  });
});

/** open connects a client that the suite closes at the end if a test did not. */
async function open(addr: string, options: ClientOptions = {}): Promise<Client> {
  const client = await connect(addr, { timeout: waitMs, ...options });
  clients.push(client);
  return client;
}

/** start runs a child process with piped stdio, killed at the end of the suite. */
function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  return child;
}

// Should the suite die before its after hook, no server outlives it.
process.on("exit", () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
  }
});

/**
 * grpcAddr reads the gRPC address from the server's log line
 * (`grpc_addr=HOST:PORT`), and keeps draining its log afterwards so that a
 * full pipe never stalls it.
 */
async function grpcAddr(server: ChildProcess): Promise<string> {
  const log = new Lines(server.stderr!, "server log");
  const line = await log.waitFor(/grpc_addr=\S+/);
  return /grpc_addr=(\S+)/.exec(line)![1]!;
}

/** stop ends a child: politely, then for sure. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  child.stdin?.end();
  child.kill("SIGTERM");
  const gone = await Promise.race([exited(child).then(() => true), sleep(5_000).then(() => false)]);
  if (!gone) {
    child.kill("SIGKILL");
  }
}

/** exited resolves with the child's exit code (-1 when a signal ended it), within waitMs. */
function exited(child: ChildProcess): Promise<number> {
  const code = new Promise<number>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.exitCode ?? -1);
      return;
    }
    child.once("exit", (c) => resolve(c ?? -1));
  });
  return bounded(code, "the process to exit");
}

/** Lines collects a stream's lines and waits for expected ones. */
class Lines {
  readonly all: string[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    stream: Readable,
    private readonly label: string,
  ) {
    createInterface({ input: stream }).on("line", (line) => {
      this.all.push(line);
      for (const w of [...this.waiters]) {
        w();
      }
    });
  }

  /** waitFor resolves with the first line, seen already or to come, that is or matches `want`. */
  waitFor(want: string | RegExp): Promise<string> {
    const matches = (line: string) => (typeof want === "string" ? line === want : want.test(line));
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.all.find(matches);
        if (line !== undefined) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(line);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.label}: no line ${String(want)} within ${waitMs} ms; got:\n${this}`));
      }, waitMs);
      this.waiters.add(check);
      check();
    });
  }

  toString(): string {
    return this.all.map((l) => `  | ${l}`).join("\n");
  }
}

/** Heard collects the events a handler received. */
class Heard {
  readonly events: Array<{ data: Payload; ev: EventContext }> = [];

  add(data: Payload, ev: EventContext): void {
    this.events.push({ data, ev });
  }

  texts(): string[] {
    return this.events.map((e) => text(e.data) ?? JSON.stringify(e.data));
  }

  async waitFor(match: (data: Payload) => boolean): Promise<{ data: Payload; ev: EventContext }> {
    await until(
      () => this.events.some((e) => match(e.data)),
      () => `no such event; got ${JSON.stringify(this.events.map((e) => e.data))}`,
    );
    return this.events.find((e) => match(e.data))!;
  }
}

function text(data: Payload): string | undefined {
  return isRecord(data) && typeof data["text"] === "string" ? data["text"] : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** until polls a condition for at most waitMs. */
async function until(condition: () => boolean, describe: () => string): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${waitMs} ms: ${describe()}`);
    }
    await sleep(10);
  }
}

/** bounded rejects when p takes longer than waitMs. */
function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${waitMs} ms waiting for ${what}`)), waitMs);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
