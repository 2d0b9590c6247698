/**
 * The Admin service's messages (admin.proto) to and from the protocol's
 * operator types (NodeStatus, RingStatus): the node's server encodes with
 * it, the SDK decodes with it, so both read one mapping. Message objects
 * are what protobufjs encodes, and what `Type.toObject(msg, { longs:
 * Number, defaults: true, arrays: true })` decodes: camelCase fields, enums
 * as numbers, uint64 as numbers.
 *
 * The enums (member state, transfer direction and state) are matched by
 * name against admin.proto when the codec is built (`MEMBER_STATE_UP` is
 * 'up'), so a value missing from the proto fails at start-up, never on the
 * wire.
 *
 * Nodes that predate gossip membership send none of the fields it added,
 * and they stay absent (undefined) here: a member's state arrives as
 * UNSPECIFIED, its optional numbers not at all, and `transfers` is reported
 * only when the node sends a ring version (or any transfer). An enum number
 * this build does not know (a newer node) reads as absent: the member's
 * state is left out, a transfer whose direction or state it cannot name is
 * dropped.
 */
import type protobuf from 'protobufjs';
import { assert } from '../runtime/index.ts';
import type {
  AntiEntropyStatus,
  MemberState,
  MemberStatus,
  NodeStatus,
  RepairStatus,
  RingStatus,
  SafetyCounters,
  TransferStatus,
} from '../protocol/index.ts';

/** admin.proto MemberStatus as a message object. Optional fields are absent (or null after toObject) when not sent. */
export interface MemberStatusMsg {
  id: string;
  address: string;
  reachable: boolean;
  partitionsOwned: number;
  self: boolean;
  /** MemberState number; 0 (UNSPECIFIED) from nodes that predate membership. */
  state?: number;
  ownershipPct?: number | null;
  partitionsHeld?: number | null;
  generation?: number | null;
  zone?: string | null;
  loadKeys?: number | null;
  loadBytes?: number | null;
}

/** admin.proto TransferStatus as a message object (enums as numbers). */
export interface TransferStatusMsg {
  partition: number;
  direction: number;
  peer: string;
  state: number;
  keys: number;
  bytes: number;
}

/** admin.proto RepairStatus as a message object (state as a number; optional partition absent or null when not sent). */
export interface RepairStatusMsg extends Omit<RepairStatus, 'state' | 'partition' | 'error'> {
  state: number;
  partition?: number | null;
  error: string;
}

/** admin.proto AntiEntropyStatus as a message object. */
export interface AntiEntropyStatusMsg extends Omit<AntiEntropyStatus, 'repair' | 'peers'> {
  peers: AntiEntropyStatus['peers'][number][];
  repair?: RepairStatusMsg | null;
}

/** admin.proto StatusResponse as a message object. */
export interface StatusResponseMsg {
  nodeId: string;
  members: MemberStatusMsg[];
  partitionCount: number;
  replicas: number;
  engine: string;
  ready: boolean;
  readRepairs: number;
  gets: number;
  puts: number;
  deletes: number;
  ringChecksum: number;
  partitionOwners: string[];
  /** Absent from nodes that predate it (proto3 message field). */
  safety?: SafetyCounters | null;
  ringVersion?: number | null;
  transfers?: TransferStatusMsg[];
  hints?: HintStatusMsg | null;
  /** Absent from nodes that predate anti-entropy. */
  antiEntropy?: AntiEntropyStatusMsg | null;
  /** Absent from nodes that predate digest reads. */
  digestMismatches?: number | null;
  /** Absent from nodes that predate the probe counts. */
  probes?: number | null;
  probesFailed?: number | null;
  /** Absent from nodes that predate record summaries. */
  summaryReads?: number | null;
  summaryFallbacks?: number | null;
}

/** admin.proto HintStatus (repeated field absent after toObject when empty). */
interface HintStatusMsg {
  enabled: boolean;
  stored: number;
  delivered: number;
  dropped: number;
  pending?: readonly { target: string; keys: number; bytes: number }[];
}

/** admin.proto RingResponse as a message object. */
export interface RingResponseMsg {
  nodeId: string;
  version: number;
  checksum: number;
  partitionCount: number;
  replicas: number;
  owners: readonly string[];
  replicaSets: readonly { nodes: readonly string[] }[];
  moving: readonly { partition: number; holders: readonly string[]; target: readonly string[] }[];
}

const MEMBER_STATES: readonly MemberState[] = ['up', 'down', 'joining', 'leaving'];
const DIRECTIONS: readonly TransferStatus['direction'][] = ['in', 'out'];
const TRANSFER_STATES: readonly TransferStatus['state'][] = ['waiting', 'streaming', 'done'];
const REPAIR_STATES: readonly RepairStatus['state'][] = ['running', 'done', 'failed'];

/** One proto enum against the protocol's names for it: `PREFIX_NAME` <-> 'name'. */
class EnumTable<T extends string> {
  readonly #numbers = new Map<T, number>();
  readonly #names = new Map<number, T>();

  constructor(root: protobuf.Root, enumName: string, prefix: string, names: readonly T[]) {
    const e = root.lookupEnum(`dynamo.v1.${enumName}`);
    for (const name of names) {
      const n = e.values[`${prefix}_${name.toUpperCase()}`];
      assert(n !== undefined && n !== 0, `admin.proto ${enumName} lacks ${prefix}_${name.toUpperCase()}`);
      this.#numbers.set(name, n);
      this.#names.set(n, name);
    }
  }

  /** The wire number of `name`; a name outside the table is a bug in the caller. */
  number(name: T): number {
    const n = this.#numbers.get(name);
    assert(n !== undefined, `not a valid value: ${String(name)}`);
    return n;
  }

  /** The name of wire number `n`; undefined for UNSPECIFIED and numbers this build does not know. */
  name(n: number | undefined): T | undefined {
    return n === undefined ? undefined : this.#names.get(n);
  }
}

/** `value` unless it was not sent (undefined, or null after toObject). */
const sent = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

/** `o` without the keys whose value is undefined (absent stays absent, so deep equality with the sender's object holds). */
function definedOnly<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
  return o;
}

/** Encodes and decodes the Admin service's status and ring messages; build one per loaded admin.proto. */
export class AdminCodec {
  readonly #memberState: EnumTable<MemberState>;
  readonly #direction: EnumTable<TransferStatus['direction']>;
  readonly #transferState: EnumTable<TransferStatus['state']>;
  readonly #repairState: EnumTable<RepairStatus['state']>;

  /** `root` must have admin.proto loaded. */
  constructor(root: protobuf.Root) {
    this.#memberState = new EnumTable(root, 'MemberState', 'MEMBER_STATE', MEMBER_STATES);
    this.#direction = new EnumTable(root, 'TransferDirection', 'TRANSFER_DIRECTION', DIRECTIONS);
    this.#transferState = new EnumTable(root, 'TransferState', 'TRANSFER_STATE', TRANSFER_STATES);
    this.#repairState = new EnumTable(root, 'RepairState', 'REPAIR_STATE', REPAIR_STATES);
  }

  /** The RepairStatus message of a repair. */
  repairMessage(r: RepairStatus): RepairStatusMsg {
    const { state, partition, error, ...counts } = r;
    return { ...counts, state: this.#repairState.number(state), ...(partition === undefined ? {} : { partition }), error: error ?? '' };
  }

  /** The RepairStatus a message stands for; undefined when its state is one this build cannot name. */
  repairStatus(m: RepairStatusMsg): RepairStatus | undefined {
    const state = this.#repairState.name(m.state);
    if (state === undefined) return undefined;
    return definedOnly({
      id: m.id,
      state,
      partition: sent(m.partition),
      partitionsTotal: m.partitionsTotal,
      partitionsDone: m.partitionsDone,
      exchanges: m.exchanges,
      skipped: m.skipped,
      keysPulled: m.keysPulled,
      keysPushed: m.keysPushed,
      bytesSent: m.bytesSent,
      bytesReceived: m.bytesReceived,
      startedAtMs: m.startedAtMs,
      elapsedMs: m.elapsedMs,
      error: m.error === '' ? undefined : m.error,
    });
  }

  /** The StatusResponse for a node's status (undefined optional fields are left out of the message). */
  statusMessage(s: NodeStatus): StatusResponseMsg {
    return {
      ...s,
      members: s.members.map((m) => ({ ...m, state: m.state === undefined ? 0 : this.#memberState.number(m.state) })),
      partitionOwners: [...s.partitionOwners],
      transfers: (s.transfers ?? []).map((t) => ({ ...t, direction: this.#direction.number(t.direction), state: this.#transferState.number(t.state) })),
      antiEntropy: s.antiEntropy === undefined ? undefined : this.#antiEntropyMessage(s.antiEntropy),
    };
  }

  #antiEntropyMessage(a: AntiEntropyStatus): AntiEntropyStatusMsg {
    const { repair, peers, ...rest } = a;
    return { ...rest, peers: peers.map((p) => ({ ...p })), ...(repair === undefined ? {} : { repair: this.repairMessage(repair) }) };
  }

  #antiEntropy(m: AntiEntropyStatusMsg): AntiEntropyStatus {
    const repair = sent(m.repair);
    return definedOnly({
      enabled: m.enabled,
      partitions: m.partitions,
      treesReady: m.treesReady,
      treesBuilding: m.treesBuilding,
      exchanges: m.exchanges,
      cycles: m.cycles,
      lastCycleMs: m.lastCycleMs,
      lastFullExchangeAtMs: m.lastFullExchangeAtMs,
      keysPulled: m.keysPulled,
      keysPushed: m.keysPushed,
      bytesSent: m.bytesSent,
      bytesReceived: m.bytesReceived,
      tombstonesPurged: m.tombstonesPurged,
      exchangesSlowed: m.exchangesSlowed ?? 0,
      peers: (m.peers ?? []).map((p) => ({ ...p })),
      repair: repair === undefined ? undefined : this.repairStatus(repair),
    });
  }

  /** The NodeStatus a StatusResponse stands for; what the node did not send stays undefined. */
  nodeStatus(s: StatusResponseMsg): NodeStatus {
    const ringVersion = sent(s.ringVersion);
    const transfers = (s.transfers ?? []).flatMap((t) => {
      const transfer = this.#transfer(t);
      return transfer === undefined ? [] : [transfer];
    });
    const safety = sent(s.safety);
    const hints = sent(s.hints);
    const antiEntropy = sent(s.antiEntropy);
    return definedOnly({
      nodeId: s.nodeId,
      members: s.members.map((m) => this.#member(m)),
      partitionCount: s.partitionCount,
      replicas: s.replicas,
      engine: s.engine,
      ready: s.ready,
      readRepairs: s.readRepairs,
      gets: s.gets,
      puts: s.puts,
      deletes: s.deletes,
      ringChecksum: s.ringChecksum,
      partitionOwners: s.partitionOwners ?? [],
      safety: safety === undefined ? undefined : { ...safety },
      ringVersion,
      // A node that reports a ring version reports every transfer: none is an empty list, not "unknown".
      transfers: ringVersion === undefined && transfers.length === 0 ? undefined : transfers,
      hints:
        hints === undefined
          ? undefined
          : { enabled: hints.enabled, stored: hints.stored, delivered: hints.delivered, dropped: hints.dropped, pending: (hints.pending ?? []).map((p) => ({ ...p })) },
      antiEntropy: antiEntropy === undefined ? undefined : this.#antiEntropy(antiEntropy),
      digestMismatches: sent(s.digestMismatches),
      probes: sent(s.probes),
      probesFailed: sent(s.probesFailed),
      summaryReads: sent(s.summaryReads),
      summaryFallbacks: sent(s.summaryFallbacks),
    });
  }

  /** The RingResponse for a node's ring. */
  ringMessage(r: RingStatus): RingResponseMsg {
    return { ...r, replicaSets: r.replicaSets.map((nodes) => ({ nodes })) };
  }

  /** The RingStatus a RingResponse stands for. */
  ringStatus(r: RingResponseMsg): RingStatus {
    return {
      nodeId: r.nodeId,
      version: r.version,
      checksum: r.checksum,
      partitionCount: r.partitionCount,
      replicas: r.replicas,
      owners: r.owners ?? [],
      replicaSets: (r.replicaSets ?? []).map((s) => s.nodes ?? []),
      moving: (r.moving ?? []).map((m) => ({ partition: m.partition, holders: m.holders ?? [], target: m.target ?? [] })),
    };
  }

  #member(m: MemberStatusMsg): MemberStatus {
    return definedOnly({
      id: m.id,
      address: m.address,
      reachable: m.reachable,
      partitionsOwned: m.partitionsOwned,
      self: m.self,
      state: this.#memberState.name(m.state),
      ownershipPct: sent(m.ownershipPct),
      partitionsHeld: sent(m.partitionsHeld),
      generation: sent(m.generation),
      zone: sent(m.zone),
      loadKeys: sent(m.loadKeys),
      loadBytes: sent(m.loadBytes),
    });
  }

  #transfer(t: TransferStatusMsg): TransferStatus | undefined {
    const direction = this.#direction.name(t.direction);
    const state = this.#transferState.name(t.state);
    if (direction === undefined || state === undefined) return undefined;
    return { partition: t.partition, direction, peer: t.peer, state, keys: t.keys, bytes: t.bytes };
  }
}
