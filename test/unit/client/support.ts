/** Shared pieces of the SDK tests. */
import { expect } from 'chai';
import { DynamoClient } from '../../../lib/client/index.ts';
import type { NodeStatus } from '../../../lib/protocol/index.ts';
import { claim } from '../../../lib/ring/index.ts';

/**
 * Client options for tests that count every request a fake node receives:
 * fake nodes report no ring, so these only stop the client's background
 * status reads (discovery and token routing) from adding to the counts.
 */
export const QUIET = { discovery: false, routing: 'round-robin' } as const;

/** The SDK's two wire protocols: every client suite runs against both (see DynamoClientOptions.protocol). */
export const PROTOCOLS = ['session', 'unary'] as const;

/** Tries the endpoints in the order they were configured, so a test knows which one is tried first. */
export class FirstEndpointClient extends DynamoClient {
  routed = 0;
  protected override plan(): string[] {
    this.routed++;
    return [...this.endpoints];
  }
}

/** What `p` rejected with (fails the test if it resolved). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject');
}

/**
 * The Admin status a ready node of a cluster of `members` reports (as seen
 * by the first): a ring claimed for them with `replicas`, its checksum and owners.
 */
export function ringStatus(members: readonly { id: string; address: string }[], replicas: number, partitionCount: number): NodeStatus {
  const ring = claim(members.map((m) => m.id), partitionCount, { replicas });
  return {
    nodeId: members[0]!.id,
    members: members.map((m, i) => ({ ...m, reachable: true, partitionsOwned: 0, self: i === 0 })),
    partitionCount,
    replicas,
    engine: 'memory',
    ready: true,
    readRepairs: 0,
    gets: 0,
    puts: 0,
    deletes: 0,
    ringChecksum: ring.checksum,
    partitionOwners: [...ring.owners],
  };
}

/** Wait (polling, at most 2 s) until `ok()` holds; fails the test naming `what` otherwise. */
export async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(ok(), what).to.equal(true);
}
