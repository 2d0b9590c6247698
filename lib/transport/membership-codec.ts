/**
 * Membership packets and ring states <-> protobuf (peer.proto MembershipPacket,
 * RingState). A cold path (a few packets per node per second, a ring state per
 * ring change), so it uses protobufjs's reflection codec rather than a
 * hand-written one, and validates everything it decodes: a packet from the
 * network or a ring state from disk that is not well-formed is refused with
 * InvalidArgumentError, never half-applied. The node also persists its ring
 * state with encodeRingState (the same bytes as on the wire).
 */
import protobuf from 'protobufjs';
import { InvalidArgumentError } from '../runtime/index.ts';
import type {
  DepartedMember,
  LivenessStatus,
  MemberBroadcast,
  MemberDigest,
  MemberIntent,
  MemberRecord,
  MembershipPacket,
  MovingPartition,
  RingStateRecord,
  RingSummary,
} from '../protocol/index.ts';
import { PEER_PROTO, PROTO_ROOT } from './proto-files.ts';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : `${PROTO_ROOT}/${target}`);
root.loadSync(PEER_PROTO, { keepCase: false });
const PacketType = root.lookupType('dynamo.v1.MembershipPacket');
const RingStateType = root.lookupType('dynamo.v1.RingState');
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: true, arrays: true, oneofs: true };

const STATUS: readonly LivenessStatus[] = ['alive', 'suspect', 'dead'];
const INTENT: readonly MemberIntent[] = ['none', 'join', 'leave'];
const BODIES = ['ping', 'ack', 'nack', 'pingReq', 'gossipSyn', 'gossipAck', 'gossipAck2', 'removeRequest'] as const;
const TYPE_OF_BODY: Readonly<Record<(typeof BODIES)[number], MembershipPacket['type']>> = {
  ping: 'ping',
  ack: 'ack',
  nack: 'nack',
  pingReq: 'ping-req',
  gossipSyn: 'gossip-syn',
  gossipAck: 'gossip-ack',
  gossipAck2: 'gossip-ack2',
  removeRequest: 'remove-request',
};
const BODY_OF_TYPE = Object.fromEntries(Object.entries(TYPE_OF_BODY).map(([b, t]) => [t, b])) as Record<MembershipPacket['type'], string>;

type Obj = Record<string, unknown>;

function bad(what: string): InvalidArgumentError {
  return new InvalidArgumentError(`malformed membership message: ${what}`);
}

// --- to the wire ----------------------------------------------------------

const recordOut = (r: MemberRecord): Obj => ({
  id: r.id,
  address: r.address,
  zone: r.zone,
  generation: r.generation,
  incarnation: r.incarnation,
  status: STATUS.indexOf(r.status) + 1,
  intent: INTENT.indexOf(r.intent) + 1,
  ringVersion: r.ringVersion,
  ringChecksum: r.ringChecksum,
  donePlanId: r.donePlanId,
  donePartitions: r.donePartitions,
});

// Zones go on the wire only when some member names one: a zone-less ring state encodes to the same bytes as before zones existed.
const ringOut = (s: RingStateRecord): Obj => ({
  ...s,
  zones: s.zones.some((z) => z !== '') ? s.zones : [],
  moving: s.moving.map((m) => ({ ...m })),
  departed: s.departed.map((d) => ({ ...d })),
});

function bodyOut(p: MembershipPacket): Obj {
  switch (p.type) {
    case 'ping':
      return { seq: p.seq, target: p.target };
    case 'ack':
    case 'nack':
      return { seq: p.seq };
    case 'ping-req':
      return { seq: p.seq, target: p.target, targetAddress: p.targetAddress };
    case 'gossip-syn':
      return {
        partitionCount: p.partitionCount,
        replicas: p.replicas,
        tableChecksum: p.tableChecksum,
        digest: p.digest.map((d) => ({ ...d, status: STATUS.indexOf(d.status) + 1 })),
        ...(p.ring === undefined ? {} : { ring: { ...p.ring } }),
      };
    case 'gossip-ack':
      return {
        records: p.records.map(recordOut),
        requests: p.requests,
        ...(p.ring === undefined ? {} : { ring: ringOut(p.ring) }),
        wantRing: p.wantRing,
      };
    case 'gossip-ack2':
      return { records: p.records.map(recordOut), ...(p.ring === undefined ? {} : { ring: ringOut(p.ring) }) };
    case 'remove-request':
      return { node: p.node };
  }
}

/** A membership packet as MembershipPacket bytes. */
export function encodeMembershipPacket(p: MembershipPacket): Uint8Array {
  const message = PacketType.fromObject({
    from: p.from,
    fromAddress: p.fromAddress,
    piggyback: p.piggyback.map((b) => ({ record: recordOut(b.record), origin: b.origin })),
    [BODY_OF_TYPE[p.type]]: bodyOut(p),
  });
  return PacketType.encode(message).finish();
}

/** A ring state as RingState bytes (wire and disk). */
export function encodeRingState(s: RingStateRecord): Uint8Array {
  return RingStateType.encode(RingStateType.fromObject(ringOut(s))).finish();
}

// --- from the wire --------------------------------------------------------

const str = (o: Obj, k: string): string => {
  const v = o[k];
  if (typeof v !== 'string') throw bad(`${k} is not a string`);
  return v;
};
const num = (o: Obj, k: string): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${k} is not a non-negative integer`);
  return v;
};
const nonEmpty = (o: Obj, k: string): string => {
  const v = str(o, k);
  if (v.length === 0) throw bad(`${k} is empty`);
  return v;
};
const list = (o: Obj, k: string): unknown[] => {
  const v = o[k];
  if (!Array.isArray(v)) throw bad(`${k} is not a list`);
  return v;
};
const strings = (o: Obj, k: string): string[] => list(o, k).map((v) => {
  if (typeof v !== 'string') throw bad(`${k} holds a non-string`);
  return v;
});
const enumOf = <T>(values: readonly T[], o: Obj, k: string): T => {
  const n = num(o, k);
  const v = values[n - 1];
  if (v === undefined) throw bad(`${k} ${n} is not a known value`);
  return v;
};
const sub = (o: Obj, k: string): Obj | undefined => {
  const v = o[k];
  return v === null || v === undefined ? undefined : (v as Obj);
};

function recordIn(o: Obj): MemberRecord {
  const generation = num(o, 'generation');
  if (generation < 1) throw bad('generation is 0');
  return {
    id: nonEmpty(o, 'id'),
    address: nonEmpty(o, 'address'),
    zone: str(o, 'zone'),
    generation,
    incarnation: num(o, 'incarnation'),
    status: enumOf(STATUS, o, 'status'),
    intent: enumOf(INTENT, o, 'intent'),
    ringVersion: num(o, 'ringVersion'),
    ringChecksum: num(o, 'ringChecksum'),
    donePlanId: num(o, 'donePlanId'),
    donePartitions: list(o, 'donePartitions').map((v) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad('donePartitions holds a bad partition');
      return v;
    }),
  };
}

function summaryIn(o: Obj): RingSummary {
  return { version: num(o, 'version'), claimant: str(o, 'claimant'), checksum: num(o, 'checksum') };
}

/** Zones of a ring state: none at all (a state written before zones existed) means no member names one. */
function zonesIn(o: Obj): string[] {
  const members = strings(o, 'members');
  const zones = strings(o, 'zones');
  if (zones.length === 0) return members.map(() => '');
  if (zones.length !== members.length) throw bad(`ring names ${zones.length} zones for ${members.length} members`);
  return zones;
}

function ringIn(o: Obj): RingStateRecord {
  const moving: MovingPartition[] = list(o, 'moving').map((m) => ({ partition: num(m as Obj, 'partition'), holders: strings(m as Obj, 'holders') }));
  const departed: DepartedMember[] = list(o, 'departed').map((d) => {
    const status = str(d as Obj, 'status');
    if (status !== 'left' && status !== 'removed') throw bad(`departed status ${JSON.stringify(status)}`);
    return { id: nonEmpty(d as Obj, 'id'), generation: num(d as Obj, 'generation'), status, version: num(d as Obj, 'version') };
  });
  const state: RingStateRecord = {
    version: num(o, 'version'),
    claimant: str(o, 'claimant'),
    parentChecksum: num(o, 'parentChecksum'),
    planId: num(o, 'planId'),
    partitionCount: num(o, 'partitionCount'),
    replicas: num(o, 'replicas'),
    members: strings(o, 'members'),
    zones: zonesIn(o),
    previousMembers: strings(o, 'previousMembers'),
    owners: strings(o, 'owners'),
    moving,
    departed,
    checksum: num(o, 'checksum'),
  };
  if (state.version < 1 || state.partitionCount < 1 || state.replicas < 1) throw bad('ring version, partition count and replicas must be positive');
  if (state.owners.length !== state.partitionCount) throw bad(`ring names ${state.owners.length} owners for ${state.partitionCount} partitions`);
  const members = new Set(state.members);
  for (const owner of state.owners) if (!members.has(owner)) throw bad(`ring owner ${JSON.stringify(owner)} is not a member`);
  for (const m of moving) if (m.partition >= state.partitionCount) throw bad(`moving partition ${m.partition} is out of range`);
  return state;
}

function decodeWith(type: protobuf.Type, bytes: Uint8Array): Obj {
  try {
    return type.toObject(type.decode(bytes), TO_OBJECT) as Obj;
  } catch (e) {
    throw bad((e as Error).message);
  }
}

/** Inverse of encodeMembershipPacket; throws InvalidArgumentError on anything else. */
export function decodeMembershipPacket(bytes: Uint8Array): MembershipPacket {
  const o = decodeWith(PacketType, bytes);
  const which = o['body'];
  if (typeof which !== 'string' || !(which in TYPE_OF_BODY)) throw bad('no packet body');
  const b = o[which] as Obj;
  const head = {
    from: nonEmpty(o, 'from'),
    fromAddress: nonEmpty(o, 'fromAddress'),
    piggyback: list(o, 'piggyback').map((x): MemberBroadcast => {
      const r = sub(x as Obj, 'record');
      if (r === undefined) throw bad('piggyback without a record');
      return { record: recordIn(r), origin: str(x as Obj, 'origin') };
    }),
  };
  const ring = sub(b, 'ring');
  switch (TYPE_OF_BODY[which as (typeof BODIES)[number]]) {
    case 'ping':
      return { ...head, type: 'ping', seq: num(b, 'seq'), target: nonEmpty(b, 'target') };
    case 'ack':
      return { ...head, type: 'ack', seq: num(b, 'seq') };
    case 'nack':
      return { ...head, type: 'nack', seq: num(b, 'seq') };
    case 'ping-req':
      return { ...head, type: 'ping-req', seq: num(b, 'seq'), target: nonEmpty(b, 'target'), targetAddress: nonEmpty(b, 'targetAddress') };
    case 'gossip-syn':
      return {
        ...head,
        type: 'gossip-syn',
        partitionCount: num(b, 'partitionCount'),
        replicas: num(b, 'replicas'),
        tableChecksum: num(b, 'tableChecksum'),
        digest: list(b, 'digest').map((d): MemberDigest => ({
          id: nonEmpty(d as Obj, 'id'),
          generation: num(d as Obj, 'generation'),
          incarnation: num(d as Obj, 'incarnation'),
          status: enumOf(STATUS, d as Obj, 'status'),
        })),
        ring: ring === undefined ? undefined : summaryIn(ring),
      };
    case 'gossip-ack':
      return {
        ...head,
        type: 'gossip-ack',
        records: list(b, 'records').map((r) => recordIn(r as Obj)),
        requests: strings(b, 'requests'),
        ring: ring === undefined ? undefined : ringIn(ring),
        wantRing: b['wantRing'] === true,
      };
    case 'gossip-ack2':
      return { ...head, type: 'gossip-ack2', records: list(b, 'records').map((r) => recordIn(r as Obj)), ring: ring === undefined ? undefined : ringIn(ring) };
    case 'remove-request':
      return { ...head, type: 'remove-request', node: nonEmpty(b, 'node') };
  }
}

/** Inverse of encodeRingState; throws InvalidArgumentError on anything else. */
export function decodeRingState(bytes: Uint8Array): RingStateRecord {
  return ringIn(decodeWith(RingStateType, bytes));
}
