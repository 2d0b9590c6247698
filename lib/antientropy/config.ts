/**
 * Anti-entropy configuration: one typed interface, a production default,
 * profiles derived from it, and a validator that names the offending field
 * (memberlist's Default*Config; STYLE.md principle 8). Durations end in Ms,
 * sizes in Bytes, counts in Max.
 */
import { InvalidArgumentError } from '../runtime/index.ts';
import type { AdmissionConfig } from './admission.ts';
import type { ExchangeLimits } from './exchange.ts';
import { validateTreeShape, type TreeShape } from './tictac-tree.ts';
import type { TombstoneRule } from './tombstone-gc.ts';

export interface AntiEntropyConfig {
  // --- trees (tictac-tree.ts) -------------------------------------------
  /**
   * Children per tree node (power of two). With treeDepth 2, fanOut² segments:
   * more segments list fewer keys per differing key but cost 8 bytes each of
   * memory per partition. Equal on every node (a peer with another shape is
   * refused by the exchange).
   */
  treeFanOut: number;
  /** Tree levels below the root; each costs one round trip per differing exchange. */
  treeDepth: number;
  /** Keys written during a background tree rebuild that it can absorb; past it the rebuild starts again. */
  rebuildDirtyKeysMax: number;
  /**
   * A tree older than this is rebuilt from a scan of its partition, in the
   * background, while the old one keeps serving (Riak's anti_entropy_expire):
   * what no write reported — a record that rotted on disk, a tree that
   * drifted — then shows as a difference and is repaired from the other
   * replicas. 0: never. Costs one scan of every partition per period.
   */
  treeRebuildIntervalMs: number;

  // --- scheduling (exchange-scheduler.ts) --------------------------------
  /**
   * Pause between the starts of two exchanges of this node. An idle exchange
   * is one round trip of 14 payload bytes, so with 256 partitions a full
   * cycle takes 256 × 100 ms = 26 s (issue 9: every partition within 60 s on
   * an idle 3-node cluster) for about 140 bytes/s.
   */
  exchangeIntervalMs: number;
  /**
   * The pause instead, while this node is busy with requests (at least
   * `exchangeBusyRequestsPerSecond` since the last start): background
   * exchanges yield to the foreground, as Riak throttles its AAE by vnode
   * queue length. With 256 partitions, 1000 ms is a full cycle in 4.3 min
   * of sustained load; read repair and hints keep covering writes meanwhile,
   * and an idle node is back to `exchangeIntervalMs` at its next start.
   * Never below exchangeIntervalMs (the validator raises it).
   */
  exchangeIntervalBusyMs: number;
  /** Requests per second this node handles (its own clients' and its peers') from which it counts as busy. */
  exchangeBusyRequestsPerSecond: number;
  /** Exchanges this node runs at once (its anti-entropy share of the background budget). */
  exchangesConcurrentMax: number;
  /** An exchange still running after this long is abandoned (its repairs so far stay). */
  exchangeTimeoutMs: number;

  // --- one exchange (exchange.ts) ----------------------------------------
  /** Differing segments listed per exchange; the rest wait for the next exchange of the partition. */
  segmentsPerExchangeMax: number;
  /** Differing keys repaired per exchange. */
  keysPerExchangeMax: number;
  /** Keys per fetch request. */
  keysPerCallMax: number;
  /** Record payload per push request (a larger single record still goes alone). */
  callBytesMax: number;

  // --- tombstone GC (tombstone-gc.ts) --------------------------------------
  /**
   * Wall-clock time after a delete before its tombstone may be purged. Must
   * exceed the hint age limit, clock skew between nodes, and the age of any
   * backup that might be restored: longer is safer and keeps tombstones longer.
   */
  tombstoneGraceMs: number;
  /** How long every replica must have been seen holding a tombstone before it is purged; at least exchangeTimeoutMs. */
  tombstoneSettleMs: number;
  /** How recently every replica must have been seen holding it; must exceed a full exchange cycle. */
  tombstoneHoldingMaxAgeMs: number;
  /** Tombstoned keys tracked for GC; more are kept (not purged) until tracked again. */
  tombstonesTrackedMax: number;
  /** Purged tombstones remembered (and listed to peers as held) at once. */
  purgedRememberedMax: number;
  /** How long a purged tombstone is remembered; at least tombstoneSettleMs + tombstoneHoldingMaxAgeMs so peers can purge too. */
  purgedMemoMs: number;

  // --- background budget (admission.ts), shared with hint replay and streaming
  /** Sustained background payload bytes per second, all kinds together. */
  backgroundBytesPerSecond: number;
  /** Background bytes allowed in one burst after idling. */
  backgroundBurstBytes: number;
  /** Hint replays running at once. */
  hintReplayConcurrentMax: number;
  /** Partition streams running at once. */
  partitionStreamConcurrentMax: number;
}

/** Production defaults (see each field; docs/antientropy.md has the figures). */
export function defaultAntiEntropyConfig(): AntiEntropyConfig {
  return {
    treeFanOut: 64,
    treeDepth: 2,
    rebuildDirtyKeysMax: 65_536,
    treeRebuildIntervalMs: 604_800_000,
    exchangeIntervalMs: 100,
    exchangeIntervalBusyMs: 1000,
    exchangeBusyRequestsPerSecond: 50,
    exchangesConcurrentMax: 1,
    exchangeTimeoutMs: 30_000,
    segmentsPerExchangeMax: 256,
    keysPerExchangeMax: 4096,
    keysPerCallMax: 256,
    callBytesMax: 1 << 20,
    tombstoneGraceMs: 86_400_000,
    tombstoneSettleMs: 120_000,
    tombstoneHoldingMaxAgeMs: 900_000,
    tombstonesTrackedMax: 100_000,
    purgedRememberedMax: 100_000,
    purgedMemoMs: 3_600_000,
    backgroundBytesPerSecond: 8 << 20,
    backgroundBurstBytes: 2 << 20,
    hintReplayConcurrentMax: 2,
    partitionStreamConcurrentMax: 2,
  };
}

/** A local cluster on one machine (`npm start`): tombstones purged within minutes. */
export function localAntiEntropyConfig(): AntiEntropyConfig {
  return {
    ...defaultAntiEntropyConfig(),
    tombstoneGraceMs: 600_000,
    tombstoneSettleMs: 60_000,
    tombstoneHoldingMaxAgeMs: 300_000,
    purgedMemoMs: 1_200_000,
  };
}

/** Tests and simulation: short timings so GC happens within a simulated run; tree and limits as in production. */
export function testAntiEntropyConfig(): AntiEntropyConfig {
  return {
    ...defaultAntiEntropyConfig(),
    exchangeIntervalMs: 50,
    // Tests wait for exchanges while they write: a cycle of 256 partitions stays under 40 s.
    exchangeIntervalBusyMs: 150,
    exchangeTimeoutMs: 5000,
    tombstoneGraceMs: 60_000,
    tombstoneSettleMs: 5000,
    tombstoneHoldingMaxAgeMs: 60_000,
    purgedMemoMs: 300_000,
  };
}

type NumberField = {
  [K in keyof AntiEntropyConfig]: AntiEntropyConfig[K] extends number ? K : never;
}[keyof AntiEntropyConfig];

/** Inclusive bounds of every field. */
const RANGES: Record<NumberField, readonly [number, number]> = {
  treeFanOut: [2, 1024],
  treeDepth: [1, 4],
  rebuildDirtyKeysMax: [1, 10_000_000],
  treeRebuildIntervalMs: [0, 2 ** 40],
  exchangeIntervalMs: [1, 3_600_000],
  exchangeIntervalBusyMs: [1, 3_600_000],
  exchangeBusyRequestsPerSecond: [1, 1_000_000_000],
  exchangesConcurrentMax: [1, 64],
  exchangeTimeoutMs: [100, 3_600_000],
  segmentsPerExchangeMax: [1, 1 << 20],
  keysPerExchangeMax: [1, 1_000_000],
  keysPerCallMax: [1, 65_536],
  callBytesMax: [1024, 64 << 20],
  tombstoneGraceMs: [0, 2 ** 40],
  tombstoneSettleMs: [0, 2 ** 40],
  tombstoneHoldingMaxAgeMs: [1000, 2 ** 40],
  tombstonesTrackedMax: [1, 100_000_000],
  purgedRememberedMax: [1, 100_000_000],
  purgedMemoMs: [1000, 2 ** 40],
  backgroundBytesPerSecond: [1024, 2 ** 40],
  backgroundBurstBytes: [1024, 2 ** 40],
  hintReplayConcurrentMax: [0, 1024],
  partitionStreamConcurrentMax: [0, 1024],
};

/**
 * Fills missing fields from defaultAntiEntropyConfig() and checks every
 * field; exchangeIntervalBusyMs is raised to exchangeIntervalMs if below it. Throws InvalidArgumentError naming the field. Returns a new object.
 */
export function validateAntiEntropyConfig(partial: Partial<AntiEntropyConfig> = {}): AntiEntropyConfig {
  const config: AntiEntropyConfig = { ...defaultAntiEntropyConfig(), ...partial };
  for (const [field, [min, max]] of Object.entries(RANGES) as Array<[NumberField, readonly [number, number]]>) {
    const value = config[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`anti-entropy config ${field} must be an integer in ${min}..${max}, got ${String(value)}`);
    }
  }
  try {
    validateTreeShape(treeShapeOf(config));
  } catch (e) {
    throw new InvalidArgumentError(`anti-entropy config treeFanOut/treeDepth: ${(e as Error).message}`);
  }
  // A busy node never exchanges more often than an idle one: a longer idle interval raises the busy one.
  config.exchangeIntervalBusyMs = Math.max(config.exchangeIntervalBusyMs, config.exchangeIntervalMs);
  if (config.tombstoneSettleMs < config.exchangeTimeoutMs) {
    throw new InvalidArgumentError(
      `anti-entropy config tombstoneSettleMs (${config.tombstoneSettleMs}) must be at least exchangeTimeoutMs (${config.exchangeTimeoutMs}): an exchange carrying an old version may still be in flight`,
    );
  }
  if (config.purgedMemoMs < config.tombstoneSettleMs + config.tombstoneHoldingMaxAgeMs) {
    throw new InvalidArgumentError(
      `anti-entropy config purgedMemoMs (${config.purgedMemoMs}) must be at least tombstoneSettleMs + tombstoneHoldingMaxAgeMs (${config.tombstoneSettleMs + config.tombstoneHoldingMaxAgeMs}): peers must still see a purged tombstone while they wait to purge theirs`,
    );
  }
  return config;
}

/** The tree shape the config asks for. */
export function treeShapeOf(config: AntiEntropyConfig): TreeShape {
  return { fanOut: config.treeFanOut, depth: config.treeDepth };
}

/** The bounds of one exchange. */
export function exchangeLimitsOf(config: AntiEntropyConfig): ExchangeLimits {
  const { segmentsPerExchangeMax, keysPerExchangeMax, keysPerCallMax, callBytesMax } = config;
  return { segmentsPerExchangeMax, keysPerExchangeMax, keysPerCallMax, callBytesMax };
}

/** The timing part of the tombstone GC rule. */
export function tombstoneRuleOf(config: AntiEntropyConfig): TombstoneRule {
  return { graceMs: config.tombstoneGraceMs, settleMs: config.tombstoneSettleMs, holdingMaxAgeMs: config.tombstoneHoldingMaxAgeMs };
}

/** The shared background admission control's settings. */
export function admissionConfigOf(config: AntiEntropyConfig): AdmissionConfig {
  return {
    bytesPerSecond: config.backgroundBytesPerSecond,
    burstBytes: config.backgroundBurstBytes,
    concurrencyMax: {
      'anti-entropy': config.exchangesConcurrentMax,
      'hint-replay': config.hintReplayConcurrentMax,
      'partition-stream': config.partitionStreamConcurrentMax,
    },
  };
}
