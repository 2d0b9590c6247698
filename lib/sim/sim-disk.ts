/**
 * A simulated data directory. The memory engine's data dies with the
 * instance and an instance opens once, so a restart could not find its data;
 * a SimDisk keeps one memory Storage open for the whole simulation and hands
 * each node life a session over it. Closing a session is a process exit (the
 * data stays); `wipe` is a lost disk (the next life starts empty).
 */
import { assert, ClosedError } from '../runtime/index.ts';
import { createStorage, type EngineKind, type RecordWrite, type Storage, type StoredRecord } from '../storage/index.ts';

/** One node's disk across its lives. */
export class SimDisk {
  #inner: Storage = createStorage({ engine: 'memory' });
  #opened: Promise<void> | undefined;
  #session: DiskSession | undefined;

  /** A fresh, unopened Storage over this disk for the next node life. */
  mount(): Storage {
    assert(this.#session === undefined || this.#session.closed, 'a disk is mounted by one node life at a time');
    this.#session = new DiskSession(this);
    return this.#session;
  }

  /** Lose every record and meta entry, as if the data directory were deleted. */
  async wipe(): Promise<void> {
    assert(this.#session === undefined || this.#session.closed, 'cannot wipe a mounted disk');
    await this.#inner.close();
    this.#inner = createStorage({ engine: 'memory' });
    this.#opened = undefined;
  }

  /** Release the memory at the end of a simulation. */
  async destroy(): Promise<void> {
    await this.#inner.close();
  }

  /** @internal The open backing store. */
  async backing(): Promise<Storage> {
    this.#opened ??= this.#inner.open();
    await this.#opened;
    return this.#inner;
  }

  /** @internal The backing store, which must already be open. */
  get inner(): Storage {
    return this.#inner;
  }
}

/** Storage seen by one node life: closes without losing the disk's data. */
class DiskSession implements Storage {
  readonly engine: EngineKind;
  readonly supports = { persistent: true } as const;
  readonly #disk: SimDisk;
  #state: 'new' | 'open' | 'closed' = 'new';
  #inflight = 0;
  #idle: (() => void) | undefined;

  constructor(disk: SimDisk) {
    this.#disk = disk;
    this.engine = disk.inner.engine;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  async open(): Promise<void> {
    if (this.#state === 'closed') throw new ClosedError('storage session is closed');
    await this.#disk.backing();
    if (this.#state === 'new') this.#state = 'open';
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#op('get', (s) => s.get(partition, key));
  }

  write(batch: readonly RecordWrite[]): Promise<void> {
    return this.#op('write', (s) => s.write(batch));
  }

  async *iteratePartition(partition: number): AsyncIterable<StoredRecord> {
    this.#check('iteratePartition');
    for await (const r of this.#disk.inner.iteratePartition(partition)) {
      this.#check('iteratePartition');
      yield r;
    }
  }

  setAside(partition: number, key: Uint8Array): Promise<void> {
    return this.#op('setAside', (s) => s.setAside(partition, key));
  }

  getSetAside(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#op('getSetAside', (s) => s.getSetAside(partition, key));
  }

  getMeta(name: string): Promise<Uint8Array | undefined> {
    return this.#op('getMeta', (s) => s.getMeta(name));
  }

  putMeta(name: string, value: Uint8Array): Promise<void> {
    return this.#op('putMeta', (s) => s.putMeta(name, value));
  }

  #check(op: string): void {
    if (this.#state !== 'open') throw new ClosedError(`storage ${op}: session is ${this.#state === 'new' ? 'not open' : 'closed'}`);
  }

  /** Accepted calls finish even if close() arrives meanwhile; close() waits for them. */
  async #op<T>(op: string, fn: (s: Storage) => Promise<T>): Promise<T> {
    this.#check(op);
    this.#inflight++;
    try {
      return await fn(this.#disk.inner);
    } finally {
      if (--this.#inflight === 0 && this.#idle !== undefined) {
        const idle = this.#idle;
        this.#idle = undefined;
        idle();
      }
    }
  }
}
