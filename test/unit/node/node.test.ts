import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoNode, type NodeOptions, type SeedSpec } from '../../../lib/node/index.ts';
import {
  ClosedError,
  err,
  InvalidArgumentError,
  LineLogger,
  ok,
  SeededRandom,
  UnavailableError,
  type DynamoError,
  type Result,
} from '../../../lib/runtime/index.ts';
import type { Address, PeerReply, PeerRequest, ReplyFor } from '../../../lib/protocol/index.ts';
import { createStorage, LevelStorage, type Storage } from '../../../lib/storage/index.ts';
import type { Transport } from '../../../lib/transport/index.ts';
import { SimScheduler, SimTime } from '../../../lib/sim/index.ts';

/** Answers each request with whatever `script` returns for it; records every call. */
class ScriptedTransport implements Transport {
  readonly calls: Array<{ to: Address; type: string; atMs: number }> = [];
  constructor(
    private readonly scheduler: SimScheduler,
    private readonly script: (to: Address, req: PeerRequest, attempt: number) => Result<PeerReply, DynamoError>,
  ) {}
  async request<R extends PeerRequest>(to: Address, req: R): Promise<Result<ReplyFor<R['type']>, DynamoError>> {
    const attempt = this.calls.filter((c) => c.to === to && c.type === req.type).length + 1;
    this.calls.push({ to, type: req.type, atMs: this.scheduler.nowMs });
    return this.script(to, req, attempt) as Result<ReplyFor<R['type']>, DynamoError>;
  }
  reachable(to: Address): boolean {
    return to !== 'down:1';
  }
  async close(): Promise<void> {}
}

const down = (): Result<never, DynamoError> => err(new UnavailableError('refused', { answered: 0, required: 1 }));

interface Harness {
  node: DynamoNode;
  scheduler: SimScheduler;
  transport: ScriptedTransport;
  lines: string[];
  storage: Storage;
}

function makeNode(
  opts: Partial<NodeOptions> & { seed?: number; script?: (to: Address, req: PeerRequest, attempt: number) => Result<PeerReply, DynamoError> } = {},
): Harness {
  const scheduler = new SimScheduler();
  const lines: string[] = [];
  const transport = new ScriptedTransport(scheduler, opts.script ?? down);
  const storage = opts.storage ?? createStorage({ engine: 'memory' });
  const node = new DynamoNode({
    runtime: {
      time: new SimTime(scheduler),
      random: new SeededRandom(opts.seed ?? 1),
      logger: new LineLogger({ write: (l) => lines.push(l), nowMs: () => scheduler.nowMs }),
    },
    id: 'n1',
    address: 'a:1',
    seeds: [],
    storage,
    transport,
    partitionCount: 16,
    replication: { replicas: 3, defaultConsistency: 'QUORUM', requestTimeoutMsDefault: 1000, readRepair: true },
    ...opts,
  });
  return { node, scheduler, transport, lines, storage };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

const key = new TextEncoder().encode('k');

describe('node/DynamoNode lifecycle', () => {
  it('mints a random actor epoch when it starts, and stores none (an epoch lives for one process life)', async () => {
    const { node, storage } = makeNode();
    expect(node.actor).to.equal(undefined);
    await node.start();
    expect(node.actor).to.match(/^n1\.[0-9a-f]{16}$/);
    expect(await storage.getMeta('actor-epoch')).to.equal(undefined);
    await node.stop();
  });

  it('different nodes lives get different epochs', async () => {
    const a = makeNode({ seed: 1 });
    const b = makeNode({ seed: 2 });
    await a.node.start();
    await b.node.start();
    expect(a.node.actor).to.not.equal(b.node.actor);
    await a.node.stop();
    await b.node.stop();
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-node-test-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('a restart on the same data directory mints a new epoch, so no dot of the last life can be issued again', async () => {
      const first = makeNode({ seed: 7, storage: new LevelStorage({ dataDir: path.join(dir, 'a') }) });
      await first.node.start();
      const actor = first.node.actor;
      await first.node.stop();

      const again = makeNode({ seed: 8, storage: new LevelStorage({ dataDir: path.join(dir, 'a') }) });
      await again.node.start();
      expect(again.node.actor).to.match(/^n1\.[0-9a-f]{16}$/);
      expect(again.node.actor).to.not.equal(actor);
      await again.node.stop();
    });

    it('refuses a data directory created with another partition count, and releases it', async () => {
      const first = makeNode({ storage: new LevelStorage({ dataDir: dir }), partitionCount: 64 });
      await first.node.start();
      await first.node.stop();

      const wrong = makeNode({ storage: new LevelStorage({ dataDir: dir }), partitionCount: 128 });
      const e = await rejection(wrong.node.start());
      expect(e).to.be.instanceOf(InvalidArgumentError);
      expect((e as Error).message).to.match(/created with 64 partitions.*configured with 128/);
      expect(wrong.node.ready).to.equal(false);
      await wrong.node.stop();

      // The failed start closed its storage: the directory can be opened again.
      const right = makeNode({ storage: new LevelStorage({ dataDir: dir }), partitionCount: 64 });
      await right.node.start();
      expect(right.node.ready).to.equal(true);
      await right.node.stop();
    });
  });

  it('answers identify before start, refuses KV until started and after stop; stop is idempotent', async () => {
    const { node, scheduler } = makeNode();
    expect(await node.peer({ type: 'identify' }, 100)).to.deep.equal({ type: 'identify', nodeId: 'n1', partitionCount: 16, replicas: 3 });
    expect(await rejection(node.kv.get({ key, timeoutMs: 100 }))).to.be.instanceOf(UnavailableError);
    expect(await rejection(node.peer({ type: 'read', key }, 100))).to.be.instanceOf(UnavailableError);
    await node.start();
    expect(node.ready).to.equal(true); // no other seeds: a ring of one
    const put = await scheduler.run(node.kv.put({ key, value: new Uint8Array([1]), context: new Uint8Array(0), consistency: 'ONE', timeoutMs: 100 }));
    expect(put.context.length).to.be.greaterThan(0);
    await node.stop();
    await node.stop();
    expect(await rejection(node.kv.get({ key, timeoutMs: 100 }))).to.be.instanceOf(ClosedError);
    expect(() => node.start()).to.throw(/start\(\) called on a node that is stopped/);
  });

  it('rejects bad options with InvalidArgumentError', () => {
    expect(() => makeNode({ partitionCount: 0 })).to.throw(InvalidArgumentError);
    expect(() => makeNode({ id: '' })).to.throw(InvalidArgumentError);
    expect(() =>
      makeNode({
        seeds: [
          { id: 'n2', address: 'b:1' },
          { id: 'n2', address: 'c:1' },
        ],
      }),
    ).to.throw(InvalidArgumentError, /n2 is listed at both/);
  });
});

describe('node/DynamoNode membership bootstrap', () => {
  const identify = (nodeId: string, partitionCount = 16, replicas = 3): Result<PeerReply, DynamoError> =>
    ok({ type: 'identify', nodeId, partitionCount, replicas });

  it('excludes itself, admits known ids at once and retries anonymous seeds every 500 ms until they answer', async () => {
    const seeds: SeedSpec[] = [{ address: 'a:1' }, { id: 'n1', address: '0.0.0.0:1' }, { address: 'b:1' }, { id: 'n3', address: 'c:1' }];
    const h = makeNode({
      seeds,
      script: (to, _req, attempt) => (to === 'b:1' && attempt >= 3 ? identify('n2') : down()),
    });
    await h.node.start();
    expect(h.node.ready).to.equal(false);
    const joining = await h.node.admin.status();
    expect(joining.ready).to.equal(false);
    expect(joining.members.map((m) => m.id)).to.deep.equal(['n1', 'n3']);
    expect(joining.ringChecksum).to.equal(0);
    const e = await rejection(h.node.kv.get({ key, timeoutMs: 100 }));
    expect(e).to.be.instanceOf(UnavailableError);
    expect((e as Error).message).to.match(/still joining/);

    await h.scheduler.runUntil(() => h.node.ready);
    expect(h.transport.calls).to.deep.equal([
      { to: 'b:1', type: 'identify', atMs: 0 },
      { to: 'b:1', type: 'identify', atMs: 500 },
      { to: 'b:1', type: 'identify', atMs: 1000 },
    ]);
    const status = await h.node.admin.status();
    expect(status.ready).to.equal(true);
    expect(status.members).to.deep.equal([
      { id: 'n1', address: 'a:1', reachable: true, partitionsOwned: status.members[0]!.partitionsOwned, self: true },
      { id: 'n2', address: 'b:1', reachable: true, partitionsOwned: status.members[1]!.partitionsOwned, self: false },
      { id: 'n3', address: 'c:1', reachable: true, partitionsOwned: status.members[2]!.partitionsOwned, self: false },
    ]);
    expect(status.members.reduce((sum, m) => sum + m.partitionsOwned, 0)).to.equal(16);
    expect(status.members.every((m) => m.partitionsOwned >= 5)).to.equal(true);
    expect(status.ringChecksum).to.not.equal(0);
    expect(status).to.include({ nodeId: 'n1', partitionCount: 16, replicas: 3, engine: 'memory', gets: 1, puts: 0 });
    await h.node.stop();
    // No retry timer survives stop.
    await h.scheduler.settle();
    expect(h.transport.calls.length).to.equal(3);
  });

  it('logs and leaves out a seed with another partition count or replication factor', async () => {
    const h = makeNode({
      seeds: [{ address: 'b:1' }, { address: 'c:1' }, { address: 'd:1' }],
      script: (to) => (to === 'b:1' ? identify('n2', 32) : to === 'c:1' ? identify('n3', 16, 5) : identify('n4')),
    });
    await h.node.start();
    await h.scheduler.runUntil(() => h.node.ready);
    const status = await h.node.admin.status();
    expect(status.members.map((m) => m.id)).to.deep.equal(['n1', 'n4']);
    const errors = h.lines.map((l) => JSON.parse(l) as { level: string; msg: string; seed?: string }).filter((l) => l.level === 'error');
    expect(errors.map((l) => l.seed)).to.deep.equal(['b:1', 'c:1']);
    expect(errors[0]!.msg).to.match(/another ring configuration/);
    await h.node.stop();
  });

  it('reports unreachable members from the transport', async () => {
    const h = makeNode({ seeds: [{ id: 'n2', address: 'down:1' }] });
    await h.node.start();
    const status = await h.node.admin.status();
    expect(status.members.map((m) => [m.id, m.reachable])).to.deep.equal([
      ['n1', true],
      ['n2', false],
    ]);
    await h.node.stop();
  });
});
