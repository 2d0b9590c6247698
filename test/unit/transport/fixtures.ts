/** Shared sample messages for transport tests: one of every peer variant, edge cases included. */
import type { PeerReply, PeerRequest } from '../../../lib/protocol/index.ts';

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** Every request variant (with optional fields present and absent, every consistency). */
export const ALL_REQUESTS: readonly PeerRequest[] = [
  { type: 'identify' },
  { type: 'read', key: bytes(1, 2, 3) },
  { type: 'read', key: new Uint8Array(1024).fill(0xff) },
  { type: 'write', key: bytes(9), record: bytes(1, 0, 0, 200) },
  { type: 'write', key: bytes(9), record: new Uint8Array(0) },
  { type: 'coordinate', key: bytes(5), value: bytes(6, 7), context: bytes(1, 2), consistency: 'QUORUM' },
  { type: 'coordinate', key: bytes(5), value: undefined, context: bytes(), consistency: undefined },
  { type: 'coordinate', key: bytes(5), value: bytes(), context: bytes(3), consistency: 'ONE' },
  { type: 'coordinate', key: bytes(5), value: bytes(1), context: bytes(), consistency: 'TWO' },
  { type: 'coordinate', key: bytes(5), value: bytes(1), context: bytes(), consistency: 'THREE' },
  { type: 'coordinate', key: bytes(5), value: bytes(1), context: bytes(), consistency: 'ALL' },
  { type: 'coordinate', key: bytes(5), value: bytes(1), context: bytes(), consistency: 'ANY' },
];

/** Every reply variant. */
export const ALL_REPLIES: readonly PeerReply[] = [
  { type: 'identify', nodeId: 'n1', partitionCount: 256, replicas: 3 },
  { type: 'identify', nodeId: 'dynamo-0.dynamo.default.svc — ü', partitionCount: 0, replicas: 0 },
  { type: 'read', record: bytes(1, 10, 20) },
  { type: 'read', record: undefined },
  { type: 'read', record: new Uint8Array(0) },
  { type: 'write' },
  { type: 'coordinate', context: bytes(1, 4, 9) },
  { type: 'coordinate', context: new Uint8Array(0) },
];

/** Comparable form: every byte array (Buffer or Uint8Array) as a plain number array; errors as {code,message,...}. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (v instanceof Error) return { name: v.name, message: v.message, ...(v as object) };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}
