/** Shared helpers of the simulation tests. */
import { withSimCluster, type SimCluster, type SimClusterOptions } from '../../lib/sim/index.ts';

const utf8 = new TextDecoder();

/** A mocha test body running on a fresh started cluster; failures carry `reproduce with DYNAMO_SEED=<n>`. */
export function onCluster(opts: SimClusterOptions, body: (c: SimCluster) => Promise<void>): () => Promise<void> {
  return () => withSimCluster(opts, body);
}

/** The rejection of `p`; fails the test if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

/** Values as sorted strings, for order-free comparison. */
export function texts(values: readonly Uint8Array[]): string[] {
  return values.map((v) => utf8.decode(v)).sort();
}
