/**
 * Member state: the table of member records and the rules that merge them.
 *
 * A record about node X is written by X itself (address, zone, intent, ring
 * version held, transfer reports; every change bumps X's incarnation) and by
 * the failure detectors of other nodes, which may only raise `status` from
 * alive to suspect to dead at the incarnation they saw (SWIM). X refutes a
 * suspicion by publishing a higher incarnation. A restart mints a higher
 * generation, which overrides everything older (Cassandra's generation).
 *
 * Order (total, so merging is a join: commutative, associative, idempotent):
 *   generation, then incarnation, then status rank (alive < suspect < dead),
 *   then the canonical encoding of the whole record (only records that no
 *   correct node produces differ there).
 * The newer record wins; equal records are the same record.
 */
import type { LivenessStatus, MemberDigest, MemberRecord, NodeId } from '../protocol/index.ts';
import { murmur32 } from '../ring/index.ts';

const STATUS_RANK: Record<LivenessStatus, number> = { alive: 0, suspect: 1, dead: 2 };

/** Rank of a liveness status at one incarnation. */
export function statusRank(status: LivenessStatus): number {
  return STATUS_RANK[status];
}

/** Canonical text of a record: equal records encode equally; used for the last tie-break. */
export function encodeRecord(r: MemberRecord): string {
  return [
    r.id,
    r.address,
    r.zone,
    r.generation,
    r.incarnation,
    r.status,
    r.intent,
    r.ringVersion,
    r.ringChecksum,
    r.donePlanId,
    r.donePartitions.join(','),
  ].join('|');
}

/** Orders two (generation, incarnation, status) stamps: negative when `a` is older. */
export function compareStamps(a: MemberDigest, b: MemberDigest): number {
  return (
    a.generation - b.generation || a.incarnation - b.incarnation || statusRank(a.status) - statusRank(b.status)
  );
}

/** Orders two records about the same node: negative when `a` is older, 0 only when they are equal. */
export function compareRecords(a: MemberRecord, b: MemberRecord): number {
  if (a === b) return 0;
  const byStamp = compareStamps(a, b);
  if (byStamp !== 0 || sameContent(a, b)) return byStamp;
  const ea = encodeRecord(a);
  const eb = encodeRecord(b);
  return ea < eb ? -1 : ea > eb ? 1 : 0;
}

/** Fields beyond the stamp are equal (the common case: the same record heard again). */
function sameContent(a: MemberRecord, b: MemberRecord): boolean {
  return (
    a.id === b.id &&
    a.address === b.address &&
    a.zone === b.zone &&
    a.intent === b.intent &&
    a.ringVersion === b.ringVersion &&
    a.ringChecksum === b.ringChecksum &&
    a.donePlanId === b.donePlanId &&
    a.donePartitions.length === b.donePartitions.length &&
    a.donePartitions.every((p, i) => p === b.donePartitions[i])
  );
}

/** The newer of two records about the same node (the join of the order). */
export function mergeRecord(a: MemberRecord, b: MemberRecord): MemberRecord {
  return compareRecords(a, b) >= 0 ? a : b;
}

/** The digest entry of a record. */
export function digestOf(r: MemberRecord): MemberDigest {
  return { id: r.id, generation: r.generation, incarnation: r.incarnation, status: r.status };
}

/** Ascending by node id (code units); the one ordering every table listing uses. */
export function byId<T extends { readonly id: NodeId }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The merge of two tables as plain maps: per id, the newer record. A pure
 * join; MemberTable.apply adds the policies (ignore dead strangers, bound size).
 */
export function mergeTables(
  a: ReadonlyMap<NodeId, MemberRecord>,
  b: ReadonlyMap<NodeId, MemberRecord>,
): Map<NodeId, MemberRecord> {
  const out = new Map(a);
  for (const [id, record] of b) {
    const mine = out.get(id);
    out.set(id, mine === undefined ? record : mergeRecord(mine, record));
  }
  return out;
}

const utf8 = new TextEncoder();

/** uint32 over the sorted digests: two tables with equal stamps have equal checksums. */
export function digestChecksum(digest: readonly MemberDigest[]): number {
  const text = digest.map((d) => `${d.id}:${d.generation}:${d.incarnation}:${statusRank(d.status)}`).join(';');
  return murmur32(utf8.encode(text));
}

/** What applying one record did to the table. */
export type ApplyOutcome = 'added' | 'updated' | 'unchanged' | 'ignored';

/**
 * The member table of one node: records by id, with a cached sorted digest
 * and checksum. Holds at most `membersMax` records.
 */
export class MemberTable {
  readonly #records = new Map<NodeId, MemberRecord>();
  readonly #membersMax: number;
  #sorted: MemberRecord[] | undefined;
  #digest: MemberDigest[] | undefined;
  #checksum: number | undefined;

  constructor(membersMax: number) {
    this.#membersMax = membersMax;
  }

  get size(): number {
    return this.#records.size;
  }

  get(id: NodeId): MemberRecord | undefined {
    return this.#records.get(id);
  }

  has(id: NodeId): boolean {
    return this.#records.has(id);
  }

  /** Records sorted by id (cached; do not modify the array). */
  records(): readonly MemberRecord[] {
    this.#sorted ??= [...this.#records.values()].sort(byId);
    return this.#sorted;
  }

  ids(): NodeId[] {
    return [...this.#records.keys()].sort();
  }

  /**
   * Merge one record. A dead record about a node not in the table is ignored
   * unless `keepDead` (memberlist: a reaped node is not brought back by stale
   * gossip; ring nodes are kept), and so is a new node once the table is full.
   */
  apply(record: MemberRecord, keepDead = false): ApplyOutcome {
    const mine = this.#records.get(record.id);
    if (mine === undefined) {
      if ((record.status === 'dead' && !keepDead) || this.#records.size >= this.#membersMax) return 'ignored';
      this.#set(record);
      return 'added';
    }
    if (compareRecords(record, mine) <= 0) return 'unchanged';
    this.#set(record);
    return 'updated';
  }

  /** Replace a record unconditionally (this node's own record, or a status change it decided). */
  put(record: MemberRecord): void {
    this.#set(record);
  }

  /** Forget a node (reaped dead non-member, or a departed node). */
  delete(id: NodeId): void {
    if (this.#records.delete(id)) this.#invalidate();
  }

  /** Sorted digest of every record (cached). */
  digest(): MemberDigest[] {
    this.#digest ??= this.records().map(digestOf);
    return this.#digest;
  }

  /** Checksum of the digest (cached): equal on two nodes exactly when their stamps agree. */
  checksum(): number {
    this.#checksum ??= digestChecksum(this.digest());
    return this.#checksum;
  }

  #set(record: MemberRecord): void {
    this.#records.set(record.id, record);
    this.#invalidate();
  }

  #invalidate(): void {
    this.#sorted = undefined;
    this.#digest = undefined;
    this.#checksum = undefined;
  }
}
