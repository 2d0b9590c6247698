/**
 * cmd/cli/progress.ts: `dynamo decommission` draws a progress bar on a
 * terminal, writes one plain line per change elsewhere, and nothing in
 * --json mode.
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { NodeStatus } from '../../../lib/protocol/index.ts';
import { HandOff } from '../../../cmd/cli/decommission.ts';
import { progressDisplay } from '../../../cmd/cli/progress.ts';
import { STATUS } from '../transport/harness.ts';

/** A stream that keeps what is written; `isTTY` makes it pass for a terminal (readline's cursor calls just write escapes to it). */
class Captured extends Writable {
  readonly chunks: string[] = [];
  columns = 120;
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer | string, _encoding: string, done: () => void): void {
    this.chunks.push(chunk.toString());
    done();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

const self = { id: 'n3', address: 'n3:7001', reachable: true, partitionsOwned: 0, self: true };
const leaving = (done: number): NodeStatus => ({
  ...STATUS,
  members: [{ ...self, state: 'leaving' }],
  transfers: [0, 1, 2, 3].map((p) => ({ partition: p, direction: 'out' as const, peer: 'n1', state: p < done ? ('done' as const) : ('streaming' as const), keys: 1, bytes: 100 })),
});

/** What the display writes to a (fake) terminal or pipe while a hand-over goes through `statuses`. */
async function shown(isTTY: boolean, quiet: boolean, statuses: NodeStatus[]): Promise<Captured> {
  const stream = new Captured(isTTY);
  const display = await progressDisplay('n3', stream as unknown as NodeJS.WriteStream, quiet);
  const h = new HandOff('n3');
  for (const s of statuses) {
    h.fromNode(s);
    display.update(h);
  }
  display.stop();
  return stream;
}

describe('cli/progress', () => {
  it('draws a bar with partitions handed over on a terminal', async () => {
    const tty = await shown(true, false, [leaving(3)]);
    // Escape codes and redraws aside, the last frame shows the bar's counts and phase.
    const frames = tty.text.split(/\r|\x1b\[[0-9;]*[A-Za-z]/).filter((f) => f.includes('partitions'));
    expect(frames.at(-1)).to.match(/^n3 \[[█░]{30}\] 3\/4 partitions handed over \| leaving/);
  });

  it('writes one plain line per change elsewhere, and leaves the final "has left" to the command', async () => {
    const pipe = await shown(false, false, [leaving(1), leaving(1), leaving(2), { ...STATUS, members: [] }]);
    expect(pipe.text).to.equal(
      'n3: leaving, 1/4 partitions handed over (4 keys, 400 B)\nn3: leaving, 2/4 partitions handed over (4 keys, 400 B)\n',
    );
  });

  it('shows nothing in --json mode', async () => {
    const pipe = await shown(true, true, [leaving(2)]);
    expect(pipe.text).to.equal('');
  });
});
