/**
 * The storage engines. They differ only in how their abstract-level database
 * is constructed (AbstractStorage does the rest); each engine package is
 * imported lazily, so a process only loads the native library it uses
 * (memory-level, pure JavaScript, is imported statically).
 */
import { MemoryLevel } from 'memory-level';
import { join } from 'node:path';
import { InvalidArgumentError } from '../runtime/index.ts';
import { AbstractStorage, type EngineOptions, type LevelDatabase, type ReadMode } from './abstract-storage.ts';
import type { EngineKind, Storage } from './storage.ts';
import type { ValueLogSettings } from './value-log/index.ts';

const VIEW = { keyEncoding: 'view', valueEncoding: 'view' } as const;

/** Options of the disk engines. */
export interface DiskEngineOptions extends EngineOptions {
  /** Directory holding the database (created if missing); the value log is in its `vlog/` subdirectory. */
  readonly dataDir: string;
}

/** The value log of a disk engine lives beside the engine's own files (LevelDB and RocksDB ignore other names). */
function valueLogDir(dataDir: string): string {
  return join(dataDir, 'vlog');
}

function checkDataDir(dataDir: unknown): string {
  if (typeof dataDir !== 'string' || dataDir.length === 0) throw new InvalidArgumentError('dataDir is required for disk storage engines');
  return dataDir;
}

/**
 * LevelDB memtable size. The 4 MiB default flushes and compacts so often that
 * background compaction takes the CPU the request path needs: on the
 * benchmark (2 cores, workload A) 32 MiB took 16 KiB values from 718 to
 * 1083 ops/s and left 1 KiB values as they were (Riak's eleveldb uses
 * 30–60 MB). Costs up to twice this in memory and a longer log replay on restart.
 */
export const LEVELDB_WRITE_BUFFER_BYTES = 32 * 1024 * 1024;

/** LevelDB on disk (classic-level). */
export class LevelStorage extends AbstractStorage {
  readonly #dataDir: string;
  constructor(options: DiskEngineOptions) {
    const dataDir = checkDataDir(options.dataDir);
    super({ engine: 'leveldb', persistent: true, retainsInput: false, description: `leveldb at ${dataDir}`, valueLogDir: valueLogDir(dataDir) }, options);
    this.#dataDir = dataDir;
  }
  protected override async createDatabase(): Promise<LevelDatabase> {
    const { ClassicLevel } = await import('classic-level');
    return new ClassicLevel<Uint8Array, Uint8Array>(this.#dataDir, { ...VIEW, writeBufferSize: LEVELDB_WRITE_BUFFER_BYTES });
  }
}

/** RocksDB on disk (@nxtedition/rocksdb). */
export class RocksStorage extends AbstractStorage {
  readonly #dataDir: string;
  constructor(options: DiskEngineOptions) {
    const dataDir = checkDataDir(options.dataDir);
    super({ engine: 'rocksdb', persistent: true, retainsInput: false, description: `rocksdb at ${dataDir}`, valueLogDir: valueLogDir(dataDir) }, options);
    this.#dataDir = dataDir;
  }
  protected override async createDatabase(): Promise<LevelDatabase> {
    const { RocksLevel } = await import('@nxtedition/rocksdb');
    const db = new RocksLevel(this.#dataDir, VIEW);
    // abstract-level v1 has no public getSync; the binding's synchronous
    // multi-get is what its own async get wraps.
    return Object.assign(db, { getSync: (key: Uint8Array) => db._getManySync([key], {})[0] ?? undefined });
  }
}

/** In memory (memory-level): for tests and the simulator; gone on close. No value log (its settings are ignored). */
export class MemoryStorage extends AbstractStorage {
  constructor(options: EngineOptions = {}) {
    // memory-level stores the caller's arrays themselves, so records are copied on the way in.
    super({ engine: 'memory', persistent: false, retainsInput: true, description: 'memory storage' }, options);
  }
  // Imported statically (it is small, pure JavaScript): a dynamic import goes
  // through the module loader, off-thread under tsx, and would make a
  // simulated disk that is replaced mid-run wait on real time.
  protected override async createDatabase(): Promise<LevelDatabase> {
    return new MemoryLevel<Uint8Array, Uint8Array>(VIEW);
  }
}

/** How to build a node's storage (value-log settings: disk engines only). */
export interface StorageOptions extends ValueLogSettings {
  engine: EngineKind;
  /** Database directory; required unless engine is 'memory' (ignored then). */
  dataDir?: string;
  /** fsync every engine batch before acknowledging its writes. */
  syncWrites?: boolean;
  /** How reads reach the engine (see EngineOptions.readMode); default 'sync'. */
  readMode?: ReadMode;
}

/** Constructs (does not open) the storage `opts` describe. Throws InvalidArgumentError for a bad engine or missing dataDir. */
export function createStorage(opts: StorageOptions): Storage {
  const common: EngineOptions = {
    syncWrites: opts.syncWrites === true,
    readMode: opts.readMode ?? 'sync',
    ...(opts.valueLogMinBytes !== undefined ? { valueLogMinBytes: opts.valueLogMinBytes } : {}),
    ...(opts.valueLogSegmentBytes !== undefined ? { valueLogSegmentBytes: opts.valueLogSegmentBytes } : {}),
    ...(opts.valueLogGcLiveRatio !== undefined ? { valueLogGcLiveRatio: opts.valueLogGcLiveRatio } : {}),
  };
  switch (opts.engine) {
    case 'leveldb':
      return new LevelStorage({ ...common, dataDir: checkDataDir(opts.dataDir) });
    case 'rocksdb':
      return new RocksStorage({ ...common, dataDir: checkDataDir(opts.dataDir) });
    case 'memory':
      return new MemoryStorage(common);
    default:
      throw new InvalidArgumentError(`unknown storage engine '${String(opts.engine satisfies never)}'`);
  }
}
