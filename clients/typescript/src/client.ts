import type * as http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError as RpcError,
  createClient,
  type Client as RpcClient,
  type Interceptor,
} from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  ChatService,
  ClientFrameSchema,
  type ClientFrame,
  type Event,
  type Reply,
  type ServerFrame,
} from "./gen/roomcast/v1/chat_pb.js";
import { Reason, RoomcastError } from "./errors.js";
import { Outbox } from "./outbox.js";
import {
  replyError,
  Socket,
  type CallOptions,
  type DefaultEvents,
  type EventsMap,
  type FrameBody,
  type Link,
  type SocketConnectOptions,
} from "./socket.js";

/** Options of connect. */
export interface ClientOptions {
  /**
   * Metadata (gRPC headers) of the stream, such as `authorization`: the
   * handshake that namespace middleware sees, with each connect's auth.
   */
  metadata?: Record<string, string>;
  /**
   * Milliseconds to wait for the connection, and the default bound of every
   * call that waits for the server (connect, join, leave, emitWithAck).
   * 10 s unless set; Infinity waits for ever.
   */
  timeout?: number;
  /**
   * Interval of HTTP/2 PINGs that notice a vanished server, in
   * milliseconds; 30 s unless set. The server refuses pings more often than
   * every 10 s.
   */
  keepaliveMs?: number;
  /** Node's HTTP/2 session options, e.g. TLS settings for an https:// address. */
  nodeOptions?: http2.ClientSessionOptions | http2.SecureClientSessionOptions;
  /**
   * Connect interceptors of the stream, which see every frame as the
   * generated types: for logging, tracing or tests.
   */
  interceptors?: Interceptor[];
}

const defaultTimeout = 10_000;

/**
 * connect opens a connection to a roomcast server and its client stream
 * (ChatService/Connect): Socket.IO's `io(url)`, without entering any
 * namespace yet. `addr` is HOST:PORT for plaintext, as `roomcast serve`
 * listens, or an http:// or https:// URL. It rejects when the server cannot
 * be reached within the timeout.
 */
export async function connect(addr: string, options: ClientOptions = {}): Promise<Client> {
  const baseUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(addr) ? addr : `http://${addr}`;
  const timeout = options.timeout ?? defaultTimeout;
  // One HTTP/2 connection per client, as a gRPC channel per Go client, so
  // that close() releases it and nothing keeps Node running afterwards.
  const sessions = new Http2SessionManager(baseUrl, { pingIntervalMs: options.keepaliveMs ?? 30_000 }, options.nodeOptions);
  let state: string;
  try {
    state = await within(sessions.connect(), timeout, () => `no connection to ${addr} within ${timeout} ms`);
  } catch (err) {
    sessions.abort();
    throw err;
  }
  if (state === "error") {
    const cause = sessions.error();
    sessions.abort();
    throw new RoomcastError("UNAVAILABLE", `cannot connect to ${addr}: ${messageOf(cause)}`);
  }
  // connect-node's gRPC transport always speaks HTTP/2, which gRPC needs.
  const transport = createGrpcTransport({ baseUrl, sessionManager: sessions, interceptors: options.interceptors ?? [] });
  return new Client(createClient(ChatService, transport), sessions, options.metadata, timeout);
}

interface Pending {
  resolve(reply: Reply): void;
  reject(err: unknown): void;
}

/**
 * Client is one ChatService/Connect stream and the sockets multiplexed on
 * it, one per namespace.
 */
export class Client {
  private readonly outbox = new Outbox<ClientFrame>();
  private readonly cancel = new AbortController();
  private readonly pending = new Map<bigint, Pending>();
  private readonly sockets = new Map<string, Socket<EventsMap, EventsMap>>();
  private readonly link: Link;
  private nextRef = 1n;
  private closing = false;
  private endError: RoomcastError | undefined;
  private errorHandler: ((err: RoomcastError) => void) | undefined;
  /** Resolves when the stream has ended, by close() or by the server. */
  readonly done: Promise<void>;

  /** @internal Use connect(). */
  constructor(
    rpc: RpcClient<typeof ChatService>,
    private readonly sessions: Http2SessionManager,
    metadata: Record<string, string> | undefined,
    private readonly timeout: number,
  ) {
    this.link = {
      send: (frame) => this.send(create(ClientFrameSchema, { frame })),
      request: (frame, options) => this.request(frame, options),
    };
    const responses = rpc.connect(this.outbox, { signal: this.cancel.signal, headers: metadata });
    this.done = this.read(responses);
  }

  /**
   * Returns the client's socket in a namespace ("/" by default), creating
   * it unconnected. Register handlers on it before socket.connect() so that
   * no event sent right after the connect is missed. The type parameters
   * name the events it listens to and emits; see EventsMap.
   */
  socket<Listen extends EventsMap = DefaultEvents, Emit extends EventsMap = DefaultEvents>(namespace = "/"): Socket<Listen, Emit> {
    const name = namespace === "" ? "/" : namespace;
    let s = this.sockets.get(name);
    if (!s) {
      s = new Socket<EventsMap, EventsMap>(name, this.link);
      this.sockets.set(name, s);
    }
    return s as unknown as Socket<Listen, Emit>;
  }

  /**
   * Enters a namespace and resolves with its socket; a middleware's refusal
   * rejects with a ConnectError. Shorthand for socket(namespace).connect().
   */
  connect<Listen extends EventsMap = DefaultEvents, Emit extends EventsMap = DefaultEvents>(
    namespace = "/",
    options?: SocketConnectOptions,
  ): Promise<Socket<Listen, Emit>> {
    return this.socket<Listen, Emit>(namespace).connect(options);
  }

  /**
   * Sets the handler of the server's refusals that no call waits for:
   * those of emit, broadcast and acknowledgements, which carry no ref.
   */
  onError(handler: ((err: RoomcastError) => void) | undefined): this {
    this.errorHandler = handler;
    return this;
  }

  /** Undefined while the stream is open; afterwards, why it ended. */
  get error(): RoomcastError | undefined {
    return this.endError;
  }

  /**
   * Ends the stream and the connection. Connected sockets' "disconnect"
   * listeners run with Reason.clientDisconnect; calls still waiting reject.
   * Resolves once the stream has ended. Call it even after the server has
   * ended the stream: it is harmless then.
   */
  async close(): Promise<void> {
    if (!this.endError) {
      this.closing = true;
      this.cancel.abort();
    }
    await this.done;
  }

  private send(frame: ClientFrame): void {
    if (this.endError || !this.outbox.push(frame)) {
      throw this.endError ?? new RoomcastError("UNAVAILABLE", "the client's stream has ended");
    }
  }

  private request(body: FrameBody, options: CallOptions = {}): Promise<Reply> {
    const ref = this.nextRef++;
    const timeout = options.timeout ?? this.timeout;
    const signal = options.signal;
    return new Promise<Reply>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => settle(() => reject(signal!.reason));
      const timer = Number.isFinite(timeout)
        ? setTimeout(
            () => settle(() => reject(new RoomcastError("DEADLINE_EXCEEDED", `no reply from the server within ${timeout} ms`))),
            timeout,
          )
        : undefined;
      const settle = (then: () => void) => {
        this.pending.delete(ref);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        then();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(ref, {
        resolve: (reply) => settle(() => resolve(reply)),
        reject: (err) => settle(() => reject(err)),
      });
      try {
        this.send(create(ClientFrameSchema, { ref, frame: body }));
      } catch (err) {
        settle(() => reject(err));
      }
    });
  }

  /** read is the client's one reader: it routes every frame in order. */
  private async read(responses: AsyncIterable<ServerFrame>): Promise<void> {
    let reason: string = Reason.transportClose;
    let error = new RoomcastError("UNAVAILABLE", "the server ended the stream");
    try {
      for await (const frame of responses) {
        this.route(frame);
      }
    } catch (err) {
      reason = Reason.transportError;
      error = streamError(err);
    }
    if (this.closing) {
      reason = Reason.clientDisconnect;
      error = new RoomcastError("CANCELLED", "the client is closed");
    }
    this.finish(reason, error);
  }

  private route(frame: ServerFrame): void {
    const f = frame.frame;
    switch (f.case) {
      case "connected":
        this.socket(f.value.namespace).markConnected(f.value.sid);
        break;
      case "connectError":
        // Nothing to do: every connect carries a ref, and the reply to it
        // repeats the refusal with its code; socket.connect reports it.
        break;
      case "disconnected":
        this.sockets.get(f.value.namespace)?.markDisconnected(f.value.reason);
        break;
      case "event":
        this.deliver(f.value);
        break;
      case "events":
        // Several events the server had queued for this client, in order.
        for (const e of f.value.events) {
          this.deliver(e);
        }
        break;
      case "reply":
        this.answer(f.value);
        break;
    }
  }

  private deliver(e: Event): void {
    // The server only sends events to namespaces this client entered.
    this.sockets.get(e.namespace)?.handle(e);
  }

  /**
   * answer hands a reply to the call waiting for its ref. A reply with ref
   * 0 refuses a frame that had none; only onError hears of it.
   */
  private answer(reply: Reply): void {
    if (reply.ref !== 0n) {
      this.pending.get(reply.ref)?.resolve(reply); // none: the caller stopped waiting
      return;
    }
    if (reply.error && this.errorHandler) {
      const handler = this.errorHandler;
      const err = replyError(reply);
      try {
        handler(err);
      } catch (thrown) {
        queueMicrotask(() => {
          throw thrown;
        });
      }
    }
  }

  /** finish fails the waiting calls and disconnects every socket. */
  private finish(reason: string, error: RoomcastError): void {
    this.endError = error;
    for (const p of [...this.pending.values()]) {
      p.reject(error);
    }
    for (const s of this.sockets.values()) {
      s.markDisconnected(reason);
    }
    this.outbox.end();
    this.sessions.abort();
  }
}

/** Canonical gRPC code names, as roomcast's replies use them. */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function streamError(err: unknown): RoomcastError {
  const rpc = RpcError.from(err);
  return new RoomcastError(codeName(rpc.code), `the stream failed: ${rpc.rawMessage}`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** within rejects with DEADLINE_EXCEEDED when p takes longer than ms. */
function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  if (!Number.isFinite(ms)) {
    return p;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RoomcastError("DEADLINE_EXCEEDED", what())), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
