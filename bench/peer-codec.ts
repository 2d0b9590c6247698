/**
 * Micro-benchmark of the node-to-node codec's hot path: encode + decode of a
 * PeerBatch of read/write requests and replies (what replication and reads
 * send), in one process and one run, through
 *   - `table`: lib/transport/peer-codec.ts (the table-driven EnvelopeCodec);
 *   - `hand-written`: the peer codec as it was before the table (its files
 *     read from git at BASELINE_COMMIT into bench/out, so no copy of the old
 *     code lives in the tree);
 *   - `protobufjs`: protobufjs's reflection codec loaded from peer.proto (its
 *     encoders/decoders are generated at load time, the same code `pbjs
 *     --target static` would emit), plus the conversion to and from protocol
 *     values the transport would still need.
 * The codecs take turns in short slices (rotating who goes first), so drift
 * and bursts of load on a shared machine hit them alike; every codec gets its
 * own copy of the timing loop (no call site shared between codecs). Reported
 * per codec: the minimum and the median slice in ns per envelope, and the
 * median of the per-turn ratios to the table codec (the paired figure is the
 * steadiest on a loaded machine).
 *
 *   node --import=tsx bench/peer-codec.ts [--turns 200] [--batches 100] [--record-bytes 1024]
 */
import { execFileSync } from 'node:child_process';
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
const TURNS = option('turns', 200);
const BATCHES = option('batches', 100);
const RECORD_BYTES = option('record-bytes', 1024);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** One batch as the hot path sees it: 16 each of write/read requests and replies, RECORD_BYTES records, 16-byte keys. */
function sampleBatch(): Envelope[] {
  const record = Buffer.alloc(RECORD_BYTES, 7);
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
  // Compiled apart for each codec, so no call site in the loop sees two codecs.
  const make = new Function(
    'mod',
    'w',
    `let sink = 0;
     const visit = (id) => { sink += id; };
     return {
       encode(batch) {
         for (const e of batch) mod.writeEnvelope(w, e[0], e[1], e[2], e[3], true);
         const frame = w.finish();
         w.reset();
         return frame;
       },
       decode: (frame) => mod.decodeBatch(frame, visit) + (sink & 0),
     };`,
  ) as (m: typeof mod, w: protobuf.Writer) => Omit<Codec, 'name'>;
  return { name, ...make(mod, protobuf.Writer.create()) };
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

/** Wall-clock ns per envelope for `batches` encode+decode round trips of `batch` (a short slice). */
function slice(codec: Codec, batch: readonly Envelope[], batches: number): number {
  let decoded = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < batches; i++) decoded += codec.decode(codec.encode(batch));
  const ns = Number(process.hrtime.bigint() - start);
  if (decoded !== batches * batch.length) throw new Error(`${codec.name} decoded ${decoded} envelopes, expected ${batches * batch.length}`);
  return ns / decoded;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const batch = sampleBatch();
const codecs = [envelopeCodec('table (peer-codec.ts)', table), await handWritten(), reflection()].filter((c): c is Codec => c !== undefined);

// Same bytes from every codec, so every codec does the same work.
const reference = Buffer.from(codecs[0]!.encode(batch));
for (const c of codecs) if (Buffer.from(c.encode(batch)).compare(reference) !== 0) throw new Error(`${c.name} encodes the batch differently`);

for (const c of codecs) for (let i = 0; i < 20; i++) slice(c, batch, BATCHES); // warm-up
const times = codecs.map(() => [] as number[]);
const ratios = codecs.map(() => [] as number[]);
for (let t = 0; t < TURNS; t++) {
  const turn: number[] = [];
  for (let i = 0; i < codecs.length; i++) {
    const k = (t + i) % codecs.length;
    turn[k] = slice(codecs[k]!, batch, BATCHES);
  }
  turn.forEach((ns, k) => {
    times[k]!.push(ns);
    ratios[k]!.push(ns / turn[0]!);
  });
}

console.log(`peer codec: encode + decode of a ${batch.length}-envelope PeerBatch (16 each of write/read requests and replies, ${RECORD_BYTES}-byte records)`);
console.log(`${TURNS} turns of ${BATCHES} batches per codec; ns per envelope`);
codecs.forEach((c, k) => {
  console.log(
    `${c.name.padEnd(28)} min ${Math.min(...times[k]!).toFixed(1).padStart(7)}  median ${median(times[k]!).toFixed(1).padStart(7)}  ` +
      `median ratio to table ${median(ratios[k]!).toFixed(3)}`,
  );
});
