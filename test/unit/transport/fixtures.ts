/** Shared sample messages for transport tests: one of every peer variant, edge cases included. */
import type { MemberRecord, MembershipPacket, PeerReply, PeerRequest, RingStateRecord, TreeAnswer, TreeRequest } from '../../../lib/protocol/index.ts';

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** A member record with every field set (and a node that is suspect and leaving). */
export const RECORD: MemberRecord = {
  id: 'n2',
  address: '10.0.0.2:7001',
  zone: 'eu-west-1b',
  generation: 1_764_000_000,
  incarnation: 7,
  status: 'suspect',
  intent: 'leave',
  ringVersion: 4,
  ringChecksum: 0xfeedbeef,
  donePlanId: 3,
  donePartitions: [0, 5, 63],
};

/** A ring state in the middle of a move, with a departed node. */
export const RING_STATE: RingStateRecord = {
  version: 5,
  claimant: 'n1',
  parentChecksum: 0x1234,
  planId: 4,
  partitionCount: 4,
  replicas: 2,
  members: ['n1', 'n2', 'n3'],
  zones: ['zone-a', '', 'zone-b'],
  previousMembers: ['n1', 'n2'],
  owners: ['n1', 'n2', 'n3', 'n1'],
  moving: [{ partition: 2, holders: ['n1', 'n2'] }],
  departed: [{ id: 'n0', generation: 9, status: 'removed', version: 2 }],
  checksum: 0xabcdef01,
};

const head = { from: 'n1', fromAddress: '10.0.0.1:7001', piggyback: [{ record: RECORD, origin: 'n3' }] };

/** One packet of every membership kind, with and without optional parts. */
export const ALL_PACKETS: readonly MembershipPacket[] = [
  { ...head, type: 'ping', seq: 1, target: 'n2' },
  { from: 'n1', fromAddress: 'a:1', piggyback: [], type: 'ack', seq: 4_000_000_000 },
  { ...head, type: 'nack', seq: 3 },
  { ...head, type: 'ping-req', seq: 9, target: 'n3', targetAddress: '10.0.0.3:7001' },
  {
    ...head,
    type: 'gossip-syn',
    partitionCount: 256,
    replicas: 3,
    tableChecksum: 42,
    digest: [{ id: 'n2', generation: 5, incarnation: 1, status: 'dead' }],
    ring: { version: 5, claimant: 'n1', checksum: 99 },
  },
  { ...head, type: 'gossip-syn', partitionCount: 8, replicas: 1, tableChecksum: 0, digest: [], ring: undefined },
  { ...head, type: 'gossip-ack', records: [RECORD, { ...RECORD, id: 'n4', status: 'alive', intent: 'none', donePartitions: [] }], requests: ['n5'], ring: RING_STATE, wantRing: true },
  { ...head, type: 'gossip-ack', records: [], requests: [], ring: undefined, wantRing: false },
  { ...head, type: 'gossip-ack2', records: [{ ...RECORD, intent: 'join' }], ring: RING_STATE },
  { ...head, type: 'remove-request', node: 'n9' },
];

/** One anti-entropy call of every kind, with empty lists and edge values. */
export const ALL_TREE_CALLS: readonly TreeRequest[] = [
  { type: 'tree', from: 'n1', partition: 0, ringVersion: 0, call: { op: 'root' } },
  { type: 'tree', from: 'n2', partition: 65_535, ringVersion: 7, call: { op: 'segments', level: 1, indices: [0, 1, 63] } },
  { type: 'tree', from: 'n2', partition: 3, ringVersion: 7, call: { op: 'segments', level: 2, indices: [] } },
  { type: 'tree', from: 'n3', partition: 3, ringVersion: 1, call: { op: 'keys-in', segments: [4095, 0, 17] } },
  { type: 'tree', from: 'n3', partition: 3, ringVersion: 1, call: { op: 'fetch', keys: [bytes(1), new Uint8Array(1024).fill(7)] } },
  { type: 'tree', from: 'n3', partition: 3, ringVersion: 1, call: { op: 'push', records: [{ key: bytes(1, 2), record: bytes(1, 0, 9) }, { key: bytes(3), record: bytes() }] } },
  { type: 'tree', from: 'n3', partition: 3, ringVersion: 1, call: { op: 'push', records: [] } },
];

/** One anti-entropy answer of every kind; hashes at both ends of the uint64 range. */
export const ALL_TREE_ANSWERS: readonly TreeAnswer[] = [
  { op: 'root', fanOut: 64, depth: 2, hash: 0n },
  { op: 'root', fanOut: 2, depth: 4, hash: (1n << 64n) - 1n },
  { op: 'segments', hashes: [1n, 0x8000_0000_0000_0000n, 0xdead_beef_0bad_f00dn] },
  { op: 'segments', hashes: [] },
  { op: 'keys-in', entries: [{ key: bytes(9, 9), digest: 42n }, { key: bytes(1), digest: (1n << 64n) - 2n }] },
  { op: 'fetch', records: [{ key: bytes(5), record: bytes(1, 2, 3) }] },
  { op: 'fetch', records: [] },
  { op: 'push' },
];

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
  { type: 'read', key: bytes(1), ringVersion: 7 },
  { type: 'read', key: bytes(1), hinted: true },
  { type: 'read', key: bytes(1), ringVersion: 3, digestOnly: true },
  { type: 'write', key: bytes(9), record: bytes(1), ringVersion: 300 },
  { type: 'coordinate', key: bytes(5), value: bytes(1), context: bytes(), consistency: 'QUORUM', ringVersion: 2 },
  ...ALL_PACKETS.map((packet): PeerRequest => ({ type: 'membership', packet })),
  { type: 'transfer', partition: 12, planId: 3, afterKey: undefined, bytesMax: 1 << 20 },
  { type: 'transfer', partition: 0, planId: 1, afterKey: bytes(), bytesMax: 0 },
  { type: 'transfer', partition: 255, planId: 70_000, afterKey: bytes(7, 7), bytesMax: 4096 },
  ...ALL_TREE_CALLS,
];

/** Every reply variant. */
export const ALL_REPLIES: readonly PeerReply[] = [
  { type: 'identify', nodeId: 'n1', partitionCount: 256, replicas: 3 },
  { type: 'identify', nodeId: 'dynamo-0.dynamo.default.svc — ü', partitionCount: 0, replicas: 0 },
  { type: 'read', record: bytes(1, 10, 20) },
  { type: 'read', record: undefined },
  { type: 'read', record: new Uint8Array(0) },
  { type: 'read', record: undefined, digest: 0n },
  { type: 'read', record: undefined, digest: 0xfedcba9876543210n },
  { type: 'read', record: undefined, digest: 1n },
  { type: 'write' },
  { type: 'coordinate', context: bytes(1, 4, 9) },
  { type: 'coordinate', context: new Uint8Array(0) },
  { type: 'membership' },
  { type: 'transfer', records: [], done: true },
  { type: 'transfer', records: [{ key: bytes(1), record: bytes(1, 2, 3) }, { key: bytes(2, 2), record: new Uint8Array(0) }], done: false },
  ...ALL_TREE_ANSWERS.map((answer): PeerReply => ({ type: 'tree', answer })),
];

/** Comparable (and JSON-printable) form: every byte array (Buffer or Uint8Array) as a plain number array, a bigint as `<digits>n`; errors as {code,message,...}. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Error) return { name: v.name, message: v.message, ...(v as object) };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}
