/**
 * Membership wire types: the gossiped member record and ring state, and the
 * one-way packets of the SWIM failure detector and the digest gossip
 * (lib/membership). Plain data, no logic. Every packet is best-effort: it may
 * be lost, duplicated or reordered, and receivers treat it as immutable.
 * The protobuf form (peer.proto) mirrors these fields when the node wires
 * membership in; field order here is the intended append-only order.
 */
import type { Address, NodeId } from './ids.ts';

/**
 * What the cluster believes about a node's liveness (SWIM states). At one
 * (generation, incarnation) they rank alive < suspect < dead, so a suspicion
 * overrides an alive claim and only the node itself can override it, by
 * publishing a higher incarnation.
 */
export type LivenessStatus = 'alive' | 'suspect' | 'dead';

/** What a node asks of the ring: nothing, to be added, or to be decommissioned. Owned by the node itself. */
export type MemberIntent = 'none' | 'join' | 'leave';

/**
 * One node's entry in the member table. Owned by that node (every field but
 * `status` changes only with a higher incarnation or generation minted by the
 * node itself); other nodes change only `status` (suspect, dead) at the
 * incarnation they saw. Records are ordered by (generation, incarnation,
 * status rank) with a canonical tie-break (lib/membership/member-state.ts).
 */
export interface MemberRecord {
  readonly id: NodeId;
  readonly address: Address;
  /** Failure domain (rack / availability zone); '' when unset. The claimant copies it into the ring when the node joins. */
  readonly zone: string;
  /** Bumped at each start of the node (persisted by the driver); a newer generation overrides everything older. */
  readonly generation: number;
  /** SWIM incarnation within a generation: bumped by the node to refute a suspicion or publish a change of its own fields. */
  readonly incarnation: number;
  readonly status: LivenessStatus;
  readonly intent: MemberIntent;
  /** The ring state (version, checksum) this node holds. */
  readonly ringVersion: number;
  readonly ringChecksum: number;
  /** Plan (ring planId) that `donePartitions` refers to; 0 when none. */
  readonly donePlanId: number;
  /** Partitions of plan `donePlanId` this node has fully received (transfer complete), ascending. */
  readonly donePartitions: readonly number[];
}

/** A digest entry: enough to tell which of two records is newer without sending the record. */
export interface MemberDigest {
  readonly id: NodeId;
  readonly generation: number;
  readonly incarnation: number;
  readonly status: LivenessStatus;
}

/** A partition whose complete replicas (holders) differ from the target ring's preference list: data is moving. */
export interface MovingPartition {
  readonly partition: number;
  /** Nodes that hold the partition's data completely, in preference order; reads go here until the switch. */
  readonly holders: readonly NodeId[];
}

/** A node that is no longer part of the ring. */
export interface DepartedMember {
  readonly id: NodeId;
  /** Generation of the node when it departed; a later generation may join again. */
  readonly generation: number;
  readonly status: 'left' | 'removed';
  /** Ring version that recorded the departure. */
  readonly version: number;
}

/**
 * The ring as the claimant committed it (Riak's ring with its `next` list).
 * `members`/`owners` are the target ring; partitions listed in `moving` are
 * still read from their old holders while the new ones receive the data.
 * Immutable; a new version is a new object.
 */
export interface RingStateRecord {
  /** 1 for the first ring, +1 per commit. */
  readonly version: number;
  /** The node that committed this version. */
  readonly claimant: NodeId;
  /** Checksum of the state this one was derived from (0 for the first ring): the history chain. */
  readonly parentChecksum: number;
  /** Version at which the current target was planned; transfer reports name it. */
  readonly planId: number;
  readonly partitionCount: number;
  readonly replicas: number;
  /** Target ring members, sorted. */
  readonly members: readonly NodeId[];
  /**
   * Failure domain of each target member (parallel to `members`; '' when it
   * names none), as its record said when the member entered the ring. The
   * ring's preference lists depend on them (lib/ring/ring.ts), so they are
   * part of the state and change only with a new plan.
   */
  readonly zones: readonly string[];
  /** Members of the target before this plan (to tell joining from member), sorted. */
  readonly previousMembers: readonly NodeId[];
  /** Target owner of each partition. */
  readonly owners: readonly NodeId[];
  /** Partitions still moving, ascending by partition. */
  readonly moving: readonly MovingPartition[];
  /** Left and removed nodes, sorted by id (bounded). */
  readonly departed: readonly DepartedMember[];
  /** uint32 over every field above. */
  readonly checksum: number;
}

/** Enough of a ring state to order it against another (see compareRingStates). */
export interface RingSummary {
  readonly version: number;
  readonly claimant: NodeId;
  readonly checksum: number;
}

/** A member record carried on another message (SWIM piggyback), with the node whose action produced it. */
export interface MemberBroadcast {
  readonly record: MemberRecord;
  /** The node that made this change (for a suspicion: the suspecting node, counted as a confirmation). */
  readonly origin: NodeId;
}

interface PacketBase {
  readonly from: NodeId;
  readonly fromAddress: Address;
  /** Recent member changes, bounded by the sender's piggybackCountMax. */
  readonly piggyback: readonly MemberBroadcast[];
}

/** SWIM direct probe. `target` names the node meant, so a reused address answers nothing. */
export interface PingPacket extends PacketBase {
  readonly type: 'ping';
  readonly seq: number;
  readonly target: NodeId;
}

/** Answer to a ping (or to a ping-req, relayed by the helper with the requester's seq). */
export interface AckPacket extends PacketBase {
  readonly type: 'ack';
  readonly seq: number;
}

/** Lifeguard: a helper could not reach the target of a ping-req in time. */
export interface NackPacket extends PacketBase {
  readonly type: 'nack';
  readonly seq: number;
}

/** SWIM indirect probe: ask the receiver to ping `target` and relay the ack. */
export interface PingReqPacket extends PacketBase {
  readonly type: 'ping-req';
  readonly seq: number;
  readonly target: NodeId;
  readonly targetAddress: Address;
}

/** Gossip round, step 1: the sender's digest and ring summary. */
export interface GossipSynPacket extends PacketBase {
  readonly type: 'gossip-syn';
  /** Ring configuration; a peer with another one is not gossiped with. */
  readonly partitionCount: number;
  readonly replicas: number;
  /** Checksum of the digest below; equal checksums mean equal tables. */
  readonly tableChecksum: number;
  readonly digest: readonly MemberDigest[];
  /** Undefined when the sender holds no ring yet. */
  readonly ring: RingSummary | undefined;
}

/** Gossip round, step 2: records the syn's sender lacks, ids the receiver wants, and its ring if newer. */
export interface GossipAckPacket extends PacketBase {
  readonly type: 'gossip-ack';
  readonly records: readonly MemberRecord[];
  readonly requests: readonly NodeId[];
  readonly ring: RingStateRecord | undefined;
  /** The syn's sender holds a newer ring: send it in step 3. */
  readonly wantRing: boolean;
}

/** Gossip round, step 3: the requested records (and ring). */
export interface GossipAck2Packet extends PacketBase {
  readonly type: 'gossip-ack2';
  readonly records: readonly MemberRecord[];
  readonly ring: RingStateRecord | undefined;
}

/** Ask the claimant to remove a dead node from the ring (`dynamo remove`); resent until done. */
export interface RemoveRequestPacket extends PacketBase {
  readonly type: 'remove-request';
  readonly node: NodeId;
}

export type MembershipPacket =
  | PingPacket
  | AckPacket
  | NackPacket
  | PingReqPacket
  | GossipSynPacket
  | GossipAckPacket
  | GossipAck2Packet
  | RemoveRequestPacket;
