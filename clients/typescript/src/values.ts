import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { RoomcastError } from "./errors.js";

/**
 * Payload is what an event carries: JSON-like data (the wire's
 * google.protobuf.Value), raw bytes (its `binary` field), or nothing.
 */
export type Payload = JsonValue | Uint8Array | undefined;

/**
 * toWire splits a payload into the event's data and binary fields, as the
 * Go client does: bytes travel as binary, anything else as data. Values
 * that are not plain JSON (a Date, a class instance with toJSON) go through
 * JSON.stringify first, as they would over Socket.IO.
 */
export function toWire(payload: unknown): { data?: Value; binary?: Uint8Array } {
  if (payload instanceof Uint8Array) {
    return { binary: payload };
  }
  if (payload === undefined) {
    return {};
  }
  return { data: toValue(payload) };
}

/** toValue converts JSON-like data for a Value field; undefined is none. */
export function toValue(json: unknown): Value | undefined {
  if (json === undefined) {
    return undefined;
  }
  try {
    return fromJson(ValueSchema, json as JsonValue);
  } catch {
    // Not plain JSON: let JSON.stringify say what it means, as over
    // Socket.IO, and refuse what it cannot say.
  }
  let normalised: unknown;
  try {
    const text = JSON.stringify(json);
    normalised = text === undefined ? undefined : JSON.parse(text);
  } catch (err) {
    throw new RoomcastError("INVALID_ARGUMENT", `data is not JSON-like: ${String(err)}`);
  }
  return normalised === undefined ? undefined : fromJson(ValueSchema, normalised as JsonValue);
}

/** fromValue returns a Value field as JSON; undefined when it is absent. */
export function fromValue(value: Value | undefined): JsonValue | undefined {
  return value === undefined ? undefined : toJson(ValueSchema, value);
}

/**
 * fromWire is the payload an event handler receives: the data, else the
 * binary bytes when there are some, else undefined.
 */
export function fromWire(data: Value | undefined, binary: Uint8Array): Payload {
  if (data !== undefined) {
    return fromValue(data);
  }
  return binary.length > 0 ? binary : undefined;
}
