/**
 * This node's copy of its keys: reads and writes DVV objects through the
 * Storage port and the record codec, serialising read-modify-write per key so
 * concurrent updates of one key on this node never lose one.
 */
import { Buffer } from 'node:buffer';
import { LimitExceededError, type Logger } from '../runtime/index.ts';
import { LIMITS } from '../protocol/index.ts';
import { Dvv, type Actor, type VersionVector } from '../vclock/index.ts';
import { decodeRecord, encodeRecord, type Storage, type StoredObject, type StoredValue } from '../storage/index.ts';
import { KeyLock } from './key-lock.ts';

/** The object a replica now holds for a key and its encoded record (encoded once, reused for fan-out). */
export interface ReplicaWrite {
  readonly object: StoredObject;
  readonly record: Uint8Array;
}

/** Bounds of the per-key write queues. */
export const REPLICA_QUEUE_LIMITS = {
  /** Writes of one key queued on this node before new ones are refused. */
  depthMax: 1024,
  /** Distinct keys with writes in flight on this node. */
  keysMax: 65_536,
} as const;

const EMPTY = new Uint8Array(0);

/** The lock-map key of a storage key (one latin1 char per byte: injective, cheap). */
function lockKey(partition: number, key: Uint8Array): string {
  return `${partition}/${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')}`;
}

/** True when two objects hold the same dots (a DVV set's values are fixed by its dots). */
function sameDots(a: StoredObject, b: StoredObject): boolean {
  if (a.entries.length !== b.entries.length || a.anonymous.length !== b.anonymous.length) return false;
  for (let i = 0; i < a.entries.length; i++) {
    const x = a.entries[i]!;
    const y = b.entries[i]!;
    if (x.actor !== y.actor || x.counter !== y.counter || x.values.length !== y.values.length) return false;
  }
  return true;
}

/** Reads and writes this node's replica of keys. */
export class LocalReplica {
  readonly #storage: Storage;
  readonly #actor: Actor;
  readonly #logger: Logger;
  readonly #lock: KeyLock;

  constructor(deps: { storage: Storage; actor: Actor; logger: Logger; queueLimits?: { depthMax: number; keysMax: number } }) {
    this.#storage = deps.storage;
    this.#actor = deps.actor;
    this.#logger = deps.logger;
    this.#lock = new KeyLock(deps.queueLimits ?? REPLICA_QUEUE_LIMITS);
  }

  /** Keys with a write in flight (idle keys hold no lock state). */
  get lockedKeys(): number {
    return this.#lock.size;
  }

  /** The stored record bytes as they are (a peer's read: no decode/encode round trip). */
  readRecord(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#storage.get(partition, key);
  }

  /** The stored object, or undefined when this replica has none. Rejects with StorageCorruptionError on undecodable bytes. */
  async read(partition: number, key: Uint8Array): Promise<StoredObject | undefined> {
    const bytes = await this.#storage.get(partition, key);
    return bytes === undefined ? undefined : decodeRecord(bytes);
  }

  /**
   * Merge an object written elsewhere (replication fan-out, read repair) into
   * the local copy; stores only if that changes anything. `record`, when
   * given, must be `incoming` encoded and is stored as-is if the key is new.
   * Never refused for size: refusing would leave replicas diverged forever.
   */
  async merge(partition: number, key: Uint8Array, incoming: StoredObject, record?: Uint8Array): Promise<StoredObject> {
    return this.#lock.run(lockKey(partition, key), async () => {
      const local = await this.read(partition, key);
      let merged: StoredObject;
      let bytes: Uint8Array;
      if (local === undefined) {
        merged = incoming;
        bytes = record ?? encodeRecord(incoming);
      } else {
        merged = Dvv.sync(local, incoming);
        if (sameDots(merged, local)) return local;
        bytes = encodeRecord(merged);
      }
      const siblings = Dvv.size(merged);
      if (siblings >= LIMITS.siblingsWarn) this.#logger.warn('key has many siblings', { siblings, partition });
      await this.#storage.write([{ partition, key, record: bytes }]);
      return merged;
    });
  }

  /**
   * A client write coordinated here: `value` (undefined writes a tombstone)
   * supersedes what `context` saw and gets a new dot of this node's actor.
   * Refused with LimitExceededError, writing nothing, when the object would
   * exceed the sibling or size limits. `onComputed` gets the new object and
   * record before they are persisted (the coordinator fans them out
   * meanwhile); the key stays locked until the local write is stored.
   */
  async update(
    partition: number,
    key: Uint8Array,
    value: Uint8Array | undefined,
    context: VersionVector,
    nowMs: number,
    onComputed?: (write: ReplicaWrite) => void,
  ): Promise<ReplicaWrite> {
    const stored: StoredValue =
      value === undefined ? { data: EMPTY, tombstone: true, writtenAtMs: nowMs } : { data: value, tombstone: false, writtenAtMs: nowMs };
    return this.#lock.run(lockKey(partition, key), async () => {
      const local = (await this.read(partition, key)) ?? Dvv.fresh<StoredValue>();
      const object = Dvv.update(local, context, this.#actor, stored);
      const siblings = Dvv.size(object);
      if (siblings > LIMITS.siblingsMax) {
        throw new LimitExceededError(
          `key has ${Dvv.size(local)} siblings, the limit; read it and write back a resolved value with its context`,
        );
      }
      if (siblings >= LIMITS.siblingsWarn) this.#logger.warn('key has many siblings', { siblings, partition });
      const record = encodeRecord(object);
      if (record.byteLength > LIMITS.objectBytesMax) {
        throw new LimitExceededError(
          `object would be ${record.byteLength} bytes with this write, over the ${LIMITS.objectBytesMax}-byte limit; ` +
            'resolve its siblings or write a smaller value',
        );
      }
      const written = { object, record };
      const persisted = this.#storage.write([{ partition, key, record }]);
      onComputed?.(written);
      await persisted;
      return written;
    });
  }
}
