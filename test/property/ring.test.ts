/**
 * Properties of claim (lib/ring): balance, minimal movement, determinism and
 * replica spacing, on fresh rings and along random add/remove histories.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { claim, ownershipMoves, partitionsOwned, preferenceList, type Ring } from '../../lib/ring/index.ts';
import { ringChecksum } from '../../lib/ring/checksum.ts';
import { nodeNames, ownedCounts, spacingViolations } from '../unit/ring/ring-checks.ts';

const P = 256;
const REPLICAS = 3;

function expectBalanced(ring: Ring, label: string): void {
  const counts = ownedCounts(ring);
  const max = Math.max(...counts);
  const min = Math.min(...counts);
  expect(counts.reduce((a, b) => a + b, 0), label).to.equal(ring.partitionCount);
  expect(max - min, `${label}: ${counts.join(',')}`).to.be.at.most(1);
  expect(max / min, `${label}: ${counts.join(',')}`).to.be.at.most(1.1);
}

/** A cluster history: initial size, then steps that add a node or remove the member at some index. */
const history = fc.record({
  initial: fc.integer({ min: 3, max: 20 }),
  steps: fc.array(fc.oneof(fc.constant<'add'>('add'), fc.nat({ max: 1000 })), { minLength: 1, maxLength: 6 }),
});

interface Step {
  kind: 'add' | 'remove';
  node: string;
  before: Ring;
  after: Ring;
}

/** Replays a history, keeping 3..20 members; every claim is incremental from the previous ring. */
function replay(h: { initial: number; steps: Array<'add' | number> }): Step[] {
  let members = nodeNames(h.initial);
  let ring = claim(members, P);
  let added = 0;
  const out: Step[] = [];
  for (const step of h.steps) {
    const add = members.length <= 3 || (step === 'add' && members.length < 20);
    let node: string;
    if (add) {
      node = `x${added++}`;
      members = [...members, node];
    } else {
      node = members[(step === 'add' ? 0 : step) % members.length]!;
      members = members.filter((m) => m !== node);
    }
    const after = claim(members, P, { previous: ring });
    out.push({ kind: add ? 'add' : 'remove', node, before: ring, after });
    ring = after;
  }
  return out;
}

describe('ring claim properties', () => {
  it('balances fresh rings of 3..20 nodes at 256 partitions (max/min <= 1.1)', () => {
    for (let n = 3; n <= 20; n++) expectBalanced(claim(nodeNames(n), P), `n=${n}`);
  });

  it('stays balanced along add/remove histories', () => {
    fc.assert(
      fc.property(history, (h) => {
        for (const s of replay(h)) expectBalanced(s.after, `${s.kind} ${s.node}`);
      }),
      { numRuns: 60 },
    );
  });

  it('moves close to the minimum P/(n+1) partitions when a node joins, all to the new node', () => {
    fc.assert(
      fc.property(history, (h) => {
        for (const s of replay(h).filter((x) => x.kind === 'add')) {
          const minimum = P / s.after.members.length;
          const moves = ownershipMoves(s.before, s.after);
          expect(moves).to.be.at.most(1.5 * minimum);
          expect(moves).to.be.at.least(Math.floor(minimum));
          expect(moves).to.equal(partitionsOwned(s.after, s.node));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('moves exactly the departed node partitions when a node leaves', () => {
    fc.assert(
      fc.property(history, (h) => {
        for (const s of replay(h).filter((x) => x.kind === 'remove')) {
          expect(ownershipMoves(s.before, s.after)).to.equal(partitionsOwned(s.before, s.node));
          s.before.owners.forEach((owner, p) => {
            if (owner !== s.node) expect(s.after.owners[p]).to.equal(owner);
          });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('does not depend on member order (fresh and incremental)', () => {
    const ids = fc.uniqueArray(fc.stringMatching(/^[a-zA-Z0-9._-]{1,10}$/), { minLength: 3, maxLength: 20 });
    const orders = ids.chain((members) =>
      fc.tuple(fc.constant(members), fc.shuffledSubarray(members, { minLength: members.length, maxLength: members.length })),
    );
    fc.assert(
      fc.property(orders, fc.constantFrom(16, 64, 256, 1000), ([members, shuffled], count) => {
        const fresh = claim(members, count);
        expect(claim(shuffled, count).owners).to.deep.equal(fresh.owners);
        expect(claim(shuffled, count).checksum).to.equal(fresh.checksum);
        const previous = claim(members.slice(1), count);
        const next = claim(members, count, { previous });
        const again = claim(shuffled, count, { previous });
        expect(again.owners).to.deep.equal(next.owners);
        expect(again.checksum).to.equal(next.checksum);
      }),
      { numRuns: 50 },
    );
  });

  it('gives any 3 consecutive partitions 3 distinct owners in fresh rings of 4..20 nodes at 256', () => {
    for (let n = 4; n <= 20; n++) expect(spacingViolations(claim(nodeNames(n), P), REPLICAS), `n=${n}`).to.deep.equal([]);
  });

  it('spaces replicas in fresh rings whenever n > replicas and P >= n * (replicas + 1), or n divides P', () => {
    const sizes = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 40 }), fc.nat({ max: 2048 }));
    fc.assert(
      fc.property(sizes, ([replicas, n, slack]) => {
        if (n > replicas) {
          const count = n * (replicas + 1) + slack;
          expect(spacingViolations(claim(nodeNames(n), count, { replicas }), replicas)).to.deep.equal([]);
        }
        const multiple = n * (1 + (slack % 8));
        expect(spacingViolations(claim(nodeNames(n), multiple, { replicas }), replicas)).to.deep.equal([]);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps a well-spaced ring well spaced when a node joins', () => {
    const sizes = fc.tuple(fc.integer({ min: 4, max: 30 }), fc.integer({ min: 0, max: 1024 }));
    fc.assert(
      fc.property(sizes, ([n, slack]) => {
        const count = n * (REPLICAS + 1) + slack;
        const before = claim(nodeNames(n), count);
        expect(spacingViolations(before, REPLICAS)).to.deep.equal([]);
        const after = claim([...nodeNames(n), 'joiner'], count, { previous: before });
        expect(spacingViolations(after, REPLICAS)).to.deep.equal([]);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps spacing violations rare along histories (measured: removals cost a few windows)', () => {
    // Movement wins over spacing (see claim.ts), so a departure leaves some repeated owners
    // near its partitions. Bound the damage over a fixed sample of histories with >= 5 members
    // (measured when written: 3.2% of windows; every join onto a clean ring stays clean).
    let windows = 0;
    let violating = 0;
    let cleanAfterAdd = 0;
    let adds = 0;
    fc.assert(
      fc.property(history, (h) => {
        const steps = replay(h);
        let clean = spacingViolations(steps[0]!.before, REPLICAS).length === 0;
        for (const s of steps) {
          const bad = spacingViolations(s.after, REPLICAS).length;
          if (s.kind === 'add' && clean) {
            adds++;
            if (bad === 0) cleanAfterAdd++;
          }
          clean = bad === 0;
          if (s.after.members.length < 5) continue;
          windows += P;
          violating += bad;
        }
      }),
      { numRuns: 80, seed: 20240601 },
    );
    expect(adds).to.be.greaterThan(20);
    expect(cleanAfterAdd).to.equal(adds);
    expect(windows).to.be.greaterThan(0);
    expect(violating / windows).to.be.below(0.06);
  });

  it('builds preference lists of distinct owners starting at the partition owner', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 64 }), fc.nat(), fc.integer({ min: 1, max: 6 }), (n, count, at, len) => {
        const ring = claim(nodeNames(n), count);
        const p = at % count;
        const list = preferenceList(ring, p, len);
        expect(list[0]).to.equal(ring.owners[p]);
        expect(new Set(list).size).to.equal(list.length);
        expect(list.length).to.equal(Math.min(len, new Set(ring.owners).size));
        const walk: string[] = [];
        for (let i = 0; i < count; i++) {
          const owner = ring.owners[(p + i) % count]!;
          if (!walk.includes(owner)) walk.push(owner);
        }
        expect(list).to.deep.equal(walk.slice(0, len));
      }),
      { numRuns: 100 },
    );
  });

  it('changes the checksum when any owner changes', () => {
    const ring = claim(nodeNames(8), 64);
    expect(ringChecksum(64, ring.members, ring.owners)).to.equal(ring.checksum);
    fc.assert(
      fc.property(fc.nat({ max: 63 }), fc.nat({ max: 7 }), (p, m) => {
        const owner = nodeNames(8)[m]!;
        fc.pre(ring.owners[p] !== owner);
        const owners = [...ring.owners];
        owners[p] = owner;
        expect(ringChecksum(64, ring.members, owners)).to.not.equal(ring.checksum);
      }),
      { numRuns: 50 },
    );
  });
});
