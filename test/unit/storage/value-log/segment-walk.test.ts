import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEntryHeader, ENTRY_HEADER_BYTES, recordCrc } from '../../../../lib/storage/value-log/segment-format.ts';
import { WALK_CHUNK_BYTES, walkSegment, type WalkedEntry } from '../../../../lib/storage/value-log/segment-walk.ts';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);
const rec = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

function segment(entries: Array<[Uint8Array, Uint8Array]>, tail: Uint8Array = new Uint8Array(0)): Uint8Array {
  const parts = entries.flatMap(([key, record]) => [encodeEntryHeader(key, record.length, recordCrc(record)), key, record]);
  parts.push(tail);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('value-log segment walk', function () {
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'dynamo-vlog-walk-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  async function walk(bytes: Uint8Array): Promise<WalkedEntry[]> {
    const path = join(dir, '000001.vlog');
    await writeFile(path, bytes);
    const out: WalkedEntry[] = [];
    for await (const e of walkSegment(path)) out.push(e);
    return out;
  }

  const entries: Array<[Uint8Array, Uint8Array]> = [
    [k('a'), rec(10, 1)],
    [k('bb'), rec(WALK_CHUNK_BYTES + 5000, 2)], // larger than a read step
    [k('c'), rec(WALK_CHUNK_BYTES - 40, 3)], // straddles a step boundary
    [k('d'), rec(1, 4)],
  ];

  it('yields every entry with the offset of its record, across read steps, and stops at a torn tail', async function () {
    const whole = segment(entries);
    const torn = segment([[k('e'), rec(100, 5)]]).subarray(0, 60);
    const got = await walk(segment(entries, torn));
    expect(got.map((e) => e.key)).to.deep.equal(entries.map(([key]) => key));
    expect(got.map((e) => e.record.length)).to.deep.equal(entries.map(([, r]) => r.length));
    for (const [i, e] of got.entries()) expect(e.record, `record ${i}`).to.deep.equal(entries[i]![1]);
    let offset = 0;
    const expected = entries.map(([key, record]) => {
      const at = offset + ENTRY_HEADER_BYTES + key.length;
      offset = at + record.length;
      return at;
    });
    expect(got.map((e) => e.recordOffset)).to.deep.equal(expected);
    expect(offset).to.equal(whole.length);
  });

  it('stops at a rotten entry and yields nothing after it', async function () {
    const bytes = segment(entries);
    bytes[ENTRY_HEADER_BYTES + 1 + 10 + ENTRY_HEADER_BYTES + 2 + 100]! ^= 0xff; // inside the second record
    expect((await walk(bytes)).map((e) => e.key)).to.deep.equal([k('a')]);
    expect(await walk(new Uint8Array(0))).to.deep.equal([]);
  });
});
