import type { JsonValue } from "@bufbuild/protobuf";

/**
 * RoomcastError is a refusal: the server's answer to a frame it did not
 * accept (the `error` of its reply), or the client's own when it cannot
 * send or stops waiting. `code` is a gRPC canonical code name such as
 * "INVALID_ARGUMENT" or "DEADLINE_EXCEEDED", as in the server's replies, so
 * one check covers both.
 */
export class RoomcastError extends Error {
  override name = "RoomcastError";

  constructor(
    readonly code: string,
    message: string,
    /** Details the server attached, as JSON. */
    readonly data?: JsonValue,
  ) {
    super(message);
  }
}

/**
 * ConnectError is a refused namespace connect (Socket.IO's connect_error):
 * `message` is the namespace middleware's message as it wrote it and `data`
 * what it attached, as Socket.IO's `err.message` and `err.data`.
 */
export class ConnectError extends RoomcastError {
  override name = "ConnectError";

  constructor(
    readonly namespace: string,
    code: string,
    message: string,
    data?: JsonValue,
  ) {
    super(code, message, data);
  }
}

/**
 * Disconnect reasons that the client itself reports to "disconnect"
 * listeners; the server's reasons ("server namespace disconnect", "server
 * shutting down", "slow consumer", ...) arrive as the server wrote them.
 * They are the Go client's and Socket.IO's names.
 */
export const Reason = {
  /** socket.disconnect() or client.close(). */
  clientDisconnect: "io client disconnect",
  /** The server ended the stream normally. */
  transportClose: "transport close",
  /** The stream failed. */
  transportError: "transport error",
} as const;
