/**
 * Contexts cannot harm other keys or later writes (property): a real context,
 * mutated the ways fast-check finds (counters raised up to 2^53 - 1, actors
 * renamed or added, entries dropped, bytes flipped, cut or appended), sent
 * with a write through any node of a seeded simulated cluster, is either
 * refused or accepted — and afterwards a blind write through every node is
 * acknowledged and survives, and every value acknowledged before is present
 * or was one the mutated context could have seen.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { DynamoError, UnavailableError } from '../../lib/runtime/index.ts';
import { decodeContext, encodeContext, type VersionVector } from '../../lib/vclock/index.ts';
import { SimCluster } from '../../lib/sim/index.ts';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const KEY = utf8.encode('fuzzed');

type Mutation =
  | { kind: 'raise'; entry: number; by: number }
  | { kind: 'max'; entry: number }
  | { kind: 'rename'; entry: number; suffix: string }
  | { kind: 'add'; actor: string; counter: number }
  | { kind: 'drop'; entry: number }
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'cut'; by: number }
  | { kind: 'append'; byte: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('raise' as const), entry: fc.nat(), by: fc.integer({ min: 1, max: 1_000_000 }) }),
  fc.record({ kind: fc.constant('max' as const), entry: fc.nat() }),
  fc.record({ kind: fc.constant('rename' as const), entry: fc.nat(), suffix: fc.string({ minLength: 1, maxLength: 3 }).filter((s) => !/\p{Surrogate}/u.test(s)) }),
  fc.record({ kind: fc.constant('add' as const), actor: fc.constantFrom('n1.ffffffffffffffff', 'n2.0000000000000000', 'n9.x'), counter: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }),
  fc.record({ kind: fc.constant('drop' as const), entry: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), by: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('append' as const), byte: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(context: Uint8Array, m: Mutation): Uint8Array {
  const vv: { actor: string; counter: number }[] = decodeContext(context, KEY).map((e) => ({ ...e }));
  const at = (i: number): number => i % vv.length;
  const bytes = [...context];
  switch (m.kind) {
    case 'raise':
      vv[at(m.entry)]!.counter = Math.min(Number.MAX_SAFE_INTEGER, vv[at(m.entry)]!.counter + m.by);
      break;
    case 'max':
      vv[at(m.entry)]!.counter = Number.MAX_SAFE_INTEGER;
      break;
    case 'rename':
      vv[at(m.entry)]!.actor += m.suffix;
      break;
    case 'add':
      vv.push({ actor: m.actor, counter: m.counter });
      break;
    case 'drop':
      vv.splice(at(m.entry), 1);
      break;
    case 'flip':
      bytes[m.at % bytes.length] = m.byte;
      return Uint8Array.from(bytes);
    case 'cut':
      return Uint8Array.from(bytes.slice(0, Math.max(0, bytes.length - m.by)));
    case 'append':
      return Uint8Array.from([...bytes, m.byte]);
  }
  const unique = new Map<string, number>();
  for (const e of vv) unique.set(e.actor, Math.max(unique.get(e.actor) ?? 0, e.counter));
  const sorted: VersionVector = [...unique].map(([actor, counter]) => ({ actor, counter })).sort((a, b) => (a.actor < b.actor ? -1 : 1));
  return encodeContext(sorted, KEY);
}

/**
 * `op` at ALL, again after the cluster converges if a replica was believed
 * down: the failure detector can still suspect a healed replica for a moment
 * after every node saw every other up (seen on seeds unrelated to contexts),
 * and an ALL request then fails fast without having done anything.
 */
async function atAll<T>(c: SimCluster, op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof UnavailableError) || e.maybeApplied || attempt === 5) throw e;
      await c.settle();
      await c.waitConverged();
    }
  }
}

describe('property: no mutated context harms later writes or acknowledged ones', function () {
  this.timeout(120_000);
  it('after any mutated-context write, blind writes through every node are acknowledged and all survive', async () => {
    let seed = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 2 }), async (mutations, viaIndex, awayOffset) => {
        const c = SimCluster.create({ seed: ++seed, nodes: 3, replicas: 3, partitionCount: 8 });
        try {
          await c.start();
          // A real context with every node's actor in it.
          let ctx: Uint8Array = new Uint8Array(0);
          for (const id of c.ids) ctx = (await c.put(id, KEY, `base-${id}`, { consistency: 'ALL', context: ctx })).context;
          await c.put('n2', KEY, 'concurrent', { consistency: 'ALL' });
          const seen = (await c.get('n1', KEY, { consistency: 'ALL' })).context;
          let bad = seen;
          for (const m of mutations) bad = bad.length === 0 ? bad : mutateSafe(bad, m);
          // The mutated write goes through one node while another cannot hear of it (so that node's
          // own counters lag whatever the mutated context claims for it).
          const via = c.ids[viaIndex]!;
          const away = c.ids[(viaIndex + awayOffset) % 3]!;
          c.partition([away], c.ids.filter((id) => id !== away));
          try {
            await c.put(via, KEY, 'mutated', { consistency: 'QUORUM', context: bad });
          } catch (e) {
            expect(e, 'a refused mutated context is refused with a DynamoError').to.be.instanceOf(DynamoError);
          }
          await c.settle();
          c.heal();
          await c.waitConverged(); // the cut-off replica may have been suspected meanwhile
          const later = [away, ...c.ids.filter((id) => id !== away)].map((id) => `later-${id}`);
          for (const id of [away, ...c.ids.filter((id) => id !== away)]) await atAll(c, () => c.put(id, KEY, `later-${id}`, { consistency: 'ALL' }));
          const values = (await atAll(c, () => c.get('n3', KEY, { consistency: 'ALL' }))).values.map((v) => text.decode(v));
          for (const v of later) expect(values, `${v} after mutations ${JSON.stringify(mutations)}`).to.include(v);
          expect(new Set(values).size, 'no value twice').to.equal(values.length);
          for (const v of values) expect(['mutated', 'concurrent', ...later, ...c.ids.map((id) => `base-${id}`)]).to.include(v);
        } finally {
          await c.stop();
        }
      }),
      { numRuns: 120, seed: 42 },
    );
  });
});

/** A mutation that may make the bytes unparseable; once unparseable, later semantic mutations are skipped. */
function mutateSafe(context: Uint8Array, m: Mutation): Uint8Array {
  try {
    return mutate(context, m);
  } catch {
    return context;
  }
}
