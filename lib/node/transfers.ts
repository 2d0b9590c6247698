/**
 * Partition transfer: moving a partition's data when the ring changes (join,
 * decommission, remove), both ends.
 *
 * Incoming (this node gains a partition): pull its records from a complete
 * holder in key order, chunk by chunk, merging each into the local replica
 * (the same causal merge as replication: siblings kept, idempotent, so a
 * chunk received twice or a live write racing a streamed one is harmless);
 * the last key merged is persisted after every chunk so a crash of either
 * side resumes where it stopped, and a finished partition is remembered so
 * the `transfer-complete` report survives a restart. Throttled by the node's
 * background admission (bytes/s shared with anti-entropy and hint replay).
 *
 * Outgoing (this node holds a partition another gains): serve chunks — but
 * only once every live ring member holds the plan's ring version (so no
 * coordinator still writes the partition without the gainer), and a request
 * deadline after that (so writes routed by an older ring have finished):
 * a snapshot taken earlier could miss a write acknowledged without the
 * gainer. Until then the request is refused (nothing happens) and retried.
 *
 * Release: once the whole cluster holds a ring in which this node no longer
 * replicates a partition, its records are deleted, in bounded batches.
 */
import {
  StorageCorruptionError,
  Sleeps,
  UnavailableError,
  type DynamoError,
  type Logger,
  type Result,
  type Time,
} from '../runtime/index.ts';
import type { Address, NodeId, TransferReply, TransferRequest, TransferStatus } from '../protocol/index.ts';
import { BackgroundAdmission, type AdmissionTicket } from '../antientropy/index.ts';
import type { Storage } from '../storage/index.ts';

/** What transfers need from the rest of the node. */
export interface TransferDeps {
  readonly time: Time;
  readonly logger: Logger;
  readonly storage: Storage;
  /** The node-to-node transport (only `request` is used). */
  request(to: Address, req: TransferRequest, timeoutMs: number): Promise<Result<TransferReply, DynamoError>>;
  /** Merge one streamed record into the local replica (LocalReplica.merge through the coordinator). */
  merge(partition: number, key: Uint8Array, record: Uint8Array): Promise<void>;
  /** Where a node listens, and whether it is believed up. */
  addressOf(id: NodeId): Address | undefined;
  isUp(id: NodeId): boolean;
  /** Report a partition fully received under `planId` (to membership). */
  complete(partition: number, planId: number): void;
  /**
   * Outgoing barrier: whether every live ring member holds ring version >=
   * `planId`, and whether this node still holds `partition` completely.
   */
  clusterHolds(planId: number): boolean;
  holds(partition: number): boolean;
  readonly admission: BackgroundAdmission;
}

/** Tunables of partition transfer (units in names). */
export interface TransferConfig {
  /** Soft bound of one chunk. */
  readonly chunkBytesMax: number;
  /** Deadline of one chunk request. */
  readonly chunkTimeoutMs: number;
  /** Pause before retrying a refused or failed chunk. */
  readonly retryMs: number;
  /** After the cluster agrees on a plan, how long a holder waits before serving it (in-flight writes routed by older rings finish). */
  readonly drainMs: number;
  /** Partitions pulled at once. */
  readonly concurrencyMax: number;
  /** Records deleted per batch when a partition is released. */
  readonly releaseBatchMax: number;
}

export const TRANSFER_DEFAULTS: TransferConfig = {
  chunkBytesMax: 1024 * 1024,
  chunkTimeoutMs: 10_000,
  retryMs: 500,
  drainMs: 5_000,
  concurrencyMax: 2,
  releaseBatchMax: 256,
};

/** Meta names of a transfer's progress from one source (last key merged) and of its completion. */
const progressMeta = (planId: number, partition: number, source: NodeId): string => `transfer/${planId}/${partition}/after/${source}`;
const doneMeta = (planId: number, partition: number): string => `transfer/${planId}/${partition}/done`;
const DONE = Uint8Array.of(1);

interface Incoming {
  readonly partition: number;
  readonly planId: number;
  readonly sources: readonly NodeId[];
  state: TransferStatus['state'];
  peer: NodeId;
  keys: number;
  bytes: number;
}

/** Both ends of partition transfers for one node. */
export class Transfers {
  readonly #deps: TransferDeps;
  readonly #config: TransferConfig;
  /** Incoming transfers by partition (the current plan's). */
  readonly #incoming = new Map<number, Incoming>();
  /** Queue of partitions waiting for a pull slot. */
  readonly #queue: number[] = [];
  #running = 0;
  /** Outgoing: first time the cluster was seen holding each plan (for the drain). */
  readonly #agreedAtMs = new Map<number, number>();
  readonly #outgoing = new Map<string, TransferStatus>();
  #stopped = false;
  /** Retry waits and pacing: stop() ends them. */
  readonly #sleeps: Sleeps;
  readonly #releasing = new Set<number>();

  constructor(deps: TransferDeps, config: Partial<TransferConfig> = {}) {
    this.#deps = deps;
    this.#sleeps = new Sleeps(deps.time);
    this.#config = { ...TRANSFER_DEFAULTS, ...config };
  }

  /** Membership assigned these partitions to stream in under `planId` (re-announced after a restart). */
  assign(planId: number, transfers: readonly { partition: number; sources: readonly NodeId[] }[]): void {
    for (const t of transfers) {
      const current = this.#incoming.get(t.partition);
      if (current !== undefined && current.planId >= planId) continue;
      if (t.sources.length === 0) {
        // Every replica that held it was removed (N = 1, or N removals at once): nothing to stream.
        this.#deps.logger.warn('no remaining replica holds this partition; it starts empty here (its data left with the removed nodes)', {
          partition: t.partition,
          planId,
        });
        this.#incoming.set(t.partition, { partition: t.partition, planId, sources: [], state: 'done', peer: '', keys: 0, bytes: 0 });
        // Reported after the membership step that assigned it has returned (steps never nest).
        queueMicrotask(() => this.#deps.complete(t.partition, planId));
        continue;
      }
      this.#incoming.set(t.partition, { partition: t.partition, planId, sources: t.sources, state: 'waiting', peer: t.sources[0] ?? '', keys: 0, bytes: 0 });
      this.#queue.push(t.partition);
    }
    this.#pump();
  }

  /** Stop pulling (node shutdown); pulls in flight end at their next step. */
  stop(): void {
    this.#stopped = true;
    this.#sleeps.stop();
  }

  /** Transfers this node takes part in, for `dynamo status`. */
  status(): TransferStatus[] {
    const incoming = [...this.#incoming.values()].map((t) => ({ partition: t.partition, direction: 'in' as const, peer: t.peer, state: t.state, keys: t.keys, bytes: t.bytes }));
    return [...incoming, ...this.#outgoing.values()].sort((a, b) => a.partition - b.partition || a.direction.localeCompare(b.direction));
  }

  /** Serve one chunk of an outgoing transfer (a peer's TransferRequest). */
  async serve(req: TransferRequest, from: NodeId | undefined): Promise<TransferReply> {
    const { partition, planId } = req;
    if (!this.#deps.holds(partition)) {
      throw new UnavailableError(`this node does not hold partition ${partition} completely; stream it from another holder`, { answered: 0, required: 0 });
    }
    const now = this.#deps.time.monotonicMs();
    if (!this.#deps.clusterHolds(planId)) {
      this.#agreedAtMs.delete(planId);
      throw new UnavailableError(`partition ${partition} waits for every live member to hold ring plan ${planId}; retry`, { answered: 0, required: 0 });
    }
    const agreed = this.#agreedAtMs.get(planId) ?? now;
    this.#agreedAtMs.set(planId, agreed);
    if (now - agreed < this.#config.drainMs) {
      throw new UnavailableError(`partition ${partition} waits ${this.#config.drainMs - (now - agreed)} ms more for writes routed by older rings to finish; retry`, {
        answered: 0,
        required: 0,
      });
    }
    const bytesMax = Math.max(1, Math.min(req.bytesMax || this.#config.chunkBytesMax, this.#config.chunkBytesMax));
    const records: { key: Uint8Array; record: Uint8Array }[] = [];
    let bytes = 0;
    let done = true;
    for await (const r of this.#deps.storage.iteratePartition(partition, req.afterKey === undefined ? {} : { after: req.afterKey })) {
      if (records.length > 0 && bytes + r.key.length + r.record.length > bytesMax) {
        done = false;
        break;
      }
      records.push(r);
      bytes += r.key.length + r.record.length;
    }
    const id = `${partition}/${from ?? '?'}`;
    const prior = this.#outgoing.get(id);
    this.#outgoing.set(id, {
      partition,
      direction: 'out',
      peer: from ?? '',
      state: done ? 'done' : 'streaming',
      keys: (prior?.keys ?? 0) + records.length,
      bytes: (prior?.bytes ?? 0) + bytes,
    });
    return { type: 'transfer', records, done };
  }

  /** Delete this node's records of partitions it no longer replicates (the whole cluster holds a ring without it). */
  async release(partitions: readonly number[]): Promise<void> {
    for (const partition of partitions) {
      if (this.#releasing.has(partition) || this.#stopped) continue;
      this.#releasing.add(partition);
      try {
        let deleted = 0;
        for (;;) {
          const batch: { partition: number; key: Uint8Array; record: undefined }[] = [];
          for await (const r of this.#deps.storage.iteratePartition(partition)) {
            batch.push({ partition, key: r.key, record: undefined });
            if (batch.length >= this.#config.releaseBatchMax) break;
          }
          if (batch.length === 0 || this.#stopped) break;
          await this.#deps.storage.write(batch);
          deleted += batch.length;
        }
        this.#deps.logger.info('released a partition this node no longer replicates', { partition, deleted });
      } catch (e) {
        this.#deps.logger.warn('releasing a partition failed; it is retried at the next release', { partition, error: e });
      } finally {
        this.#releasing.delete(partition);
        for (const [id, t] of this.#outgoing) if (t.partition === partition) this.#outgoing.delete(id);
      }
    }
  }

  #pump(): void {
    while (!this.#stopped && this.#running < this.#config.concurrencyMax && this.#queue.length > 0) {
      const partition = this.#queue.shift()!;
      const t = this.#incoming.get(partition);
      if (t === undefined || t.state === 'done') continue;
      this.#running++;
      void this.#pull(t).finally(() => {
        this.#running--;
        this.#pump();
      });
    }
  }

  async #pull(t: Incoming): Promise<void> {
    const { storage } = this.#deps;
    let ticket: AdmissionTicket | undefined;
    try {
      if ((await storage.getMeta(doneMeta(t.planId, t.partition))) !== undefined) return this.#finished(t, true);
      for (const source of t.sources) {
        const complete = await this.#pullFrom(t, source, () => (ticket ??= this.#begin()));
        if (!complete) return; // stopped, or superseded by a newer plan
      }
      await storage.putMeta(doneMeta(t.planId, t.partition), DONE);
      return this.#finished(t, false);
    } catch (e) {
      if (this.#stopped) return;
      this.#deps.logger.warn('transfer failed; retrying', { partition: t.partition, error: e });
      await this.#sleeps.sleep(this.#config.retryMs);
      this.#queue.push(t.partition);
    } finally {
      if (ticket !== undefined) this.#deps.admission.end(ticket);
    }
  }

  /**
   * Stream all of `t.partition` from `source` (resuming after the last key
   * merged from it). A source that is down or not ready to serve is waited
   * for, not skipped: its copy may hold writes no other node has.
   * Resolves false if the pull was stopped or superseded.
   */
  async #pullFrom(t: Incoming, source: NodeId, admit: () => AdmissionTicket | undefined): Promise<boolean> {
    const { storage, logger } = this.#deps;
    let after = await storage.getMeta(progressMeta(t.planId, t.partition, source));
    for (;;) {
      if (this.#stopped || this.#incoming.get(t.partition) !== t) return false;
      const ticket = admit();
      const address = this.#deps.addressOf(source);
      t.peer = source;
      if (ticket === undefined || address === undefined || !this.#deps.isUp(source)) {
        t.state = 'waiting';
        await this.#sleeps.sleep(this.#config.retryMs);
        continue;
      }
      const res = await this.#deps.request(
        address,
        { type: 'transfer', partition: t.partition, planId: t.planId, afterKey: after, bytesMax: this.#config.chunkBytesMax },
        this.#config.chunkTimeoutMs,
      );
      if (!res.ok) {
        t.state = 'waiting';
        logger.trace('transfer chunk refused or failed; retrying', { partition: t.partition, source, error: res.error.message });
        await this.#sleeps.sleep(this.#config.retryMs);
        continue;
      }
      t.state = 'streaming';
      let bytes = 0;
      for (const r of res.value.records) {
        try {
          await this.#deps.merge(t.partition, r.key, r.record);
        } catch (e) {
          // Rotten on the source: this copy is lost; the other replicas keep theirs.
          if (!(e instanceof StorageCorruptionError)) throw e;
          logger.warn('a streamed record does not decode; skipped', { partition: t.partition, source, error: e.message });
        }
        bytes += r.key.length + r.record.length;
        after = r.key;
      }
      t.keys += res.value.records.length;
      t.bytes += bytes;
      if (after !== undefined) await storage.putMeta(progressMeta(t.planId, t.partition, source), after);
      if (res.value.done) return true;
      // Charge the chunk to the background budget; wait while it is spent.
      const now = this.#deps.time.monotonicMs();
      const readyAtMs = this.#deps.admission.charge(ticket, bytes, now);
      if (readyAtMs > now) await this.#sleeps.sleep(readyAtMs - now);
    }
  }

  #finished(t: Incoming, already: boolean): void {
    t.state = 'done';
    if (!already) this.#deps.logger.info('partition received', { partition: t.partition, planId: t.planId, keys: t.keys, bytes: t.bytes, from: t.peer });
    this.#deps.complete(t.partition, t.planId);
  }

  #begin(): AdmissionTicket | undefined {
    const d = this.#deps.admission.begin('partition-stream', this.#deps.time.monotonicMs());
    return d.granted ? d.ticket : undefined;
  }
}
