/**
 * Crash safety of the value log: a child process (crash-writer.ts) writes and
 * deletes large records with syncWrites while GC runs constantly; we SIGKILL
 * it at a random moment (twice at any time, twice once GC has been running),
 * reopen the same directory and check that every key holds exactly its last
 * acknowledged value or the one of the write in flight, that walks agree with
 * gets, and that the persisted live-byte counters equal the bytes the
 * pointers actually name. Each run continues on the data the previous crash left.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LevelStorage } from '../../../../lib/storage/index.ts';
import { entryBytes } from '../../../../lib/storage/value-log/segment-format.ts';
import { CRASH_OPTIONS, KEY_COUNT, keyOf, PARTITION, stateAfter } from './crash-workload.ts';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const READY_TIMEOUT_MS = 30_000;

/** mulberry32: kill delays from one seed, printed on failure. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === undefined || b === undefined ? a === b : a.length === b.length && a.every((x, i) => x === b[i]);

/** A running writer: its acks so far, and a way to wait for a condition on them. */
class Writer {
  readonly child: ChildProcess;
  readonly acked = new Map<number, number>();
  gcRuns = 0;
  ready = false;
  stderr = '';
  #buffer = '';
  #waiters: Array<() => void> = [];

  constructor(dataDir: string, firstSeq: number) {
    this.child = spawn(process.execPath, ['--import=tsx', WRITER, dataDir, String(firstSeq)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.#take(chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.child.on('exit', () => this.#wake());
  }

  /** Resolves once `ok()` holds; rejects if the writer dies first or `timeoutMs` passes. */
  async until(ok: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`writer exited before ${what}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    process.kill(this.child.pid!, 'SIGKILL');
    await exited;
  }

  #take(chunk: string): void {
    this.#buffer += chunk;
    const lines = this.#buffer.split('\n');
    this.#buffer = lines.pop()!;
    for (const line of lines) {
      const [word, a, b] = line.split(' ');
      if (word === 'ready') this.ready = true;
      else if (word === 'ack') this.acked.set(Number(a), Number(b));
      else if (word === 'gc') this.gcRuns = Number(a);
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

describe('value log crash safety (SIGKILL, LevelDB, syncWrites)', function () {
  this.timeout(90_000);
  let dir: string;
  let writer: Writer | undefined;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'dynamo-vlog-crash-'));
  });

  afterEach(async function () {
    await writer?.kill();
    writer = undefined;
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write across kills at random moments, during GC too', async function () {
    const seed = Number(process.env['DYNAMO_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    const random = prng(seed);
    const dataDir = join(dir, 'db');
    /** What each key held after the previous run's recovery. */
    const baseline: Array<Uint8Array | undefined> = new Array(KEY_COUNT).fill(undefined);
    let totalAcks = 0;
    let gcKills = 0;
    try {
      for (const [run, when] of [[1, 'any'], [2, 'gc'], [3, 'any'], [4, 'gc']] as const) {
        const firstSeq = run * 100_000;
        writer = new Writer(dataDir, firstSeq);
        await writer.until(() => writer!.ready, 'ready', READY_TIMEOUT_MS);
        if (when === 'gc') {
          await writer.until(() => writer!.gcRuns >= 3, 'GC runs', READY_TIMEOUT_MS);
          await new Promise((r) => setTimeout(r, random() * 30));
          gcKills++;
        } else {
          await new Promise((r) => setTimeout(r, 200 + random() * 800));
        }
        await writer.kill();
        const acked = writer.acked;
        totalAcks += acked.size === 0 ? 0 : [...acked.values()].reduce((n, seq) => n + seq - firstSeq + 1, 0);
        writer = undefined;

        const s = new LevelStorage({ ...CRASH_OPTIONS, dataDir });
        await s.open();
        try {
          const got: Array<Uint8Array | undefined> = [];
          for (let i = 0; i < KEY_COUNT; i++) {
            const value = await s.get(PARTITION, keyOf(i));
            const last = acked.get(i);
            // The acknowledged state, or that of the one write to this key that may have been in flight.
            const allowed = last === undefined ? [baseline[i], stateAfter(i, firstSeq)] : [stateAfter(i, last), stateAfter(i, last + 1)];
            expect(allowed.some((a) => same(a, value)), `run ${run} key ${i}: last ack seq ${last}, got ${value === undefined ? 'nothing' : `${value.length} bytes`}`).to.equal(true);
            got.push(value);
          }
          const rows = [];
          for await (const r of s.iteratePartition(PARTITION)) rows.push(r);
          expect(rows.map((r) => r.record)).to.deep.equal(got.filter((v) => v !== undefined));
          const expectedLive = got.reduce((n, v, i) => n + (v !== undefined && v.length >= CRASH_OPTIONS.valueLogMinBytes! ? entryBytes(5 + keyOf(i).length, v.length) : 0), 0);
          const stats = s.stats().valueLog;
          expect(stats.liveBytes, `run ${run}: persisted live bytes = bytes the pointers name`).to.equal(expectedLive);
          expect([stats.missingSegments, stats.counterUnderflows]).to.deep.equal([0, 0]);
          await s.compactValueLog();
          for (let i = 0; i < KEY_COUNT; i++) expect(same(await s.get(PARTITION, keyOf(i)), got[i]), `after GC, key ${i}`).to.equal(true);
          expect(s.stats().valueLog.liveBytes).to.equal(expectedLive);
          got.forEach((v, i) => (baseline[i] = v));
        } finally {
          await s.close();
        }
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\nreproduce with DYNAMO_SEED=${seed}`, { cause: e });
    }
    expect(gcKills).to.equal(2);
    expect(totalAcks, 'the writer got going').to.be.greaterThan(40);
  });
});
