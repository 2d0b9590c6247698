/**
 * The history checker: its rules on hand-made histories (each can fail), and
 * seeded whole-cluster runs under faults (swarm options) that must all pass.
 * A failing run prints its report, with `reproduce with DYNAMO_SEED=<n>`.
 */
import { expect } from 'chai';
import {
  checkHistory,
  formatReport,
  History,
  runSimulation,
  swarmOptions,
  defaultRunOptions,
  FAULT_NAMES,
  type ContextOrigin,
  type Outcome,
  type ReadOp,
  type SimRunReport,
  type Violation,
  type WriteOp,
} from '../../lib/sim/index.ts';

const OK: Outcome = { status: 'ok' };
const notApplied = (code = 'DYNAMO_UNAVAILABLE'): Outcome => ({ status: 'failed', code, maybeApplied: false, message: 'refused' });

/** A small DSL over History for hand-made runs (N=3). */
class Script {
  readonly history = new History();
  put(at: [number, number], opts: { level?: 'ONE' | 'QUORUM' | 'ALL'; ctx?: ContextOrigin; outcome?: Outcome; key?: string; strict?: boolean } = {}): number {
    const key = opts.key ?? 'k';
    const id = this.history.nextId;
    const op = this.history.begin<WriteOp>({
      kind: 'put', client: 0, key, via: 'n1', level: opts.level ?? 'QUORUM', strict: opts.strict ?? true, needed: need(opts.level ?? 'QUORUM'),
      startMs: at[0], value: `${key}#${id}`, context: opts.ctx ?? { kind: 'none' }, contextBytes: new Uint8Array(0),
    });
    op.endMs = at[1];
    op.outcome = opts.outcome ?? OK;
    return id;
  }
  del(at: [number, number], ctx: ContextOrigin): number {
    const op = this.history.begin<WriteOp>({
      kind: 'delete', client: 0, key: 'k', via: 'n1', level: 'QUORUM', strict: true, needed: 2, startMs: at[0], value: undefined, context: ctx, contextBytes: new Uint8Array(0),
    });
    op.endMs = at[1];
    op.outcome = OK;
    return op.id;
  }
  get(at: [number, number], returned: string[], level: 'ONE' | 'QUORUM' | 'ALL' = 'QUORUM', strict = true): number {
    const op = this.history.begin<ReadOp>({ kind: 'get', client: 1, key: 'k', via: 'n2', level, strict, needed: need(level), startMs: at[0], returned: undefined });
    op.endMs = at[1];
    op.returned = returned;
    op.outcome = OK;
    return op.id;
  }
  check(final: string[] | undefined, dotConflicts = 0): Violation[] {
    return checkHistory({ history: this.history, replicas: 3, finalValues: new Map([['k', final]]), dotConflicts });
  }
}
const need = (level: string): number => (level === 'ONE' ? 1 : level === 'ALL' ? 3 : 2);
const saw = (...ids: number[]): ContextOrigin => ({ kind: 'read', seen: new Set(ids), sure: new Set(ids) });
const rules = (vs: Violation[]): string[] => vs.map((v) => v.rule).sort();

describe('sim/history checker rules (hand-made histories)', () => {
  it('accepts a correct history: a value replaced by a write that saw it, then deleted', () => {
    const s = new Script();
    const a = s.put([0, 10]);
    s.get([11, 15], [`k#${a}`]);
    const b = s.put([16, 20], { ctx: saw(a) });
    s.get([21, 25], [`k#${b}`]);
    s.del([26, 30], saw(a, b));
    expect(s.check([])).to.deep.equal([]);
  });

  it('no-lost-write: an acknowledged put gone at the end with nothing that saw it', () => {
    const s = new Script();
    s.put([0, 10]);
    const b = s.put([5, 12]);
    expect(rules(s.check([`k#${b}`]))).to.deep.equal(['no-lost-write']);
  });

  it('no-phantom: a value nobody wrote, and the value of a put that said it was not applied', () => {
    const s = new Script();
    const a = s.put([0, 10], { outcome: notApplied() });
    s.get([11, 12], ['k#999']);
    expect(rules(s.check([`k#${a}`]))).to.deep.equal(['no-phantom', 'no-phantom']);
  });

  it('no-duplicate: one put returned twice (applied twice)', () => {
    const s = new Script();
    const a = s.put([0, 10]);
    expect(rules(s.check([`k#${a}`, `k#${a}`]))).to.deep.equal(['no-duplicate']);
  });

  it('no-resurrection: a value back after an acknowledged delete that saw it', () => {
    const s = new Script();
    const a = s.put([0, 10]);
    s.del([11, 20], saw(a));
    expect(rules(s.check([`k#${a}`]))).to.deep.equal(['no-resurrection']);
  });

  it('read-your-quorum: a QUORUM read after a QUORUM put that misses it and every successor', () => {
    const s = new Script();
    const a = s.put([0, 10]);
    s.get([11, 12], []);
    // A ONE read is allowed to miss it (1 + 2 <= 3), and so is a sloppy read (stand-ins may answer).
    s.get([13, 14], [], 'ONE');
    s.get([15, 16], [], 'ALL', false);
    // After a sloppy write (counted on hints) even a strict ALL read may miss it.
    const b = s.put([20, 21], { strict: false });
    s.get([22, 23], [`k#${a}`], 'ALL');
    expect(rules(s.check([`k#${a}`, `k#${b}`]))).to.deep.equal(['read-your-quorum']);
  });

  it('no-refused-valid-write and foreign-context-refused', () => {
    const s = new Script();
    s.put([0, 1], { outcome: notApplied('DYNAMO_INVALID_ARGUMENT') });
    const foreign = s.put([2, 3], { ctx: { kind: 'foreign' } });
    expect(rules(s.check([`k#${foreign}`]))).to.deep.equal(['foreign-context-refused', 'no-refused-valid-write']);
  });

  it('no-dot-conflict and final-read-failed', () => {
    const s = new Script();
    s.put([0, 1]);
    expect(rules(s.check(undefined, 2))).to.deep.equal(['final-read-failed', 'no-dot-conflict']);
  });

  it('a possibly-applied write that saw a put excuses its absence; a refused one does not', () => {
    const s = new Script();
    const a = s.put([0, 10]);
    s.put([11, 20], { ctx: saw(a), outcome: { status: 'failed', code: 'DYNAMO_TIMEOUT', maybeApplied: true, message: 'late' } });
    expect(s.check([])).to.deep.equal([]);
    const t = new Script();
    const b = t.put([0, 10]);
    t.put([11, 20], { ctx: saw(b), outcome: notApplied() });
    expect(rules(t.check([]))).to.deep.equal(['no-lost-write']);
  });
});

/** Runs seeds and fails with every report that found something. */
async function expectClean(options: (seed: number) => ReturnType<typeof swarmOptions>, seeds: readonly number[]): Promise<SimRunReport[]> {
  const reports: SimRunReport[] = [];
  for (const seed of seeds) reports.push(await runSimulation(options(seed)));
  const failed = reports.filter((r) => r.violations.length > 0);
  expect(failed.map((r) => formatReport(r)).join('\n\n'), 'violations').to.equal('');
  return reports;
}

const range = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i);

describe('sim/history checker: seeded whole-cluster runs under faults', function () {
  this.timeout(300_000);
  const tally = { runs: 0, ops: 0, acknowledged: 0, faults: 0, startedMs: Date.now() };
  const count = (reports: SimRunReport[]): void => {
    for (const r of reports) {
      tally.runs++;
      tally.ops += r.ops;
      tally.acknowledged += r.acknowledgedWrites;
      tally.faults += Object.values(r.faults).reduce((a, b) => a + b, 0);
    }
  };
  after(() => {
    process.stdout.write(
      `      history checker: ${tally.runs} runs, ${tally.ops} operations, ${tally.acknowledged} acknowledged writes, ` +
        `${tally.faults} faults, 0 violations, ${((Date.now() - tally.startedMs) / 1000).toFixed(1)} s\n`,
    );
  });

  for (let block = 0; block < 5; block++) {
    const seeds = range(1 + block * 50, 50);
    it(`swarm seeds ${seeds[0]}..${seeds.at(-1)}: every run is clean`, async () => {
      count(await expectClean(swarmOptions, seeds));
    });
  }

  it('every fault at once, 3..5 nodes, 20 seeds', async () => {
    const all = (seed: number) => {
      const o = defaultRunOptions(seed);
      o.nodes = 3 + (seed % 3);
      o.faults = { ...o.faults, ...Object.fromEntries(FAULT_NAMES.map((n) => [n, true])), lossRate: 0.02, duplicationRate: 0.02, spikeRate: 0.02, downMax: 1 };
      return o;
    };
    count(await expectClean(all, range(10_001, 20)));
  });

  it('the same seed gives a byte-identical transcript, whatever ran before it; another seed does not', async () => {
    const first = await runSimulation(swarmOptions(7));
    await runSimulation(swarmOptions(8));
    const again = await runSimulation(swarmOptions(7));
    expect(again.transcript).to.deep.equal(first.transcript);
    const other = await runSimulation(swarmOptions(9));
    expect(other.transcript.digest).to.not.equal(first.transcript.digest);
    count([first, again]);
  });
});
