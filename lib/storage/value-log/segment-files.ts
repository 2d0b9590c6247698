/**
 * The value log's files: one directory of segment files, the active one
 * appended to with positional write syscalls, sealed ones read through a
 * bounded cache of file descriptors.
 *
 * - Two streams append, each to an active segment of its own: client
 *   writes and GC's relocations. GC must fsync what it moved before the
 *   pointers to it may become durable; in a segment of its own that flushes
 *   only the moved bytes, not every client byte written since the last sync
 *   (`npm run bench:value-log`: p99 of 64 KiB overwrites 175 ms with one
 *   stream, 62-64 ms with two; docs/value-log.md).
 * - A fresh active segment is created on the first append of a stream after
 *   open (never an append after a tail a crash may have torn) and whenever
 *   the active one reaches `segmentBytes`. The directory is fsynced before a pointer into a
 *   new segment can become durable (sync()), or the file could vanish on a
 *   power loss while the engine kept pointers into it.
 * - Reads are synchronous (readSync on a cached fd): a value in the page cache
 *   costs microseconds, and no await between reading a pointer and reading its
 *   bytes means GC cannot delete the file in between.
 * - Readers that can hold pointers across awaits (partition walks read from an
 *   engine snapshot; async gets) pin the current generation. A segment GC
 *   retires is unlinked at once, but its fd stays open until every reader
 *   pinned before the retirement has finished, so a snapshot's old pointers
 *   still read the (intact, unlinked) bytes.
 * - Only synchronous code touches the cached fds, so closing one can never
 *   race a read that would then hit a reused descriptor number; the GC walk
 *   (segment-walk.ts) and sync() open descriptors of their own.
 */
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { encodeEntryHeader, parseSegmentFileName, recordCrc, segmentFileName, type AppendStream, type Pointer } from './segment-format.ts';
import { walkSegment, type WalkedEntry } from './segment-walk.ts';

const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);
const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);

/**
 * Sealed segments kept open for reads. Beyond it the least recently read is
 * closed (reopening costs ~10 µs); LevelDB keeps up to 1000 files open itself
 * and a default soft limit is 1024 descriptors.
 */
export const READ_FDS_MAX = 128;

interface Active {
  readonly segment: number;
  readonly fd: number;
  size: number;
}


export class SegmentFiles {
  readonly #dir: string;
  readonly #segmentBytes: number;
  /** Every segment file that exists, active included: its size. */
  readonly #sizes: Map<number, number>;
  /** Sum of #sizes, kept as it changes: every client write's admission check reads it. */
  #diskBytes = 0;
  readonly #active = new Map<AppendStream, Active>();
  #next: number;
  /** Least recently used first. */
  readonly #readFds = new Map<number, number>();
  /** Unlinked segments still open for readers pinned before their retirement. */
  readonly #retired = new Map<number, { fd: number; generation: number }>();
  readonly #pins = new Map<number, number>();
  #generation = 0;
  /** Segments written since the last sync(). */
  readonly #dirty = new Set<number>();
  #dirNeedsSync = false;
  #parentNeedsSync = false;
  /** Sealed since the last takeSealed(). */
  #sealed: number[] = [];

  private constructor(dir: string, segmentBytes: number, sizes: Map<number, number>, next: number) {
    this.#dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#sizes = sizes;
    for (const size of sizes.values()) this.#diskBytes += size;
    this.#next = next;
  }

  /**
   * Lists the segments in `dir` (a missing directory is an empty log). Every
   * one is sealed: appends go to a new segment numbered above all of them and
   * above `usedMax` (segments the engine may still point into).
   */
  static async open(dir: string, segmentBytes: number, usedMax: number): Promise<SegmentFiles> {
    const sizes = new Map<number, number>();
    let names: string[] = [];
    try {
      names = await fs.promises.readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    let max = usedMax;
    for (const name of names) {
      const segment = parseSegmentFileName(name);
      if (segment === undefined) continue;
      sizes.set(segment, (await fs.promises.stat(join(dir, name))).size);
      max = Math.max(max, segment);
    }
    return new SegmentFiles(dir, segmentBytes, sizes, max + 1);
  }

  /** Segment numbers with a file, ascending. */
  segments(): number[] {
    return [...this.#sizes.keys()].sort((a, b) => a - b);
  }

  sizeOf(segment: number): number | undefined {
    return this.#sizes.get(segment);
  }

  isSealed(segment: number): boolean {
    return this.#sizes.has(segment) && this.#activeFd(segment) === undefined;
  }

  diskBytes(): number {
    return this.#diskBytes;
  }

  /** Segments sealed since the last call (they may be GC candidates now). */
  takeSealed(): number[] {
    const out = this.#sealed;
    this.#sealed = [];
    return out;
  }

  /** Appends one entry to `stream`'s active segment with write syscalls (no fsync); returns where its record is. */
  append(key: Uint8Array, record: Uint8Array, stream: AppendStream = 'write'): Pointer {
    let active = this.#active.get(stream);
    if (active === undefined || active.size >= this.#segmentBytes) active = this.#rotate(stream);
    const crc = recordCrc(record);
    const header = encodeEntryHeader(key, record.length, crc);
    const start = active.size;
    this.#dirty.add(active.segment);
    try {
      writeAll(active.fd, [header, key, record], start);
    } catch (e) {
      // The tail is unknown now: never append after it.
      this.#seal(stream);
      throw e;
    }
    active.size = start + header.length + key.length + record.length;
    this.#diskBytes += active.size - this.#sizes.get(active.segment)!;
    this.#sizes.set(active.segment, active.size);
    return { segment: active.segment, offset: start + header.length + key.length, length: record.length, crc };
  }

  /**
   * fdatasyncs every segment written since the last call (or only those of
   * `only` among them), and the directory if a segment was created:
   * afterwards no pointer to those bytes can outlive them.
   */
  async sync(only?: ReadonlySet<number>): Promise<void> {
    const dirty = [...this.#dirty].filter((segment) => only === undefined || only.has(segment));
    for (const segment of dirty) this.#dirty.delete(segment);
    try {
      await Promise.all(dirty.map((segment) => this.#syncSegment(segment)));
      const dirs = [...(this.#dirNeedsSync ? [this.#dir] : []), ...(this.#parentNeedsSync ? [dirname(this.#dir)] : [])];
      this.#dirNeedsSync = false;
      this.#parentNeedsSync = false;
      await Promise.all(dirs.map((d) => syncPath(d)));
    } catch (e) {
      for (const segment of dirty) this.#dirty.add(segment);
      this.#dirNeedsSync = true;
      this.#parentNeedsSync = true;
      throw e;
    }
  }

  /**
   * `length` bytes at `offset` of a segment (fewer if the file ends first);
   * undefined if the segment has no file. Throws the fs error on I/O failure.
   */
  read(segment: number, offset: number, length: number): Uint8Array | undefined {
    const fd = this.#fdFor(segment);
    if (fd === undefined) return undefined;
    const buf = Buffer.allocUnsafeSlow(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    // A plain Uint8Array over its own ArrayBuffer: the caller owns it.
    return new Uint8Array(buf.buffer, buf.byteOffset, got);
  }

  /** Every intact entry of a sealed segment in order; stops at the first torn or rotten one. */
  walk(segment: number): AsyncGenerator<WalkedEntry, void, undefined> {
    return walkSegment(join(this.#dir, segmentFileName(segment)));
  }

  /** Marks the start of a reader that may hold pointers across awaits; call the result when it ends. */
  pin(): () => void {
    const generation = this.#generation;
    this.#pins.set(generation, (this.#pins.get(generation) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.#pins.get(generation)! - 1;
      if (left === 0) this.#pins.delete(generation);
      else this.#pins.set(generation, left);
      this.#closeUnpinned();
    };
  }

  /** Deletes a sealed segment's file; pinned readers keep reading it until they end. */
  retire(segment: number): void {
    if (!this.#sizes.has(segment) || this.#activeFd(segment) !== undefined) return;
    const generation = ++this.#generation;
    let fd = this.#readFds.get(segment);
    this.#readFds.delete(segment);
    this.#diskBytes -= this.#sizes.get(segment)!;
    this.#sizes.delete(segment);
    this.#dirty.delete(segment);
    const path = join(this.#dir, segmentFileName(segment));
    if (fd === undefined && this.#pins.size > 0) fd = openOrUndefined(path);
    fs.unlinkSync(path);
    if (fd !== undefined) {
      this.#retired.set(segment, { fd, generation });
      this.#closeUnpinned();
    }
  }

  /** Deletes the files of segments nothing points into (at open: no reader exists yet). */
  deleteUnused(segments: readonly number[]): void {
    for (const segment of segments) {
      if (!this.#sizes.has(segment) || this.#activeFd(segment) !== undefined) continue;
      fs.unlinkSync(join(this.#dir, segmentFileName(segment)));
      this.#diskBytes -= this.#sizes.get(segment)!;
      this.#sizes.delete(segment);
    }
  }

  close(): void {
    for (const active of this.#active.values()) fs.closeSync(active.fd);
    this.#active.clear();
    for (const fd of this.#readFds.values()) fs.closeSync(fd);
    this.#readFds.clear();
    for (const { fd } of this.#retired.values()) fs.closeSync(fd);
    this.#retired.clear();
    this.#sizes.clear();
    this.#diskBytes = 0;
  }

  #rotate(stream: AppendStream): Active {
    this.#seal(stream);
    // A directory made now has a new entry in its parent, which must reach the disk too.
    if (fs.mkdirSync(this.#dir, { recursive: true }) !== undefined) this.#parentNeedsSync = true;
    const segment = this.#next++;
    const fd = fs.openSync(join(this.#dir, segmentFileName(segment)), 'wx+');
    const active = { segment, fd, size: 0 };
    this.#active.set(stream, active);
    this.#sizes.set(segment, 0);
    this.#dirNeedsSync = true;
    return active;
  }

  /** The fd of `segment` if it is a stream's active segment. */
  #activeFd(segment: number): number | undefined {
    for (const active of this.#active.values()) if (active.segment === segment) return active.fd;
    return undefined;
  }

  #seal(stream: AppendStream): void {
    const active = this.#active.get(stream);
    if (active === undefined) return;
    this.#active.delete(stream);
    fs.closeSync(active.fd);
    this.#sealed.push(active.segment);
  }

  async #syncSegment(segment: number): Promise<void> {
    const activeFd = this.#activeFd(segment);
    if (activeFd !== undefined) {
      await fdatasync(activeFd);
      return;
    }
    if (!this.#sizes.has(segment)) return; // retired meanwhile: nothing points into it
    await syncPath(join(this.#dir, segmentFileName(segment)), true);
  }

  #fdFor(segment: number): number | undefined {
    const activeFd = this.#activeFd(segment);
    if (activeFd !== undefined) return activeFd;
    const cached = this.#readFds.get(segment);
    if (cached !== undefined) {
      this.#readFds.delete(segment);
      this.#readFds.set(segment, cached);
      return cached;
    }
    const retired = this.#retired.get(segment);
    if (retired !== undefined) return retired.fd;
    if (!this.#sizes.has(segment)) return undefined;
    const fd = openOrUndefined(join(this.#dir, segmentFileName(segment)));
    if (fd === undefined) return undefined;
    this.#readFds.set(segment, fd);
    if (this.#readFds.size > READ_FDS_MAX) {
      const [oldest, oldFd] = this.#readFds.entries().next().value!;
      this.#readFds.delete(oldest);
      fs.closeSync(oldFd);
    }
    return fd;
  }

  /** Closes retired segments no pinned reader can still need. */
  #closeUnpinned(): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const generation of this.#pins.keys()) oldest = Math.min(oldest, generation);
    for (const [segment, r] of this.#retired) {
      if (oldest >= r.generation) {
        this.#retired.delete(segment);
        fs.closeSync(r.fd);
      }
    }
  }
}

/** Writes all of `parts` at `position`, however the kernel splits it. */
function writeAll(fd: number, parts: Uint8Array[], position: number): void {
  const total = parts.reduce((n, p) => n + p.length, 0);
  let written = fs.writevSync(fd, parts, position);
  if (written === total) return;
  // A short write (rare: signals, quotas): finish part by part.
  let skip = written;
  for (const part of parts) {
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    let at = skip;
    skip = 0;
    while (at < part.length) {
      const n = fs.writeSync(fd, part, at, part.length - at, position + written);
      if (n === 0) throw new Error('write returned 0 bytes');
      at += n;
      written += n;
    }
  }
}

function openOrUndefined(path: string): number | undefined {
  try {
    return fs.openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** fsync (or fdatasync) a file or directory by path, through a descriptor of its own. */
async function syncPath(path: string, dataOnly = false): Promise<void> {
  const fd = await openFd(path, 'r');
  try {
    await (dataOnly ? fdatasync(fd) : fsync(fd));
  } finally {
    await closeFd(fd);
  }
}
