/** Shared fixtures for replication tests: counting storage wrapper and a capturing logger. */
import { createStorage, type HintWrite, type RecordWrite, type Storage, type StoredHint, type StoredRecord } from '../../../lib/storage/index.ts';
import { StorageCorruptionError, type LogFields, type Logger } from '../../../lib/runtime/index.ts';

/** Memory storage that counts write batches (to prove refusals write nothing). */
export class CountingStorage implements Storage {
  readonly inner: Storage = createStorage({ engine: 'memory' });
  writes = 0;
  /** While set, every write waits for this promise before reaching storage (a slow disk). */
  stall: Promise<void> | undefined;
  /** Errors the next writes reject with, in order (a disk that fails), writing nothing; after the stall, if one is set. */
  readonly failures: Error[] = [];
  /** Keys (latin1) whose reads fail their checksum, like a damaged value-log record, until the key is written. */
  readonly rotten = new Set<string>();
  get engine() {
    return this.inner.engine;
  }
  get supports() {
    return this.inner.supports;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.rotten.has(Buffer.from(key).toString('latin1'))) return Promise.reject(new StorageCorruptionError('the record fails its checksum'));
    return this.inner.get(partition, key);
  }
  write(batch: readonly RecordWrite[]): Promise<void> {
    this.writes++;
    const failure = this.failures.shift();
    if (failure !== undefined) return this.stall === undefined ? Promise.reject(failure) : this.stall.then(() => Promise.reject(failure));
    for (const w of batch) this.rotten.delete(Buffer.from(w.key).toString('latin1'));
    const stall = this.stall;
    return stall === undefined ? this.inner.write(batch) : stall.then(() => this.inner.write(batch));
  }
  iteratePartition(partition: number, opts?: { readonly after?: Uint8Array }): AsyncIterable<StoredRecord> {
    return this.inner.iteratePartition(partition, opts);
  }
  setAside(partition: number, key: Uint8Array): Promise<void> {
    this.rotten.delete(Buffer.from(key).toString('latin1'));
    return this.inner.setAside(partition, key);
  }
  getSetAside(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.getSetAside(partition, key);
  }
  writeHints(batch: readonly HintWrite[]): Promise<void> {
    return this.inner.writeHints(batch);
  }
  getHint(target: string, partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.getHint(target, partition, key);
  }
  iterateHints(opts?: { readonly target?: string }): AsyncIterable<StoredHint> {
    return this.inner.iterateHints(opts);
  }
  getMeta(name: string): Promise<Uint8Array | undefined> {
    return this.inner.getMeta(name);
  }
  putMeta(name: string, value: Uint8Array): Promise<void> {
    return this.inner.putMeta(name, value);
  }
}

/** Keeps every line so tests can assert on warnings and traces. */
export class CapturingLogger implements Logger {
  readonly lines: { level: string; msg: string; fields?: LogFields }[];
  constructor(lines: { level: string; msg: string; fields?: LogFields }[] = []) {
    this.lines = lines;
  }
  error(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', msg, fields });
  }
  warn(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  info(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  debug(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', msg, fields });
  }
  trace(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'trace', msg, fields });
  }
  child(): Logger {
    return new CapturingLogger(this.lines);
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
