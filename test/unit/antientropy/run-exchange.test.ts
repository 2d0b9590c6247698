import { expect } from 'chai';
import { MemoryTreePort, TREE_SHAPE_DEFAULT, exchange, type TreePort } from '../../../lib/antientropy/index.ts';
import { decodeRecord, encodeRecord } from '../../../lib/storage/index.ts';
import { Dvv } from '../../../lib/vclock/index.ts';
import { UnavailableError } from '../../../lib/runtime/index.ts';
import { REAL_RECORDS, WIDE_LIMITS, object, text, tombstone, utf8, value } from './helpers.ts';

const P = 3;
const options = { partition: P, limits: WIDE_LIMITS };
const pair = (): { a: MemoryTreePort; b: MemoryTreePort } => ({
  a: new MemoryTreePort(TREE_SHAPE_DEFAULT, REAL_RECORDS),
  b: new MemoryTreePort(TREE_SHAPE_DEFAULT, REAL_RECORDS),
});
const siblings = (port: MemoryTreePort, key: string): string[] =>
  Dvv.values(decodeRecord(port.read(P, utf8(key))!))
    .map((v) => (v.tombstone ? '<deleted>' : text(v.data)))
    .sort();

describe('runExchange over in-memory replicas with real records', () => {
  it('keeps concurrent writes as siblings on both replicas (never last-write-wins)', async () => {
    const { a, b } = pair();
    a.write(P, utf8('cart'), encodeRecord(object(['a.1', 1, [value('apples', 10)]])));
    b.write(P, utf8('cart'), encodeRecord(object(['b.1', 1, [value('pears', 20)]])));
    const result = await exchange(options, { local: a, remote: b });
    expect(result).to.deep.include({ status: 'repaired', complete: true, pulled: 1, pushed: 1 });
    expect(siblings(a, 'cart')).to.deep.equal(['apples', 'pears']);
    expect(siblings(b, 'cart')).to.deep.equal(['apples', 'pears']);
    expect(a.tree(P).equals(b.tree(P))).to.equal(true);
    expect((await exchange(options, { local: a, remote: b })).status).to.equal('in-sync');
  });

  it('spreads a delete: the tombstone supersedes the value it saw, on both sides', async () => {
    const { a, b } = pair();
    const written = object(['a.1', 1, [value('v1', 10)]]);
    a.write(P, utf8('k'), encodeRecord(written));
    b.write(P, utf8('k'), encodeRecord(written));
    b.write(P, utf8('k'), encodeRecord(Dvv.update(written, Dvv.join(written), 'b.1', tombstone(20))));
    await exchange(options, { local: a, remote: b });
    expect(siblings(a, 'k')).to.deep.equal(['<deleted>']);
    expect(a.read(P, utf8('k'))).to.deep.equal(b.read(P, utf8('k')));
  });

  it('reports payload bytes to the pacing hook round by round, summing to what the exchange moved', async () => {
    const { a, b } = pair();
    for (let i = 0; i < 20; i++) a.write(P, utf8(`k${i}`), encodeRecord(object(['a.1', i + 1, [value(`v${i}`)]])));
    const paced: number[] = [];
    const result = await exchange(options, { local: a, remote: b }, { pace: async (bytes) => void paced.push(bytes) });
    // Rounds: roots, two levels, keys-in (the peer lists nothing: 0 bytes back, and
    // this replica's fetch is local), fetch (the push request is issued), push (0 back).
    expect(result.roundTrips).to.equal(5);
    expect(paced.length).to.equal(4);
    expect(paced.every((n) => n > 0)).to.equal(true);
    expect(paced.reduce((x, y) => x + y, 0)).to.equal(result.bytesToRemote + result.bytesFromRemote);
  });

  it('ends aborted at the deadline instead of waiting for a peer that never answers', async () => {
    const { a, b } = pair();
    a.write(P, utf8('k'), encodeRecord(object(['a.1', 1, [value('v')]])));
    const hung: TreePort = { ...portOf(b), segments: () => new Promise(() => {}) };
    let fire: () => void = () => {};
    const deadline = new Promise<void>((resolve) => (fire = resolve));
    const running = exchange(options, { local: a, remote: hung }, { deadline });
    await new Promise((resolve) => setImmediate(resolve));
    fire();
    const result = await running;
    expect(result).to.deep.include({ status: 'aborted', abortReason: 'deadline', roundTrips: 2 });
  });

  it('turns a port failure into an aborted result with the error code, never a rejection', async () => {
    const { a, b } = pair();
    a.write(P, utf8('k'), encodeRecord(object(['a.1', 1, [value('v')]])));
    const down: TreePort = {
      ...portOf(b),
      keysIn: async () => {
        throw new UnavailableError('peer n2 cannot be reached', { answered: 0, required: 1 });
      },
    };
    const result = await exchange(options, { local: a, remote: down });
    expect(result).to.deep.include({ status: 'aborted', abortReason: 'remote-failed' });
    expect(result.error).to.equal('DYNAMO_UNAVAILABLE: peer n2 cannot be reached');
  });
});

function portOf(p: MemoryTreePort): TreePort {
  return {
    root: (x) => p.root(x),
    segments: (x, l, i) => p.segments(x, l, i),
    keysIn: (x, s) => p.keysIn(x, s),
    fetch: (x, k) => p.fetch(x, k),
    push: (x, r) => p.push(x, r),
  };
}
