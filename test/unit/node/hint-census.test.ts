import { expect } from 'chai';
import { hintCensus, type HintCensusDeps } from '../../../lib/node/hint-census.ts';
import { UnavailableError, err, ok } from '../../../lib/runtime/index.ts';
import type { ReadRequest, RingStateRecord } from '../../../lib/protocol/index.ts';
import type { StoredObject } from '../../../lib/storage/index.ts';

const KEY = new TextEncoder().encode('k');
const HINT: StoredObject = { entries: [{ actor: 'n9.f00', counter: 1, values: [{ data: new Uint8Array([1]), tombstone: false, writtenAtMs: 1 }] }], anonymous: [] };

/** A census over members n1 (self), n2, n3 and a move whose holders include n4; `answer` per node and round. */
function census(answer: (node: string, round: number) => 'none' | 'holds' | 'fails', opts: { local?: boolean; ring?: boolean; down?: string } = {}) {
  const asked: string[] = [];
  const rounds = new Map<string, number>();
  const deps: HintCensusDeps = {
    self: 'n1',
    ring: () =>
      opts.ring === false
        ? undefined
        : ({ members: ['n1', 'n2', 'n3'], moving: [{ partition: 0, holders: ['n3', 'n4'], target: ['n1', 'n2', 'n3'] }] } as unknown as RingStateRecord),
    addressOf: (id) => `${id}:7000`,
    isUp: (id) => id !== opts.down,
    localHints: async () => (opts.local === true ? HINT : undefined),
    request: async (to: string, req: ReadRequest) => {
      expect(req).to.deep.include({ type: 'read', hinted: true });
      const node = to.split(':')[0]!;
      const round = rounds.get(node) ?? 0;
      rounds.set(node, round + 1);
      asked.push(`${node}#${round}`);
      const a = answer(node, round);
      if (a === 'fails') return err(new UnavailableError(`${node} unreachable`, { answered: 0, required: 1 }));
      return ok({ type: 'read', record: a === 'holds' ? new Uint8Array([1]) : undefined });
    },
  };
  return { deps, asked };
}

describe('node/hintCensus (tombstone GC)', () => {
  it("is 'none' only when every other ring node, move holders included, answered twice that it holds no hint", async () => {
    const c = census(() => 'none');
    expect(await hintCensus(c.deps, 0, KEY)).to.equal('none');
    expect(c.asked.sort()).to.deep.equal(['n2#0', 'n2#1', 'n3#0', 'n3#1', 'n4#0', 'n4#1']);
  });

  it("is 'held' when a node holds a hint, 'unanswered' when one fails to answer", async () => {
    expect(await hintCensus(census((n) => (n === 'n4' ? 'holds' : 'none')).deps, 0, KEY)).to.equal('held');
    expect(await hintCensus(census((n) => (n === 'n2' ? 'fails' : 'none')).deps, 0, KEY)).to.equal('unanswered');
  });

  it("is 'held' when a hint shows up only in the second round (one handed over in flight during the first)", async () => {
    const c = census((n, round) => (n === 'n3' && round === 1 ? 'holds' : 'none'));
    expect(await hintCensus(c.deps, 0, KEY)).to.equal('held');
  });

  it("asks no one when a ring node is believed down, this node holds a hint itself, or no ring is known", async () => {
    const down = census(() => 'none', { down: 'n3' });
    expect(await hintCensus(down.deps, 0, KEY)).to.equal('unanswered');
    const local = census(() => 'none', { local: true });
    expect(await hintCensus(local.deps, 0, KEY)).to.equal('held');
    const ringless = census(() => 'none', { ring: false });
    expect(await hintCensus(ringless.deps, 0, KEY)).to.equal('unanswered');
    expect([...down.asked, ...local.asked, ...ringless.asked]).to.deep.equal([]);
  });
});
