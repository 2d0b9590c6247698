/**
 * Simulated clients: many concurrent loops of gets, blind puts,
 * read-modify-write puts and deletes with the context they read, at every
 * consistency level, through random nodes — plus the mistakes real clients
 * make (a context from another key, a damaged context). Every operation is
 * recorded in the History with what its context had seen; nothing here looks
 * at the store's clocks.
 */
import type { Consistency, NodeId } from '../protocol/index.ts';
import { requiredReplies } from '../replication/index.ts';
import { DynamoError, type SeededRandom } from '../runtime/index.ts';
import { ContextCodec, DEFAULT_CONTEXT_CODEC, peekContext } from '../vclock/index.ts';
import type { SimCluster } from './cluster.ts';
import { idOf, valueOf, type ContextOrigin, type History, type Op, type ReadOp, type WriteOp } from './history.ts';

/** Relative weights of the operations a client picks. */
export interface WorkloadMix {
  get: number;
  blindPut: number;
  /** Put with the context of this client's last read (or write) of the key; reads first if it has none. */
  rmwPut: number;
  delete: number;
  /** Put with a context read for another key (must be refused). */
  foreignContext: number;
  /** Put with a real context of this key with bytes changed. */
  fuzzedContext: number;
}

export interface WorkloadOptions {
  clients: number;
  /** Operations per client (a read-modify-write counts its read too). */
  opsPerClient: number;
  keys: number;
  mix: WorkloadMix;
  /** Levels to choose from (ANY is never valid for the workload's reads). */
  levels: readonly Consistency[];
  /** Pause between a client's operations, uniform in [0, max] virtual ms. */
  thinkMsMax: number;
  /** Deadline each request carries. */
  requestTimeoutMs: number;
  replicas: number;
  /** fuzzedContext signs its forgeries with the cluster's secret (SimRunOptions.insiderContexts). */
  insiderContexts?: boolean;
}

interface CachedContext {
  readonly bytes: Uint8Array;
  readonly seen: ReadonlySet<number>;
  readonly sure: ReadonlySet<number>;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Runs the clients of one simulation against a SimCluster, recording into a History. */
export class Workload {
  readonly #cluster: SimCluster;
  readonly #history: History;
  readonly #random: SeededRandom;
  readonly #opts: WorkloadOptions;
  readonly #keys: string[];
  /** Client operations that failed with a non-Dynamo error (a bug), as messages. */
  readonly internalErrors: string[] = [];

  constructor(cluster: SimCluster, history: History, random: SeededRandom, opts: WorkloadOptions) {
    this.#cluster = cluster;
    this.#history = history;
    this.#random = random;
    this.#opts = opts;
    this.#keys = Array.from({ length: opts.keys }, (_, i) => `k${i}`);
  }

  /** Every client's loop; resolves when all are done (drive it with cluster.run). */
  run(): Promise<void> {
    return Promise.all(Array.from({ length: this.#opts.clients }, (_, c) => this.#client(c, this.#random.fork()))).then(() => undefined);
  }

  async #client(client: number, random: SeededRandom): Promise<void> {
    const contexts = new Map<string, CachedContext>();
    let done = 0;
    while (done < this.#opts.opsPerClient) {
      await this.#sleep(random.int(this.#opts.thinkMsMax + 1));
      const key = this.#keys[random.int(this.#keys.length)]!;
      const kind = this.#pick(random);
      const ctx = contexts.get(key);
      done++;
      switch (kind) {
        case 'get':
          await this.#get(client, random, key, contexts);
          break;
        case 'blindPut':
          await this.#write(client, random, 'put', key, { kind: 'none' }, new Uint8Array(0), contexts);
          break;
        case 'rmwPut':
        case 'delete': {
          let use = ctx;
          if (use === undefined) {
            await this.#get(client, random, key, contexts);
            done++;
            use = contexts.get(key);
          }
          const origin: ContextOrigin = use === undefined ? { kind: 'none' } : { kind: 'read', seen: use.seen, sure: use.sure };
          await this.#write(client, random, kind === 'delete' ? 'delete' : 'put', key, origin, use?.bytes ?? new Uint8Array(0), contexts);
          break;
        }
        case 'foreignContext': {
          const other = [...contexts.entries()].find(([k, c]) => k !== key && c.bytes.length > 0);
          if (other === undefined) break;
          await this.#write(client, random, 'put', key, { kind: 'foreign' }, other[1].bytes, contexts);
          break;
        }
        case 'fuzzedContext': {
          if (ctx === undefined || ctx.bytes.length === 0) break;
          const insider = this.#opts.insiderContexts === true;
          const bytes = fuzz(ctx.bytes, utf8.encode(key), random, insider ? DEFAULT_CONTEXT_CODEC : FORGER);
          await this.#write(client, random, 'put', key, { kind: 'fuzzed', insider }, bytes, contexts);
          break;
        }
      }
    }
  }

  async #get(client: number, random: SeededRandom, key: string, contexts: Map<string, CachedContext>): Promise<void> {
    const via = this.#via(random);
    const level = this.#level(random);
    const strict = random.int(2) === 0;
    const op = this.#history.begin<ReadOp>({
      kind: 'get',
      client,
      key,
      via,
      level,
      strict,
      needed: requiredReplies(level, this.#opts.replicas, 'read'),
      startMs: this.#now(),
      returned: undefined,
    });
    try {
      const got = await this.#cluster.clientCall(via, this.#opts.requestTimeoutMs + 500, (kv) =>
        kv.get({ key: utf8.encode(key), consistency: level, timeoutMs: this.#opts.requestTimeoutMs, strict }),
      );
      op.returned = got.values.map((v) => text.decode(v));
      this.#end(op);
      contexts.set(key, { bytes: got.context, ...this.#seenBy(key, op.returned) });
    } catch (e) {
      this.#fail(op, e);
    }
  }

  async #write(
    client: number,
    random: SeededRandom,
    kind: 'put' | 'delete',
    key: string,
    context: ContextOrigin,
    contextBytes: Uint8Array,
    contexts: Map<string, CachedContext>,
  ): Promise<void> {
    const via = this.#via(random);
    const strict = random.int(2) === 0;
    // Now and then ANY: stored by any node, even only as a hint holder (sloppy writes only).
    const level = !strict && random.int(8) === 0 ? 'ANY' : this.#level(random);
    const value = kind === 'put' ? valueOf(key, this.#history.nextId) : undefined;
    const op = this.#history.begin<WriteOp>({
      kind,
      client,
      key,
      via,
      level,
      strict,
      needed: requiredReplies(level, this.#opts.replicas, 'write'),
      startMs: this.#now(),
      value,
      context,
      contextBytes,
    });
    try {
      const timeoutMs = this.#opts.requestTimeoutMs;
      const res = await this.#cluster.clientCall(via, timeoutMs + 500, (kv) =>
        value === undefined
          ? kv.delete({ key: utf8.encode(key), context: contextBytes, consistency: level, timeoutMs, strict })
          : kv.put({ key: utf8.encode(key), value: utf8.encode(value), context: contextBytes, consistency: level, timeoutMs, strict }),
      );
      this.#end(op);
      // The reply's context covers what this write's context did, and maybe the write itself.
      const seen = new Set(context.kind === 'read' ? context.seen : []);
      seen.add(op.id);
      contexts.set(key, { bytes: res.context, seen, sure: context.kind === 'read' ? context.sure : new Set() });
    } catch (e) {
      this.#fail(op, e);
    }
  }

  /**
   * What a read that returned `values` has seen: those puts and everything
   * their contexts had seen (`seen`), and of that what their contexts
   * certainly covered (`sure`; a put's own reply context may not cover it).
   */
  #seenBy(key: string, values: readonly string[]): { seen: Set<number>; sure: Set<number> } {
    const seen = new Set<number>();
    const sure = new Set<number>();
    for (const v of values) {
      const id = idOf(key, v);
      if (id === undefined) continue;
      seen.add(id);
      sure.add(id);
      const w = this.#history.ops[id - 1];
      if (w === undefined || w.kind === 'get' || w.context.kind !== 'read') continue;
      for (const s of w.context.seen) seen.add(s);
      for (const s of w.context.sure) sure.add(s);
    }
    return { seen, sure };
  }

  #end(op: Op): void {
    op.endMs = this.#now();
    op.outcome = { status: 'ok' };
  }

  #fail(op: Op, e: unknown): void {
    op.endMs = this.#now();
    if (!(e instanceof DynamoError) || e.code === 'DYNAMO_INTERNAL') {
      this.internalErrors.push(`#${op.id} ${op.kind} ${op.key}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const de = e instanceof DynamoError ? e : undefined;
    op.outcome = { status: 'failed', code: de?.code ?? 'DYNAMO_INTERNAL', maybeApplied: de?.maybeApplied ?? true, message: de?.message ?? String(e) };
  }

  #pick(random: SeededRandom): keyof WorkloadMix {
    const mix = this.#opts.mix;
    const entries = Object.entries(mix) as [keyof WorkloadMix, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let r = random.float() * total;
    for (const [kind, w] of entries) {
      if (r < w) return kind;
      r -= w;
    }
    return 'get';
  }

  #via(random: SeededRandom): NodeId {
    const ids = this.#cluster.ids;
    return ids[random.int(ids.length)]!;
  }

  #level(random: SeededRandom): Consistency {
    return this.#opts.levels[random.int(this.#opts.levels.length)]!;
  }

  #now(): number {
    return this.#cluster.scheduler.nowMs;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#cluster.scheduler.schedule(ms, resolve));
  }
}

/**
 * What a client that does not hold the cluster's context secret signs with
 * (the simulated cluster uses the default secret).
 */
export const FORGER = new ContextCodec({ secrets: [new TextEncoder().encode('a forger without the cluster secret')] });

/**
 * A real context of `key` damaged the ways a buggy or hostile client would.
 * Half the time the damage is semantic and keeps the context well-formed for
 * its key: a counter raised (a little, a lot, or to 2^53 - 1: a claim of
 * versions nobody issued) or an entry for an actor that never wrote the key
 * added, signed again by `signer`: FORGER (a client without the cluster's
 * secret, refused) or the cluster's codec (an insider, accepted). Otherwise
 * bytes are changed, cut off or appended.
 */
export function fuzz(bytes: Uint8Array, key: Uint8Array, random: SeededRandom, signer: ContextCodec = FORGER): Uint8Array {
  if (random.float() < 0.5) {
    const vv = peekContext(bytes, key).map((e) => ({ ...e }));
    const i = random.int(vv.length);
    const e = vv[i]!;
    switch (random.int(4)) {
      case 0:
        e.counter = Math.min(Number.MAX_SAFE_INTEGER, e.counter + 1 + random.int(3));
        break;
      case 1:
        e.counter = Math.min(Number.MAX_SAFE_INTEGER, e.counter + 1 + random.int(1_000_000));
        break;
      case 2:
        e.counter = Number.MAX_SAFE_INTEGER;
        break;
      default: {
        const actor = `${e.actor}x`;
        if (!vv.some((o) => o.actor === actor)) vv.splice(i + 1, 0, { actor, counter: 1 + random.int(5) });
      }
    }
    vv.sort((a, b) => (a.actor < b.actor ? -1 : a.actor > b.actor ? 1 : 0));
    return signer.encode(vv, key);
  }
  const out = [...bytes];
  const body = Math.min(9, out.length - 1);
  switch (random.int(4)) {
    case 0: {
      const i = body + random.int(Math.max(1, out.length - body));
      out[i] = random.int(256);
      break;
    }
    case 1:
      out.length = Math.max(0, out.length - 1 - random.int(3));
      break;
    case 2:
      out.push(random.int(256));
      break;
    default: {
      const i = random.int(out.length);
      out[i] = random.int(256);
    }
  }
  return Uint8Array.from(out);
}
