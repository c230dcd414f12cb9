import type { JsonObject, JsonValue, MessageInitShape } from "@bufbuild/protobuf";
import type { ClientFrameSchema, Event, Reply } from "./gen/roomcast/v1/chat_pb.js";
import { ConnectError, Reason, RoomcastError } from "./errors.js";
import { fromValue, fromWire, toValue, toWire, type Payload } from "./values.js";

/** The oneof of a ClientFrame, as the generated code types it. */
export type FrameBody = MessageInitShape<typeof ClientFrameSchema>["frame"];

/** Bounds for a call that waits for the server. */
export interface CallOptions {
  /** Milliseconds to wait; the client's `timeout` option by default. */
  timeout?: number;
  /** Stops waiting early, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Link is what a socket needs from its client: the stream. It is internal;
 * the client builds one and shares it among its sockets.
 */
export interface Link {
  /** Writes a frame without waiting; throws once the stream has ended. */
  send(frame: FrameBody): void;
  /** Writes a frame with a fresh ref and resolves with the reply to it. */
  request(frame: FrameBody, options?: CallOptions): Promise<Reply>;
}

/**
 * An events map types a socket's events as Socket.IO's TypeScript types
 * do, by event name: for listening, the data each event arrives with; for
 * emitting, the data each event is sent with. Nothing checks incoming data
 * against it at run time: it states what the application agreed on.
 */
export type EventsMap = { [event: string]: unknown };

/** Any event name with any payload. */
export type DefaultEvents = { [event: string]: Payload };

/** What a handler learns about the event besides its data. */
export interface EventContext {
  readonly namespace: string;
  readonly event: string;
  /** The sending socket; empty when the server emitted the event. */
  readonly fromSid: string;
  /** The event's raw bytes, empty when it has none. */
  readonly binary: Uint8Array;
  /** The sender waits for an answer: the handler's result. */
  readonly wantsAck: boolean;
}

/**
 * EventHandler handles an event. When the event wants an acknowledgement,
 * what it returns (or what its promise resolves to) answers it, and an
 * error it throws (or its promise's rejection) refuses it. For an event
 * that wants none, a throw surfaces as an uncaught exception, as a throwing
 * EventEmitter listener's would: the client hides no error.
 */
export type EventHandler<T = Payload> = (data: T, ev: EventContext) => unknown;

/** Listeners of the client's own lifecycle events, as in Socket.IO. */
export interface ReservedEvents {
  /** The socket entered its namespace; `socket.id` is set. */
  connect: () => void;
  /** A namespace middleware refused the connect. */
  connect_error: (err: ConnectError) => void;
  /** The socket left its namespace, with the reason (see Reason). */
  disconnect: (reason: string) => void;
}

/** Options of a namespace connect. */
export interface SocketConnectOptions extends CallOptions {
  /** Socket.IO's handshake `auth`, which the namespace's middleware sees. */
  auth?: JsonObject;
}

/** The targets and flags of an emit, before the event is known. */
interface Targets {
  rooms: readonly string[];
  exceptRooms: readonly string[];
  volatile: boolean;
}

/**
 * Emitter is how a BroadcastOperator reaches its socket without making the
 * socket's internals public.
 */
interface Emitter {
  fire(targets: Targets, event: string, data: unknown, broadcast: boolean): void;
  ask(targets: Targets, event: string, data: unknown, broadcast: boolean, options?: CallOptions): Promise<JsonValue | undefined>;
}

type RoomList = ReadonlyArray<string | readonly string[]>;

/**
 * BroadcastOperator selects the targets of an emit, as Socket.IO's
 * operators do. It is immutable: `to`, `except` and `volatile` return a new
 * operator, so one can be kept and reused.
 */
export class BroadcastOperator<Emit extends EventsMap = DefaultEvents> {
  /** @internal Use socket.to, socket.except or socket.volatile. */
  constructor(
    private readonly emitter: Emitter,
    private readonly targets: Targets = { rooms: [], exceptRooms: [], volatile: false },
  ) {}

  /** Adds target rooms: the event reaches their union, each socket once. */
  to(...rooms: RoomList): BroadcastOperator<Emit> {
    const t = this.targets;
    return new BroadcastOperator(this.emitter, { ...t, rooms: [...t.rooms, ...rooms.flat()] });
  }

  /** Skips the sockets of these rooms. */
  except(...rooms: RoomList): BroadcastOperator<Emit> {
    const t = this.targets;
    return new BroadcastOperator(this.emitter, { ...t, exceptRooms: [...t.exceptRooms, ...rooms.flat()] });
  }

  /**
   * Lets the server drop the event for recipients that are behind, instead
   * of disconnecting them as slow consumers.
   */
  volatile(): BroadcastOperator<Emit> {
    return new BroadcastOperator(this.emitter, { ...this.targets, volatile: true });
  }

  /**
   * Sends an event to the targets (the whole namespace without `to`), this
   * socket included if it is one of them, without waiting. A refusal goes
   * to client.onError. Uint8Array data travels as the event's bytes.
   */
  emit<E extends keyof Emit & string>(event: E, data?: Emit[E]): this {
    this.emitter.fire(this.targets, event, data, false);
    return this;
  }

  /** Is emit, never delivered to the sending socket. */
  broadcast<E extends keyof Emit & string>(event: E, data?: Emit[E]): this {
    this.emitter.fire(this.targets, event, data, true);
    return this;
  }

  /**
   * Is emit, resolving with the answer of the server's handler for the
   * event (undefined when there is none), or rejecting with its refusal as
   * a RoomcastError. The result type is what the application expects; it
   * is not checked.
   */
  emitWithAck<R = JsonValue | undefined, E extends keyof Emit & string = keyof Emit & string>(
    event: E,
    data?: Emit[E],
    options?: CallOptions,
  ): Promise<R> {
    return this.emitter.ask(this.targets, event, data, false, options) as Promise<R>;
  }

  /** Is broadcast, waiting for the server's answer as emitWithAck does. */
  broadcastWithAck<R = JsonValue | undefined, E extends keyof Emit & string = keyof Emit & string>(
    event: E,
    data?: Emit[E],
    options?: CallOptions,
  ): Promise<R> {
    return this.emitter.ask(this.targets, event, data, true, options) as Promise<R>;
  }
}

/**
 * Socket is the client's membership of one namespace, multiplexed on the
 * client's stream. It keeps its handlers across disconnects, so connect may
 * be called again; each connect gets a new sid.
 *
 * Handlers and listeners run in the order the server sent the events; a
 * handler that returns a promise does not hold up the next event.
 */
export class Socket<Listen extends EventsMap = DefaultEvents, Emit extends EventsMap = DefaultEvents> {
  private sid: string | undefined;
  private roomList: string[] = [];
  private readonly handlers = new Map<string, EventHandler<never>>();
  private readonly listeners: { [R in keyof ReservedEvents]: Array<ReservedEvents[R]> } = {
    connect: [],
    connect_error: [],
    disconnect: [],
  };
  private readonly emitter: Emitter;

  /** @internal Use client.socket or client.connect. */
  constructor(
    readonly namespace: string,
    private readonly link: Link,
  ) {
    this.emitter = {
      fire: (targets, event, data, broadcast) => this.link.send(this.emitFrame(targets, event, data, broadcast)),
      ask: async (targets, event, data, broadcast, options) => {
        const reply = await this.link.request(this.emitFrame(targets, event, data, broadcast), options);
        return result(reply);
      },
    };
  }

  /** The sid the server gave the socket; undefined while not connected. */
  get id(): string | undefined {
    return this.sid;
  }

  get connected(): boolean {
    return this.sid !== undefined;
  }

  /**
   * The socket's rooms, sorted, as the server reported them after the last
   * join or leave; a socket is always in the room named by its own sid.
   */
  get rooms(): string[] {
    return [...this.roomList];
  }

  /**
   * Sets the handler of an event, replacing any earlier one: only one can
   * answer an acknowledgement. The reserved events "connect",
   * "connect_error" and "disconnect" take any number of listeners.
   */
  on<R extends keyof ReservedEvents>(event: R, listener: ReservedEvents[R]): this;
  on<E extends keyof Listen & string>(event: E, handler: EventHandler<Listen[E]>): this;
  on(event: string, fn: (...args: never[]) => unknown): this {
    if (isReserved(event)) {
      (this.listeners[event] as Array<typeof fn>).push(fn);
    } else {
      this.handlers.set(event, fn as EventHandler<never>);
    }
    return this;
  }

  /** Removes an event's handler, or a reserved event's listener (all of them without one). */
  off(event: keyof ReservedEvents | (keyof Listen & string), fn?: (...args: never[]) => unknown): this {
    if (isReserved(event)) {
      const list = this.listeners[event] as Array<unknown>;
      const keep = fn === undefined ? [] : list.filter((l) => l !== fn);
      list.splice(0, list.length, ...keep);
    } else if (fn === undefined || this.handlers.get(event) === fn) {
      this.handlers.delete(event);
    }
    return this;
  }

  /**
   * Enters the namespace with Socket.IO's handshake auth. Resolves once the
   * server has admitted the socket; a middleware's refusal rejects with a
   * ConnectError carrying its message and data, after the "connect_error"
   * listeners have run. Connecting a connected socket does nothing.
   */
  async connect(options: SocketConnectOptions = {}): Promise<this> {
    if (this.connected) {
      return this;
    }
    const reply = await this.link.request({ case: "connect", value: { namespace: this.namespace, auth: options.auth } }, options);
    if (reply.error) {
      const err = new ConnectError(this.namespace, reply.error.code, reply.error.message, fromValue(reply.error.data));
      this.fire("connect_error", err);
      throw err;
    }
    // The `connected` frame, which the server sends before this reply,
    // has already set the sid.
    return this;
  }

  /**
   * Leaves the namespace and all its rooms; "disconnect" listeners run with
   * Reason.clientDisconnect. Disconnecting a socket that is not connected
   * does nothing.
   */
  async disconnect(options?: CallOptions): Promise<void> {
    if (!this.connected) {
      return;
    }
    const reply = await this.link.request({ case: "disconnect", value: { namespace: this.namespace } }, options);
    // A refusal means the server had already ended the socket, and its
    // `disconnected` frame has run the listeners.
    if (reply.error && this.connected) {
      throw replyError(reply);
    }
    this.markDisconnected(Reason.clientDisconnect);
  }

  /** Joins rooms, all or none; resolves with the socket's rooms afterwards. */
  join(...rooms: RoomList): Promise<string[]> {
    return this.changeRooms("join", rooms.flat());
  }

  /** Leaves rooms; resolves with the socket's rooms afterwards. */
  leave(...rooms: RoomList): Promise<string[]> {
    return this.changeRooms("leave", rooms.flat());
  }

  /** Targets rooms; see BroadcastOperator. */
  to(...rooms: RoomList): BroadcastOperator<Emit> {
    return new BroadcastOperator<Emit>(this.emitter).to(...rooms);
  }

  /** Skips the sockets of rooms; see BroadcastOperator. */
  except(...rooms: RoomList): BroadcastOperator<Emit> {
    return new BroadcastOperator<Emit>(this.emitter).except(...rooms);
  }

  /** Marks the event droppable for recipients that are behind. */
  volatile(): BroadcastOperator<Emit> {
    return new BroadcastOperator<Emit>(this.emitter).volatile();
  }

  /** Sends an event to the whole namespace, this socket included. */
  emit<E extends keyof Emit & string>(event: E, data?: Emit[E]): this {
    this.emitter.fire(noTargets, event, data, false);
    return this;
  }

  /** Sends an event to the whole namespace except this socket. */
  broadcast<E extends keyof Emit & string>(event: E, data?: Emit[E]): this {
    this.emitter.fire(noTargets, event, data, true);
    return this;
  }

  /** Is emit, waiting for the server's answer; see BroadcastOperator.emitWithAck. */
  emitWithAck<R = JsonValue | undefined, E extends keyof Emit & string = keyof Emit & string>(
    event: E,
    data?: Emit[E],
    options?: CallOptions,
  ): Promise<R> {
    return this.emitter.ask(noTargets, event, data, false, options) as Promise<R>;
  }

  /** Is broadcast, waiting for the server's answer. */
  broadcastWithAck<R = JsonValue | undefined, E extends keyof Emit & string = keyof Emit & string>(
    event: E,
    data?: Emit[E],
    options?: CallOptions,
  ): Promise<R> {
    return this.emitter.ask(noTargets, event, data, true, options) as Promise<R>;
  }

  private async changeRooms(kind: "join" | "leave", rooms: string[]): Promise<string[]> {
    this.mustBeConnected();
    const reply = await this.link.request({ case: kind, value: { namespace: this.namespace, rooms } });
    const data = result(reply);
    const now = isObject(data) && Array.isArray(data["rooms"]) ? data["rooms"].map(String) : [];
    this.roomList = now.sort();
    return this.rooms;
  }

  private emitFrame(targets: Targets, event: string, data: unknown, broadcast: boolean): FrameBody {
    this.mustBeConnected();
    const value = {
      namespace: this.namespace,
      event,
      ...toWire(data),
      rooms: [...targets.rooms],
      exceptRooms: [...targets.exceptRooms],
      volatile: targets.volatile,
    };
    return broadcast ? { case: "broadcast", value } : { case: "emit", value };
  }

  private mustBeConnected(): void {
    if (!this.connected) {
      // The code the server would answer with, checked before asking it.
      throw new RoomcastError("FAILED_PRECONDITION", `socket is not connected to namespace ${this.namespace}`);
    }
  }

  /** @internal The server's `connected` frame. */
  markConnected(sid: string): void {
    this.sid = sid;
    this.roomList = [sid];
    this.fire("connect");
  }

  /** @internal Marks the socket disconnected, once per connection. */
  markDisconnected(reason: string): void {
    if (!this.connected) {
      return;
    }
    this.sid = undefined;
    this.roomList = [];
    this.fire("disconnect", reason);
  }

  /** @internal Runs the handler of an event the server delivered. */
  handle(e: Event): void {
    const wantsAck = e.ackId !== 0n;
    const ev: EventContext = { namespace: e.namespace, event: e.event, fromSid: e.fromSid, binary: e.binary, wantsAck };
    const handler = this.handlers.get(e.event) as EventHandler<Payload> | undefined;
    if (!handler) {
      if (wantsAck) {
        // Answer rather than let the sender wait out its timeout.
        this.acknowledge(e.ackId, Promise.reject(new Error(`no handler for event "${e.event}"`)));
      }
      return;
    }
    let answer: unknown;
    try {
      answer = handler(fromWire(e.data, e.binary), ev);
    } catch (err) {
      if (!wantsAck) {
        // Not ours to hide, but not ours to stop the stream's reader for
        // either: it surfaces as an uncaught exception, as a throwing
        // EventEmitter listener's would.
        queueMicrotask(() => {
          throw err;
        });
        return;
      }
      answer = Promise.reject(err);
    }
    if (wantsAck) {
      this.acknowledge(e.ackId, answer);
    }
  }

  private acknowledge(ackId: bigint, answer: unknown): void {
    Promise.resolve(answer).then(
      (value) => {
        let data;
        try {
          data = toValue(value);
        } catch (err) {
          return this.sendAck(ackId, undefined, `cannot encode the acknowledgement: ${messageOf(err)}`);
        }
        this.sendAck(ackId, data, "");
      },
      (err: unknown) => this.sendAck(ackId, undefined, messageOf(err) || "error"),
    );
  }

  private sendAck(ackId: bigint, data: ReturnType<typeof toValue>, error: string): void {
    try {
      this.link.send({ case: "ack", value: { ackId, data, error } });
    } catch {
      // The stream is gone, and with it whoever waited for the answer.
    }
  }

  private fire<R extends keyof ReservedEvents>(event: R, ...args: Parameters<ReservedEvents[R]>): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        (listener as (...a: typeof args) => void)(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

const noTargets: Targets = { rooms: [], exceptRooms: [], volatile: false };

const reserved: ReadonlySet<string> = new Set<keyof ReservedEvents>(["connect", "connect_error", "disconnect"]);

function isReserved(event: string): event is keyof ReservedEvents {
  return reserved.has(event);
}

function isObject(v: unknown): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** replyError is the server's refusal of a frame. */
export function replyError(reply: Reply): RoomcastError {
  const e = reply.error!;
  return new RoomcastError(e.code, e.message, fromValue(e.data));
}

/** result is a reply's data, or its refusal thrown. */
function result(reply: Reply): JsonValue | undefined {
  if (reply.error) {
    throw replyError(reply);
  }
  return fromValue(reply.data);
}
