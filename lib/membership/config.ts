/**
 * Membership configuration: one typed interface, a production default and
 * profiles derived from it (memberlist's DefaultLANConfig / DefaultLocalConfig),
 * and a validator that names the offending field. Each field states the
 * trade-off it controls; durations end in Ms, counts in Count or Max.
 */
import { InvalidArgumentError } from '../runtime/index.ts';

export interface MembershipConfig {
  /**
   * Ring partitions; fixed for the life of the cluster and equal on every node
   * (a gossip peer with another value is refused).
   */
  partitionCount: number;
  /** Replication factor N used for placement and transfer plans; equal on every node. */
  replicas: number;

  // --- gossip (anti-entropy digest exchange, gossip.ts) -----------------
  /**
   * Pause between digest exchanges with one random up peer (plus, with some
   * probability, a seed and a down node). Lower converges faster and costs
   * one digest (about 30 bytes per member) per interval.
   */
  gossipIntervalMs: number;
  /** Most member records one gossip packet carries; the rest follow in later rounds. */
  gossipRecordsMax: number;

  // --- SWIM failure detector (failure-detector.ts) ----------------------
  /** Pause between probes of the next member (scaled up by the local health score). */
  probeIntervalMs: number;
  /** How long a direct ping waits for its ack before indirect probes are sent (scaled likewise). */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly (ping-req) after a direct ping fails. More: fewer false suspicions, more packets. */
  indirectChecks: number;
  /**
   * Suspicion timeout, lower end: suspicionMult x max(1, log10(n)) x probeIntervalMs
   * (memberlist). Higher: fewer false deaths under load, slower detection.
   */
  suspicionMult: number;
  /** Upper end of the suspicion timeout, as a multiple of the lower end; the timeout falls toward the lower end as other members confirm (Lifeguard). */
  suspicionMaxTimeoutMult: number;
  /** Local health (Lifeguard awareness) score ceiling; probe interval and timeout are scaled by score + 1. */
  awarenessMax: number;
  /** Indirect probe relays this node serves at once; more ping-reqs are dropped. */
  indirectRelaysMax: number;

  // --- piggyback dissemination (broadcast-queue.ts) ---------------------
  /** Each change is piggybacked retransmitMult x ceil(log10(n + 1)) times (memberlist). */
  retransmitMult: number;
  /** Changes piggybacked on one packet. */
  piggybackCountMax: number;
  /** Changes queued for piggybacking; the most-sent are dropped first (gossip still carries them). */
  broadcastQueueMax: number;

  // --- member table (member-state.ts) -----------------------------------
  /** Members the table holds; records of further nodes are ignored and reported. */
  membersMax: number;
  /** A dead node that is not part of the ring is forgotten after this long. */
  deadMemberReapMs: number;
  /** Left / removed nodes remembered in the ring state. */
  departedMax: number;

  // --- bootstrap and ring changes (ring-changes.ts) ---------------------
  /** Ask to join the ring at start when not a member (false: wait for the `join` command). */
  autoJoin: boolean;
  /**
   * First ring of a new cluster: founded as soon as this many nodes (self
   * included) are known to be up and none holds a ring (Consul's
   * bootstrap_expect). Set it to the initial cluster size (the StatefulSet
   * replicas); 0: no expected size, rely on bootstrapWaitMs. Nodes that come
   * later join the founded ring through a plan.
   */
  bootstrapExpectCount: number;
  /** ...or once this long has passed since start, with whoever is known (0: never; wait for bootstrapExpectCount). A node without seeds founds at once. */
  bootstrapWaitMs: number;
  /** The claimant plans staged joins/leaves once they have been unchanged this long, so a burst of joins moves data once. */
  planSettleMs: number;
  /** Pending remove requests kept (and resent to the claimant each gossip interval). */
  removeRequestsMax: number;
}

/** Production defaults (a LAN cluster of up to a few hundred nodes). */
export function defaultMembershipConfig(): MembershipConfig {
  return {
    partitionCount: 256,
    replicas: 3,
    gossipIntervalMs: 1000,
    gossipRecordsMax: 256,
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    awarenessMax: 8,
    indirectRelaysMax: 64,
    retransmitMult: 4,
    piggybackCountMax: 8,
    broadcastQueueMax: 1024,
    membersMax: 1024,
    deadMemberReapMs: 3_600_000,
    departedMax: 256,
    autoJoin: true,
    bootstrapExpectCount: 0,
    bootstrapWaitMs: 5000,
    planSettleMs: 5000,
    removeRequestsMax: 16,
  };
}

/** A local cluster on one machine (`npm start`): shorter timeouts, quicker plans. */
export function localMembershipConfig(): MembershipConfig {
  return {
    ...defaultMembershipConfig(),
    gossipIntervalMs: 500,
    probeIntervalMs: 500,
    probeTimeoutMs: 200,
    suspicionMult: 3,
    bootstrapWaitMs: 2000,
    planSettleMs: 1000,
  };
}

/** Tests and simulation: small rings and quick plans; timings as in production so bounds carry over. */
export function testMembershipConfig(): MembershipConfig {
  return { ...defaultMembershipConfig(), partitionCount: 64, planSettleMs: 1000, bootstrapWaitMs: 3000 };
}

type IntField = {
  [K in keyof MembershipConfig]: MembershipConfig[K] extends number ? K : never;
}[keyof MembershipConfig];

/** Inclusive bounds of every numeric field. */
const RANGES: Record<IntField, readonly [number, number]> = {
  partitionCount: [1, 65536],
  replicas: [1, 16],
  gossipIntervalMs: [10, 600_000],
  gossipRecordsMax: [1, 65536],
  probeIntervalMs: [10, 600_000],
  probeTimeoutMs: [1, 600_000],
  indirectChecks: [0, 16],
  suspicionMult: [1, 100],
  suspicionMaxTimeoutMult: [1, 100],
  awarenessMax: [1, 64],
  indirectRelaysMax: [0, 65536],
  retransmitMult: [1, 100],
  piggybackCountMax: [0, 1024],
  broadcastQueueMax: [1, 1_000_000],
  membersMax: [1, 100_000],
  deadMemberReapMs: [0, 2 ** 31],
  departedMax: [1, 100_000],
  bootstrapExpectCount: [0, 100_000],
  bootstrapWaitMs: [0, 2 ** 31],
  planSettleMs: [0, 2 ** 31],
  removeRequestsMax: [1, 1024],
};

/**
 * Fills missing fields from defaultMembershipConfig() and checks every field.
 * Throws InvalidArgumentError naming the field. Returns a new object.
 */
export function validateMembershipConfig(partial: Partial<MembershipConfig> = {}): MembershipConfig {
  const config: MembershipConfig = { ...defaultMembershipConfig(), ...partial };
  for (const [field, [min, max]] of Object.entries(RANGES) as Array<[IntField, readonly [number, number]]>) {
    const value = config[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`membership config ${field} must be an integer in ${min}..${max}, got ${String(value)}`);
    }
  }
  if (typeof config.autoJoin !== 'boolean') {
    throw new InvalidArgumentError(`membership config autoJoin must be a boolean, got ${String(config.autoJoin)}`);
  }
  if (config.probeTimeoutMs >= config.probeIntervalMs) {
    throw new InvalidArgumentError(
      `membership config probeTimeoutMs (${config.probeTimeoutMs}) must be below probeIntervalMs (${config.probeIntervalMs}): indirect probes need the rest of the interval`,
    );
  }
  return config;
}

/**
 * Suspicion timeout bounds for a cluster of `n` members (memberlist's
 * suspicionTimeout): min = suspicionMult x max(1, log10(n)) x probeIntervalMs,
 * max = suspicionMaxTimeoutMult x min.
 */
export function suspicionTimeoutMs(config: MembershipConfig, n: number): { min: number; max: number } {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  const min = Math.round(config.suspicionMult * nodeScale * config.probeIntervalMs);
  return { min, max: min * config.suspicionMaxTimeoutMult };
}

/** How many times a change is piggybacked in a cluster of `n` members. */
export function retransmitLimit(config: MembershipConfig, n: number): number {
  return config.retransmitMult * Math.ceil(Math.log10(n + 1));
}
