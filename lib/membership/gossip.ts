/**
 * Gossip: periodic anti-entropy between two member tables (Cassandra's
 * Gossiper three-way exchange, Scuttlebutt-style digests; van Renesse et al.,
 * "Efficient Reconciliation and Flow Control for Anti-Entropy Protocols", 2008).
 *
 *   A -> B  syn   digest (id, generation, incarnation, status per member),
 *                 its checksum, and A's ring summary (version, claimant, checksum)
 *   B -> A  ack   B's records that are newer than A's digest or missing from it,
 *                 the ids whose A-records B wants, B's ring state if it wins
 *   A -> B  ack2  the records B asked for, A's ring state if B asked for it
 *
 * Only what differs travels after the digest; equal table checksums skip the
 * comparison and equal ring summaries send no ring. Every gossip interval a
 * node starts one round with a random up peer and, with Cassandra's
 * probabilities, one with a down node (so a healed split notices) and one
 * with a seed (so partitions with a seed on each side merge and newcomers are
 * found). Push-pull epidemics spread a change to all n nodes in O(log n)
 * rounds (Karp et al., "Randomized Rumor Spreading", FOCS 2000).
 *
 * Pure functions over a MemberTable and a ring state; the membership state
 * machine sends what they return and applies what arrives.
 */
import type {
  Address,
  GossipAck2Packet,
  GossipAckPacket,
  GossipSynPacket,
  MemberRecord,
  NodeId,
  RingStateRecord,
  RingSummary,
} from '../protocol/index.ts';
import type { Random } from '../runtime/index.ts';
import { compareStamps, type MemberTable } from './member-state.ts';
import { compareRingStates, ringNodes, ringSummary } from './ring-changes.ts';

/** Packet bodies without the envelope (sender, piggyback) the state machine adds. */
export type SynBody = Omit<GossipSynPacket, 'from' | 'fromAddress' | 'piggyback'>;
export type AckBody = Omit<GossipAckPacket, 'from' | 'fromAddress' | 'piggyback'>;
export type Ack2Body = Omit<GossipAck2Packet, 'from' | 'fromAddress' | 'piggyback'>;

/** Who a node gossips with this interval. */
export interface GossipPeers {
  /** Ids of up members (not self). */
  readonly up: readonly NodeId[];
  /** Ids of members believed down (dead), not departed. */
  readonly down: readonly NodeId[];
  /** Seed addresses (self's own address removed). */
  readonly seeds: readonly Address[];
  addressOf(id: NodeId): Address | undefined;
}

/**
 * Targets of one gossip interval (Cassandra's Gossiper.GossipTask):
 *  - one random up member;
 *  - one random down member with probability down / (up + 1);
 *  - one random seed when none was chosen above or there are fewer up members
 *    than seeds, with probability seeds / (up + down) (always when nobody is up).
 * Addresses are distinct; the result may be empty (no peers at all).
 */
export function selectGossipTargets(peers: GossipPeers, random: Random): Address[] {
  const out: Address[] = [];
  const add = (address: Address | undefined): void => {
    if (address !== undefined && !out.includes(address)) out.push(address);
  };
  let gossipedToSeed = false;
  if (peers.up.length > 0) {
    const address = peers.addressOf(peers.up[random.int(peers.up.length)] ?? '');
    add(address);
    gossipedToSeed = address !== undefined && peers.seeds.includes(address);
  }
  if (peers.down.length > 0 && random.float() < peers.down.length / (peers.up.length + 1)) {
    add(peers.addressOf(peers.down[random.int(peers.down.length)] ?? ''));
  }
  if (peers.seeds.length > 0 && (!gossipedToSeed || peers.up.length < peers.seeds.length)) {
    const known = peers.up.length + peers.down.length;
    if (peers.up.length === 0 || random.float() < peers.seeds.length / known) {
      add(peers.seeds[random.int(peers.seeds.length)]);
    }
  }
  return out;
}

/** Step 1: our digest and ring summary. */
export function buildSyn(table: MemberTable, ring: RingStateRecord | undefined, partitionCount: number, replicas: number): SynBody {
  return {
    type: 'gossip-syn',
    partitionCount,
    replicas,
    tableChecksum: table.checksum(),
    digest: table.digest(),
    ring: ring === undefined ? undefined : ringSummary(ring),
  };
}

/** Whether our ring state should replace the peer's (`theirs` undefined: they hold none). */
function ringWins(mine: RingStateRecord | undefined, theirs: RingSummary | undefined): boolean {
  if (mine === undefined) return false;
  return theirs === undefined || compareRingStates(ringSummary(mine), theirs) > 0;
}

/**
 * Step 2, at the syn's receiver: our records the sender lacks (newer than its
 * digest entry, or absent from it and alive or a ring node), the ids whose records we
 * lack, our ring if it wins. Both lists are bounded by `recordsMax`.
 */
export function answerSyn(table: MemberTable, ring: RingStateRecord | undefined, syn: SynBody, recordsMax: number): AckBody {
  const records: MemberRecord[] = [];
  const requests: NodeId[] = [];
  if (syn.tableChecksum !== table.checksum()) {
    const theirs = new Map(syn.digest.map((d) => [d.id, d]));
    const inRing = ring === undefined ? new Set<NodeId>() : ringNodes(ring);
    for (const mine of table.records()) {
      if (records.length >= recordsMax) break;
      const other = theirs.get(mine.id);
      // A dead stranger is news only if it is part of the ring (ring nodes are never forgotten).
      const news = other === undefined ? mine.status !== 'dead' || inRing.has(mine.id) : compareStamps(mine, other) > 0;
      if (news) records.push(mine);
    }
    for (const other of syn.digest) {
      if (requests.length >= recordsMax) break;
      const mine = table.get(other.id);
      if (mine === undefined ? other.status !== 'dead' : compareStamps(other, mine) > 0) requests.push(other.id);
    }
  }
  const wantRing = syn.ring !== undefined && (ring === undefined || compareRingStates(syn.ring, ringSummary(ring)) > 0);
  return { type: 'gossip-ack', records, requests, ring: ringWins(ring, syn.ring) ? ring : undefined, wantRing };
}

/** Step 3, at the syn's sender: the records asked for (bounded) and our ring if asked. */
export function answerAck(table: MemberTable, ring: RingStateRecord | undefined, ack: AckBody, recordsMax: number): Ack2Body | undefined {
  const records: MemberRecord[] = [];
  for (const id of ack.requests) {
    if (records.length >= recordsMax) break;
    const mine = table.get(id);
    if (mine !== undefined) records.push(mine);
  }
  const sendRing = ack.wantRing && ring !== undefined;
  if (records.length === 0 && !sendRing) return undefined;
  return { type: 'gossip-ack2', records, ring: sendRing ? ring : undefined };
}
