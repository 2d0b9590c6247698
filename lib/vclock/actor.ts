/** Naming of replica actors inside clocks. */
import { assert } from '../runtime/index.ts';
import type { Actor } from './types.ts';

/**
 * `${nodeId}.${epoch}`. The epoch (minted with the data directory) keeps a
 * node that lost its data from reusing counters it already handed out.
 */
export function actorFor(nodeId: string, epoch: string): Actor {
  assert(nodeId.length > 0, 'actorFor: nodeId must be non-empty');
  assert(epoch.length > 0, 'actorFor: epoch must be non-empty');
  return `${nodeId}.${epoch}`;
}
