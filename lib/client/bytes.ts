/**
 * Turning user keys/values into bytes and back, with the cheap client-side
 * checks (the server re-checks everything; these only save a round trip).
 */
import { InvalidArgumentError } from '../runtime/index.ts';
import { LIMITS } from '../protocol/index.ts';

const decoder = new TextDecoder();

/** UTF-8 text of a value returned by the store (keys/values are bytes on the wire). */
export function text(value: Uint8Array): string {
  return decoder.decode(value);
}

/** UTF-8 text of every sibling, e.g. `texts((await client.get('k')).values)`. */
export function texts(values: readonly Uint8Array[]): string[] {
  return values.map(text);
}

function toBytes(what: string, input: unknown): Uint8Array {
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  if (input instanceof Uint8Array) return input;
  throw new InvalidArgumentError(`${what} must be a string or Uint8Array, got ${typeOf(input)}`);
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

/** Key bytes; 1..LIMITS.keyBytesMax. */
export function keyBytes(key: unknown): Uint8Array {
  const bytes = toBytes('key', key);
  if (bytes.length === 0) throw new InvalidArgumentError('key must not be empty');
  if (bytes.length > LIMITS.keyBytesMax) {
    throw new InvalidArgumentError(`key is ${bytes.length} bytes; the limit is ${LIMITS.keyBytesMax}`);
  }
  return bytes;
}

/** Value bytes; 0..LIMITS.valueBytesMax. */
export function valueBytes(value: unknown): Uint8Array {
  const bytes = toBytes('value', value);
  if (bytes.length > LIMITS.valueBytesMax) {
    throw new InvalidArgumentError(`value is ${bytes.length} bytes; the limit is ${LIMITS.valueBytesMax}`);
  }
  return bytes;
}

/** Context bytes, or undefined when absent/empty (an empty field is not sent at all). */
export function contextBytes(context: unknown): Uint8Array | undefined {
  if (context === undefined) return undefined;
  if (!(context instanceof Uint8Array)) {
    throw new InvalidArgumentError(`context must be the Uint8Array returned by get/put, got ${typeOf(context)}`);
  }
  if (context.length > LIMITS.contextBytesMax) {
    throw new InvalidArgumentError(`context is ${context.length} bytes; the limit is ${LIMITS.contextBytesMax}`);
  }
  return context.length === 0 ? undefined : context;
}
