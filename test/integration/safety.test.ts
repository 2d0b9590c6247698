/**
 * The safety fixes on real node processes (LevelDB in temp dirs, real gRPC):
 * a context cannot be carried to another key, every process life mints under
 * a new actor, a record that does not decode is set aside and rebuilt
 * from the other replicas while the key stays readable and writable, and a
 * large value kept in the value log survives kill -9 and is rebuilt the same
 * way when its bytes in the log rot.
 */
import { expect } from 'chai';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { InvalidArgumentError } from '../../lib/client/index.ts';
import { createStorage } from '../../lib/storage/index.ts';
import { partitionOf } from '../../lib/ring/index.ts';
import { eventually, startTestCluster, text, type TestCluster } from './harness.ts';

const PROTOS = fileURLToPath(new URL('../../protos', import.meta.url));
const PARTITIONS = 64;

interface Safety {
  actor: string;
  actorsRetired: number;
  recordsSetAside: number;
  dotConflicts: number;
}

/** Admin/Status straight from admin.proto (the safety counters included). */
async function safetyOf(address: string): Promise<Safety> {
  const def = protoLoader.loadSync(path.join(PROTOS, 'dynamo/v1/admin.proto'), { longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { dynamo: { v1: { Admin: grpc.ServiceClientConstructor } } };
  const client = new pkg.dynamo.v1.Admin(address, grpc.credentials.createInsecure());
  try {
    const res = await new Promise<{ safety: Safety }>((resolve, reject) =>
      (client['Status'] as Function).call(client, {}, { deadline: new Date(Date.now() + 5000) }, (e: Error | null, r: { safety: Safety }) =>
        e ? reject(e) : resolve(r),
      ),
    );
    return res.safety;
  } finally {
    client.close();
  }
}

describe('integration: safety on real processes', function () {
  this.timeout(90_000);
  let t: TestCluster;
  before(async () => {
    t = await startTestCluster({ nodes: 3, partitions: PARTITIONS });
  });
  after(async () => {
    await t?.teardown();
  });

  it("refuses a context read for key A in a write of key B (the write that used to lose B's later versions)", async () => {
    const viaN2 = t.client('n2');
    let ctxA: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 4; i++) ctxA = (await viaN2.put('ctx-A', `a${i}`, { consistency: 'ALL', context: ctxA })).context;
    await t.cluster.stopMember('n2', 'SIGKILL');
    const e = await t
      .client('n1')
      .put('ctx-B', 'b-with-A-context', { consistency: 'QUORUM', context: ctxA })
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    expect(e).to.be.instanceOf(InvalidArgumentError);
    expect((e as Error).message).to.match(/context was read for a different key/);
    await t.cluster.startMember('n2');
    await t.settle();
    await eventually(() => t.client('n2').put('ctx-B', 'blind-via-n2', { consistency: 'ALL' }));
    const got = await t.client('n3').get('ctx-B', { consistency: 'ALL' });
    expect(text(got.values)).to.deep.equal(['blind-via-n2']);
  });

  it('mints under a new actor after kill -9 and restart, so no version number of the last life can be reissued', async () => {
    const before = await safetyOf(t.cluster.member('n3').address);
    expect(before.actor).to.match(/^n3\.[0-9a-f]{16}$/);
    await t.cluster.stopMember('n3', 'SIGKILL');
    await t.cluster.startMember('n3');
    await t.settle();
    const after = await safetyOf(t.cluster.member('n3').address);
    expect(after.actor).to.match(/^n3\.[0-9a-f]{16}$/);
    expect(after.actor).to.not.equal(before.actor);
  });

  it('sets aside a record that does not decode, rebuilds it from the other replicas, and reports it in status', async () => {
    const key = 'rotten';
    // Retried: right after the previous test's restart a loaded machine may still have n3 suspected somewhere.
    await eventually(() => t.client().put(key, 'good', { consistency: 'ALL' }));
    // Damage n3's copy on disk while n3 is stopped.
    const n3 = t.cluster.member('n3');
    expect(await t.cluster.stopMember('n3', 'SIGTERM')).to.equal(0);
    const disk = createStorage({ engine: 'leveldb', dataDir: n3.dataDir });
    await disk.open();
    const k = new TextEncoder().encode(key);
    const p = partitionOf(k, PARTITIONS);
    expect(await disk.get(p, k)).to.not.equal(undefined);
    await disk.write([{ partition: p, key: k, record: Uint8Array.of(0xee, 1, 2, 3) }]);
    await disk.close();
    await t.cluster.startMember('n3');
    await t.settle();

    // A QUORUM read through n3: its own copy fails to decode, the other replicas answer, and read repair rebuilds it.
    const viaN3 = t.client('n3');
    const got = await eventually(() => viaN3.get(key, { consistency: 'QUORUM' }));
    expect(text(got.values)).to.deep.equal(['good']);
    await eventually(async () => {
      const s = await safetyOf(n3.address);
      if (s.recordsSetAside !== 1) throw new Error(`records set aside: ${s.recordsSetAside}`);
    });
    // n3 alone now serves the rebuilt copy, and the key is writable through it.
    await t.cluster.stopMember('n1', 'SIGKILL');
    await t.cluster.stopMember('n2', 'SIGKILL');
    const only3 = await eventually(() => viaN3.get(key, { consistency: 'ONE' }));
    expect(text(only3.values)).to.deep.equal(['good']);
    await viaN3.put(key, 'after', { consistency: 'ONE', context: only3.context });
    expect(text((await viaN3.get(key, { consistency: 'ONE' })).values)).to.deep.equal(['after']);
    const safety = await safetyOf(n3.address);
    expect(safety).to.include({ recordsSetAside: 1, dotConflicts: 0 });
    expect(safety.actorsRetired).to.be.at.least(1);
    await t.cluster.startMember('n1');
    await t.cluster.startMember('n2');
    await t.settle();
  });

  it('keeps a large value in the value log through kill -9, and rebuilds a copy whose log bytes rot from the other replicas', async () => {
    const key = 'large';
    // 64 KiB of varied bytes: over the value-log threshold (8 KiB), and no run of one byte.
    const value = Buffer.alloc(64 * 1024);
    for (let i = 0; i < value.length; i++) value[i] = (i * 31 + (i >> 8)) & 0xff;
    await eventually(() => t.client().put(key, value, { consistency: 'ALL' }));
    const n3 = t.cluster.member('n3');
    const vlog = path.join(n3.dataDir, 'vlog');
    const segments = (await readdir(vlog)).filter((f) => f.endsWith('.vlog'));
    const sizes = await Promise.all(segments.map(async (f) => (await stat(path.join(vlog, f))).size));
    expect(Math.max(...sizes), 'the record is in the value log, not the LSM tree').to.be.greaterThan(value.length);

    // Every node killed at once, then restarted: the value reads back whole.
    for (const id of ['n1', 'n2', 'n3']) await t.cluster.stopMember(id, 'SIGKILL');
    for (const id of ['n1', 'n2', 'n3']) await t.cluster.startMember(id);
    await t.settle();
    const back = await eventually(() => t.client('n2').get(key, { consistency: 'ALL' }));
    expect(back.values.map((v) => Buffer.compare(Buffer.from(v), value))).to.deep.equal([0]);

    // Rot one byte of n3's copy in its log while n3 is stopped: its reads of the key now fail their checksum.
    expect(await t.cluster.stopMember('n3', 'SIGTERM')).to.equal(0);
    const biggest = segments[sizes.indexOf(Math.max(...sizes))]!;
    const file = await open(path.join(vlog, biggest), 'r+');
    try {
      const at = Math.floor((await file.stat()).size / 2);
      const byte = Buffer.alloc(1);
      await file.read(byte, 0, 1, at);
      byte[0] = byte[0]! ^ 0xff;
      await file.write(byte, 0, 1, at);
    } finally {
      await file.close();
    }
    await t.cluster.startMember('n3');
    await t.settle();

    // A read through n3 is answered by the others; read repair sets n3's copy aside and rewrites it.
    const viaN3 = t.client('n3');
    const got = await eventually(() => viaN3.get(key, { consistency: 'QUORUM' }));
    expect(got.values.map((v) => Buffer.compare(Buffer.from(v), value))).to.deep.equal([0]);
    await eventually(async () => {
      const s = await safetyOf(n3.address);
      if (s.recordsSetAside < 1) throw new Error(`records set aside on n3: ${s.recordsSetAside}`);
    });
    // n3 alone serves the rebuilt copy.
    await t.cluster.stopMember('n1', 'SIGKILL');
    await t.cluster.stopMember('n2', 'SIGKILL');
    const only3 = await eventually(() => viaN3.get(key, { consistency: 'ONE' }));
    expect(only3.values.map((v) => Buffer.compare(Buffer.from(v), value))).to.deep.equal([0]);
    expect((await safetyOf(n3.address)).dotConflicts).to.equal(0);
    await t.cluster.startMember('n1');
    await t.cluster.startMember('n2');
    await t.settle();
  });
});
