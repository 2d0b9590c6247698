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
}

function pairKey(a: Address, b: Address): string {
  return a < b ? `${a}\n${b}` : `${b}\n${a}`;
}

/** Seeded network: create once per simulation, then one `transportFor` per node. */
export class SimNetwork {
  readonly stats: SimNetworkStats = { sent: 0, delivered: 0, dropped: 0, refused: 0 };
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
  readonly #handlers = new Map<Address, PeerHandler>();
  readonly #down = new Set<Address>();
  /** Bumped each time an address goes down, so replies computed before a crash are not delivered. */
  readonly #incarnation = new Map<Address, number>();
  readonly #cut = new Set<string>();
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
  }

  isDown(address: Address): boolean {
    return this.#down.has(address) || !this.#handlers.has(address);
  }

  /** Cut every link between a member of `groupA` and a member of `groupB`: messages vanish silently. */
  partition(groupA: readonly Address[], groupB: readonly Address[]): void {
    for (const a of groupA) for (const b of groupB) if (a !== b) this.#cut.add(pairKey(a, b));
    this.#trace(`t=${this.#scheduler.nowMs} net partition [${[...groupA].join(',')}] | [${[...groupB].join(',')}]`);
  }

  /** Restore every cut link. */
  heal(): void {
    this.#cut.clear();
    this.#trace(`t=${this.#scheduler.nowMs} net heal`);
  }

  isPartitioned(a: Address, b: Address): boolean {
    return this.#cut.has(pairKey(a, b));
  }

  setLoss(rate: number): void {
    assert(rate >= 0 && rate <= 1, `loss rate must be in [0, 1], got ${rate}`);
    this.#lossRate = rate;
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
   * cut (now or on arrival) or by random loss, otherwise `arrive` runs after latency.
   */
  hop(from: Address, to: Address, what: string, bytes: Uint8Array, arrive: () => void): void {
    this.stats.sent++;
    // The fingerprint puts message content into the transcript, so a replay compares bytes, not just shapes.
    const tag = `${from}->${to} ${what} ${bytes.length}B ${hex32(fnv1aBytes(bytes))}`;
    if (this.isPartitioned(from, to) || (this.#lossRate > 0 && this.#random.float() < this.#lossRate)) {
      this.stats.dropped++;
      this.trace(`net drop ${tag}`);
      return;
    }
    this.trace(`net send ${tag}`);
    this.#scheduler.schedule(this.latencyMs(), () => {
      if (this.isPartitioned(from, to)) {
        this.stats.dropped++;
        this.trace(`net drop ${tag}`);
        return;
      }
      this.stats.delivered++;
      arrive();
    });
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
        finish(err(new TimeoutError(`${to} did not answer ${req.type} within ${timeoutMs} ms`)));
      });
      this.#pending.add(finish);

      const refuse = (why: string): void => {
        net.stats.refused++;
        net.trace(`net refused ${from}->${to} #${id} ${req.type}: ${why}`);
        finish(err(new UnavailableError(`${to} is unavailable: ${why}`, { answered: 0, required: 1 })));
      };
      if (net.isPartitioned(from, to)) {
        net.stats.sent++;
        net.stats.dropped++;
        net.trace(`net drop ${from}->${to} #${id} ${req.type} (partitioned)`);
        return;
      }
      if (net.isDown(to)) {
        net.scheduler.schedule(net.refuseDelayMs, () => refuse('connection refused'));
        return;
      }
      // A connection belongs to one life of the target: a restart must not receive its predecessor's traffic.
      const incarnation = net.incarnation(to);
      net.hop(from, to, `#${id} ${req.type}`, requestBytes, () => {
        const handler = net.handler(to);
        if (handler === undefined || net.isDown(to) || net.incarnation(to) !== incarnation) {
          net.scheduler.schedule(net.refuseDelayMs, () => refuse(net.isDown(to) ? 'connection refused' : 'connection reset'));
          return;
        }
        const decoded = decodeRequest(requestBytes);
        const leftMs = Math.max(0, timeoutMs - (net.scheduler.nowMs - sentAtMs));
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
            if (net.incarnation(to) !== incarnation || net.isDown(to)) {
              // The node crashed while handling: the stream breaks instead of a reply.
              net.scheduler.schedule(net.refuseDelayMs, () => refuse('connection reset'));
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
            });
          });
      });
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
