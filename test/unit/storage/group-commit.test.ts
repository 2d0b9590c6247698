import { expect } from 'chai';
import { StorageError } from '../../../lib/runtime/index.ts';
import { GroupCommit } from '../../../lib/storage/group-commit.ts';

/** An apply function whose batches complete only when the test says so. */
function controlledApply() {
  const batches: number[][] = [];
  const settle: Array<(error?: Error) => void> = [];
  const apply = (ops: readonly number[]): Promise<void> => {
    batches.push([...ops]);
    return new Promise<void>((resolve, reject) => settle.push((e) => (e ? reject(e) : resolve())));
  };
  /** Completes the oldest unsettled batch and lets the committer start the next. */
  const complete = async (error?: Error): Promise<void> => {
    settle.shift()!(error);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { apply, batches, complete };
}

describe('storage group commit', function () {
  it('starts the first write at once and coalesces the ones that arrive meanwhile into one batch', async function () {
    const c = controlledApply();
    const gc = new GroupCommit<number>(c.apply);
    const resolved: number[] = [];
    const p1 = gc.submit([1], 1).then(() => resolved.push(1));
    expect(c.batches).to.deep.equal([[1]]);
    const rest = [2, 3, 4].map((n) => gc.submit([n, n * 10], 2).then(() => resolved.push(n)));
    expect(c.batches).to.have.length(1);
    await c.complete();
    await p1;
    expect(resolved).to.deep.equal([1]);
    expect(c.batches).to.deep.equal([[1], [2, 20, 3, 30, 4, 40]]);
    await c.complete();
    await Promise.all(rest);
    expect(resolved).to.deep.equal([1, 2, 3, 4]);
    expect(gc.stats()).to.deep.equal({ writeCalls: 4, engineBatches: 2, entriesWritten: 7, queueFullRejections: 0 });
    await gc.idle();
  });

  it('submitPatiently waits for room in a full pending group instead of being refused', async function () {
    const c = controlledApply();
    const gc = new GroupCommit<number>(c.apply, { entriesMax: 2, bytesMax: 100 });
    const first = gc.submit([1], 1);
    const pending = gc.submit([2, 3], 2); // the pending group is full
    let patientDone = false;
    const patient = gc.submitPatiently([4], 1).then(() => { patientDone = true; });
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(c.batches).to.deep.equal([[1]]);
    await c.complete(); // [2, 3] starts; the patient submit joins the new pending group
    await first;
    expect(c.batches).to.deep.equal([[1], [2, 3]]);
    await c.complete();
    await pending;
    expect(c.batches).to.deep.equal([[1], [2, 3], [4]]);
    expect(patientDone).to.equal(false);
    await c.complete();
    await patient;
    expect(gc.stats().queueFullRejections).to.equal(0);
    await gc.idle();
  });

  it('rejects every caller of a failed batch with its error and carries on with the next', async function () {
    const c = controlledApply();
    const gc = new GroupCommit<number>(c.apply);
    const first = gc.submit([1], 1);
    const a = gc.submit([2], 1);
    const b = gc.submit([3], 1);
    await c.complete();
    await first;
    const boom = new StorageError('disk on fire');
    await c.complete(boom);
    for (const p of [a, b]) {
      const e = await p.then(() => undefined, (x: unknown) => x);
      expect(e).to.equal(boom);
    }
    const after = gc.submit([4], 1);
    expect(c.batches.at(-1)).to.deep.equal([4]);
    await c.complete();
    await after;
  });

  it('bounds the pending group by entries and bytes, refusing overflow with StorageError', async function () {
    const c = controlledApply();
    const gc = new GroupCommit<number>(c.apply, { entriesMax: 3, bytesMax: 100 });
    const running = gc.submit([0, 0, 0, 0, 0], 500); // nothing in flight: accepted whatever its size
    const oversizedFirst = gc.submit([1, 1, 1, 1], 1000); // pending empty: accepted too
    const outcomes = await Promise.allSettled([gc.submit([2], 1), gc.submit([3], 1)]);
    for (const o of outcomes) {
      expect(o.status).to.equal('rejected');
      expect((o as PromiseRejectedResult).reason).to.be.instanceOf(StorageError);
      expect((o as PromiseRejectedResult).reason.message).to.match(/queue full/);
    }
    await c.complete();
    await running;
    const fitsAgain = [gc.submit([5, 5], 50), gc.submit([6], 50)];
    const overflow = gc.submit([7], 1); // 4 entries > entriesMax
    const overflowOutcome = await overflow.then(() => 'ok', (e: unknown) => e);
    expect(overflowOutcome).to.be.instanceOf(StorageError);
    await c.complete();
    await oversizedFirst;
    expect(c.batches.at(-1)).to.deep.equal([5, 5, 6]);
    await c.complete();
    await Promise.all(fitsAgain);
    expect(gc.stats().queueFullRejections).to.equal(3);
    expect(gc.stats().writeCalls).to.equal(4);
  });

  it('idle() waits for running and pending batches', async function () {
    const c = controlledApply();
    const gc = new GroupCommit<number>(c.apply);
    void gc.submit([1], 1);
    void gc.submit([2], 1);
    let idle = false;
    const waiting = gc.idle().then(() => { idle = true; });
    await c.complete();
    expect(idle).to.equal(false);
    await c.complete();
    await waiting;
    expect(idle).to.equal(true);
  });

  it('survives an apply function that throws synchronously', async function () {
    let calls = 0;
    const gc = new GroupCommit<number>((): Promise<void> => {
      calls++;
      if (calls === 1) throw new StorageError('sync throw');
      return Promise.resolve();
    });
    const e = await gc.submit([1], 1).then(() => undefined, (x: unknown) => x);
    expect(e).to.be.instanceOf(StorageError);
    await gc.submit([2], 1);
    await gc.idle();
    expect(calls).to.equal(2);
  });
});
