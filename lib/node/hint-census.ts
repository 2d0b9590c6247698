/**
 * Whether a hint of one key may still be held anywhere in the cluster: the
 * question tombstone GC must have answered "no" before it purges the key.
 *
 * Why: a hint keeps a version written while its replica was down. If it was
 * written before a delete and is delivered after the delete's tombstone was
 * purged, the deleted value is stored as if new and comes back. Hints can
 * outlive any fixed bound — their holder may be down, or cut off, for longer
 * than the tombstone grace — so an age limit alone cannot rule that out
 * (Cassandra drops hints older than gc_grace instead, and so loses a write
 * acknowledged only by a hint; this store does not drop those).
 *
 * The census asks this node's own hint store and every ring node (members and
 * the holders a move still involves) for their hints of the key. A node that
 * holds one, or does not answer (down, cut off, starting, refusing), counts
 * as "may hold": the purge waits for a later exchange. It asks twice, one
 * round after the other: a hint handed from one node to another (a leaving
 * node's hand-over) is stored by the receiver before the sender deletes it,
 * so if the first round met it nowhere because it was in flight, the second
 * finds it at the receiver.
 */
import type { Address, NodeId, ReadRequest, ReplyFor, RingStateRecord } from '../protocol/index.ts';
import type { DynamoError, Result } from '../runtime/index.ts';
import type { StoredObject } from '../storage/index.ts';

/** How long one node may take to say what hints it holds for the key. */
export const HINT_CENSUS_TIMEOUT_MS = 2000;

export interface HintCensusDeps {
  readonly self: NodeId;
  /** The ring state adopted now (undefined: none yet, so nothing can be ruled out). */
  ring(): RingStateRecord | undefined;
  addressOf(id: NodeId): Address | undefined;
  /** This node's hints of the key (undefined: none, or hinted handoff off here). */
  localHints(partition: number, key: Uint8Array): Promise<StoredObject | undefined>;
  request(to: Address, req: ReadRequest, timeoutMs: number): Promise<Result<ReplyFor<'read'>, DynamoError>>;
}

/** True unless two rounds found every ring node answering that it holds no hint of `key`. */
export async function hintsMayExist(deps: HintCensusDeps, partition: number, key: Uint8Array): Promise<boolean> {
  for (let round = 0; round < 2; round++) if (await oneRound(deps, partition, key)) return true;
  return false;
}

async function oneRound(deps: HintCensusDeps, partition: number, key: Uint8Array): Promise<boolean> {
  if ((await deps.localHints(partition, key)) !== undefined) return true;
  const ring = deps.ring();
  if (ring === undefined) return true;
  const nodes = new Set<NodeId>(ring.members);
  for (const m of ring.moving) for (const id of m.holders) nodes.add(id);
  nodes.delete(deps.self);
  const req: ReadRequest = { type: 'read', key, hinted: true };
  const held = await Promise.all(
    [...nodes].map(async (id) => {
      const address = deps.addressOf(id);
      if (address === undefined) return true;
      const res = await deps.request(address, req, HINT_CENSUS_TIMEOUT_MS);
      return !res.ok || res.value.record !== undefined;
    }),
  );
  return held.includes(true);
}
