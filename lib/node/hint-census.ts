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
 * holds one makes the answer 'held'; one that does not answer (believed down,
 * cut off, starting, refusing) makes it 'unanswered' — it is not even asked
 * when believed down, so GC does not wait for a timeout per key, and the
 * caller stops purging until a later exchange. Either way the purge waits.
 * It asks twice, one round after the other: a hint handed from one node to
 * another (a leaving node's hand-over) is stored by the receiver before the
 * sender deletes it, so if the first round met it nowhere because it was in
 * flight, the second finds it at the receiver.
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
  /** Believed up (not dead, not suspected): only such a node is asked. */
  isUp(id: NodeId): boolean;
  /** This node's hints of the key (undefined: none, or hinted handoff off here). */
  localHints(partition: number, key: Uint8Array): Promise<StoredObject | undefined>;
  request(to: Address, req: ReadRequest, timeoutMs: number): Promise<Result<ReplyFor<'read'>, DynamoError>>;
}

/** 'none' only when two rounds found every ring node answering that it holds no hint of the key. */
export type HintCensus = 'none' | 'held' | 'unanswered';

/** Ask, twice, who holds a hint of `key` (see the module header). */
export async function hintCensus(deps: HintCensusDeps, partition: number, key: Uint8Array): Promise<HintCensus> {
  for (let round = 0; round < 2; round++) {
    const found = await oneRound(deps, partition, key);
    if (found !== 'none') return found;
  }
  return 'none';
}

async function oneRound(deps: HintCensusDeps, partition: number, key: Uint8Array): Promise<HintCensus> {
  if ((await deps.localHints(partition, key)) !== undefined) return 'held';
  const ring = deps.ring();
  if (ring === undefined) return 'unanswered';
  const nodes = new Set<NodeId>(ring.members);
  for (const m of ring.moving) for (const id of m.holders) nodes.add(id);
  nodes.delete(deps.self);
  const addresses: Address[] = [];
  for (const id of nodes) {
    const address = deps.addressOf(id);
    if (address === undefined || !deps.isUp(id)) return 'unanswered';
    addresses.push(address);
  }
  const req: ReadRequest = { type: 'read', key, hinted: true };
  const answers = await Promise.all(
    addresses.map(async (address): Promise<HintCensus> => {
      const res = await deps.request(address, req, HINT_CENSUS_TIMEOUT_MS);
      return !res.ok ? 'unanswered' : res.value.record !== undefined ? 'held' : 'none';
    }),
  );
  return answers.includes('held') ? 'held' : answers.includes('unanswered') ? 'unanswered' : 'none';
}
