/**
 * One seeded run of the history checker (TigerBeetle's VOPR shape): a whole
 * cluster of real nodes in one process, clients and faults together for a
 * safety phase, then a heal phase (every fault ended, every node back, time
 * to settle) and a read of every key at ALL, then the checker. The same
 * options and seed give the same transcript byte for byte.
 */
import { writeFileSync } from 'node:fs';
import type { Consistency } from '../protocol/index.ts';
import { SeededRandom } from '../runtime/index.ts';
import { checkHistory, describe as describeOp, traceOf, type Violation } from './checker.ts';
import { SimCluster } from './cluster.ts';
import { FaultInjector, NO_FAULTS, type FaultCounts, type FaultOptions } from './faults.ts';
import { History } from './history.ts';
import { reproduceHint } from './seed.ts';
import type { SimDiskOptions, SimDiskStats } from './sim-disk.ts';
import { Workload, type WorkloadMix } from './workload.ts';
import type { AntiEntropyConfig } from '../antientropy/index.ts';
import type { HandoffConfig } from '../handoff/index.ts';

/** Everything a run is made of; see defaultRunOptions(). */
export interface SimRunOptions {
  seed: number;
  nodes: number;
  replicas: number;
  partitionCount: number;
  clients: number;
  opsPerClient: number;
  keys: number;
  mix: WorkloadMix;
  levels: readonly Consistency[];
  thinkMsMax: number;
  requestTimeoutMs: number;
  faults: FaultOptions;
  disk: SimDiskOptions;
  /** Virtual time the heal phase waits (background repair, restarts) before the final reads. */
  settleMs: number;
  /** Anti-entropy on every node: false turns it off; otherwise settings over the simulator's defaults (SimClusterOptions.antiEntropy). */
  antiEntropy: false | Partial<AntiEntropyConfig>;
  /** Hinted handoff settings over the simulator's (SimClusterOptions.handoff); absent: its defaults. */
  handoff?: Partial<HandoffConfig>;
  /**
   * The fuzzing client holds the cluster's context secret: its forged claims
   * are signed, accepted, and meet the replicas' clamping (context-check.ts),
   * as every forgery did before contexts were signed. Absent or false: they
   * are signed with another secret and refused.
   */
  insiderContexts?: boolean;
}

/** What a run found and how often rare paths were taken. */
export interface SimRunReport {
  readonly seed: number;
  readonly options: SimRunOptions;
  readonly violations: readonly Violation[];
  /** Per violation, the operations on its key and the faults, in time order. */
  readonly traces: readonly (readonly string[])[];
  readonly ops: number;
  readonly acknowledgedWrites: number;
  readonly virtualMs: number;
  readonly faults: FaultCounts;
  /** Rare paths of the store, counted from its log lines and the disks. */
  readonly rare: RareCounts;
  readonly transcript: { lines: number; digest: string };
}

/** Rare paths the swarm reports how often it hit. */
export interface RareCounts {
  localWriteFailures: number;
  actorRetirements: number;
  tailWritesLost: number;
  /** Reads of a rotten record that failed their checksum (value-log style), on any disk. */
  checksumFailures: number;
  dotConflicts: number;
  siblingCap: number;
  contextCatchUps: number;
  contextRefusals: number;
  /** Writes refused because their context's signature did not match (contexts forged without the cluster's secret). */
  forgedContextRefusals: number;
  setAside: number;
  maybeAppliedErrors: number;
  /** Tombstones purged by anti-entropy's GC (batches logged). */
  tombstonePurges: number;
  /** Hints the surviving lives of nodes handed over (counters restart with a node). */
  hintsDelivered: number;
  /** Log lines of hints older than the hint window handed to other replicas of their keys. */
  hintsRetired: number;
  /** Log lines of hints dropped (no replica took them within twice the hint window). */
  hintsDropped: number;
  /** Partition trees rebuilt because they could not be trusted (a failed write, a set-aside, drift). */
  treeRebuilds: number;
  /** Exchanges the serving lives started at the busy pace (anti-entropy yielding to requests). */
  exchangesSlowed: number;
  /** Digest reads whose replica's digest differed, so its copy was read whole (the serving lives' counters). */
  digestMismatches: number;
  /** Starts after a clean stop that loaded saved trees. */
  treesLoaded: number;
  /** Writes a replica issued while an earlier write of the key was still landing (on every disk). */
  writesOverPending: number;
  /** Of the failed writes, those a later write of the key, already issued, had been built on. */
  failuresUnderLaterWrite: number;
  /** Reads for a write answered from a record summary, and of those the writes that read the whole object after all (serving lives). */
  summaryReads: number;
  summaryFallbacks: number;
  /** Of those, starts that tracked tombstones from the saved lists instead of walking. */
  tombstoneListsLoaded: number;
}

const LOG = {
  hintDropped: 'hint dropped: no replica of its key took it',
  hintRetired: 'hints older than the hint window handed to other replicas',
  retired: 'retired the minting actor',
  conflict: 'one version number names two different values',
  setAside: 'set aside, the key will be rebuilt',
  purged: 'purged tombstones every replica holds',
  rebuilt: 'rebuilding a partition tree',
  treesLoaded: 'loaded the trees saved at the last clean stop',
  listsLoaded: 'tracked the tombstones listed at the last clean stop',
} as const;

/** The workload every level and mistake in moderate proportions, no faults. */
export function defaultRunOptions(seed: number): SimRunOptions {
  return {
    seed,
    nodes: 3,
    replicas: 3,
    partitionCount: 16,
    clients: 4,
    opsPerClient: 25,
    keys: 4,
    mix: { get: 4, blindPut: 2, rmwPut: 4, delete: 1, foreignContext: 0.3, fuzzedContext: 0.3 },
    levels: ['ONE', 'TWO', 'QUORUM', 'ALL'],
    thinkMsMax: 40,
    requestTimeoutMs: 400,
    faults: NO_FAULTS,
    disk: { writeLatencyMsMin: 0, writeLatencyMsMax: 2, writebackMs: 2000, syncWrites: false },
    settleMs: 3000,
    antiEntropy: {},
  };
}

/** Run one simulation and check its history. Never throws for a store bug: violations are in the report. */
export async function runSimulation(opts: SimRunOptions): Promise<SimRunReport> {
  const cluster = SimCluster.create({
    seed: opts.seed,
    nodes: opts.nodes,
    replicas: opts.replicas,
    partitionCount: opts.partitionCount,
    requestTimeoutMsDefault: opts.requestTimeoutMs,
    disk: opts.disk,
    antiEntropy: opts.antiEntropy,
    ...(opts.handoff === undefined ? {} : { handoff: opts.handoff }),
    logLevel: 'info',
    // Debugging aid: SIM_TRACE=module,... records those modules' trace lines in the transcript.
    ...(process.env.SIM_TRACE ? { trace: process.env.SIM_TRACE.split(',') } : {}),
    transcriptLinesMax: Number(process.env.SIM_TRANSCRIPT ?? 2000),
    stepsMax: 1_500_000,
  });
  for (const fragment of Object.values(LOG)) cluster.watch(fragment);
  // Workload and faults draw from their own generator, so the cluster's forks stay put.
  const random = new SeededRandom((opts.seed ^ 0x5bd1e995) >>> 0);
  const history = new History();
  const workload = new Workload(cluster, history, random.fork(), {
    clients: opts.clients,
    opsPerClient: opts.opsPerClient,
    keys: opts.keys,
    mix: opts.mix,
    levels: opts.levels,
    thinkMsMax: opts.thinkMsMax,
    requestTimeoutMs: opts.requestTimeoutMs,
    replicas: opts.replicas,
    ...(opts.insiderContexts === true ? { insiderContexts: true } : {}),
  });
  const faults = new FaultInjector(cluster, history, random.fork(), opts.faults);
  const finalValues = new Map<string, readonly string[] | undefined>();
  let broke: Violation | undefined;
  let hintsDelivered = 0;
  let exchangesSlowed = 0;
  let digestMismatches = 0;
  let summaryReads = 0;
  let summaryFallbacks = 0;
  try {
    await cluster.start();
    faults.start();
    await cluster.run(workload.run());
    await cluster.run(faults.heal());
    await cluster.waitConverged();
    await cluster.waitRingSettled(faults.removed);
    await cluster.waitHintsDrained();
    await cluster.runFor(opts.settleMs);
    const serving = cluster.ids.filter((id) => cluster.isUp(id) && cluster.node(id).departed === undefined);
    const via = serving[random.int(serving.length)]!;
    for (let k = 0; k < opts.keys; k++) {
      const key = `k${k}`;
      finalValues.set(key, await finalRead(cluster, via, key, opts.requestTimeoutMs));
    }
    for (const id of serving) {
      const status = await cluster.run(cluster.node(id).admin.status());
      hintsDelivered += status.hints?.delivered ?? 0;
      exchangesSlowed += status.antiEntropy?.exchangesSlowed ?? 0;
      digestMismatches += status.digestMismatches ?? 0;
      summaryReads += status.summaryReads ?? 0;
      summaryFallbacks += status.summaryFallbacks ?? 0;
    }
  } catch (e) {
    broke = { rule: 'simulation-failed', key: '*', message: e instanceof Error ? e.message.split('\n')[0]! : String(e), ops: [] };
  } finally {
    await cluster.stop().catch(() => undefined);
    // Debugging aid: SIM_DUMP=FILE writes the transcript kept (SIM_TRANSCRIPT lines) to FILE.
    if (process.env.SIM_DUMP) writeFileSync(process.env.SIM_DUMP, cluster.transcript.join('\n') + '\n');
  }
  const dotConflicts = cluster.watched(LOG.conflict);
  const violations = checkHistory({ history, replicas: opts.replicas, finalValues, dotConflicts });
  if (broke !== undefined) violations.unshift(broke);
  for (const bug of workload.internalErrors) violations.push({ rule: 'no-phantom', key: '*', message: `internal error: ${bug}`, ops: [] });
  const writes = history.ops.filter((o) => o.kind !== 'get');
  let tailWritesLost = 0;
  for (const id of cluster.ids) tailWritesLost += cluster.disk(id).stats.writesLostByPowerLoss;
  let checksumFailures = 0;
  for (const id of cluster.ids) checksumFailures += cluster.disk(id).stats.checksumFailures;
  const traces = violations.map((v) =>
    v.rule === 'simulation-failed'
      ? [
          ...history.faults.map((f) => f.line),
          ...history.ops.filter((o) => o.outcome.status === 'pending').map((o) => `still pending: #${o.id} ${describeOp(o)}`),
          ...cluster.transcript.slice(-Number(process.env.SIM_TAIL ?? 40)),
        ]
      : traceOf(history, v),
  );
  return {
    seed: opts.seed,
    options: opts,
    violations,
    traces,
    ops: history.ops.length,
    acknowledgedWrites: writes.filter((w) => w.outcome.status === 'ok').length,
    virtualMs: cluster.scheduler.nowMs,
    faults: faults.counts,
    rare: {
      localWriteFailures: writes.length === 0 ? 0 : sumDiskStat(cluster, 'writesFailed'),
      writesOverPending: sumDiskStat(cluster, 'writesOverPending'),
      failuresUnderLaterWrite: sumDiskStat(cluster, 'failuresUnderLaterWrite'),
      actorRetirements: cluster.watched(LOG.retired),
      tailWritesLost,
      checksumFailures,
      dotConflicts,
      siblingCap: writes.filter((w) => w.outcome.status === 'failed' && w.outcome.code === 'DYNAMO_LIMIT_EXCEEDED').length,
      contextCatchUps: 0,
      contextRefusals: writes.filter((w) => w.outcome.status === 'failed' && /context names versions/.test(w.outcome.message)).length,
      forgedContextRefusals: writes.filter((w) => w.outcome.status === 'failed' && /signature does not match/.test(w.outcome.message)).length,
      setAside: cluster.watched(LOG.setAside),
      maybeAppliedErrors: writes.filter((w) => w.outcome.status === 'failed' && w.outcome.maybeApplied).length,
      tombstonePurges: cluster.watched(LOG.purged),
      hintsDelivered,
      exchangesSlowed,
      digestMismatches,
      summaryReads,
      summaryFallbacks,
      hintsRetired: cluster.watched(LOG.hintRetired),
      hintsDropped: cluster.watched(LOG.hintDropped),
      treeRebuilds: cluster.watched(LOG.rebuilt),
      treesLoaded: cluster.watched(LOG.treesLoaded),
      tombstoneListsLoaded: cluster.watched(LOG.listsLoaded),
    },
    transcript: cluster.transcriptDigest,
  };
}

/** A disk counter summed over every node's disk (all lives). */
function sumDiskStat(cluster: SimCluster, stat: keyof SimDiskStats): number {
  let n = 0;
  for (const id of cluster.ids) n += cluster.disk(id).stats[stat];
  return n;
}

/** A read at ALL, retried while the healed cluster settles; undefined if it never succeeds. */
async function finalRead(cluster: SimCluster, via: string, key: string, timeoutMs: number): Promise<readonly string[] | undefined> {
  const text = new TextDecoder();
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const got = await cluster.get(via, key, { consistency: 'ALL', timeoutMs: timeoutMs * 4 });
      return got.values.map((v) => text.decode(v));
    } catch {
      await cluster.runFor(timeoutMs);
    }
  }
  return undefined;
}

/** A report as text: one summary line, then each violation with its trace and the reproduce line. */
export function formatReport(r: SimRunReport): string {
  const lines = [
    `seed ${r.seed}: ${r.violations.length === 0 ? 'ok' : `${r.violations.length} violation(s)`} — ${r.ops} ops, ${r.acknowledgedWrites} acknowledged writes, ` +
      `${r.options.nodes} nodes, N=${r.options.replicas}, ${r.virtualMs} virtual ms, transcript ${r.transcript.digest}`,
  ];
  r.violations.forEach((v, i) => {
    lines.push(`  [${v.rule}] ${v.key}: ${v.message}`);
    for (const t of r.traces[i] ?? []) lines.push(`    ${t}`);
  });
  if (r.violations.length > 0) lines.push(reproduceHint(r.seed));
  return lines.join('\n');
}
