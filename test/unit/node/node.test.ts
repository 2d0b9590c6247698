import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoNode, type NodeOptions } from '../../../lib/node/index.ts';
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
      await right.scheduler.runUntil(() => right.node.ready);
      await right.node.stop();
    });
  });

  it('answers identify before start, refuses KV until started and after stop; stop is idempotent', async () => {
    const { node, scheduler } = makeNode();
    expect(await node.peer({ type: 'identify' }, 100)).to.deep.equal({ type: 'identify', nodeId: 'n1', partitionCount: 16, replicas: 3 });
    expect(await rejection(node.kv.get({ key, timeoutMs: 100 }))).to.be.instanceOf(UnavailableError);
    expect(await rejection(node.peer({ type: 'read', key }, 100))).to.be.instanceOf(UnavailableError);
    await node.start();
    await scheduler.runUntil(() => node.ready); // no seeds: it founds a ring of one at its first gossip round
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

describe('node/DynamoNode gossip membership', () => {
  /** Membership packets are received (their answers travel as packets of their own); everything else is refused. */
  const receipts = (_to: Address, req: PeerRequest): Result<PeerReply, DynamoError> => (req.type === 'membership' ? ok({ type: 'membership' }) : down());

  it('without seeds founds a ring of one, persists it and a generation; a restart reloads the ring and bumps the generation', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-node-ring-'));
    try {
      const h = makeNode({ storage: new LevelStorage({ dataDir: dir }) });
      await h.node.start();
      expect(h.node.ready, 'no ring before the first gossip round').to.equal(false);
      await h.scheduler.runUntil(() => h.node.ready);
      const status = await h.node.admin.status();
      expect(status.ringVersion).to.equal(1);
      expect(status.members).to.have.length(1);
      expect(status.members[0]).to.include({ id: 'n1', state: 'up', self: true, partitionsOwned: 16, ownershipPct: 100 });
      const ring = await h.node.admin.ring();
      expect(ring).to.include({ nodeId: 'n1', version: 1, partitionCount: 16, replicas: 3 });
      expect(ring.owners).to.deep.equal(new Array(16).fill('n1'));
      expect(ring.moving).to.deep.equal([]);
      const generation = status.members[0]!.generation!;
      expect(generation).to.be.greaterThan(0);
      await h.scheduler.runFor(10); // the ring state reaches the meta store
      await h.node.stop();

      const again = makeNode({ storage: new LevelStorage({ dataDir: dir }) });
      await again.node.start();
      await again.scheduler.runUntil(() => again.node.ready);
      const after = await again.node.admin.status();
      expect(after.ringVersion, 'the ring came back from disk').to.equal(1);
      expect(after.members[0]!.generation).to.be.greaterThan(generation);
      await again.node.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with seeds, gossips to them with membership packets and is not ready until it learns a ring', async () => {
    const h = makeNode({ seeds: [{ address: 'b:1' }, { id: 'n3', address: 'c:1' }], script: receipts });
    await h.node.start();
    await h.scheduler.runFor(3000);
    expect(h.node.ready).to.equal(false);
    const sent = new Set(h.transport.calls.filter((c) => c.type === 'membership').map((c) => c.to));
    expect([...sent].sort()).to.deep.equal(['b:1', 'c:1']);
    const status = await h.node.admin.status();
    expect(status.ready).to.equal(false);
    expect(status.ringVersion).to.equal(0);
    expect(status.members.map((m) => [m.id, m.state]), 'asking to join, no ring yet').to.deep.equal([['n1', 'joining']]);
    const e = await rejection(h.node.kv.get({ key, timeoutMs: 100 }));
    expect(e).to.be.instanceOf(UnavailableError);
    await h.node.stop();
  });

  it('answers membership packets only while running, and refuses membership commands before it is', async () => {
    const h = makeNode();
    const packet = { from: 'n2', fromAddress: 'b:1', piggyback: [], type: 'ack' as const, seq: 1 };
    expect(await rejection(h.node.peer({ type: 'membership', packet }, 100))).to.be.instanceOf(UnavailableError);
    expect(await rejection(h.node.admin.join())).to.be.instanceOf(UnavailableError);
    await h.node.start();
    expect(await h.node.peer({ type: 'membership', packet }, 100)).to.deep.equal({ type: 'membership' });
    await h.scheduler.runUntil(() => h.node.ready);
    // The only member cannot decommission itself, nor remove a node nobody knows.
    expect(await rejection(h.node.admin.decommission())).to.be.instanceOf(InvalidArgumentError);
    expect(await rejection(h.node.admin.remove('n9'))).to.be.instanceOf(Error);
    await h.node.stop();
  });
});
