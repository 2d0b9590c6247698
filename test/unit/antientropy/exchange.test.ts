import { expect } from 'chai';
import {
  ExchangeSession,
  MemoryTreePort,
  TREE_SHAPE_DEFAULT,
  performCall,
  type ExchangeInput,
  type ExchangeLimits,
  type ExchangeResult,
  type ExchangeStep,
  type OutboundCall,
  type RecordOps,
  type TreePort,
} from '../../../lib/antientropy/index.ts';
import { WIDE_LIMITS, utf8 } from './helpers.ts';

/** Synthetic records: the record is its 8-byte digest; merge keeps the larger (a join). */
const DIGEST_RECORDS: RecordOps = {
  digestOf: (r) => new DataView(r.buffer, r.byteOffset, r.byteLength).getBigUint64(0),
  merge: (local, incoming) => (local === undefined || DIGEST_RECORDS.digestOf(incoming) > DIGEST_RECORDS.digestOf(local) ? incoming : local),
};
const rec = (d: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, d);
  return b;
};
const P = 7;

/** A key whose segment (default shape) is none of `segments`. */
function keyOutside(segments: readonly number[]): Uint8Array {
  const tree = new MemoryTreePort(TREE_SHAPE_DEFAULT, DIGEST_RECORDS).tree(0);
  for (let i = 0; ; i++) if (!segments.includes(tree.segmentOf(utf8(`other-${i}`)))) return utf8(`other-${i}`);
}

function replicas(shape = TREE_SHAPE_DEFAULT): { a: MemoryTreePort; b: MemoryTreePort } {
  return { a: new MemoryTreePort(shape, DIGEST_RECORDS), b: new MemoryTreePort(shape, DIGEST_RECORDS) };
}

/** Answers every call of a round, then feeds the replies in the given order. */
async function answers(calls: readonly OutboundCall[], local: TreePort, remote: TreePort): Promise<ExchangeInput[]> {
  return Promise.all(
    calls.map(async (c): Promise<ExchangeInput> => ({ type: 'reply', id: c.id, reply: await performCall(c.side === 'local' ? local : remote, P, c.call) })),
  );
}

/** Runs a session to its end, feeding each round's replies in reverse order, recording the calls. */
async function drive(session: ExchangeSession, local: TreePort, remote: TreePort): Promise<{ result: ExchangeResult; rounds: OutboundCall[][] }> {
  const rounds: OutboundCall[][] = [];
  let step: ExchangeStep = session.start();
  while (step.done === undefined) {
    rounds.push([...step.calls]);
    const inputs = (await answers(step.calls, local, remote)).reverse();
    for (const input of inputs) step = session.step(input);
  }
  return { result: step.done, rounds };
}

const session = (limits: ExchangeLimits = WIDE_LIMITS, startSegment = 0): ExchangeSession =>
  new ExchangeSession({ partition: P, limits, startSegment });

describe('ExchangeSession', () => {
  it('ends after one round of 4 + 10 bytes when the roots agree', async () => {
    const { a, b } = replicas();
    for (let i = 0; i < 100; i++) {
      a.write(P, utf8(`k${i}`), rec(BigInt(i + 1)));
      b.write(P, utf8(`k${i}`), rec(BigInt(i + 1)));
    }
    const { result, rounds } = await drive(session(), a, b);
    expect(rounds.map((r) => r.map((c) => `${c.side}:${c.call.op}`))).to.deep.equal([['local:root', 'remote:root']]);
    expect(result).to.deep.include({ status: 'in-sync', complete: true, bytesToRemote: 4, bytesFromRemote: 10, roundTrips: 1, remoteCalls: 1 });
    expect(result.differingSegments).to.deep.equal([]);
  });

  it('descends only into the differing branch and moves exactly the differing key, both ways', async () => {
    const { a, b } = replicas();
    for (let i = 0; i < 50; i++) {
      a.write(P, utf8(`k${i}`), rec(BigInt(i + 1)));
      b.write(P, utf8(`k${i}`), rec(BigInt(i + 1)));
    }
    const key = utf8('k17');
    a.write(P, key, rec(100n));
    b.write(P, key, rec(200n));
    const segment = a.tree(P).segmentOf(key);
    const { result, rounds } = await drive(session(), a, b);
    expect(rounds.map((r) => r.map((c) => `${c.side}:${c.call.op}`))).to.deep.equal([
      ['local:root', 'remote:root'],
      ['local:segments', 'remote:segments'],
      ['local:segments', 'remote:segments'],
      ['local:keys-in', 'remote:keys-in'],
      ['remote:fetch', 'local:fetch'],
      ['local:push', 'remote:push'],
    ]);
    const level2 = rounds[2]![1]!.call;
    expect(level2.op === 'segments' && level2.indices).to.deep.equal(Array.from({ length: 64 }, (_, i) => (segment >> 6) * 64 + i));
    expect(result.status).to.equal('repaired');
    expect(result.complete).to.equal(true);
    expect(result.differingSegments).to.deep.equal([segment]);
    expect(result.diffs).to.deep.equal([{ key, local: 100n, remote: 200n }]);
    expect(result.pulled).to.equal(1);
    expect(result.pushed).to.equal(1);
    expect(result.roundTrips).to.equal(6);
    // Payload bytes, by wire-size.ts: root, two levels of 64 hashes, one segment's listing, one record each way.
    const keyBytes = key.length;
    const listed = (await b.keysIn(P, [segment])).reduce((n, e) => n + 4 + e.key.length + 8, 0);
    expect(result.bytesToRemote).to.equal(4 + (5 + 4 * 64) * 2 + (4 + 4) + (4 + 4 + keyBytes) + (4 + 4 + keyBytes + 4 + 8));
    expect(result.bytesFromRemote).to.equal(10 + 8 * 64 * 2 + listed + (4 + keyBytes + 4 + 8));
    expect(a.read(P, key)).to.deep.equal(rec(200n));
    expect(b.read(P, key)).to.deep.equal(rec(200n));
    expect(a.tree(P).equals(b.tree(P))).to.equal(true);
  });

  it('pulls a key only the peer holds and pushes one only this replica holds', async () => {
    const { a, b } = replicas();
    a.write(P, utf8('mine'), rec(1n));
    b.write(P, utf8('theirs'), rec(2n));
    const { result } = await drive(session(), a, b);
    expect(result.pulled).to.equal(1);
    expect(result.pushed).to.equal(1);
    expect(a.entries(P)).to.deep.equal(b.entries(P));
    expect(a.entries(P).map((e) => new TextDecoder().decode(e.key))).to.deep.equal(['mine', 'theirs']);
  });

  it('lists agreeing keys of examined segments and flags segments whose listings agree (phantoms)', async () => {
    const { a, b } = replicas({ fanOut: 2, depth: 1 });
    for (let i = 0; i < 20; i++) {
      a.write(P, utf8(`k${i}`), rec(5n));
      b.write(P, utf8(`k${i}`), rec(5n));
    }
    // Damage b's tree without touching its records: hashes differ, contents agree.
    b.tree(P).update(utf8('ghost'), 0n, 9n);
    const { result } = await drive(session(), a, b);
    const ghostSegment = b.tree(P).segmentOf(utf8('ghost'));
    expect(result.status).to.equal('repaired');
    expect(result.phantomSegments).to.deep.equal([ghostSegment]);
    expect(result.diffs).to.deep.equal([]);
    expect(result.agreed.length).to.equal((await a.keysIn(P, [ghostSegment])).length);
    expect(result.pulled + result.pushed).to.equal(0);
  });

  it('examines at most segmentsPerExchangeMax segments, from startSegment on (wrapping), and says it is incomplete', async () => {
    const { a, b } = replicas({ fanOut: 4, depth: 2 });
    for (let i = 0; i < 200; i++) a.write(P, utf8(`k${i}`), rec(1n));
    const differing = a.tree(P).diff(b.tree(P));
    expect(differing).to.have.length(16);
    const limits = { ...WIDE_LIMITS, segmentsPerExchangeMax: 3 };
    const { result } = await drive(session(limits, 14), a, b);
    expect(result.examinedSegments).to.deep.equal([0, 14, 15]);
    expect(result.differingSegments).to.deep.equal(differing);
    expect(result.complete).to.equal(false);
    expect(result.status).to.equal('repaired');
    expect(b.entries(P).every((e) => [0, 14, 15].includes(b.tree(P).segmentOf(e.key)))).to.equal(true);
  });

  it('repairs at most keysPerExchangeMax keys, fetching keysPerCallMax per call and pushing callBytesMax per call', async () => {
    const { a, b } = replicas();
    for (let i = 0; i < 30; i++) a.write(P, utf8(`key-${String(i).padStart(2, '0')}`), rec(BigInt(i + 1)));
    const limits: ExchangeLimits = { segmentsPerExchangeMax: 4096, keysPerExchangeMax: 25, keysPerCallMax: 10, callBytesMax: 1024 };
    const { result, rounds } = await drive(session(limits), a, b);
    expect(result.complete).to.equal(false);
    expect(result.pushed).to.equal(25);
    expect(result.diffs).to.have.length(30);
    const fetches = rounds[4]!.filter((c) => c.call.op === 'fetch');
    expect(fetches.map((c) => (c.call.op === 'fetch' ? c.call.keys.length : 0))).to.deep.equal([10, 10, 5]);
    // 25 records of 4 + 6 + 4 + 8 = 22 bytes: 46 fit in 1024 bytes, so one push call.
    expect(rounds[5]!.filter((c) => c.call.op === 'push')).to.have.length(1);
    const again = await drive(session(limits), a, b);
    expect(again.result.complete).to.equal(true);
    expect(a.tree(P).equals(b.tree(P))).to.equal(true);
  });

  it("gives the same result whatever order a round's replies arrive in", async () => {
    const build = (): { a: MemoryTreePort; b: MemoryTreePort } => {
      const r = replicas();
      for (let i = 0; i < 40; i++) r.a.write(P, utf8(`k${i}`), rec(BigInt(i + 1)));
      for (let i = 20; i < 60; i++) r.b.write(P, utf8(`k${i}`), rec(BigInt(2 * i + 1)));
      return r;
    };
    const one = build();
    const reversed = await drive(session(), one.a, one.b);
    const two = build();
    const s2 = session();
    let step = s2.start();
    while (step.done === undefined) for (const input of await answers(step.calls, two.a, two.b)) step = s2.step(input);
    expect(step.done).to.deep.equal(reversed.result);
  });

  it('stops at the deadline, ignores late replies and keeps its result', async () => {
    const { a, b } = replicas();
    a.write(P, utf8('x'), rec(1n));
    const s = session();
    const first = s.start();
    const late = await answers(first.calls, a, b);
    const step = s.step(late[0]!);
    expect(step).to.deep.equal({ calls: [], done: undefined });
    const stopped = s.step({ type: 'deadline' });
    expect(stopped.done).to.deep.include({ status: 'aborted', abortReason: 'deadline', complete: false });
    expect(s.step(late[1]!).done).to.equal(stopped.done);
    expect(s.result).to.equal(stopped.done);
  });

  it('stops when a call fails, naming the side', async () => {
    const s = session();
    const { calls } = s.start();
    const remote = calls.find((c) => c.side === 'remote')!;
    const done = s.step({ type: 'failed', id: remote.id, error: 'DYNAMO_UNAVAILABLE: peer down' }).done!;
    expect(done).to.deep.include({ status: 'aborted', abortReason: 'remote-failed', error: 'DYNAMO_UNAVAILABLE: peer down' });
  });

  it('refuses to compare trees of different shapes', async () => {
    const a = new MemoryTreePort({ fanOut: 64, depth: 2 }, DIGEST_RECORDS);
    const b = new MemoryTreePort({ fanOut: 32, depth: 2 }, DIGEST_RECORDS);
    const { result } = await drive(session(), a, b);
    expect(result).to.deep.include({ status: 'aborted', abortReason: 'shape-mismatch' });
  });

  it('aborts on replies that break the port contract', async () => {
    const { a, b } = replicas();
    a.write(P, utf8('x'), rec(1n));
    const liar = (override: Partial<TreePort>): TreePort => ({
      root: (p) => b.root(p),
      segments: (p, l, i) => b.segments(p, l, i),
      keysIn: (p, s) => b.keysIn(p, s),
      fetch: (p, k) => b.fetch(p, k),
      push: (p, r) => b.push(p, r),
      ...override,
    });
    const cases: Array<[string, TreePort, RegExp]> = [
      ['too few hashes', liar({ segments: async () => [1n] }), /hashes/],
      ['a key of another segment', liar({ keysIn: async (p, s) => [{ key: keyOutside(s), digest: 3n }] }), /outside/],
      ['a zero digest', liar({ keysIn: async (p, s) => (await b.keysIn(p, s)).concat([{ key: utf8('x'), digest: 0n }]) }), /digest/],
      ['a shape that is no shape', liar({ root: async () => ({ shape: { fanOut: 3, depth: 2 }, hash: 1n }) }), /shape/],
    ];
    for (const [what, remote, message] of cases) {
      const { result } = await drive(session(), a, remote);
      expect(result.status, what).to.equal('aborted');
      expect(result.abortReason, what).to.equal('bad-reply');
      expect(result.error, what).to.match(message);
    }
  });

  it('treats a reply to an unknown call as a driver bug', () => {
    const s = session();
    s.start();
    expect(() => s.step({ type: 'reply', id: 99, reply: { op: 'push' } })).to.throw(/no call 99/);
    expect(() => s.start()).to.throw(/already started/);
  });
});
