import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Sleeps, type Time, type TimerHandle } from '../../../lib/runtime/index.ts';
import { builtCli } from '../../support/build.ts';

/** Timers that fire only when told. */
class HeldTime implements Time {
  readonly armed = new Map<TimerHandle, () => void>();
  #ids = 0;
  nowMs(): number {
    return 0;
  }
  monotonicMs(): number {
    return 0;
  }
  setTimer(_delayMs: number, fn: () => void): TimerHandle {
    const handle = { id: ++this.#ids };
    this.armed.set(handle, fn);
    return handle;
  }
  cancelTimer(handle: TimerHandle): void {
    this.armed.delete(handle);
  }
  fireAll(): void {
    const fns = [...this.armed.values()];
    this.armed.clear();
    for (const fn of fns) fn();
  }
}

describe('Sleeps: the sleeps a stop() ends', () => {
  it('a sleep ends when its timer fires, reporting that the whole delay passed', async () => {
    const time = new HeldTime();
    const sleeps = new Sleeps(time);
    let slept: boolean | undefined;
    void sleeps.sleep(500).then((s) => (slept = s));
    await Promise.resolve();
    expect(slept).to.equal(undefined);
    time.fireAll();
    await Promise.resolve();
    expect(slept).to.equal(true);
  });

  it('stop() ends every sleep in progress at once, cancels their timers, and later sleeps do not wait', async () => {
    const time = new HeldTime();
    const sleeps = new Sleeps(time);
    const ended: boolean[] = [];
    void sleeps.sleep(1000).then((s) => ended.push(s));
    void sleeps.sleep(60_000).then((s) => ended.push(s));
    expect(time.armed.size).to.equal(2);
    sleeps.stop();
    await Promise.resolve();
    expect(ended).to.deep.equal([false, false]);
    expect(time.armed.size, 'timers left armed').to.equal(0);
    expect(await sleeps.sleep(60_000)).to.equal(false);
    expect(time.armed.size).to.equal(0);
    expect(sleeps.stopped).to.equal(true);
  });
});

describe('keepAliveUntil: a graceful stop is not cut short by an empty event loop', () => {
  // The built JavaScript on plain node, as a node process runs: tsx's loader thread would keep the process alive itself.
  let runtimeUrl: string;
  let dir: string;
  before(() => {
    runtimeUrl = pathToFileURL(path.join(path.dirname(builtCli()), '..', 'lib', 'runtime', 'index.js')).href;
    dir = mkdtempSync(path.join(tmpdir(), 'dynamo-keepalive-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Run a script that awaits a 50 ms sleep on our (unref'd) timers, with or without the hold; return its stdout. */
  function run(held: boolean): { stdout: string; status: number | null } {
    const file = path.join(dir, `stop-${held ? 'held' : 'bare'}.mjs`);
    writeFileSync(
      file,
      `import { RealTime, keepAliveUntil, sleep } from ${JSON.stringify(runtimeUrl)};
const work = sleep(new RealTime(), 50).then(() => console.log('storage closed'));
${held ? 'await keepAliveUntil(work);' : 'void work;'}
`,
    );
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
    return { stdout: r.stdout, status: r.status };
  }

  it('without the hold the process exits before the sleep ends (the hazard), with it the work finishes', () => {
    const bare = run(false);
    expect(bare.status).to.equal(0);
    expect(bare.stdout).to.not.include('storage closed');
    const held = run(true);
    expect(held.status).to.equal(0);
    expect(held.stdout).to.include('storage closed');
  });
});
