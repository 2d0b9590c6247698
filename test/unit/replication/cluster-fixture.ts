/** N in-process coordinators over a FakeNetwork, each with its own memory storage. */
import { RealTime, SeededRandom, silentLogger, type Logger } from '../../../lib/runtime/index.ts';
import type { Consistency, NodeId } from '../../../lib/protocol/index.ts';
import { claim, partitionOf, preferenceList, type Ring } from '../../../lib/ring/index.ts';
import { Coordinator, type ReplicationConfig } from '../../../lib/replication/index.ts';
import { decodeRecord, type StoredObject } from '../../../lib/storage/index.ts';
import { versionDigest } from '../../../lib/antientropy/index.ts';
import { FakeNetwork } from './fake-network.ts';
import { bytes, CountingStorage } from './helpers.ts';

export const PARTITIONS = 16;

/** Epochs e1, e2, ... in minting order, so actors read `n1.e1` (a retired actor is followed by `n1.e2`). */
export function epochNamer(): () => string {
  let n = 0;
  return () => `e${++n}`;
}

export interface TestNode {
  readonly id: NodeId;
  readonly storage: CountingStorage;
  readonly coordinator: Coordinator;
}

export interface TestCluster {
  readonly time: RealTime;
  readonly net: FakeNetwork;
  readonly ring: Ring;
  readonly nodes: Map<NodeId, TestNode>;
  /** Nodes every coordinator's failure detector believes down (not waited for). */
  readonly believedDown: Set<NodeId>;
  node(id: NodeId): TestNode;
  /** The key's stored object on one node's storage (bypassing replication). */
  stored(id: NodeId, key: Uint8Array): Promise<StoredObject | undefined>;
  /** Replicas of a key, in preference order. */
  replicasOf(key: Uint8Array): NodeId[];
  /** A key whose preference list satisfies `pred`. */
  keyWhere(pred: (replicas: NodeId[]) => boolean): Uint8Array;
  close(): Promise<void>;
}

export async function startCluster(
  ids: readonly NodeId[],
  opts: {
    replicas?: number;
    readRepair?: boolean;
    /** Default true, as on a real node. */
    digestReads?: boolean;
    /** Nodes built without a digest function: they answer digest reads with the whole copy (a node predating them). */
    noDigests?: readonly NodeId[];
    defaultConsistency?: Consistency;
    logger?: Logger;
  } = {},
): Promise<TestCluster> {
  const time = new RealTime();
  const net = new FakeNetwork(time);
  const replicas = opts.replicas ?? 3;
  const ring = claim(ids, PARTITIONS, { replicas });
  const config: ReplicationConfig = {
    replicas,
    defaultConsistency: opts.defaultConsistency ?? 'QUORUM',
    requestTimeoutMsDefault: 1000,
    readRepair: opts.readRepair ?? true,
    digestReads: opts.digestReads ?? true,
  };
  const nodes = new Map<NodeId, TestNode>();
  const believedDown = new Set<NodeId>();
  for (const id of ids) {
    const storage = new CountingStorage();
    await storage.open();
    const coordinator = new Coordinator({
      runtime: { time, random: new SeededRandom(1), logger: opts.logger ?? silentLogger },
      config,
      storage,
      transport: net.client(id),
      nodeId: id,
      mintEpoch: epochNamer(),
      ...(opts.noDigests?.includes(id) === true ? {} : { versionDigest }),
      cluster: () => ({
        self: id,
        ring,
        ringVersion: 0,
        addressOf: (other) => (ids.includes(other) ? other : undefined),
        replicas: (partition) => {
          const nodes = preferenceList(ring, partition, replicas);
          return { reads: nodes, writes: nodes };
        },
        isUp: (other) => !believedDown.has(other),
      }),
    });
    net.handlers.set(id, (req, timeoutMs) => coordinator.handlePeer(req, timeoutMs));
    nodes.set(id, { id, storage, coordinator });
  }
  const cluster: TestCluster = {
    time,
    net,
    ring,
    nodes,
    believedDown,
    node(id) {
      const n = nodes.get(id);
      if (n === undefined) throw new Error(`no node ${id}`);
      return n;
    },
    async stored(id, key) {
      const record = await cluster.node(id).storage.get(partitionOf(key, PARTITIONS), key);
      return record === undefined ? undefined : decodeRecord(record);
    },
    replicasOf(key) {
      return preferenceList(ring, partitionOf(key, PARTITIONS), replicas);
    },
    keyWhere(pred) {
      for (let i = 0; i < 10_000; i++) {
        const key = bytes(`key-${i}`);
        if (pred(cluster.replicasOf(key))) return key;
      }
      throw new Error('no key matches');
    },
    async close() {
      for (const n of nodes.values()) await n.coordinator.close();
      for (const n of nodes.values()) await n.storage.close();
    },
  };
  return cluster;
}
