/**
 * Ring changes: numbered ring versions decided by one node at a time, with
 * data moving before ownership switches (riak_core's claimant, plan/commit
 * and ownership handoff; Dynamo §4.9 "Adding/Removing Storage Nodes").
 *
 * Ring state (RingStateRecord). `members`/`owners` are the *target* ring.
 * Every partition has *holders*: the nodes that hold its data completely, in
 * preference order. A partition is *moving* while its holders differ from the
 * target's preference list; then reads go to the holders, writes to the
 * holders and the *gainers* (target replicas that are not holders yet), and
 * each gainer streams the partition from the holders. When every gainer has
 * reported the partition complete (transfer-complete, carried in the gainer's
 * own member record), the claimant commits a new version in which the
 * partition switches: holders := target preference list. Nodes no longer in
 * any holder set or in the target have `left`.
 *
 *   stable --plan (join/leave/remove)--> moving(p): reads=holders, writes=holders+gainers
 *   moving(p) --every gainer reported p done--> switched(p): reads=writes=target replicas
 *   switched(p), whole cluster holds that ring --> old holders release p's data
 *
 * Who decides: the claimant, the lowest-id target member this node does not
 * believe dead (riak_core picks the first valid member likewise), and only
 * while it believes a majority of the ring's nodes alive, so in a split at
 * most one side keeps changing the ring once the split is detected. Every commit is version + 1 of the state it
 * was derived from, names its claimant and its parent's checksum.
 *
 * How conflicts end: ring states are totally ordered by (version, then the
 * lower claimant id, then the higher checksum), and every node adopts a
 * state only if it orders above its own. Two claimants that believed
 * themselves alone (a split seen late, a stale view) may commit the same
 * version, but gossip carries both everywhere and every node keeps the same
 * winner, so there is one history after healing; the loser's plan is simply
 * replanned. Dropping data needs the whole ring to agree (release rule
 * above), so a losing branch never causes data to be deleted.
 *
 * Pure functions; the membership state machine calls them.
 */
import type { DepartedMember, MemberRecord, MovingPartition, NodeId, RingStateRecord, RingSummary } from '../protocol/index.ts';
import {
  claim,
  fallbackNodes,
  makeRing,
  murmur32,
  preferenceList,
  preferenceListWithFallbacks,
  type Fallback,
  type Ring,
} from '../ring/index.ts';
import { assert } from '../runtime/index.ts';

// ---------------------------------------------------------------------------
// Ordering

export function ringSummary(state: RingStateRecord): RingSummary {
  return { version: state.version, claimant: state.claimant, checksum: state.checksum };
}

/**
 * Total order of ring states: positive when `a` wins over `b`. Higher version
 * wins; at one version the lower claimant id (the rightful claimant under the
 * lowest-id rule) wins; then the higher checksum.
 */
export function compareRingStates(a: RingSummary, b: RingSummary): number {
  if (a.version !== b.version) return a.version - b.version;
  if (a.claimant !== b.claimant) return a.claimant < b.claimant ? 1 : -1;
  return a.checksum - b.checksum;
}

/** What a replica should do with a request stamped with the coordinator's ring. */
export type RingCheck = 'same' | 'sender-stale' | 'receiver-stale';

/**
 * Compare the ring a request was routed with to the receiver's. 'same': serve
 * it. 'sender-stale': the coordinator routed with an older (or losing) ring:
 * refuse with our ring so it refreshes and re-routes, never answer for the
 * wrong owners. 'receiver-stale': we are behind: fetch the newer ring first.
 */
export function checkRing(local: RingSummary | undefined, request: RingSummary): RingCheck {
  if (local === undefined) return 'receiver-stale';
  const order = compareRingStates(local, request);
  return order === 0 ? 'same' : order > 0 ? 'sender-stale' : 'receiver-stale';
}

// ---------------------------------------------------------------------------
// Construction

/** A ring state without its identity (version, claimant, parent, checksum); `planId` -1 means "planned by this commit". */
export type RingDraft = Omit<RingStateRecord, 'version' | 'claimant' | 'parentChecksum' | 'checksum'>;

const utf8 = new TextEncoder();

/** Canonical text of every field but the checksum. */
function encodeState(s: Omit<RingStateRecord, 'checksum'>): string {
  return [
    `v${s.version}`,
    `c${s.claimant}`,
    `p${s.parentChecksum}`,
    `plan${s.planId}`,
    `P${s.partitionCount}`,
    `N${s.replicas}`,
    `m${s.members.join(',')}`,
    // Zones only when some member names one, so zone-less states keep their checksums.
    ...(s.zones.some((z) => z !== '') ? [`z${s.zones.map((z) => JSON.stringify(z)).join(',')}`] : []),
    `pm${s.previousMembers.join(',')}`,
    `o${s.owners.join(',')}`,
    `mv${s.moving.map((m) => `${m.partition}:${m.holders.join(',')}`).join(';')}`,
    `d${s.departed.map((d) => `${d.id}:${d.generation}:${d.status}:${d.version}`).join(';')}`,
  ].join('|');
}

/** Seal a draft as version `version` committed by `claimant`. */
export function commitRing(draft: RingDraft, version: number, claimant: NodeId, parentChecksum: number): RingStateRecord {
  const body = {
    version,
    claimant,
    parentChecksum,
    planId: draft.planId === -1 ? version : draft.planId,
    partitionCount: draft.partitionCount,
    replicas: draft.replicas,
    members: Object.freeze([...draft.members]),
    zones: Object.freeze([...draft.zones]),
    previousMembers: Object.freeze([...draft.previousMembers]),
    owners: Object.freeze([...draft.owners]),
    moving: Object.freeze(draft.moving.map((m) => Object.freeze({ partition: m.partition, holders: Object.freeze([...m.holders]) }))),
    departed: Object.freeze(draft.departed.map((d) => Object.freeze({ ...d }))),
  };
  return Object.freeze({ ...body, checksum: murmur32(utf8.encode(encodeState(body))) });
}

/** The first ring of a new cluster: a fresh claim over `members` (in the zones `zoneOf` names), nothing moving. */
export function genesisRing(
  members: readonly NodeId[],
  claimant: NodeId,
  partitionCount: number,
  replicas: number,
  zoneOf: (id: NodeId) => string | undefined = () => '',
): RingStateRecord {
  const ring = claim(members, partitionCount, { replicas, zoneOf });
  return commitRing(
    { planId: -1, partitionCount, replicas, members: ring.members, zones: ring.zones, previousMembers: [], owners: ring.owners, moving: [], departed: [] },
    1,
    claimant,
    0,
  );
}

// ---------------------------------------------------------------------------
// Derived views (cached per state object)

interface Derived {
  readonly ring: Ring;
  readonly holders: ReadonlyArray<readonly NodeId[]>;
  readonly gainers: ReadonlyArray<readonly NodeId[]>;
  /** Target members plus every holder: the nodes that are part of the ring. */
  readonly nodes: ReadonlySet<NodeId>;
}

const derivedCache = new WeakMap<RingDraft, Derived>();

function derive(s: RingDraft): Derived {
  let d = derivedCache.get(s);
  if (d !== undefined) return d;
  const ring = makeRing(s.partitionCount, s.members, s.owners, s.zones);
  const moving = new Map(s.moving.map((m) => [m.partition, m.holders]));
  const holders: Array<readonly NodeId[]> = [];
  const gainers: Array<readonly NodeId[]> = [];
  const nodes = new Set<NodeId>(s.members);
  for (let p = 0; p < s.partitionCount; p++) {
    const target = preferenceList(ring, p, s.replicas);
    const held = moving.get(p);
    if (held === undefined) {
      holders.push(target);
      gainers.push([]);
    } else {
      holders.push(held);
      gainers.push(target.filter((id) => !held.includes(id)));
      for (const id of held) nodes.add(id);
    }
  }
  d = { ring, holders, gainers, nodes };
  derivedCache.set(s, d);
  return d;
}

/** The target ring of a state (members, owners). */
export function targetRing(s: RingDraft): Ring {
  return derive(s).ring;
}

/** Complete holders of `partition` in preference order: where reads go. */
export function holdersOf(s: RingDraft, partition: number): readonly NodeId[] {
  return derive(s).holders[partition] ?? [];
}

/** Target replicas of a moving partition that do not hold it yet (empty when not moving). */
export function gainersOf(s: RingDraft, partition: number): readonly NodeId[] {
  return derive(s).gainers[partition] ?? [];
}

/** Where a request for `partition` goes: reads to the holders, writes to holders and gainers. */
export interface Replicas {
  readonly reads: readonly NodeId[];
  readonly writes: readonly NodeId[];
}

export function replicasOf(s: RingDraft, partition: number): Replicas {
  const reads = holdersOf(s, partition);
  const gaining = gainersOf(s, partition);
  return { reads, writes: gaining.length === 0 ? reads : [...reads, ...gaining] };
}

/** Nodes that are part of the ring: target members and every holder. */
export function ringNodes(s: RingDraft): ReadonlySet<NodeId> {
  return derive(s).nodes;
}

/** Partitions held (completely) by `id`. */
export function partitionsHeld(s: RingDraft, id: NodeId): number[] {
  const out: number[] = [];
  derive(s).holders.forEach((h, p) => {
    if (h.includes(id)) out.push(p);
  });
  return out;
}

/** Partitions whose write set includes `id` (holder or gainer). */
export function partitionsWritten(s: RingDraft, id: NodeId): Set<number> {
  const d = derive(s);
  const out = new Set<number>();
  for (let p = 0; p < s.partitionCount; p++) {
    if ((d.holders[p] ?? []).includes(id) || (d.gainers[p] ?? []).includes(id)) out.add(p);
  }
  return out;
}

/** Liveness-aware placement of a partition that may be moving. */
export interface MovingPlacement {
  /** Holders: the replicas reads count on (the N primaries when not moving). */
  readonly primaries: readonly NodeId[];
  /** Gainers: receive writes too, not counted for reads. */
  readonly pending: readonly NodeId[];
  /** Stand-ins for down primaries, walking the target ring past primaries and gainers. */
  readonly fallbacks: readonly Fallback[];
}

/** preferenceListWithFallbacks generalised to a moving partition. */
export function placementOf(s: RingDraft, partition: number, isUp: (id: NodeId) => boolean): MovingPlacement {
  const ring = targetRing(s);
  const pending = gainersOf(s, partition);
  if (pending.length === 0) {
    const { primaries, fallbacks } = preferenceListWithFallbacks(ring, partition, s.replicas, isUp);
    return { primaries, pending, fallbacks };
  }
  const primaries = holdersOf(s, partition);
  const down = primaries.filter((id) => !isUp(id));
  const nodes = fallbackNodes(ring, partition, [...primaries, ...pending], down.length, isUp);
  return { primaries, pending, fallbacks: nodes.map((node, i) => ({ node, standsInFor: down[i] ?? '' })) };
}

/** A partition this node must receive under the current plan. */
export interface IncomingTransfer {
  readonly partition: number;
  readonly planId: number;
  /** Holders to stream from, in preference order. */
  readonly sources: readonly NodeId[];
}

export function incomingTransfers(s: RingStateRecord, id: NodeId): IncomingTransfer[] {
  return s.moving
    .filter((m) => gainersOf(s, m.partition).includes(id))
    .map((m) => ({ partition: m.partition, planId: s.planId, sources: m.holders }));
}

// ---------------------------------------------------------------------------
// Planning and switching (the claimant's decisions)

/** Changes the claimant folds into one plan. */
export interface RingChange {
  readonly joins: readonly NodeId[];
  readonly leaves: readonly NodeId[];
  readonly removes: readonly NodeId[];
  /** Zone of each joining node (its member record's); default none. Members already in the ring keep theirs. */
  readonly zoneOf?: (id: NodeId) => string | undefined;
}

/**
 * Plan a new target from `s` (Riak's plan): target members := members +
 * joins - leaves - removes, claimed incrementally from the current target
 * (minimal movement). Holders stay (minus removed nodes, whose data is
 * rebuilt from the surviving holders); partitions whose target replicas are
 * all holders switch at once, the others move. Undefined when the change
 * would leave the ring without members.
 */
export function planRing(s: RingDraft, change: RingChange): RingDraft | undefined {
  const drop = new Set([...change.leaves, ...change.removes]);
  const members = [...new Set([...s.members, ...change.joins])].filter((id) => !drop.has(id)).sort();
  if (members.length === 0) return undefined;
  const kept = new Map(s.members.map((id, i) => [id, s.zones[i] ?? '']));
  const zoneOf = (id: NodeId): string => kept.get(id) ?? change.zoneOf?.(id) ?? '';
  const target = claim(members, s.partitionCount, { previous: targetRing(s), replicas: s.replicas, zoneOf });
  const removed = new Set(change.removes);
  const moving: MovingPartition[] = [];
  for (let p = 0; p < s.partitionCount; p++) {
    const holders = holdersOf(s, p).filter((id) => !removed.has(id));
    const wanted = preferenceList(target, p, s.replicas);
    if (wanted.some((id) => !holders.includes(id))) moving.push({ partition: p, holders });
  }
  const joins = new Set(change.joins);
  return {
    ...s,
    planId: -1,
    members: target.members,
    zones: target.zones,
    previousMembers: s.members,
    owners: target.owners,
    moving,
    departed: s.departed.filter((d) => !joins.has(d.id)),
  };
}

/** Moving partitions every gainer of which reports complete for the current plan. */
export function completedPartitions(s: RingStateRecord, record: (id: NodeId) => MemberRecord | undefined): number[] {
  const done: number[] = [];
  for (const m of s.moving) {
    const gainers = gainersOf(s, m.partition);
    const all = gainers.every((id) => {
      const r = record(id);
      return r !== undefined && r.donePlanId === s.planId && r.donePartitions.includes(m.partition);
    });
    if (all) done.push(m.partition);
  }
  return done;
}

/** Switch `partitions` to their target replicas. */
export function switchPartitions(s: RingDraft, partitions: readonly number[]): RingDraft {
  if (partitions.length === 0) return s;
  const switched = new Set(partitions);
  return { ...s, moving: s.moving.filter((m) => !switched.has(m.partition)) };
}

/**
 * Record departures between `before` and `after`: nodes that were part of
 * the ring and no longer are become `removed` (if in `removes`) or `left`.
 * Keeps the `departedMax` most recent entries (by version, then id).
 */
export function recordDepartures(
  before: RingDraft,
  after: RingDraft,
  removes: readonly NodeId[],
  version: number,
  generationOf: (id: NodeId) => number,
  departedMax: number,
): RingDraft {
  const now = ringNodes(after);
  const gone = [...ringNodes(before)].filter((id) => !now.has(id)).sort();
  if (gone.length === 0) return after;
  const entries = new Map(after.departed.map((d) => [d.id, d]));
  for (const id of gone) {
    const status = removes.includes(id) ? 'removed' : 'left';
    entries.set(id, { id, generation: generationOf(id), status, version });
  }
  const departed = [...entries.values()]
    .sort((a, b) => b.version - a.version || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, departedMax)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { ...after, departed };
}

/** The departure record of `id`, if it left or was removed. */
export function departureOf(s: RingDraft, id: NodeId): DepartedMember | undefined {
  return s.departed.find((d) => d.id === id);
}

/**
 * The claimant as this node sees it: the lowest-id target member for which
 * `isAlive` holds (the state machine passes "not believed dead"), else the
 * lowest-id such ring node.
 */
export function electClaimant(s: RingDraft, isAlive: (id: NodeId) => boolean): NodeId | undefined {
  const first = s.members.find(isAlive);
  if (first !== undefined) return first;
  return [...ringNodes(s)].sort().find(isAlive);
}

/** Whether more than half of the ring's nodes (less those being removed) are believed alive. */
export function hasMajority(s: RingDraft, isAlive: (id: NodeId) => boolean, removing: readonly NodeId[]): boolean {
  const voters = [...ringNodes(s)].filter((id) => !removing.includes(id));
  return voters.filter(isAlive).length * 2 > voters.length;
}

/** What the claimant's tracker of staged joins/leaves remembers between ticks. */
export interface StagedChanges {
  /** Sorted joins and leaves seen last time, as one key. */
  readonly key: string;
  readonly sinceMs: number;
}

export interface ClaimantInput {
  readonly state: RingStateRecord;
  readonly self: NodeId;
  readonly nowMs: number;
  /** Every record of the claimant's member table. */
  readonly records: readonly MemberRecord[];
  readonly record: (id: NodeId) => MemberRecord | undefined;
  /** Believed alive (not suspect, not dead): counts toward the majority. */
  readonly isAlive: (id: NodeId) => boolean;
  /**
   * Not believed dead (alive or merely suspect): may be claimant. A suspicion
   * alone does not move the claimant role, so one slow probe does not create
   * a second claimant.
   */
  readonly isNotDead: (id: NodeId) => boolean;
  /** Nodes someone asked to remove. */
  readonly removeRequests: readonly NodeId[];
  /**
   * A ring node this node has no record of counts as dead for a remove
   * request. True once this node has run long enough that a live node's
   * record would have reached it (membership.ts): a node that died while
   * every other node restarted is known to none of them, so no detector
   * ever probes it or declares it dead, and its removal would wait forever.
   */
  readonly unheardIsDead: boolean;
  readonly staged: StagedChanges | undefined;
  readonly planSettleMs: number;
  readonly departedMax: number;
}

export interface ClaimantOutput {
  /** The new ring version, when this step committed one. */
  readonly next: RingStateRecord | undefined;
  readonly staged: StagedChanges | undefined;
  /** Remove requests settled (done, or refused: not part of the ring, or alive) with why; requests about suspects stay pending. */
  readonly settled: ReadonlyArray<{ readonly node: NodeId; readonly outcome: 'removed' | 'not-a-member' | 'alive' }>;
}

/** Nodes asking to join that may: alive, intent join, not part of the ring, not departed at this generation. */
export function eligibleJoiners(s: RingDraft, records: readonly MemberRecord[]): NodeId[] {
  const nodes = ringNodes(s);
  return records
    .filter((r) => r.status === 'alive' && r.intent === 'join' && !nodes.has(r.id))
    .filter((r) => {
      const gone = departureOf(s, r.id);
      return gone === undefined || gone.generation < r.generation;
    })
    .map((r) => r.id)
    .sort();
}

/** Target members asking to leave that are alive (a dead one is removed instead). */
export function eligibleLeavers(s: RingDraft, record: (id: NodeId) => MemberRecord | undefined): NodeId[] {
  return s.members.filter((id) => {
    const r = record(id);
    return r !== undefined && r.status === 'alive' && r.intent === 'leave';
  });
}

/**
 * One claimant decision, taken each gossip interval by the node that believes
 * itself claimant: switch completed partitions, remove dead nodes asked to
 * be removed (replanning at once), and, when nothing moves, plan the staged
 * joins and leaves once they have been stable for planSettleMs. At most one
 * new version per step.
 */
export function claimantStep(input: ClaimantInput): ClaimantOutput {
  const { state, self, isAlive } = input;
  const settled: Array<ClaimantOutput['settled'][number]> = [];
  if (electClaimant(state, input.isNotDead) !== self) return { next: undefined, staged: undefined, settled };

  const nodes = ringNodes(state);
  const removes: NodeId[] = [];
  for (const node of input.removeRequests) {
    const status = input.record(node)?.status;
    if (!nodes.has(node)) settled.push({ node, outcome: 'not-a-member' });
    else if (status === 'alive' || node === self) settled.push({ node, outcome: 'alive' });
    else if (status === 'dead' || (status === undefined && input.unheardIsDead)) removes.push(node);
    // suspect, or not heard of yet: keep the request until the detector decides
  }
  if (!hasMajority(state, isAlive, removes)) return { next: undefined, staged: input.staged, settled };

  let draft: RingDraft = switchPartitions(state, completedPartitions(state, input.record));
  let staged = input.staged;
  let planned = false;
  if (removes.length > 0) {
    const next = planRing(draft, { joins: [], leaves: [], removes });
    if (next !== undefined) {
      draft = next;
      planned = true;
      for (const node of removes) settled.push({ node, outcome: 'removed' });
    }
  } else if (draft.moving.length === 0) {
    const joins = eligibleJoiners(draft, input.records);
    const leaves = eligibleLeavers(draft, input.record);
    const key = `${joins.join(',')}/${leaves.join(',')}`;
    if (joins.length + leaves.length === 0) staged = undefined;
    else if (staged === undefined || staged.key !== key) staged = { key, sinceMs: input.nowMs };
    else if (input.nowMs - staged.sinceMs >= input.planSettleMs) {
      const next = planRing(draft, { joins, leaves, removes: [], zoneOf: (id) => input.record(id)?.zone });
      if (next !== undefined) {
        draft = next;
        planned = true;
        staged = undefined;
      }
    }
  }
  if (!planned && draft.moving.length === state.moving.length) return { next: undefined, staged, settled };
  const version = state.version + 1;
  const generationOf = (id: NodeId): number => input.record(id)?.generation ?? 0;
  draft = recordDepartures(state, draft, removes, version, generationOf, input.departedMax);
  const next = commitRing(draft, version, self, state.checksum);
  assert(compareRingStates(ringSummary(next), ringSummary(state)) > 0, 'a commit must order above its parent');
  return { next, staged, settled };
}

/** How a node takes part in the ring, as `dynamo status` shows it. */
export type Lifecycle = 'idle' | 'joining' | 'member' | 'leaving' | 'left' | 'removed';

/** The lifecycle of `id` given the ring state and its record (either may be missing). */
export function lifecycleOf(s: RingDraft | undefined, id: NodeId, record: MemberRecord | undefined): Lifecycle {
  if (s === undefined) return record?.intent === 'join' ? 'joining' : 'idle';
  const gone = departureOf(s, id);
  if (gone !== undefined && (record === undefined || record.generation <= gone.generation)) return gone.status;
  const inTarget = s.members.includes(id);
  if (inTarget) {
    const gaining = s.moving.some((m) => gainersOf(s, m.partition).includes(id));
    if (gaining && !s.previousMembers.includes(id)) return 'joining';
    return record?.intent === 'leave' ? 'leaving' : 'member';
  }
  if (ringNodes(s).has(id)) return 'leaving';
  return record?.intent === 'join' ? 'joining' : 'idle';
}
