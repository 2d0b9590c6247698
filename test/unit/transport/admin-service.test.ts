/**
 * The Admin service on the node's real gRPC server, against fake
 * AdminHandlers: status with the membership and anti-entropy fields, ring,
 * the membership commands (join, decommission, remove), repair, how their
 * rejections map to status codes, and what reflection says about them.
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { DynamoError, InvalidArgumentError, LimitExceededError, TimeoutError, UnavailableError } from '../../../lib/runtime/index.ts';
import type { AdminHandler } from '../../../lib/protocol/index.ts';
import { AdminCodec, fromGrpcError, type RingResponseMsg, type StatusResponseMsg } from '../../../lib/transport/index.ts';
import { ADMIN_PROTO } from '../../../lib/transport/proto-files.ts';
import { adminWith, callError, CapturingLogger, MEMBERSHIP_STATUS, rawCall, reflect, REPAIR_RUNNING, Resources, RING } from './harness.ts';

const codec = new AdminCodec(new protobuf.Root().loadSync(ADMIN_PROTO));

/** The membership commands: RPC name, the handler method, and the request that carries them. */
const COMMANDS = [
  { rpc: 'Join', method: 'join', request: {} },
  { rpc: 'Decommission', method: 'decommission', request: {} },
  { rpc: 'Remove', method: 'remove', request: { nodeId: 'n3' } },
] as const;

/** Every Admin RPC with a request that reaches its handler. */
const RPCS = [
  { rpc: 'Status', method: 'status', request: {} },
  { rpc: 'Ring', method: 'ring', request: {} },
  ...COMMANDS,
  { rpc: 'Repair', method: 'repair', request: { partition: 4 } },
] as const;

/** Handler rejections and the status each must become (as for KV calls, grpc-status.ts). */
const REJECTIONS: { error: () => Error; code: grpc.status; dynamoCode: string; rebuilt: Function }[] = [
  { error: () => new InvalidArgumentError('n9 is not a member'), code: grpc.status.INVALID_ARGUMENT, dynamoCode: 'DYNAMO_INVALID_ARGUMENT', rebuilt: InvalidArgumentError },
  { error: () => new UnavailableError('no ring yet', { answered: 0, required: 0 }), code: grpc.status.UNAVAILABLE, dynamoCode: 'DYNAMO_UNAVAILABLE', rebuilt: UnavailableError },
  { error: () => new TimeoutError('the claimant did not answer', { answered: 1, required: 2 }), code: grpc.status.DEADLINE_EXCEEDED, dynamoCode: 'DYNAMO_TIMEOUT', rebuilt: TimeoutError },
  { error: () => new LimitExceededError('too many changes pending'), code: grpc.status.FAILED_PRECONDITION, dynamoCode: 'DYNAMO_LIMIT_EXCEEDED', rebuilt: LimitExceededError },
  { error: () => new TypeError('a bug'), code: grpc.status.INTERNAL, dynamoCode: 'DYNAMO_INTERNAL', rebuilt: DynamoError },
];

describe('transport Admin service (status, ring, join, decommission, remove, repair)', function () {
  this.timeout(15_000);
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('serves Status with member states, ownership, load and transfers, and they decode back unchanged', async () => {
    const server = await res.server({ admin: adminWith({ status: async () => MEMBERSHIP_STATUS }) });
    const { response } = await rawCall(res.client(server.address), 'Admin', 'Status', {});
    // On the wire: enums by number (UP 1, DOWN 2, JOINING 3, LEAVING 4; IN 1, OUT 2; WAITING 1, STREAMING 2, DONE 3).
    expect((response['members'] as { state: number }[]).map((m) => m.state)).to.deep.equal([1, 2, 3, 4]);
    expect((response['transfers'] as { direction: number; state: number }[]).map((t) => [t.direction, t.state])).to.deep.equal([
      [1, 2],
      [2, 3],
      [2, 1],
    ]);
    expect(response['ringVersion']).to.equal(7);
    // Present zeros and empty strings stay present; what was not set stays absent.
    const n3 = (response['members'] as Record<string, unknown>[])[2]!;
    expect(n3).to.include({ ownershipPct: 0, partitionsHeld: 0 });
    expect(n3).to.not.have.property('zone');
    expect((response['members'] as Record<string, unknown>[])[1]).to.include({ zone: '' });
    expect(codec.nodeStatus(response as unknown as StatusResponseMsg)).to.deep.equal(MEMBERSHIP_STATUS);
  });

  it('serves Ring: owners, replica sets and moving partitions', async () => {
    const server = await res.server();
    const { response } = await rawCall(res.client(server.address), 'Admin', 'Ring', {});
    expect(response).to.deep.include({ nodeId: 'n1', version: 3, checksum: 0xdeadbeef, partitionCount: 2, replicas: 2, owners: ['n1', 'n2'] });
    expect(response['replicaSets']).to.deep.equal([{ nodes: ['n1', 'n2'] }, { nodes: ['n2', 'n1'] }]);
    expect(codec.ringStatus(response as unknown as RingResponseMsg)).to.deep.equal(RING);
  });

  it('serves Join, Decommission and Remove from the handler, with the node id for Remove', async () => {
    const calls: string[] = [];
    const admin = adminWith({
      join: async () => void calls.push('join'),
      decommission: async () => void calls.push('decommission'),
      remove: async (id) => void calls.push(`remove ${id}`),
    });
    const server = await res.server({ admin });
    const c = res.client(server.address);
    for (const { rpc, request } of COMMANDS) expect((await rawCall(c, 'Admin', rpc, request)).response).to.deep.equal({});
    expect(calls).to.deep.equal(['join', 'decommission', 'remove n3']);
  });

  it('serves Repair: the partition asked for (or none: every partition) reaches the handler, its status comes back', async () => {
    const asked: (number | undefined)[] = [];
    const server = await res.server({
      admin: adminWith({
        repair: async (partition) => {
          asked.push(partition);
          return partition === undefined ? REPAIR_RUNNING : MEMBERSHIP_STATUS.antiEntropy!.repair!;
        },
      }),
    });
    const c = res.client(server.address);
    const all = (await rawCall(c, 'Admin', 'Repair', {})).response['repair'];
    expect(codec.repairStatus(all as never)).to.deep.equal(REPAIR_RUNNING);
    const zero = (await rawCall(c, 'Admin', 'Repair', { partition: 0 })).response['repair'];
    expect(codec.repairStatus(zero as never)).to.deep.equal(MEMBERSHIP_STATUS.antiEntropy!.repair);
    // Partition 0 is present (proto3 optional), not "every partition".
    expect(asked).to.deep.equal([undefined, 0]);
    expect((all as { state: number }).state, 'REPAIR_STATE_RUNNING').to.equal(1);
  });

  it('answers Remove without a node id with INVALID_ARGUMENT, without asking the handler', async () => {
    let called = false;
    const server = await res.server({ admin: adminWith({ remove: async () => void (called = true) }) });
    const e = await callError(rawCall(res.client(server.address), 'Admin', 'Remove', {}));
    expect(e.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(e.details).to.match(/node_id/);
    expect(called).to.equal(false);
  });

  for (const { rpc, method, request } of RPCS) {
    it(`maps ${rpc} rejections to status codes with the dynamo code, as KV calls do`, async () => {
      for (const r of REJECTIONS) {
        const logger = new CapturingLogger();
        const admin = adminWith({ [method]: async () => Promise.reject(r.error()) } as Partial<AdminHandler>);
        const server = await res.server({ admin, logger });
        const e = await callError(rawCall(res.client(server.address), 'Admin', rpc, request));
        expect([e.code, e.metadata.get('dynamo-code')[0]], `${rpc} ${r.dynamoCode}`).to.deep.equal([r.code, r.dynamoCode]);
        expect(fromGrpcError(e)).to.be.instanceOf(r.rebuilt);
        // Only a bug (not a DynamoError) is logged.
        expect(logger.errors.length, `${rpc} ${r.dynamoCode} logged`).to.equal(r.code === grpc.status.INTERNAL ? 1 : 0);
        await res.closeAll();
      }
    });
  }

  it('answers a status whose member state is not a MemberState with INTERNAL (a bug in the handler)', async () => {
    const bad = { ...MEMBERSHIP_STATUS, members: [{ ...MEMBERSHIP_STATUS.members[0]!, state: 'gone' as 'up' }] };
    const logger = new CapturingLogger();
    const server = await res.server({ admin: adminWith({ status: async () => bad }), logger });
    const e = await callError(rawCall(res.client(server.address), 'Admin', 'Status', {}));
    expect(e.code).to.equal(grpc.status.INTERNAL);
    expect(logger.errors).to.have.length(1);
  });

  it('describes every Admin RPC and the optional status fields through reflection', async () => {
    const server = await res.server();
    const msg = await reflect(server.address, { fileContainingSymbol: 'dynamo.v1.Admin' });
    const descriptorProto = path.join(path.dirname(createRequire(import.meta.url).resolve('protobufjs/package.json')), 'google/protobuf/descriptor.proto');
    const FileDescriptorProto = new protobuf.Root().loadSync(descriptorProto).lookupType('google.protobuf.FileDescriptorProto');
    const files = (msg['fileDescriptorResponse']?.fileDescriptorProto ?? []).map(
      (b: Buffer) => FileDescriptorProto.toObject(FileDescriptorProto.decode(b), { defaults: false }) as Record<string, any>,
    );
    const admin = files.flatMap((f: any) => f.service ?? []).find((s: { name: string }) => s.name === 'Admin');
    expect(admin, 'dynamo.v1.Admin in reflection').to.not.equal(undefined);
    expect(admin.method.map((m: { name: string; inputType: string; outputType: string }) => [m.name, m.inputType, m.outputType])).to.deep.equal([
      ['Status', '.dynamo.v1.StatusRequest', '.dynamo.v1.StatusResponse'],
      ['Join', '.dynamo.v1.JoinRequest', '.dynamo.v1.JoinResponse'],
      ['Decommission', '.dynamo.v1.DecommissionRequest', '.dynamo.v1.DecommissionResponse'],
      ['Remove', '.dynamo.v1.RemoveRequest', '.dynamo.v1.RemoveResponse'],
      ['Ring', '.dynamo.v1.RingRequest', '.dynamo.v1.RingResponse'],
      ['Repair', '.dynamo.v1.RepairRequest', '.dynamo.v1.RepairResponse'],
    ]);
    const member = files.flatMap((f: any) => f.messageType ?? []).find((m: { name: string }) => m.name === 'MemberStatus');
    const field = (name: string): { number: number; oneofIndex?: number } => member.field.find((f: { name: string }) => f.name === name);
    expect([field('state').number, field('ownership_pct').number, field('zone').number]).to.deep.equal([6, 7, 10]);
    // proto3 `optional` reaches reflection as its synthetic one-member oneof (protobufjs leaves the proto3_optional flag out): presence is kept.
    expect(member.oneofDecl[field('ownership_pct').oneofIndex!].name).to.equal('_ownership_pct');
    expect(field('state').oneofIndex).to.equal(undefined);
  });
});
