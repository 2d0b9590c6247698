/**
 * Micro-benchmark of the node-to-node codec's hot path: encode + decode of a
 * PeerBatch of read/write requests and replies (what replication and reads
 * send), in one process and one run, through
 *   - `table`: lib/transport/peer-codec.ts (the table-driven EnvelopeCodec);
 *   - `hand-written`: the peer codec as it was before the table (its files
 *     read from git at BASELINE_COMMIT into a temporary directory, so no copy
 *     of the old code lives in the tree);
 *   - `protobufjs`: protobufjs's reflection codec loaded from peer.proto (its
 *     encoders/decoders are generated at load time, the same code `pbjs
 *     --target static` would emit), plus the conversion to and from protocol
 *     values the transport would still need.
 * Each codec runs in its own child process (so no call site or JIT feedback
 * is shared between codecs), and the processes alternate — A, B, C, A, B, C
 * … — so drift on a shared machine hits all alike. Reported per codec: the
 * median and the minimum of all rounds, in ns per envelope (the minimum is
 * the steadier figure on a loaded machine).
 *
 *   node --import=tsx bench/peer-codec.ts [--processes 5] [--rounds 7] [--batches 2000]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import type { PeerReply, PeerRequest } from '../lib/protocol/index.ts';
import * as table from '../lib/transport/peer-codec.ts';
import { PEER_PROTO, PROTO_ROOT } from '../lib/transport/proto-files.ts';

/** The commit this branch started from: the last one with the hand-written peer codec. */
const BASELINE_COMMIT = 'dba1afc';

type Kind = 0 | 1;
type Envelope = [id: number, timeoutMs: number, kind: Kind, body: PeerRequest | PeerReply];
interface Codec {
  readonly name: string;
  encode(batch: readonly Envelope[]): Uint8Array;
  decode(frame: Uint8Array): number;
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const PROCESSES = option('processes', 5);
const ROUNDS = option('rounds', 7);
const BATCHES = option('batches', 2000);
const CODEC = args[args.indexOf('--codec') + 1];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** One batch as the hot path sees it: 16 each of write/read requests and replies, 1 KiB records, 16-byte keys. */
function sampleBatch(): Envelope[] {
  const record = Buffer.alloc(1024, 7);
  const out: Envelope[] = [];
  for (let i = 0; i < 16; i++) {
    const key = Buffer.from(`user:${String(i).padStart(11, '0')}`);
    out.push([i * 4 + 1, 5_000, 0, { type: 'write', key, record }]);
    out.push([i * 4 + 2, 5_000, 0, { type: 'read', key }]);
    out.push([i * 4 + 3, 0, 1, { type: 'write' }]);
    out.push([i * 4 + 4, 0, 1, { type: 'read', record }]);
  }
  return out;
}

/** A codec with the peer-codec.ts API (writeEnvelope + decodeBatch). */
function envelopeCodec(name: string, mod: { writeEnvelope: typeof table.writeEnvelope; decodeBatch: typeof table.decodeBatch }): Codec {
  const w = protobuf.Writer.create();
  let sink = 0;
  const visit = (id: number): void => {
    sink += id;
  };
  return {
    name,
    encode(batch) {
      for (const [id, t, kind, body] of batch) mod.writeEnvelope(w, id, t, kind, body, true);
      const frame = w.finish();
      w.reset();
      return frame;
    },
    decode: (frame) => mod.decodeBatch(frame, visit) + (sink & 0),
  };
}

/** The hand-written codec of BASELINE_COMMIT, or undefined (with the reason printed) when git cannot provide it. */
async function handWritten(): Promise<Codec | undefined> {
  let dir: string | undefined;
  try {
    // Inside the project (bench/out is git-ignored), so tsx compiles it with the project's tsconfig like the rest.
    mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
    dir = mkdtempSync(path.join(root, 'bench', 'out', 'peer-codec-baseline-'));
    const rewrite = (src: string): string =>
      src
        .replace(/from '\.\.\/(runtime|protocol)\/index\.ts'/g, (_m, mod: string) => `from '${pathToFileURL(path.join(root, 'lib', mod, 'index.ts')).href}'`)
        .replace(/from 'protobufjs'/g, `from '${import.meta.resolve('protobufjs')}'`);
    for (const file of ['peer-codec.ts', 'wire.ts', 'error-codes.ts']) {
      const src = execFileSync('git', ['-C', root, 'show', `${BASELINE_COMMIT}:lib/transport/${file}`], { encoding: 'utf8' });
      writeFileSync(path.join(dir, file), rewrite(src));
    }
    const mod = (await import(pathToFileURL(path.join(dir, 'peer-codec.ts')).href)) as typeof table;
    return envelopeCodec(`hand-written (${BASELINE_COMMIT})`, mod);
  } catch (e) {
    console.log(`hand-written baseline unavailable (${(e as Error).message.split('\n')[0]}); measuring the others only`);
    return undefined;
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** protobufjs reflection from peer.proto, with the conversion to and from protocol values. */
function reflection(): Codec {
  const protoRoot = new protobuf.Root();
  protoRoot.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_ROOT, target));
  protoRoot.loadSync(PEER_PROTO);
  const Batch = protoRoot.lookupType('dynamo.v1.PeerBatch');
  type Fields = Record<string, unknown>;
  type Msg = Record<string, Fields> & { id: number; body: string };
  const member = (kind: Kind, body: PeerRequest | PeerReply): Fields => {
    const b = body as unknown as Fields;
    if (kind === 0) return body.type === 'write' ? { writeRequest: { key: b['key'], record: b['record'] } } : { readRequest: { key: b['key'] } };
    return body.type === 'write' ? { writeReply: {} } : { readReply: { record: b['record'] } };
  };
  let sink = 0;
  return {
    name: 'protobufjs reflection',
    // protobufjs writes a field that is set even to its default: leave zeros out, as proto3 encoders do.
    encode: (batch) =>
      Batch.encode({ envelopes: batch.map(([id, timeoutMs, kind, body]) => ({ id, ...(timeoutMs === 0 ? {} : { timeoutMs }), ...member(kind, body) })) }).finish(),
    decode(frame) {
      const envelopes = (Batch.decode(frame) as unknown as { envelopes: Msg[] }).envelopes;
      for (const e of envelopes) {
        // `body` names the oneof member that is set (protobufjs's virtual oneof field).
        let body: PeerRequest | PeerReply;
        const m = e[e.body]!;
        if (e.body === 'writeRequest') body = { type: 'write', key: m['key'] as Uint8Array, record: m['record'] as Uint8Array };
        else if (e.body === 'readRequest') body = { type: 'read', key: m['key'] as Uint8Array };
        else if (e.body === 'writeReply') body = { type: 'write' };
        else body = { type: 'read', record: (m['record'] ?? undefined) as Uint8Array | undefined };
        sink += e.id + body.type.length;
      }
      return envelopes.length + (sink & 0);
    },
  };
}

/** ns per envelope for `batches` encode+decode round trips of `batch`. */
function round(codec: Codec, batch: readonly Envelope[], batches: number): number {
  let decoded = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < batches; i++) decoded += codec.decode(codec.encode(batch));
  const ns = Number(process.hrtime.bigint() - start);
  if (decoded !== batches * batch.length) throw new Error(`${codec.name} decoded ${decoded} envelopes, expected ${batches * batch.length}`);
  return ns / decoded;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The codecs by the name a child is given. */
const CODECS: Record<string, () => Codec | undefined | Promise<Codec | undefined>> = {
  table: () => envelopeCodec('table (peer-codec.ts)', table),
  'hand-written': handWritten,
  protobufjs: reflection,
};

const batch = sampleBatch();

if (CODEC !== undefined && args.includes('--codec')) {
  // Child: measure one codec, print its rounds as JSON.
  const codec = await CODECS[CODEC]!();
  if (codec === undefined) {
    console.log(JSON.stringify({ name: CODEC, samples: [] }));
  } else {
    // Same bytes as the table codec, so every codec measures the same work.
    const w = protobuf.Writer.create();
    for (const [id, t, kind, body] of batch) table.writeEnvelope(w, id, t, kind, body, true);
    if (Buffer.from(codec.encode(batch)).compare(Buffer.from(w.finish())) !== 0) throw new Error(`${codec.name} encodes the batch differently`);
    round(codec, batch, BATCHES); // warm-up
    const samples = Array.from({ length: ROUNDS }, () => round(codec, batch, BATCHES));
    console.log(JSON.stringify({ name: codec.name, samples }));
  }
} else {
  const samples = new Map<string, { name: string; xs: number[] }>();
  for (let p = 0; p < PROCESSES; p++) {
    for (const key of Object.keys(CODECS)) {
      const child = spawnSync(
        process.execPath,
        ['--import=tsx', fileURLToPath(import.meta.url), '--codec', key, '--rounds', String(ROUNDS), '--batches', String(BATCHES)],
        { cwd: root, encoding: 'utf8' },
      );
      if (child.status !== 0) throw new Error(`${key}: ${child.stderr}`);
      const lines = child.stdout.trim().split('\n');
      for (const line of lines.slice(0, -1)) console.log(line);
      const result = JSON.parse(lines[lines.length - 1]!) as { name: string; samples: number[] };
      const entry = samples.get(key) ?? { name: result.name, xs: [] };
      entry.xs.push(...result.samples);
      samples.set(key, entry);
    }
  }
  console.log(`peer codec: encode + decode of a ${batch.length}-envelope PeerBatch (16 each of write/read requests and replies, 1 KiB records)`);
  console.log(`${PROCESSES} alternating processes per codec x ${ROUNDS} rounds of ${BATCHES} batches; ns per envelope`);
  const base = samples.get('table')!.xs;
  for (const { name, xs } of samples.values()) {
    if (xs.length === 0) continue;
    console.log(
      `${name.padEnd(28)} median ${median(xs).toFixed(1).padStart(7)}  min ${Math.min(...xs).toFixed(1).padStart(7)}  ` +
        `(vs table: median ${(median(xs) / median(base)).toFixed(2)}x, min ${(Math.min(...xs) / Math.min(...base)).toFixed(2)}x)`,
    );
  }
}
