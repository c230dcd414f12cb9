/**
 * roomcast's TypeScript client: Socket.IO's client API over one gRPC
 * stream (roomcast.v1.ChatService/Connect).
 *
 *     const client = await connect("localhost:50051");
 *     const socket = client.socket("/");
 *     socket.on("chat message", (data, ev) => console.log(ev.fromSid, data));
 *     await socket.connect({ auth: { token: "…" } });
 *     await socket.join("general");
 *     socket.to("general").broadcast("chat message", { name: "ts", text: "hi" });
 *     await client.close();
 */
export { connect, Client, type ClientOptions } from "./client.js";
export {
  Socket,
  BroadcastOperator,
  type CallOptions,
  type DefaultEvents,
  type EventContext,
  type EventHandler,
  type EventsMap,
  type ReservedEvents,
  type SocketConnectOptions,
} from "./socket.js";
export { ConnectError, Reason, RoomcastError } from "./errors.js";
export type { Payload } from "./values.js";
export type { JsonObject, JsonValue } from "@bufbuild/protobuf";
