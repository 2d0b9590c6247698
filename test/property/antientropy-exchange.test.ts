/**
 * (c) An exchange between two random replicas, over the in-memory port and
 * with real records merged by Dvv.sync, leaves both with equal trees and
 * equal contents — each key's object the causal merge of the two sides, all
 * siblings kept — and moves payload bytes bounded by a + b × (differing
 * keys): nothing proportional to the (up to 1,000) keys both sides already
 * agree on, except the few that share a segment with a differing key.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { MemoryTreePort, exchange, versionDigest, type ExchangeLimits, type TreeShape } from '../../lib/antientropy/index.ts';
import { decodeRecord, encodeRecord, type StoredObject, type StoredValue } from '../../lib/storage/index.ts';
import { Dvv } from '../../lib/vclock/index.ts';
import { REAL_RECORDS, text, utf8 } from '../unit/antientropy/helpers.ts';

const P = 11;
const LIMITS: ExchangeLimits = { segmentsPerExchangeMax: 1 << 20, keysPerExchangeMax: 1 << 20, keysPerCallMax: 16, callBytesMax: 4096 };
const key = (i: number): Uint8Array => utf8(`k${i}`);

/**
 * One step of a history: replica `at` writes key `k` (a value, or a delete),
 * with the context of what it holds (a read-modify-write) or none (a blind
 * write); or copies key `k` to the other replica (replication / read repair).
 */
type Op = { at: 'a' | 'b'; k: number; kind: 'put' | 'delete' | 'blind' | 'copy' };
const op: fc.Arbitrary<Op> = fc.record({
  at: fc.constantFrom('a' as const, 'b' as const),
  k: fc.integer({ min: 0, max: 40 }),
  kind: fc.constantFrom('put' as const, 'put' as const, 'delete' as const, 'blind' as const, 'copy' as const, 'copy' as const),
});

/**
 * Plays a history into two replicas that already agree on `common` other
 * keys; values are named after their dot, so a dot names one value.
 */
function play(ops: readonly Op[], shape: TreeShape, common: number): { a: MemoryTreePort; b: MemoryTreePort } {
  const ports = { a: new MemoryTreePort(shape, REAL_RECORDS), b: new MemoryTreePort(shape, REAL_RECORDS) };
  for (let i = 0; i < common; i++) {
    const record = encodeRecord({ entries: [{ actor: 'c.1', counter: 1, values: [{ data: utf8(`same-${i}`), tombstone: false, writtenAtMs: 0 }] }], anonymous: [] });
    ports.a.write(P, utf8(`common-${i}`), record);
    ports.b.write(P, utf8(`common-${i}`), record);
  }
  let clock = 0;
  for (const o of ops) {
    const here = ports[o.at];
    const there = ports[o.at === 'a' ? 'b' : 'a'];
    const bytes = here.read(P, key(o.k));
    const current: StoredObject = bytes === undefined ? Dvv.fresh() : decodeRecord(bytes);
    if (o.kind === 'copy') {
      if (bytes !== undefined) there.write(P, key(o.k), REAL_RECORDS.merge(there.read(P, key(o.k)), bytes));
      continue;
    }
    const actor = `${o.at}.1`;
    const counter = (current.entries.find((e) => e.actor === actor)?.counter ?? 0) + 1;
    const v: StoredValue =
      o.kind === 'delete'
        ? { data: new Uint8Array(0), tombstone: true, writtenAtMs: ++clock }
        : { data: utf8(`${actor}:${counter}`), tombstone: false, writtenAtMs: ++clock };
    const context = o.kind === 'blind' ? [] : Dvv.join(current);
    here.write(P, key(o.k), encodeRecord(Dvv.update(current, context, actor, v)));
  }
  return ports;
}

const siblings = (obj: StoredObject | undefined): string[] =>
  obj === undefined ? [] : Dvv.values(obj).map((v) => (v.tombstone ? `x@${v.writtenAtMs}` : text(v.data))).sort();

describe('antientropy exchange (property)', () => {
  it('(c) converges two random replicas, keeping every sibling, with bytes linear in the differing keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<TreeShape>({ fanOut: 64, depth: 2 }, { fanOut: 16, depth: 2 }, { fanOut: 8, depth: 3 }),
        fc.array(op, { maxLength: 150 }),
        fc.integer({ min: 0, max: 1000 }),
        async (shape, ops, common) => {
          const { a, b } = play(ops, shape, common);
          const keys = [...new Set([...a.entries(P), ...b.entries(P)].map((e) => text(e.key)))];
          const before = new Map(
            keys.map((k) => {
              const x = a.read(P, utf8(k));
              const y = b.read(P, utf8(k));
              return [k, { a: x === undefined ? undefined : decodeRecord(x), b: y === undefined ? undefined : decodeRecord(y) }];
            }),
          );
          const differing = keys.filter((k) => {
            const { a: x, b: y } = before.get(k)!;
            return (x === undefined ? 0n : versionDigest(x)) !== (y === undefined ? 0n : versionDigest(y));
          });
          // What one listed key and one moved record can cost at most, from this history.
          const keyBytesMax = Math.max(0, ...keys.map((k) => utf8(k).length));
          const recordBytesMax = Math.max(0, ...[...a.entries(P), ...b.entries(P)].map((e) => (a.read(P, e.key) ?? b.read(P, e.key))!.length), ...keys.map((k) => encodeRecord(merged(before.get(k)!)).length));
          const perSegment = new Map<number, number>();
          for (const e of b.entries(P)) perSegment.set(b.tree(P).segmentOf(e.key), (perSegment.get(b.tree(P).segmentOf(e.key)) ?? 0) + 1);
          const keysPerSegmentMax = Math.max(0, ...perSegment.values());

          const result = await exchange({ partition: P, limits: LIMITS }, { local: a, remote: b });

          expect(result.complete).to.equal(true);
          expect(a.tree(P).equals(b.tree(P))).to.equal(true);
          expect(a.entries(P)).to.deep.equal(b.entries(P));
          expect(result.diffs.map((d) => text(d.key)).sort()).to.deep.equal([...differing].sort());
          for (const k of keys) {
            const want = merged(before.get(k)!);
            expect(versionDigest(decodeRecord(a.read(P, utf8(k))!)), k).to.equal(versionDigest(want));
            expect(siblings(decodeRecord(b.read(P, utf8(k))!)), k).to.deep.equal(siblings(want));
          }
          // Bytes: a fixed part (roots, one message header per round) plus, per differing
          // key, one group of fanOut hashes per level, its segment's listing, its record
          // both ways, and the key in a fetch request and in a call header.
          const bytes = result.bytesToRemote + result.bytesFromRemote;
          const fixed = 14 + 5 * shape.depth + 4 + 4 + 4;
          const perKey =
            shape.depth * (12 * shape.fanOut + 5) + 4 + keysPerSegmentMax * (12 + keyBytesMax) + 2 * (8 + keyBytesMax + recordBytesMax) + (4 + keyBytesMax) + 8;
          expect(bytes).to.be.at.most(fixed + perKey * differing.length);
          if (differing.length === 0) expect(bytes).to.equal(14);
          const again = await exchange({ partition: P, limits: LIMITS }, { local: a, remote: b });
          expect(again.status).to.equal('in-sync');
        },
      ),
      { numRuns: 80 },
    );
  });
});

function merged(x: { a: StoredObject | undefined; b: StoredObject | undefined }): StoredObject {
  if (x.a === undefined) return x.b!;
  if (x.b === undefined) return x.a;
  return Dvv.sync(x.a, x.b);
}
