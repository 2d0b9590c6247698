/**
 * The port an exchange talks through: one replica's view of one partition —
 * its tree, the (key, digest) pairs of chosen segments, its records, and a
 * way to hand it records to merge. The exchange algorithm (exchange.ts) is
 * written once against this port; the local replica, a simulated peer and a
 * gRPC peer are three implementations (riak hashtree:compare/4 with its
 * `Remote` fun; STYLE.md principle 5). The initiator holds one port for its
 * own replica (`local`) and one for the peer (`remote`).
 *
 * Contract for implementations:
 * - Calls of one exchange may run concurrently; each call is independent and
 *   idempotent (push merges, so a repeated push changes nothing).
 * - `root` and `segments` read the replica's current tree; writes may land
 *   between calls (the exchange tolerates it: a difference it misses is found
 *   by the next exchange, a stale one costs a listing).
 * - `keysIn` lists every key the replica holds in the given segments with the
 *   digest of its stored object (tombstones included), in any order.
 * - `fetch` returns the stored record bytes of the keys it holds among those
 *   asked (absent keys are left out), in any order.
 * - `push` merges each record into the replica by causal metadata
 *   (LocalReplica.merge: siblings kept, never last-write-wins) and updates the
 *   replica's tree; it resolves once every record is stored.
 * - Failures reject (a DynamoError with a code: UNAVAILABLE for a peer that
 *   cannot be reached or whose tree is not built yet, INVALID_ARGUMENT for a
 *   bad request); the exchange then stops, keeping the repairs already made.
 * Arrays handed over are not modified afterwards by either side.
 */
import type { TreeCall as PeerTreeCall } from '../protocol/index.ts';
import type { StoredRecord } from '../storage/index.ts';
import type { TreeShape } from './tictac-tree.ts';
import type { KeyDigest } from './version-digest.ts';

/** A replica's root for a partition, with the shape its tree has. */
export interface TreeRoot {
  readonly shape: TreeShape;
  readonly hash: bigint;
}

/** One replica's tree and records for the exchange (see the module contract). Also known as RemoteTree. */
export interface TreePort {
  root(partition: number): Promise<TreeRoot>;
  /** The hashes of the given nodes of `level` (1..depth), one per index, in order. */
  segments(partition: number, level: number, indices: readonly number[]): Promise<readonly bigint[]>;
  /** Every key held in the given segments, with its version digest. */
  keysIn(partition: number, segments: readonly number[]): Promise<readonly KeyDigest[]>;
  /** The stored records of those of `keys` held here. */
  fetch(partition: number, keys: readonly Uint8Array[]): Promise<readonly StoredRecord[]>;
  /** Merge `records` into this replica (siblings preserved). */
  push(partition: number, records: readonly StoredRecord[]): Promise<void>;
}

/** The name the issue uses for the peer side of the port. */
export type RemoteTree = TreePort;

/** A request the exchange makes of one port: exactly the calls the peer protocol carries (lib/protocol TreeCall). */
export type TreeCall = PeerTreeCall;

/** A port's answer to a TreeCall of the same op. */
export type TreeReply =
  | { readonly op: 'root'; readonly root: TreeRoot }
  | { readonly op: 'segments'; readonly hashes: readonly bigint[] }
  | { readonly op: 'keys-in'; readonly entries: readonly KeyDigest[] }
  | { readonly op: 'fetch'; readonly records: readonly StoredRecord[] }
  | { readonly op: 'push' };

/** Performs `call` on `port` (the whole of a driver's I/O for an exchange). */
export async function performCall(port: TreePort, partition: number, call: TreeCall): Promise<TreeReply> {
  switch (call.op) {
    case 'root':
      return { op: 'root', root: await port.root(partition) };
    case 'segments':
      return { op: 'segments', hashes: await port.segments(partition, call.level, call.indices) };
    case 'keys-in':
      return { op: 'keys-in', entries: await port.keysIn(partition, call.segments) };
    case 'fetch':
      return { op: 'fetch', records: await port.fetch(partition, call.keys) };
    case 'push':
      await port.push(partition, call.records);
      return { op: 'push' };
  }
}
