/**
 * A seeded in-process network between simulated nodes. Every request, reply
 * and remote error is encoded and decoded with the real peer codec, so sim
 * traffic is the same bytes as gRPC traffic (and a handler that keeps a
 * reference to a caller's buffer is caught). Latency, loss, partitions and
 * down nodes are knobs; all randomness comes from one forked SeededRandom.
 */
import {
  assert,
  DynamoError,
  err,
  ok,
  TimeoutError,
  UnavailableError,
  type Result,
  type SeededRandom,
} from '../runtime/index.ts';
import type { Address, PeerHandler, PeerRequest, ReplyFor } from '../protocol/index.ts';
import {
  decodeError,
  decodeReply,
  decodeRequest,
  encodeError,
  encodeReply,
  encodeRequest,
  type Transport,
} from '../transport/index.ts';
import type { SimScheduler } from './scheduler.ts';
import { fnv1aBytes, hex32 } from './digest.ts';

export interface SimNetworkOptions {
  scheduler: SimScheduler;
  /** Forked for the network alone, so other subsystems' draws do not shift its choices. */
  random: SeededRandom;
  /** One-way latency bounds, in virtual ms (uniform). */
  latencyMsMin?: number;
  latencyMsMax?: number;
  /** Probability that any one message (request or reply) is dropped. */
  lossRate?: number;
  /**
   * Probability that a message of an idempotent kind (identify, read, write,
   * and every reply) is delivered twice. Coordinate requests never are: they
   * travel on one TCP stream, which does not duplicate, and applying one twice
   * would mint two versions of one client write.
   */
  duplicationRate?: number;
  /** Probability that a message is held back by an extra delay in (0, spikeMsMax] (reordering it past later ones). */
  spikeRate?: number;
  spikeMsMax?: number;
  /**
   * How long a request to a down node takes to fail with UnavailableError.
   * Default: one worst-case round trip plus 1 ms — a refused connection is
   * noticed after a round trip, so replies from live replicas sent at the
   * same moment always arrive first (quorum counts are then deterministic).
   */
  refuseDelayMs?: number;
  /** Bound on one transport's outstanding requests. */
  inflightMax?: number;
  /** Receives one line per network event (send, deliver, drop) for the transcript. */
  trace?: (line: string) => void;
}

/** Message counters, for assertions about what the network did. */
export interface SimNetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  refused: number;
  duplicated: number;
}

function pairKey(a: Address, b: Address): string {
  return a < b ? `${a}\n${b}` : `${b}\n${a}`;
}

/** Seeded network: create once per simulation, then one `transportFor` per node. */
export class SimNetwork {
  readonly stats: SimNetworkStats = { sent: 0, delivered: 0, dropped: 0, refused: 0, duplicated: 0 };
  /** Handler rejections that were not DynamoErrors: bugs, surfaced by SimCluster. */
  readonly unexpectedErrors: unknown[] = [];
  readonly #scheduler: SimScheduler;
  readonly #random: SeededRandom;
  readonly #latencyMsMin: number;
  readonly #latencyMsMax: number;
  readonly #inflightMax: number;
  readonly #refuseDelayMs: number;
  readonly #trace: (line: string) => void;
  #lossRate: number;
  #duplicationRate = 0;
  #spikeRate = 0;
  #spikeMsMax = 0;
  /** Extra one-way latency of messages to or from an address (a slow node). */
  readonly #slowMs = new Map<Address, number>();
  /** Directed cuts `${from}\n${to}` (one-way partitions). */
  readonly #oneWay = new Set<string>();
  readonly #handlers = new Map<Address, PeerHandler>();
  readonly #down = new Set<Address>();
  /** Bumped each time an address goes down, so replies computed before a crash are not delivered. */
  readonly #incarnation = new Map<Address, number>();
  readonly #cut = new Set<string>();
  /** Per address, what to do for each request its current life is handling when it goes down (a reset stream). */
  readonly #handling = new Map<Address, Set<() => void>>();
  #messageId = 0;

  constructor(opts: SimNetworkOptions) {
    this.#scheduler = opts.scheduler;
    this.#random = opts.random;
    this.#latencyMsMin = opts.latencyMsMin ?? 1;
    this.#latencyMsMax = opts.latencyMsMax ?? 10;
    this.#inflightMax = opts.inflightMax ?? 10_000;
    this.#lossRate = opts.lossRate ?? 0;
    this.#refuseDelayMs = opts.refuseDelayMs ?? 2 * this.#latencyMsMax + 1;
    this.#trace = opts.trace ?? (() => {});
    assert(this.#latencyMsMin >= 0 && this.#latencyMsMax >= this.#latencyMsMin, 'latency bounds must satisfy 0 <= min <= max');
    this.setLoss(this.#lossRate);
    this.setDuplication(opts.duplicationRate ?? 0);
    this.setSpikes(opts.spikeRate ?? 0, opts.spikeMsMax ?? 0);
  }

  /** Serve requests addressed to `address` with `handler` (one handler per address). */
  register(address: Address, handler: PeerHandler): void {
    assert(!this.#handlers.has(address), `address ${address} is already registered`);
    this.#handlers.set(address, handler);
    this.#incarnation.set(address, 0);
  }

  /** A down address refuses connections: requests to it fail with UnavailableError after one latency. */
  setDown(address: Address, down: boolean): void {
    assert(this.#handlers.has(address), `unknown address ${address}`);
    if (down && !this.#down.has(address)) this.#incarnation.set(address, (this.#incarnation.get(address) ?? 0) + 1);
    if (down) this.#down.add(address);
    else this.#down.delete(address);
    this.#trace(`t=${this.#scheduler.nowMs} net ${down ? 'down' : 'up'} ${address}`);
    if (down) {
      // Its streams break: callers of requests it was handling see a reset, as with TCP.
      const handling = this.#handling.get(address);
      this.#handling.delete(address);
      for (const reset of handling ?? []) reset();
    }
  }

  /** @internal Track a request `address` is handling; returns the function that stops tracking it. */
  handling(address: Address, reset: () => void): () => void {
    let set = this.#handling.get(address);
    if (set === undefined) this.#handling.set(address, (set = new Set()));
    set.add(reset);
    return () => set.delete(reset);
  }

  isDown(address: Address): boolean {
    return this.#down.has(address) || !this.#handlers.has(address);
  }

  /** Cut every link between a member of `groupA` and a member of `groupB`: messages vanish silently. */
  partition(groupA: readonly Address[], groupB: readonly Address[]): void {
    for (const a of groupA) for (const b of groupB) if (a !== b) this.#cut.add(pairKey(a, b));
    this.#trace(`t=${this.#scheduler.nowMs} net partition [${[...groupA].join(',')}] | [${[...groupB].join(',')}]`);
  }

  /** Cut only the direction from each member of `from` to each member of `to` (replies the other way still flow). */
  partitionOneWay(from: readonly Address[], to: readonly Address[]): void {
    for (const a of from) for (const b of to) if (a !== b) this.#oneWay.add(`${a}\n${b}`);
    this.#trace(`t=${this.#scheduler.nowMs} net one-way cut [${[...from].join(',')}] -> [${[...to].join(',')}]`);
  }

  /** Restore every cut link, both kinds. */
  heal(): void {
    this.#cut.clear();
    this.#oneWay.clear();
    this.#trace(`t=${this.#scheduler.nowMs} net heal`);
  }

  /** True when messages from `a` to `b` vanish. */
  isPartitioned(a: Address, b: Address): boolean {
    return this.#cut.has(pairKey(a, b)) || this.#oneWay.has(`${a}\n${b}`);
  }

  setLoss(rate: number): void {
    assert(rate >= 0 && rate <= 1, `loss rate must be in [0, 1], got ${rate}`);
    this.#lossRate = rate;
  }

  setDuplication(rate: number): void {
    assert(rate >= 0 && rate <= 1, `duplication rate must be in [0, 1], got ${rate}`);
    this.#duplicationRate = rate;
  }

  setSpikes(rate: number, maxMs: number): void {
    assert(rate >= 0 && rate <= 1 && maxMs >= 0, 'spike rate in [0, 1] and a non-negative spike bound');
    this.#spikeRate = rate;
    this.#spikeMsMax = maxMs;
  }

  /** Messages to and from `address` take `extraMs` longer each way (0 restores it). */
  setSlow(address: Address, extraMs: number): void {
    if (extraMs > 0) this.#slowMs.set(address, extraMs);
    else this.#slowMs.delete(address);
    this.#trace(`t=${this.#scheduler.nowMs} net slow ${address} +${extraMs}ms`);
  }

  /** The Transport node `from` uses. */
  transportFor(from: Address): SimTransport {
    return new SimTransport(this, from, this.#inflightMax);
  }

  /** @internal Latency of one hop, drawn from the network's generator. */
  latencyMs(): number {
    return this.#latencyMsMin + this.#random.int(this.#latencyMsMax - this.#latencyMsMin + 1);
  }

  /** @internal */
  get refuseDelayMs(): number {
    return this.#refuseDelayMs;
  }

  /** @internal */
  get scheduler(): SimScheduler {
    return this.#scheduler;
  }

  /** @internal */
  nextMessageId(): number {
    return ++this.#messageId;
  }

  /** @internal */
  trace(line: string): void {
    this.#trace(`t=${this.#scheduler.nowMs} ${line}`);
  }

  /** @internal */
  incarnation(address: Address): number {
    return this.#incarnation.get(address) ?? 0;
  }

  /** @internal */
  handler(address: Address): PeerHandler | undefined {
    return this.#handlers.get(address);
  }

  /**
   * @internal One hop of `bytes` from `from` to `to`: dropped when the link is
   * cut (now or on arrival) or by random loss, otherwise `arrive` runs after
   * latency (plus a slow node's extra and a random spike); a `duplicable`
   * message may arrive twice.
   */
  hop(from: Address, to: Address, what: string, bytes: Uint8Array, arrive: () => void, duplicable = false): void {
    this.stats.sent++;
    // The fingerprint puts message content into the transcript, so a replay compares bytes, not just shapes.
    const tag = `${from}->${to} ${what} ${bytes.length}B ${hex32(fnv1aBytes(bytes))}`;
    if (this.isPartitioned(from, to) || (this.#lossRate > 0 && this.#random.float() < this.#lossRate)) {
      this.stats.dropped++;
      this.trace(`net drop ${tag}`);
      return;
    }
    this.trace(`net send ${tag}`);
    const deliver = (): void => {
      if (this.isPartitioned(from, to)) {
        this.stats.dropped++;
        this.trace(`net drop ${tag}`);
        return;
      }
      this.stats.delivered++;
      arrive();
    };
    this.#scheduler.schedule(this.#hopMs(from, to), deliver);
    if (duplicable && this.#duplicationRate > 0 && this.#random.float() < this.#duplicationRate) {
      this.stats.duplicated++;
      this.trace(`net duplicate ${tag}`);
      this.#scheduler.schedule(this.#hopMs(from, to), deliver);
    }
  }

  #hopMs(from: Address, to: Address): number {
    let ms = this.latencyMs() + (this.#slowMs.get(from) ?? 0) + (this.#slowMs.get(to) ?? 0);
    if (this.#spikeRate > 0 && this.#random.float() < this.#spikeRate) ms += 1 + this.#random.int(Math.max(1, this.#spikeMsMax));
    return ms;
  }
}

type Finish = (r: Result<unknown, DynamoError>) => void;

/** One node's view of the SimNetwork, implementing the Transport port. */
export class SimTransport implements Transport {
  readonly #net: SimNetwork;
  readonly #from: Address;
  readonly #inflightMax: number;
  readonly #pending = new Set<Finish>();
  #closed = false;

  constructor(net: SimNetwork, from: Address, inflightMax: number) {
    this.#net = net;
    this.#from = from;
    this.#inflightMax = inflightMax;
  }

  request<R extends PeerRequest>(to: Address, req: R, timeoutMs: number): Promise<Result<ReplyFor<R['type']>, DynamoError>> {
    const net = this.#net;
    const from = this.#from;
    if (this.#closed) return Promise.resolve(err(new UnavailableError(`transport of ${from} is closed`, { answered: 0, required: 1 })));
    if (this.#pending.size >= this.#inflightMax) {
      return Promise.resolve(err(new UnavailableError(`${this.#inflightMax} requests already in flight from ${from}`, { answered: 0, required: 1 })));
    }
    const id = net.nextMessageId();
    // Encode now: the caller may reuse its buffers once request() returns.
    const requestBytes = encodeRequest(req);
    const sentAtMs = net.scheduler.nowMs;
    return new Promise((resolve) => {
      let settled = false;
      const finish: Finish = (r) => {
        if (settled) return;
        settled = true;
        net.scheduler.cancel(timer);
        this.#pending.delete(finish);
        resolve(r as Result<ReplyFor<R['type']>, DynamoError>);
      };
      const timer = net.scheduler.schedule(Math.max(0, timeoutMs), () => {
        net.trace(`net timeout ${from}->${to} #${id} ${req.type} after ${timeoutMs}ms`);
        // Like a real stream: the request may have been applied before its reply got lost.
        finish(err(new TimeoutError(`${to} did not answer ${req.type} within ${timeoutMs} ms`, undefined, { maybeApplied: true })));
      });
      this.#pending.add(finish);

      /** `sent`: the request left on a stream that then broke, so it may have been applied (transport contract). */
      const refuse = (why: string, sent: boolean): void => {
        net.stats.refused++;
        net.trace(`net refused ${from}->${to} #${id} ${req.type}: ${why}`);
        finish(err(new UnavailableError(`${to} is unavailable: ${why}`, { answered: 0, required: 1 }, { maybeApplied: sent })));
      };
      if (net.isPartitioned(from, to)) {
        net.stats.sent++;
        net.stats.dropped++;
        net.trace(`net drop ${from}->${to} #${id} ${req.type} (partitioned)`);
        return;
      }
      if (net.isDown(to)) {
        net.scheduler.schedule(net.refuseDelayMs, () => refuse('connection refused', false));
        return;
      }
      // A connection belongs to one life of the target: a restart must not receive its predecessor's traffic.
      const incarnation = net.incarnation(to);
      net.hop(from, to, `#${id} ${req.type}`, requestBytes, () => {
        const handler = net.handler(to);
        if (handler === undefined || net.isDown(to) || net.incarnation(to) !== incarnation) {
          net.scheduler.schedule(net.refuseDelayMs, () => refuse(net.isDown(to) ? 'connection refused' : 'connection reset', true));
          return;
        }
        const decoded = decodeRequest(requestBytes);
        const leftMs = Math.max(0, timeoutMs - (net.scheduler.nowMs - sentAtMs));
        const handled = net.handling(to, () => net.scheduler.schedule(net.refuseDelayMs, () => refuse('connection reset', true)));
        Promise.resolve()
          .then(() => handler(decoded, leftMs))
          .then(
            (reply) => ({ ok: true as const, bytes: encodeReply(reply) }),
            (e: unknown) => {
              if (!(e instanceof DynamoError)) net.unexpectedErrors.push(e);
              const de = e instanceof DynamoError ? e : new DynamoError('DYNAMO_INTERNAL', `handler failed: ${String(e)}`);
              return { ok: false as const, bytes: encodeError(de) };
            },
          )
          .then((answer) => {
            handled();
            if (net.incarnation(to) !== incarnation || net.isDown(to)) {
              // The node crashed while handling: the stream breaks instead of a reply.
              net.scheduler.schedule(net.refuseDelayMs, () => refuse('connection reset', true));
              return;
            }
            net.hop(to, from, `#${id} ${answer.ok ? 'reply' : 'error'}`, answer.bytes, () => {
              if (!answer.ok) {
                finish(err(decodeError(answer.bytes)));
                return;
              }
              const reply = decodeReply(answer.bytes);
              if (reply.type !== req.type) {
                finish(err(new DynamoError('DYNAMO_INTERNAL', `${to} answered ${req.type} with ${reply.type}`)));
                return;
              }
              finish(ok(reply));
            }, true);
          });
      }, req.type !== 'coordinate');
    });
  }

  reachable(to: Address): boolean {
    return !this.#closed && !this.#net.isDown(to) && !this.#net.isPartitioned(this.#from, to);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const finish of [...this.#pending]) {
      finish(err(new UnavailableError(`transport of ${this.#from} closed`, { answered: 0, required: 1 })));
    }
  }
}
