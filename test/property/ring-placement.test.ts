/**
 * Properties of liveness-aware placement and transfer plans (lib/ring):
 * fallbacks are up, distinct, never primaries and absent when all are up;
 * a transfer plan covers exactly the partitions whose replica sets change.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { claim, preferenceList, preferenceListWithFallbacks, transfersBetween } from '../../lib/ring/index.ts';
import { nodeNames } from '../unit/ring/ring-checks.ts';

const P = 64;

const scenario = fc.record({
  nodes: fc.integer({ min: 1, max: 12 }),
  n: fc.integer({ min: 1, max: 5 }),
  partition: fc.nat({ max: P - 1 }),
  downMask: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
});

describe('placement properties', () => {
  it('fallbacks are up, distinct, not primaries; one per down primary while up nodes remain', () => {
    fc.assert(
      fc.property(scenario, ({ nodes, n, partition, downMask }) => {
        const members = nodeNames(nodes);
        const ring = claim(members, P);
        const down = new Set(members.filter((_, i) => downMask[i]));
        const isUp = (id: string): boolean => !down.has(id);
        const { primaries, fallbacks } = preferenceListWithFallbacks(ring, partition, n, isUp);
        expect(primaries).to.deep.equal(preferenceList(ring, partition, n));
        const nodesOf = fallbacks.map((f) => f.node);
        expect(new Set(nodesOf).size).to.equal(nodesOf.length);
        for (const f of fallbacks) {
          expect(isUp(f.node)).to.equal(true);
          expect(primaries).to.not.include(f.node);
          expect(down.has(f.standsInFor)).to.equal(true);
          expect(primaries).to.include(f.standsInFor);
        }
        const downPrimaries = primaries.filter((id) => down.has(id));
        const upOthers = members.filter((id) => isUp(id) && !primaries.includes(id));
        expect(fallbacks.map((f) => f.standsInFor)).to.deep.equal(downPrimaries.slice(0, fallbacks.length));
        expect(fallbacks.length).to.equal(Math.min(downPrimaries.length, upOthers.length));
        // deterministic
        expect(preferenceListWithFallbacks(ring, partition, n, isUp)).to.deep.equal({ primaries, fallbacks });
      }),
      { numRuns: 300 },
    );
  });

  it('has no fallbacks when every node is up', () => {
    fc.assert(
      fc.property(scenario, ({ nodes, n, partition }) => {
        const ring = claim(nodeNames(nodes), P);
        expect(preferenceListWithFallbacks(ring, partition, n, () => true).fallbacks).to.deep.equal([]);
      }),
      { numRuns: 100 },
    );
  });
});

describe('transfer plan properties', () => {
  const change = fc.record({
    initial: fc.integer({ min: 1, max: 10 }),
    add: fc.integer({ min: 0, max: 3 }),
    removeMask: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
    n: fc.integer({ min: 1, max: 4 }),
  });

  it('covers exactly the partitions whose replica set changes, and applying it yields the new sets', () => {
    fc.assert(
      fc.property(change, ({ initial, add, removeMask, n }) => {
        const before = claim(nodeNames(initial), P);
        let members = nodeNames(initial).filter((_, i) => !removeMask[i]);
        members = [...members, ...nodeNames(add, 'x')];
        if (members.length === 0) members = ['x99'];
        const after = claim(members, P, { previous: before });
        const plan = transfersBetween(before, after, n);
        const planned = new Map(plan.map((t) => [t.partition, t]));
        for (let p = 0; p < P; p++) {
          const old = preferenceList(before, p, n);
          const next = preferenceList(after, p, n);
          const same = old.length === next.length && old.every((id) => next.includes(id));
          const t = planned.get(p);
          expect(t === undefined, `partition ${p}`).to.equal(same);
          if (t === undefined) continue;
          expect(t.sources).to.deep.equal(old);
          const applied = new Set([...old.filter((id) => !t.losing.includes(id)), ...t.gaining]);
          expect([...applied].sort()).to.deep.equal([...next].sort());
          for (const g of t.gaining) expect(old).to.not.include(g);
        }
        expect(plan.map((t) => t.partition)).to.deep.equal([...planned.keys()].sort((a, b) => a - b));
      }),
      { numRuns: 100 },
    );
  });
});
