/**
 * Signs context bytes the way lib/vclock/context-codec.ts documents it,
 * written out again here so that tests pin the format rather than call the
 * code they check: the first 16 bytes of HMAC-SHA256 under the secret of
 * "dynamo.v1 context\0", varint(key length), the key, then the body.
 */
import { createHmac } from 'node:crypto';
import { DEFAULT_CONTEXT_SECRET } from '../../lib/vclock/index.ts';

function varint(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** `body` (version byte, fingerprint, entries) followed by its signature for `key`. */
export function signContext(body: ArrayLike<number>, key: Uint8Array, secret: Uint8Array = DEFAULT_CONTEXT_SECRET): Uint8Array {
  const bytes = Uint8Array.from(body as ArrayLike<number>);
  const mac = createHmac('sha256', secret)
    .update('dynamo.v1 context\0')
    .update(Uint8Array.from(varint(key.length)))
    .update(key)
    .update(bytes)
    .digest()
    .subarray(0, 16);
  return Uint8Array.from([...bytes, ...mac]);
}
