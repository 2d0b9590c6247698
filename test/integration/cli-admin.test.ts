/**
 * The operator commands of the built `dynamo` CLI — status, ring, join,
 * decommission, remove — against fake nodes: the node's real gRPC server
 * (startGrpcServer on 127.0.0.1:0) in this process with a scripted
 * AdminHandler. Output in text and --json, progress while a decommission
 * runs, and the documented exit codes with one-line failures.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { InvalidArgumentError, UnavailableError } from '../../lib/runtime/index.ts';
import type { AdminHandler, MemberStatus, NodeStatus, TransferStatus } from '../../lib/protocol/index.ts';
import type { GrpcServer } from '../../lib/transport/index.ts';
import { EXIT } from '../../cmd/cli/exit-codes.ts';
import { builtCli } from '../support/build.ts';
import { columnStarts, dynamo, dynamoAll, expectOneLineError, jsonOf, killStragglers } from '../support/cli.ts';
import { adminWith, MEMBERSHIP_STATUS, Resources, RING, STATUS } from '../unit/transport/harness.ts';

/** A status of node `id` at `address` with `others` as the rest of its members. */
function statusOf(id: string, address: string, self: Partial<MemberStatus> | undefined, others: MemberStatus[] = [], transfers: TransferStatus[] = []): NodeStatus {
  const members = self === undefined ? others : [{ id, address, reachable: true, partitionsOwned: 2, self: true, state: 'up' as const, ...self }, ...others];
  return { ...STATUS, nodeId: id, members, ringVersion: 5, transfers };
}

const out = (partition: number, peer: string, state: TransferStatus['state'], keys = 0, bytes = 0): TransferStatus => ({ partition, direction: 'out', peer, state, keys, bytes });

/** Answers status with each of `statuses` in turn, then the last one forever; counts the calls. */
function scripted(statuses: NodeStatus[]): { status: () => Promise<NodeStatus>; calls: () => number } {
  let calls = 0;
  return {
    status: async () => statuses[Math.min(calls++, statuses.length - 1)]!,
    calls: () => calls,
  };
}

describe('integration: dynamo CLI operator commands (fake nodes)', function () {
  this.timeout(60_000);
  const res = new Resources();
  afterEach(async () => {
    killStragglers();
    await res.closeAll();
  });

  const serve = (admin: Partial<AdminHandler>): Promise<GrpcServer> => res.server({ admin: adminWith(admin) });

  describe('status', () => {
    it('shows each member’s state, ownership, held partitions, load and zone, and the node’s transfers', async () => {
      const node = await serve({ status: async () => MEMBERSHIP_STATUS });
      const run = await dynamo(['status', '--endpoint', node.address]);
      expect(run.code, run.stderr).to.equal(EXIT.ok);
      const lines = run.stdout.split('\n');
      expect(lines[0]).to.equal('node n1: ready, N=3, 64 partitions, engine memory, ring deadbeef v7');
      const header = lines.findIndex((l) => l.startsWith('ID'));
      expect(lines[header]!.split(/\s+/)).to.deep.equal(['ID', 'ADDRESS', 'STATE', 'REACHABLE', 'OWNS%', 'PARTITIONS', 'HELD', 'KEYS', 'BYTES', 'ZONE']);
      const rows = lines.slice(header + 1, header + 5);
      expect(rows.map((r) => r.split(/\s{2,}/))).to.deep.equal([
        ['n1*', '127.0.0.1:1', 'up', 'yes', '34.4', '22', '40', '1200', '8.0 GiB', 'zone-a'],
        ['n2', '127.0.0.1:2', 'down', 'NO', '32.8', '21', '41', '-', '-', '-'],
        ['n3', '127.0.0.1:3', 'joining', 'yes', '0.0', '0', '0', '-', '-', '-'],
        ['n4', '127.0.0.1:4', 'leaving', 'yes', '32.8', '21', '39', '0', '0 B', '-'],
      ]);
      // Columns fit their content: every row starts its cells where the header does.
      for (const row of rows) expect(columnStarts(row)).to.deep.equal(columnStarts(lines[header]!));
      const t = lines.indexOf('transfers (3):');
      expect(t, run.stdout).to.be.greaterThan(header);
      expect(lines.slice(t + 1, t + 5).map((r) => r.split(/\s{2,}/))).to.deep.equal([
        ['PARTITION', 'DIRECTION', 'PEER', 'STATE', 'KEYS', 'BYTES'],
        ['3', 'in from', 'n4', 'streaming', '10', '2.0 KiB'],
        ['9', 'out to', 'n3', 'done', '500', '3.0 MiB'],
        ['12', 'out to', 'n3', 'waiting', '0', '0 B'],
      ]);
    });

    it('--json keeps the existing keys and adds members[].state, ownership, load, ringVersion and transfers', async () => {
      const node = await serve({ status: async () => MEMBERSHIP_STATUS });
      const json = jsonOf(await dynamo(['status', '--endpoint', node.address, '--json']));
      expect(json).to.deep.equal(MEMBERSHIP_STATUS);
      expect(json.members.map((m: { id: string; address: string; state: string }) => [m.id, m.address, m.state])).to.deep.equal([
        ['n1', '127.0.0.1:1', 'up'],
        ['n2', '127.0.0.1:2', 'down'],
        ['n3', '127.0.0.1:3', 'joining'],
        ['n4', '127.0.0.1:4', 'leaving'],
      ]);
    });

    it('gives every member a state even from a node that predates membership (up or down by reachability)', async () => {
      const node = await serve({ status: async () => STATUS });
      const json = jsonOf(await dynamo(['status', '--endpoint', node.address, '--json']));
      expect(json.members.map((m: { state: string }) => m.state)).to.deep.equal(['up', 'down']);
      expect(json.transfers).to.deep.equal([]);
      expect(json).to.not.have.property('ringVersion');
      expect(json.members[0]).to.not.have.property('ownershipPct');
      const text = await dynamo(['status', '--endpoint', node.address]);
      expect(text.stdout).to.match(/^n1\*\s+127\.0\.0\.1:1\s+up\s+yes\s+-\s+22\s+-\s+-\s+-$/m);
      expect(text.stdout).to.not.match(/transfers/);
    });
  });

  describe('ring', () => {
    it('prints partition, owner, replicas and moving holders -> target, in columns that fit', async () => {
      const node = await serve({});
      const run = await dynamo(['ring', '--endpoint', node.address]);
      expect(run.code, run.stderr).to.equal(EXIT.ok);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).to.equal('ring v3 deadbeef as n1 holds it: 2 partitions, N=2, 1 moving');
      expect(lines.slice(1).map((l) => l.split(/\s{2,}/))).to.deep.equal([
        ['PARTITION', 'OWNER', 'REPLICAS', 'MOVING'],
        ['0', 'n1', 'n1,n2', '-'],
        ['1', 'n2', 'n2,n1', 'n2,n1 -> n2,n3'],
      ]);
      for (const row of lines.slice(2)) expect(columnStarts(row)).to.deep.equal(columnStarts(lines[1]!));
    });

    it('--json prints the ring as the node holds it', async () => {
      const node = await serve({});
      expect(jsonOf(await dynamo(['ring', '--endpoint', node.address, '--json']))).to.deep.equal(RING);
    });

    it('says so when the node holds no ring yet', async () => {
      const node = await serve({ ring: async () => ({ ...RING, version: 0, checksum: 0, owners: [], replicaSets: [], moving: [] }) });
      const run = await dynamo(['ring', '--endpoint', node.address]);
      expect([run.code, run.stdout]).to.deep.equal([EXIT.ok, 'node n1 holds no ring yet (N=2, 2 partitions)\n']);
    });
  });

  describe('join and remove', () => {
    it('join asks the node at --endpoint, in text and --json', async () => {
      let joins = 0;
      const node = await serve({ join: async () => void joins++ });
      const text = await dynamo(['join', '--endpoint', node.address]);
      expect([text.code, text.stdout]).to.deep.equal([EXIT.ok, `${node.address} asked to join: it shows as joining in \`dynamo status\` until it holds its share of partitions\n`]);
      const json = await dynamo(['join', '--json'], { DYNAMO_ENDPOINT: node.address });
      expect(jsonOf(json)).to.deep.equal({ ok: true, endpoint: node.address });
      expect(joins).to.equal(2);
    });

    it('join that the node refuses fails with one line and the refusal’s exit code', async () => {
      const node = await serve({ join: async () => Promise.reject(new InvalidArgumentError('n1 is already a ring member')) });
      expectOneLineError(await dynamo(['join', '--endpoint', node.address]), EXIT.usage, /^dynamo: join failed: n1 is already a ring member \[DYNAMO_INVALID_ARGUMENT\]$/);
    });

    it('remove sends the node id; an unknown node exits 2 with one line (and the error as JSON)', async () => {
      const removed: string[] = [];
      const node = await serve({
        remove: async (id) => {
          if (id !== 'n3') throw new InvalidArgumentError(`${id} is not a member of the ring`);
          removed.push(id);
        },
      });
      const ok = await dynamo(['remove', 'n3', '--endpoint', node.address]);
      expect(ok.code, ok.stderr).to.equal(EXIT.ok);
      expect(ok.stdout).to.match(/^n3 is being removed: its partitions are rebuilt/);
      expect(jsonOf(await dynamo(['remove', 'n3', '--endpoint', node.address, '--json']))).to.deep.equal({ ok: true, nodeId: 'n3' });
      expect(removed).to.deep.equal(['n3', 'n3']);
      const unknown = await dynamo(['remove', 'n9', '--endpoint', node.address]);
      expectOneLineError(unknown, EXIT.usage, /^dynamo: remove n9 failed: n9 is not a member of the ring \[DYNAMO_INVALID_ARGUMENT\]$/);
      expect(unknown.stdout).to.equal('');
      const json = await dynamo(['remove', 'n9', '--endpoint', node.address, '--json']);
      expect(json.code).to.equal(EXIT.usage);
      expect(jsonOf(json).error).to.deep.include({ code: 'DYNAMO_INVALID_ARGUMENT', exitCode: EXIT.usage, maybeApplied: false });
    });
  });

  describe('decommission', () => {
    it('shows progress while the node hands its partitions over, and exits 0 once it reports it has left', async () => {
      let decommissions = 0;
      const script = scripted([
        statusOf('n1', '', { state: 'up' }),
        statusOf('n1', '', { state: 'leaving' }, [], [out(1, 'n2', 'streaming', 10, 1024), out(2, 'n3', 'waiting')]),
        statusOf('n1', '', { state: 'leaving' }, [], [out(1, 'n2', 'done', 20, 2048), out(2, 'n3', 'streaming', 5, 512)]),
        statusOf('n1', '', undefined),
      ]);
      const node = await serve({ status: script.status, decommission: async () => void decommissions++ });
      const run = await dynamo(['decommission', '--endpoint', node.address, '--interval-ms', '20']);
      expect(run.code, run.stderr).to.equal(EXIT.ok);
      expect(run.stderr).to.equal('');
      expect(run.stdout.trimEnd().split('\n')).to.deep.equal([
        'n1: leaving, 0/2 partitions handed over (10 keys, 1.0 KiB)',
        'n1: leaving, 1/2 partitions handed over (25 keys, 2.5 KiB)',
        'n1 has left the ring (2 partitions handed over: 25 keys, 2.5 KiB)',
      ]);
      expect(decommissions).to.equal(1);
    });

    it('once the node stops answering, asks another member, and exits 0 when that member no longer lists it (--json)', async () => {
      const n3Leaving = { id: 'n3', address: '', reachable: true, partitionsOwned: 0, self: false, state: 'leaving' as const };
      let peerCalls = 0;
      const peer = await serve({
        status: async () => {
          peerCalls++;
          const me = { id: 'n1', address: peer.address, reachable: true, partitionsOwned: 2, self: true, state: 'up' as const };
          return statusOf('n1', peer.address, undefined, peerCalls === 1 ? [me, { ...n3Leaving, address: leaving.address }] : [me]);
        },
      });
      const n1 = (): MemberStatus => ({ id: 'n1', address: peer.address, reachable: true, partitionsOwned: 2, self: false, state: 'up' });
      let calls = 0;
      const leaving: GrpcServer = await serve({
        status: async () => {
          calls++;
          if (calls === 1) return statusOf('n3', leaving.address, { state: 'up' }, [n1()]);
          // The first poll sees it leaving; then it stops (it has handed everything over): this answer goes out, no other comes.
          void leaving.shutdown(5_000);
          return statusOf('n3', leaving.address, { state: 'leaving' }, [n1()], [out(7, 'n1', 'done', 3, 30)]);
        },
        decommission: async () => {},
      });
      const run = await dynamo(['decommission', '--endpoint', leaving.address, '--interval-ms', '20', '--json']);
      expect(run.code, run.stderr).to.equal(EXIT.ok);
      expect(jsonOf(run)).to.deep.equal({ ok: true, nodeId: 'n3', left: true, partitions: 1, keys: 3, bytes: 30 });
      expect(peerCalls).to.be.greaterThanOrEqual(2);
    });

    it('in text, says whom it asked while the node is silent', async () => {
      let peerCalls = 0;
      const peer = await serve({
        status: async () => {
          peerCalls++;
          const me = { id: 'n1', address: peer.address, reachable: true, partitionsOwned: 2, self: true, state: 'up' as const };
          const n3 = { id: 'n3', address: '127.0.0.1:9', reachable: false, partitionsOwned: 0, self: false, state: 'leaving' as const };
          return statusOf('n1', peer.address, undefined, peerCalls === 1 ? [me, n3] : [me]);
        },
      });
      let calls = 0;
      const node: GrpcServer = await serve({
        status: async () => {
          const n1 = { id: 'n1', address: peer.address, reachable: true, partitionsOwned: 2, self: false };
          if (++calls === 1) return statusOf('n3', node.address, { state: 'up' }, [n1]);
          // The first poll sees it leaving; then it stops answering.
          void node.shutdown(5_000);
          return statusOf('n3', node.address, { state: 'leaving' }, [n1]);
        },
        decommission: async () => {},
      });
      const run = await dynamo(['decommission', '--endpoint', node.address, '--interval-ms', '20']);
      expect(run.code, run.stderr).to.equal(EXIT.ok);
      expect(run.stdout.trimEnd().split('\n')).to.deep.equal(['n3: leaving', 'n3: not answering; n1 sees it as leaving', 'n3 has left the ring']);
    });

    it('fails with one line and the right exit code when the node refuses, is unreachable, or calls it off', async () => {
      const refusing = await serve({ status: async () => statusOf('n1', '', { state: 'up' }), decommission: async () => Promise.reject(new InvalidArgumentError('n1 is the last node of the ring')) });
      const notReady = await serve({ status: async () => statusOf('n2', '', { state: 'up' }), decommission: async () => Promise.reject(new UnavailableError('no ring yet', { answered: 0, required: 0 })) });
      const called = scripted([statusOf('n4', '', { state: 'up' }), statusOf('n4', '', { state: 'leaving' }), statusOf('n4', '', { state: 'up' })]);
      const cancelled = await serve({ status: called.status, decommission: async () => {} });
      const stuck = await serve({ status: async () => statusOf('n5', '', { state: 'leaving' }, [], [out(1, 'n1', 'streaming')]), decommission: async () => {} });
      const [refused, unavailable, down, off, late] = await Promise.all([
        dynamo(['decommission', '--endpoint', refusing.address]),
        dynamo(['decommission', '--endpoint', notReady.address, '--json']),
        dynamo(['decommission', '--endpoint', '127.0.0.1:1', '--timeout-ms', '2000']),
        dynamo(['decommission', '--endpoint', cancelled.address, '--interval-ms', '20']),
        dynamo(['decommission', '--endpoint', stuck.address, '--interval-ms', '200', '--timeout-s', '1']),
      ]);
      expectOneLineError(refused!, EXIT.usage, /^dynamo: decommission of n1 failed: n1 is the last node of the ring \[DYNAMO_INVALID_ARGUMENT\]$/);
      expectOneLineError(unavailable!, EXIT.unavailable, /^dynamo: decommission of n2 failed: no ring yet \[DYNAMO_UNAVAILABLE\]$/);
      expect(jsonOf(unavailable!).error).to.deep.include({ code: 'DYNAMO_UNAVAILABLE', exitCode: EXIT.unavailable });
      expectOneLineError(down!, EXIT.unavailable, /^dynamo: decommission not started: .*\[DYNAMO_UNAVAILABLE\]$/);
      expectOneLineError(off!, EXIT.failed, /^dynamo: decommission of n4 was called off: it is up again and no longer leaving$/);
      expectOneLineError(late!, EXIT.timeout, /^dynamo: n5: leaving, 0\/1 partitions handed over .*has not left within --timeout-s/);
    });

    it('Ctrl-C stops the waiting, not the decommission: one line, exit 130', async () => {
      const node = await serve({ status: async () => statusOf('n1', '', { state: 'leaving' }, [], [out(1, 'n2', 'streaming')]), decommission: async () => {} });
      const child = spawn(process.execPath, [builtCli(), 'decommission', '--endpoint', node.address, '--interval-ms', '50'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      try {
        let stdout = '';
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        // Interrupt once it is waiting (its first progress line).
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (c: Buffer) => {
            stdout += c.toString();
            if (stdout.includes('\n')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
        });
        expect(stdout).to.match(/^n1: leaving, 0\/1 partitions handed over/);
        child.kill('SIGINT');
        expect(await exited).to.equal(130);
        expect(stderr).to.equal('dynamo: stopped waiting for n1 to leave; the decommission goes on (watch: dynamo status)\n');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });

    it('--no-wait returns once the node accepted', async () => {
      const script = scripted([statusOf('n1', '', { state: 'up' })]);
      let decommissions = 0;
      const node = await serve({ status: script.status, decommission: async () => void decommissions++ });
      const [text, json] = await Promise.all([
        dynamo(['decommission', '--endpoint', node.address, '--no-wait']),
        dynamo(['decommission', '--endpoint', node.address, '--no-wait', '--json']),
      ]);
      expect([text.code, text.stdout]).to.deep.equal([EXIT.ok, `n1 (${node.address}) is decommissioning: it leaves once its partitions are handed over (watch: dynamo status)\n`]);
      expect(jsonOf(json)).to.deep.equal({ ok: true, nodeId: 'n1', left: false });
      expect([decommissions, script.calls()]).to.deep.equal([2, 2]);
    });
  });

  it('exits 2 on usage errors of the operator commands, naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['decommission'], /decommission acts on one node: name it with --endpoint/],
      [['decommission', '--endpoint', '127.0.0.1:1,127.0.0.1:2'], /one host:port, not 2/],
      [['decommission', '--endpoint', '127.0.0.1:1', '--timeout-s', 'soon'], /--timeout-s must be a whole number/],
      [['decommission', '--endpoint', '127.0.0.1:1', '--interval-ms', '0'], /--interval-ms must be between/],
      [['join'], /join acts on one node/],
      [['join', '--endpoint', 'nowhere'], /--endpoint must be host:port/],
      [['remove'], /missing required argument/],
      [['remove', '-bad', '--endpoint', '127.0.0.1:1'], /unknown option|not a node id/],
      [['remove', 'a b', '--endpoint', '127.0.0.1:1'], /"a b" is not a node id/],
      [['ring', '--endpoint', ':7001'], /--endpoint/],
      [['ring', '--frobnicate'], /unknown option/],
      [['status', '--endpoint', 'x', '--json'], /--endpoint/],
    ];
    const runs = await dynamoAll(cases.map(([args]) => args));
    cases.forEach(([args, pattern], i) => {
      try {
        expectOneLineError(runs[i]!, EXIT.usage, pattern);
      } catch (e) {
        throw new Error(`dynamo ${args.join(' ')}: ${(e as Error).message}`);
      }
    });
  });
});
