/**
 * One admission control for all background work — anti-entropy exchanges,
 * hint replay, partition streaming — so repair never starves client
 * requests (issue 9, "Budget"; Riak's first AAE, which rebuilt and exchanged
 * without a budget, famously cut throughput).
 *
 * Two limits:
 *  - a concurrency limit per kind of work (tasks of that kind running at once);
 *  - one token bucket in bytes shared by every kind: it refills at
 *    `bytesPerSecond` up to `burstBytes`; a grant takes its bytes, and a
 *    charge after the fact (bytes moved that could not be known up front,
 *    e.g. the size of a reply) may drive it below zero, which later grants
 *    wait out. A request larger than the burst is granted once the bucket is
 *    full, so no request can wait forever.
 *
 * Pure: every call takes `nowMs` (the driver's monotonic time) and returns
 * grant or deny with the time at which a retry can succeed; nothing waits
 * here. The driver sleeps on its Time until retryAtMs.
 */
import { InvalidArgumentError, assert } from '../runtime/index.ts';

/** Kinds of background work sharing the budget. */
export const BACKGROUND_KINDS = ['anti-entropy', 'hint-replay', 'partition-stream'] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];

export interface AdmissionConfig {
  /** Sustained background payload bytes per second, all kinds together. */
  readonly bytesPerSecond: number;
  /** Bytes the bucket holds when full (the largest burst after idling). */
  readonly burstBytes: number;
  /** Tasks of each kind that may run at once. */
  readonly concurrencyMax: { readonly [K in BackgroundKind]: number };
}

/** A running task's handle. */
export interface AdmissionTicket {
  readonly id: number;
  readonly kind: BackgroundKind;
}

export type BeginDecision =
  | { readonly granted: true; readonly ticket: AdmissionTicket }
  /** As many tasks of this kind as allowed are running: retry when one ends. */
  | { readonly granted: false; readonly reason: 'concurrency' };

export type SpendDecision = { readonly granted: true } | { readonly granted: false; readonly reason: 'rate'; readonly retryAtMs: number };

export interface AdmissionStats {
  readonly running: { readonly [K in BackgroundKind]: number };
  readonly bytesGranted: { readonly [K in BackgroundKind]: number };
  readonly denials: { readonly concurrency: number; readonly rate: number };
  /** Bucket level now (negative: in debt). */
  readonly tokens: number;
}

/** Throws InvalidArgumentError naming the field unless `config` is usable. */
export function validateAdmissionConfig(config: AdmissionConfig): void {
  if (!Number.isFinite(config.bytesPerSecond) || config.bytesPerSecond <= 0) {
    throw new InvalidArgumentError(`admission bytesPerSecond must be a positive number, got ${String(config.bytesPerSecond)}`);
  }
  if (!Number.isSafeInteger(config.burstBytes) || config.burstBytes < 1) {
    throw new InvalidArgumentError(`admission burstBytes must be a positive integer, got ${String(config.burstBytes)}`);
  }
  for (const kind of BACKGROUND_KINDS) {
    const n = config.concurrencyMax?.[kind];
    if (!Number.isSafeInteger(n) || n < 0 || n > 1024) {
      throw new InvalidArgumentError(`admission concurrencyMax.${kind} must be an integer in 0..1024, got ${String(n)}`);
    }
  }
}

const perKind = (): Record<BackgroundKind, number> => ({ 'anti-entropy': 0, 'hint-replay': 0, 'partition-stream': 0 });

/** The shared admission control; see the module header. */
export class BackgroundAdmission {
  readonly #config: AdmissionConfig;
  #tokens: number;
  #refilledAtMs: number;
  #nextTicket = 1;
  readonly #tickets = new Map<number, AdmissionTicket>();
  readonly #running = perKind();
  readonly #granted = perKind();
  readonly #denials = { concurrency: 0, rate: 0 };

  constructor(config: AdmissionConfig, nowMs: number) {
    validateAdmissionConfig(config);
    this.#config = config;
    this.#tokens = config.burstBytes;
    this.#refilledAtMs = nowMs;
  }

  /** Start a task of `kind` if its concurrency limit allows. */
  begin(kind: BackgroundKind, nowMs: number): BeginDecision {
    this.#refill(nowMs);
    if (this.#running[kind] >= this.#config.concurrencyMax[kind]) {
      this.#denials.concurrency++;
      return { granted: false, reason: 'concurrency' };
    }
    const ticket: AdmissionTicket = { id: this.#nextTicket++, kind };
    this.#tickets.set(ticket.id, ticket);
    this.#running[kind]++;
    return { granted: true, ticket };
  }

  /** Take `bytes` before moving them, or learn when they can be taken. */
  spend(ticket: AdmissionTicket, bytes: number, nowMs: number): SpendDecision {
    this.#check(ticket, bytes);
    this.#refill(nowMs);
    const needed = Math.min(bytes, this.#config.burstBytes);
    if (this.#tokens < needed) {
      this.#denials.rate++;
      return { granted: false, reason: 'rate', retryAtMs: this.#readyAtMs(needed, nowMs) };
    }
    this.#take(ticket, bytes);
    return { granted: true };
  }

  /**
   * Account for `bytes` already moved (may leave the bucket in debt), and
   * return when the bucket is back to at least zero: the earliest time the
   * task should move more (nowMs if it may go on at once).
   */
  charge(ticket: AdmissionTicket, bytes: number, nowMs: number): number {
    this.#check(ticket, bytes);
    this.#refill(nowMs);
    this.#take(ticket, bytes);
    return this.#tokens >= 0 ? nowMs : this.#readyAtMs(0, nowMs);
  }

  /** The task ended (its slot frees at once). Ending twice is a programmer error. */
  end(ticket: AdmissionTicket): void {
    assert(this.#tickets.delete(ticket.id), `admission ticket ${ticket.id} ended twice or never began`);
    this.#running[ticket.kind]--;
  }

  stats(nowMs: number): AdmissionStats {
    this.#refill(nowMs);
    return { running: { ...this.#running }, bytesGranted: { ...this.#granted }, denials: { ...this.#denials }, tokens: this.#tokens };
  }

  #take(ticket: AdmissionTicket, bytes: number): void {
    this.#tokens -= bytes;
    this.#granted[ticket.kind] += bytes;
  }

  /** When the bucket will hold `level` tokens, rounded up to a whole ms. */
  #readyAtMs(level: number, nowMs: number): number {
    return nowMs + Math.ceil(((level - this.#tokens) * 1000) / this.#config.bytesPerSecond);
  }

  #refill(nowMs: number): void {
    assert(Number.isFinite(nowMs), 'admission: nowMs must be finite');
    // A monotonic clock never goes back; if a caller's does, do not refill (never mint tokens from a jump back).
    if (nowMs <= this.#refilledAtMs) return;
    const added = ((nowMs - this.#refilledAtMs) * this.#config.bytesPerSecond) / 1000;
    this.#tokens = Math.min(this.#config.burstBytes, this.#tokens + added);
    this.#refilledAtMs = nowMs;
  }

  #check(ticket: AdmissionTicket, bytes: number): void {
    assert(this.#tickets.has(ticket.id), `admission ticket ${ticket.id} is not running`);
    assert(Number.isSafeInteger(bytes) && bytes >= 0, `admission: bytes must be a non-negative integer, got ${bytes}`);
  }
}
