/** Size checks on client requests, done before any replica is touched (README "Limits"). */
import { InvalidArgumentError } from '../runtime/index.ts';
import { LIMITS } from '../protocol/index.ts';

/** Throws InvalidArgumentError unless the key is 1..keyBytesMax bytes. */
export function checkKey(key: Uint8Array): void {
  if (key.byteLength === 0) throw new InvalidArgumentError('key must not be empty');
  if (key.byteLength > LIMITS.keyBytesMax) {
    throw new InvalidArgumentError(`key is ${key.byteLength} bytes, over the ${LIMITS.keyBytesMax}-byte limit`);
  }
}

/** Throws InvalidArgumentError when the value or context exceed their limits. */
export function checkWrite(value: Uint8Array | undefined, context: Uint8Array): void {
  if (value !== undefined && value.byteLength > LIMITS.valueBytesMax) {
    throw new InvalidArgumentError(`value is ${value.byteLength} bytes, over the ${LIMITS.valueBytesMax}-byte limit`);
  }
  if (context.byteLength > LIMITS.contextBytesMax) {
    throw new InvalidArgumentError(`context is ${context.byteLength} bytes, over the ${LIMITS.contextBytesMax}-byte limit`);
  }
}
