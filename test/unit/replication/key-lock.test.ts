import { expect } from 'chai';
import { UnavailableError } from '../../../lib/runtime/index.ts';
import { KeyLock } from '../../../lib/runtime/index.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('replication/key-lock', () => {
  it('runs sections of one key one at a time, in arrival order', async () => {
    const lock = new KeyLock({ depthMax: 10, keysMax: 10 });
    const log: string[] = [];
    let running = 0;
    const section = (name: string) => async () => {
      running++;
      expect(running).to.equal(1);
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all([lock.run('k', section('a')), lock.run('k', section('b')), lock.run('k', section('c'))]);
    expect(results).to.deep.equal(['a', 'b', 'c']);
    expect(log).to.deep.equal(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(lock.size).to.equal(0);
  });

  it('runs different keys concurrently', async () => {
    const lock = new KeyLock({ depthMax: 10, keysMax: 10 });
    let running = 0;
    let maxRunning = 0;
    const section = async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await tick();
      running--;
    };
    await Promise.all([lock.run('a', section), lock.run('b', section), lock.run('c', section)]);
    expect(maxRunning).to.equal(3);
  });

  it('a failing section releases the key for the next one', async () => {
    const lock = new KeyLock({ depthMax: 10, keysMax: 10 });
    const failing = lock.run('k', async () => {
      throw new Error('boom');
    });
    const next = lock.run('k', async () => 'next');
    expect(await failing.catch((e: Error) => e.message)).to.equal('boom');
    expect(await next).to.equal('next');
    expect(lock.size).to.equal(0);
  });

  it('a section that throws before returning its promise rejects with that error and releases the key', async () => {
    const lock = new KeyLock({ depthMax: 10, keysMax: 10 });
    const throwing = lock.run('k', (): Promise<string> => {
      throw new Error('sync boom');
    });
    const next = lock.run('k', async () => 'next');
    expect(await throwing.catch((e: Error) => e.message)).to.equal('sync boom');
    expect(await next).to.equal('next');
    expect(lock.size).to.equal(0);
  });

  it('refuses beyond the per-key queue bound and the key bound, without running the section', async () => {
    const lock = new KeyLock({ depthMax: 2, keysMax: 2 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let ran = 0;
    const section = async () => {
      ran++;
      await gate;
    };
    const a1 = lock.run('a', section);
    const a2 = lock.run('a', section);
    const a3 = lock.run('a', section);
    const b1 = lock.run('b', section);
    const c1 = lock.run('c', section);
    const e3 = await a3.catch((e: unknown) => e);
    const ec = await c1.catch((e: unknown) => e);
    expect(e3).to.be.instanceOf(UnavailableError);
    expect(ec).to.be.instanceOf(UnavailableError);
    release();
    await Promise.all([a1, a2, b1]);
    expect(ran).to.equal(3);
    expect(lock.size).to.equal(0);
  });
});
