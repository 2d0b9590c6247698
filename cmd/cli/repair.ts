/**
 * `dynamo repair` after the node started the repair: follow it in the node's
 * status (antiEntropy.repair, same id) until it ends, then summarise it —
 * partitions compared, keys repaired each way, bytes, time.
 *
 * RepairWatch is the pure part (statuses in, progress and text out);
 * watchRepair() drives it on an injected clock, sleep and status call; the
 * progress display is the caller's (progress.ts).
 */
import type { NodeStatus, RepairStatus } from '../../lib/client/index.ts';
import { TimeoutError, UnavailableError, type Time } from '../../lib/runtime/index.ts';
import { formatBytes } from './admin-output.ts';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** One repair as the polls see it. */
export class RepairWatch {
  #repair: RepairStatus;

  constructor(
    readonly nodeId: string,
    started: RepairStatus,
  ) {
    this.#repair = started;
  }

  /** The repair as last seen. */
  get repair(): RepairStatus {
    return this.#repair;
  }

  /**
   * The node answered with `s`. Throws UnavailableError when it no longer
   * reports this repair (it restarted: the repair stopped with it).
   */
  fromNode(s: NodeStatus): RepairStatus {
    const r = s.antiEntropy?.repair;
    if (r === undefined || r.id !== this.#repair.id || r.startedAtMs !== this.#repair.startedAtMs) {
      throw new UnavailableError(`${this.nodeId} no longer reports repair ${this.#repair.id} (it restarted?); run dynamo repair again`, { answered: 0, required: 0 });
    }
    this.#repair = r;
    return r;
  }

  /** The state in a few words (the progress bar's label). */
  phaseText(): string {
    const r = this.#repair;
    const keys = `${r.keysPulled + r.keysPushed} keys repaired`;
    return r.state === 'running' ? `${plural(r.exchanges, 'exchange')}, ${keys}` : r.state === 'done' ? `done, ${keys}` : `failed: ${r.error ?? 'unknown'}`;
  }

  /** One line: the node and the repair so far. */
  describe(): string {
    const r = this.#repair;
    return `${this.nodeId}: repair ${r.id} ${r.state}, ${r.partitionsDone}/${r.partitionsTotal} partitions compared, ${this.phaseText()}`;
  }

  /** The closing line: what was compared and repaired, bytes and time. */
  summary(): string {
    const r = this.#repair;
    const scope = r.partition === undefined ? plural(r.partitionsTotal, 'partition') : `partition ${r.partition}`;
    const skipped = r.skipped === 0 ? '' : `, ${plural(r.skipped, 'replica pair')} skipped (peer down or unreachable)`;
    return (
      `repair ${r.id} on ${this.nodeId} ${r.state === 'done' ? 'done' : `${r.state}${r.error === undefined ? '' : ` (${r.error})`}`}: ` +
      `${scope} compared in ${plural(r.exchanges, 'exchange')}${skipped}; ` +
      `keys repaired: ${r.keysPulled} here from peers, ${r.keysPushed} on peers; ` +
      `${formatBytes(r.bytesSent)} sent, ${formatBytes(r.bytesReceived)} received; ${(r.elapsedMs / 1000).toFixed(1)} s\n`
    );
  }
}

/** What watchRepair() needs. */
export interface RepairWatchOptions {
  readonly watch: RepairWatch;
  readonly endpoint: string;
  readonly time: Pick<Time, 'nowMs'>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly intervalMs: number;
  /** Wall-clock time by which the repair must have ended. */
  readonly deadlineMs: number;
  readonly requestTimeoutMs: number;
  readonly status: (endpoint: string, timeoutMs: number) => Promise<NodeStatus>;
  readonly onPoll: (watch: RepairWatch) => void;
}

/** Poll until the repair ends (resolves with it). Rejects with TimeoutError past the deadline, or the status call's error. */
export async function watchRepair(o: RepairWatchOptions): Promise<RepairStatus> {
  for (;;) {
    const r = o.watch.fromNode(await o.status(o.endpoint, o.requestTimeoutMs));
    o.onPoll(o.watch);
    if (r.state !== 'running') return r;
    const leftMs = o.deadlineMs - o.time.nowMs();
    if (leftMs <= 0) throw new TimeoutError(`${o.watch.describe()}; it has not finished within --timeout-s (it goes on: watch dynamo status)`, { answered: 0, required: 0 });
    await o.sleep(Math.min(o.intervalMs, leftMs));
  }
}
