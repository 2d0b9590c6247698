/**
 * Routing decisions that depend on the cluster view, kept pure: in which
 * order a read asks its replicas, and whether a peer request routed by an
 * older ring may be served here.
 */
import { UnavailableError } from '../runtime/index.ts';
import type { NodeId } from '../protocol/index.ts';
import type { ClusterView } from './types.ts';

/**
 * Slot order in which a read asks `nodes`: this node first (its copy costs no
 * message), then the others believed up in preference order, then those
 * believed down (asked only if nothing else is left, and failed at once).
 */
export function liveOrder(nodes: readonly NodeId[], view: Pick<ClusterView, 'self' | 'isUp'>): number[] {
  const self: number[] = [];
  const up: number[] = [];
  const down: number[] = [];
  nodes.forEach((n, i) => (n === view.self ? self : view.isUp(n) ? up : down).push(i));
  return [...self, ...up, ...down];
}

/**
 * Refuse (UnavailableError, nothing applied) a request routed by a ring older
 * than ours when, under ours, this node is not among the partition's
 * `which` replicas: answering it would read from, or store on, a node that
 * no longer replicates the partition. A request routed by our version or a
 * newer one (we have not heard of it yet) is served.
 */
export function refuseStaleRouting(view: ClusterView, partition: number, which: 'reads' | 'writes', routedBy: number | undefined): void {
  if (routedBy === undefined || routedBy === 0 || view.ringVersion === 0 || routedBy >= view.ringVersion) return;
  if (view.replicas(partition)[which].includes(view.self)) return;
  throw new UnavailableError(
    `${view.self} no longer replicates partition ${partition} under ring version ${view.ringVersion} (the request was routed by version ${routedBy}); retry`,
    { answered: 0, required: 0 },
  );
}
