/**
 * The history of a simulated run as clients saw it: every get, put and delete
 * with when it started and ended (virtual ms), what it returned, and — for
 * writes — which earlier writes its context had seen. The checker judges the
 * store from this alone; it never looks at the store's clocks, so a bug in
 * the clocks cannot hide itself.
 *
 * Causality is tracked independently: a put's value names the put
 * (`key#id`), a read returns value ids, and a write made with a read's
 * context has seen exactly those writes and everything they had seen
 * (`past`). Contexts the workload damaged on purpose or took from another
 * key are marked so the checker knows what they may legitimately replace.
 */
import type { Consistency, NodeId } from '../protocol/index.ts';

/** Where a write's context came from, which fixes what the write may legitimately supersede. */
export type ContextOrigin =
  /** No context: supersedes nothing. */
  | { readonly kind: 'none' }
  /**
   * A get (or put) of the same key. `seen`: the writes it may supersede (what
   * the read returned and everything those had seen). `sure`: the ones it
   * certainly supersedes — the same for a get's context; for a put's reply
   * context the put itself may be missing (a context naming a replica's new
   * dot also covers that replica's older concurrent dots, so the store leaves
   * it out when such siblings exist).
   */
  | { readonly kind: 'read'; readonly seen: ReadonlySet<number>; readonly sure: ReadonlySet<number> }
  /**
   * A real context of this key with bytes changed: may supersede at most what
   * existed before it ended. An insider's (signed with the cluster's secret)
   * that ended without an answer may land any time later, and then supersede
   * whatever its claims cover by then (swarm seed 40999).
   */
  | { readonly kind: 'fuzzed'; readonly insider: boolean }
  /** A context read for another key, by mistake: must be refused; if not, supersedes nothing of this key. */
  | { readonly kind: 'foreign' };

/** How an operation ended, as its client saw it. */
export type Outcome =
  | { readonly status: 'ok' }
  /** Failed; `maybeApplied` as the error said (a client timeout or a crashed coordinator counts as maybe). */
  | { readonly status: 'failed'; readonly code: string; readonly maybeApplied: boolean; readonly message: string }
  /** Never answered before the run ended. */
  | { readonly status: 'pending' };

interface OpBase {
  readonly id: number;
  readonly client: number;
  readonly key: string;
  /** Node the request was sent to. */
  readonly via: NodeId;
  readonly level: Consistency;
  /** Only primaries counted (no fallbacks): R + W > N promises overlap only between strict requests. */
  readonly strict: boolean;
  /** Replicas the level needs (W for writes, R for reads) for the run's N. */
  readonly needed: number;
  readonly startMs: number;
  endMs: number | undefined;
  outcome: Outcome;
}

/** A put or a delete. */
export interface WriteOp extends OpBase {
  readonly kind: 'put' | 'delete';
  /** The value written (`key#id`), undefined for a delete. */
  readonly value: string | undefined;
  readonly context: ContextOrigin;
  /** The context bytes sent (for traces only: the checker never reads them). */
  readonly contextBytes: Uint8Array;
}

/** A get. */
export interface ReadOp extends OpBase {
  readonly kind: 'get';
  /** Values returned (raw strings), in the order the store gave them. */
  returned: readonly string[] | undefined;
}

export type Op = WriteOp | ReadOp;

/** The value a put writes: names its key and op, so a read tells which put it sees. */
export function valueOf(key: string, id: number): string {
  return `${key}#${id}`;
}

/** The op id a value names for `key`, or undefined if it is not a value any put of this key wrote. */
export function idOf(key: string, value: string): number | undefined {
  const hash = value.lastIndexOf('#');
  if (hash < 0 || value.slice(0, hash) !== key) return undefined;
  const id = Number(value.slice(hash + 1));
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Append-only record of a run's operations and faults. */
export class History {
  readonly ops: Op[] = [];
  /** Fault lines (`t=… crash n2`) for violation traces. */
  readonly faults: { readonly atMs: number; readonly line: string }[] = [];
  /** Virtual time of the first fault that can make replicas forget acknowledged data (tail loss, wipe, restore). */
  firstRegressionMs: number | undefined;
  #nextId = 1;

  /** Record the start of an operation; the caller fills `endMs`/`outcome` (and `returned`) when it ends. */
  begin<T extends Op>(op: Omit<T, 'id' | 'endMs' | 'outcome'>): T {
    const full = { ...op, id: this.#nextId++, endMs: undefined, outcome: { status: 'pending' } } as unknown as T;
    this.ops.push(full);
    return full;
  }

  /** The id the next begun operation will get (a put names its value before it begins). */
  get nextId(): number {
    return this.#nextId;
  }

  fault(atMs: number, line: string, regression = false): void {
    this.faults.push({ atMs, line });
    if (regression && this.firstRegressionMs === undefined) this.firstRegressionMs = atMs;
  }
}
