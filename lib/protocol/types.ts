import type { Address, NodeId } from './ids.ts';
import type { MembershipPacket } from './membership.ts';

export type { Address, NodeId } from './ids.ts';

/** A cluster member as configuration knows it. */
export interface Member {
  readonly id: NodeId;
  readonly address: Address;
}

/** Consistency level names as the API uses them (the proto enum without its prefix). */
export type Consistency = 'ONE' | 'TWO' | 'THREE' | 'QUORUM' | 'ALL' | 'ANY';

/**
 * What replication learns about liveness. `node` wires it to whatever knows
 * (today: transport connection state; later: SWIM membership), so replication
 * never imports membership code.
 */
export interface LivenessView {
  isUp(node: NodeId): boolean;
}

// ---------------------------------------------------------------------------
// Client-facing operations (the KV service), independent of gRPC.

export interface GetCommand {
  readonly key: Uint8Array;
  /** Undefined means "the node's default". */
  readonly consistency?: Consistency;
  /** Time left for the whole operation, already capped by the client's deadline. */
  readonly timeoutMs: number;
  /**
   * Only the key's primary replicas count toward the level (Riak's pr/pw):
   * no fallback stands in for a replica that is down. Default false (sloppy
   * quorum with hinted handoff).
   */
  readonly strict?: boolean;
}

export interface GetResult {
  /** Live siblings (tombstones removed); empty means not found. */
  readonly values: Uint8Array[];
  /** Opaque causal context covering every version seen, tombstones included. Empty when nothing was ever stored. */
  readonly context: Uint8Array;
}

export interface PutCommand {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Opaque context from an earlier get/put; empty = "I have seen nothing" (makes a sibling). */
  readonly context: Uint8Array;
  readonly consistency?: Consistency;
  readonly timeoutMs: number;
  /**
   * Only the key's primary replicas count toward the level (Riak's pr/pw):
   * no fallback stands in for a replica that is down. Default false (sloppy
   * quorum with hinted handoff).
   */
  readonly strict?: boolean;
}

export interface PutResult {
  /** Context of the object after this write, usable for the next put. */
  readonly context: Uint8Array;
}

export interface DeleteCommand {
  readonly key: Uint8Array;
  readonly context: Uint8Array;
  readonly consistency?: Consistency;
  readonly timeoutMs: number;
  /**
   * Only the key's primary replicas count toward the level (Riak's pr/pw):
   * no fallback stands in for a replica that is down. Default false (sloppy
   * quorum with hinted handoff).
   */
  readonly strict?: boolean;
}

/**
 * The KV service as the node implements it. Methods reject only with
 * DynamoError subclasses (InvalidArgumentError, UnavailableError,
 * TimeoutError, LimitExceededError, ...); the gRPC edge maps them to status codes.
 */
export interface KvHandler {
  get(cmd: GetCommand): Promise<GetResult>;
  put(cmd: PutCommand): Promise<PutResult>;
  delete(cmd: DeleteCommand): Promise<PutResult>;
}

// ---------------------------------------------------------------------------
// Node-to-node protocol. Requests and replies travel in batches over one
// long-lived stream per peer pair (see protos/dynamo/v1/peer.proto).

/** Ask a peer who it is and how its ring is configured (static membership bootstrap). */
export interface IdentifyRequest {
  readonly type: 'identify';
}
export interface IdentifyReply {
  readonly type: 'identify';
  readonly nodeId: NodeId;
  readonly partitionCount: number;
  readonly replicas: number;
}

/** Read the replica's stored record for a key. */
export interface ReadRequest {
  readonly type: 'read';
  readonly key: Uint8Array;
  /** Ring version the coordinator routed by (absent or 0: none); see peer.proto. */
  readonly ringVersion?: number;
  /** Asked as a fallback: answer from the hints held for the key, not from this node's own data. */
  readonly hinted?: boolean;
  /** Answer with the version digest of the copy instead of its bytes (a digest read; never with `hinted`). */
  readonly digestOnly?: boolean;
}
export interface ReadReply {
  readonly type: 'read';
  /** Encoded stored object (storage record codec); undefined when the replica has nothing, or for a digest read. */
  readonly record: Uint8Array | undefined;
  /** Answer to a digest read: the copy's version digest (a uint64; 0 when it has nothing). */
  readonly digest?: bigint;
}

/** Merge an object into the replica's copy (replication fan-out and read repair). */
export interface WriteRequest {
  readonly type: 'write';
  readonly key: Uint8Array;
  /** Encoded stored object (storage record codec). */
  readonly record: Uint8Array;
  /** Ring version the coordinator routed by (absent or 0: none). */
  readonly ringVersion?: number;
  /** Stored as a hint for this node (a primary believed down), not as this node's data; absent for a replica's own copy. */
  readonly hintFor?: NodeId;
}
export interface WriteReply {
  readonly type: 'write';
}

/**
 * Coordinate a client write on this node, which is a replica of the key.
 * Sent by a node that received a put/delete for a key it does not replicate:
 * only a replica may mint the new version (it owns an actor in the clock).
 */
export interface CoordinateRequest {
  readonly type: 'coordinate';
  readonly key: Uint8Array;
  /** Undefined for a delete (a tombstone is written). */
  readonly value: Uint8Array | undefined;
  readonly context: Uint8Array;
  readonly consistency: Consistency | undefined;
  /** Ring version the forwarding node routed by (absent or 0: none). */
  readonly ringVersion?: number;
  /** The client's strict flag (PutCommand.strict). */
  readonly strict?: boolean;
}
export interface CoordinateReply {
  readonly type: 'coordinate';
  readonly context: Uint8Array;
}

/** A membership packet for the receiver's membership state machine (best-effort: loss is tolerated). */
export interface MembershipRequest {
  readonly type: 'membership';
  readonly packet: MembershipPacket;
}
/** Receipt only: the protocol's answers travel as packets of their own. */
export interface MembershipReply {
  readonly type: 'membership';
}

/** The next chunk of a partition the sender streams in from this node (join, decommission, remove). */
export interface TransferRequest {
  readonly type: 'transfer';
  readonly partition: number;
  /** The ring plan the transfer belongs to. */
  readonly planId: number;
  /** Continue after this key; undefined: from the partition's first key. */
  readonly afterKey: Uint8Array | undefined;
  /** Soft bound of the chunk's bytes (at least one record is returned when any is left). */
  readonly bytesMax: number;
}
export interface TransferReply {
  readonly type: 'transfer';
  /** In ascending key order: each key with its stored record bytes. */
  readonly records: readonly { readonly key: Uint8Array; readonly record: Uint8Array }[];
  /** No record follows the last one returned. */
  readonly done: boolean;
}

/** A key and its stored record bytes (transfer chunks, anti-entropy fetch and push). */
export interface KeyRecord {
  readonly key: Uint8Array;
  readonly record: Uint8Array;
}

/**
 * One call of an anti-entropy exchange on the receiver's replica of a
 * partition (lib/antientropy TreePort: root, segment hashes, (key, digest)
 * listings, records to fetch, records to merge).
 */
export type TreeCall =
  | { readonly op: 'root' }
  | { readonly op: 'segments'; readonly level: number; readonly indices: readonly number[] }
  | { readonly op: 'keys-in'; readonly segments: readonly number[] }
  | { readonly op: 'fetch'; readonly keys: readonly Uint8Array[] }
  | { readonly op: 'push'; readonly records: readonly KeyRecord[] };

/** The answer to a TreeCall of the same op (hashes and digests are uint64). */
export type TreeAnswer =
  | { readonly op: 'root'; readonly fanOut: number; readonly depth: number; readonly hash: bigint }
  | { readonly op: 'segments'; readonly hashes: readonly bigint[] }
  | { readonly op: 'keys-in'; readonly entries: readonly { readonly key: Uint8Array; readonly digest: bigint }[] }
  | { readonly op: 'fetch'; readonly records: readonly KeyRecord[] }
  | { readonly op: 'push' };

/** A call of an exchange `from` runs with this node over `partition`, under ring version `ringVersion`. */
export interface TreeRequest {
  readonly type: 'tree';
  /** The node running the exchange; the receiver serves only a replica of the partition. */
  readonly from: NodeId;
  readonly partition: number;
  /** The ring version the exchange runs under (0: none); the receiver refuses another. */
  readonly ringVersion: number;
  readonly call: TreeCall;
}
export interface TreeReply {
  readonly type: 'tree';
  readonly answer: TreeAnswer;
}

export type PeerRequest = IdentifyRequest | ReadRequest | WriteRequest | CoordinateRequest | MembershipRequest | TransferRequest | TreeRequest;
export type PeerReply = IdentifyReply | ReadReply | WriteReply | CoordinateReply | MembershipReply | TransferReply | TreeReply;

/** The reply type that answers request type T. */
export type ReplyFor<T extends PeerRequest['type']> = Extract<PeerReply, { type: T }>;

/**
 * Serves requests arriving from peers. `timeoutMs` is what the sender has left.
 * Rejections must be DynamoError subclasses; they travel back with their code.
 */
export type PeerHandler = (req: PeerRequest, timeoutMs: number) => Promise<PeerReply>;

// ---------------------------------------------------------------------------
// Operator view (Admin service).

/** A member's state as `dynamo status` shows it (exactly one). */
export type MemberState = 'up' | 'down' | 'joining' | 'leaving';

export interface MemberStatus {
  readonly id: NodeId;
  readonly address: Address;
  readonly reachable: boolean;
  readonly partitionsOwned: number;
  readonly self: boolean;
  /**
   * up: a ring member believed alive; down: believed dead or suspect (not
   * waited for); joining: asked to join, taking over its share; leaving:
   * decommissioning, handing its partitions over. Absent from nodes that predate membership.
   */
  readonly state?: MemberState;
  /** Share of the ring's partitions it owns (target ring), in percent. */
  readonly ownershipPct?: number;
  /** Partitions it holds completely as a replica (moving ones included). */
  readonly partitionsHeld?: number;
  /** Bumped at each start of that node. */
  readonly generation?: number;
  /** Failure domain (rack / zone), '' when unset. */
  readonly zone?: string;
  /** Keys it stores (all partitions it holds), when the answering node knows: always for itself, others as gossip reports them. */
  readonly loadKeys?: number;
  /** Bytes it stores (its engine's estimate), known as loadKeys is. */
  readonly loadBytes?: number;
}

/** One partition transfer this node takes part in (a join, decommission or remove moving data). */
export interface TransferStatus {
  readonly partition: number;
  /** 'in': this node streams the partition in from `peer`; 'out': `peer` streams it from this node. */
  readonly direction: 'in' | 'out';
  readonly peer: NodeId;
  /** waiting (for the cluster to agree on the ring), streaming, done. */
  readonly state: 'waiting' | 'streaming' | 'done';
  readonly keys: number;
  readonly bytes: number;
}

/** The ring as a node holds it (`dynamo ring`). */
export interface RingStatus {
  readonly nodeId: NodeId;
  /** 0 while the node knows no ring. */
  readonly version: number;
  readonly checksum: number;
  readonly partitionCount: number;
  readonly replicas: number;
  /** Target owner of each partition (partition p: owners[p]). */
  readonly owners: readonly NodeId[];
  /** Per partition, the replica set in preference order as the target ring places it. */
  readonly replicaSets: readonly (readonly NodeId[])[];
  /** Partitions still moving: read from `holders` until every new replica has the data. */
  readonly moving: readonly { readonly partition: number; readonly holders: readonly NodeId[]; readonly target: readonly NodeId[] }[];
}

/** Rare paths of the write path since start (admin.proto SafetyCounters). */
export interface SafetyCounters {
  readonly actor: string;
  readonly actorsRetired: number;
  readonly recordsSetAside: number;
  readonly dotConflicts: number;
  readonly localWriteFailures: number;
  readonly contextClamps: number;
  readonly contextCatchUps: number;
  readonly siblingCapRefusals: number;
  /** Writes refused for their context (damaged, another key's, or not signed by this cluster); absent from older nodes. */
  readonly contextsRefused?: number;
}

/** Anti-entropy between the answering node and one peer, as the node ran it (exchanges it started). */
export interface AntiEntropyPeerStatus {
  readonly peer: NodeId;
  /** Exchanges with the peer since start. */
  readonly exchanges: number;
  /** Wall-clock ms when the last one ended (0: none yet). */
  readonly lastExchangeAtMs: number;
  /** Wall-clock ms when the last complete one ended: every difference found was repaired (0: none yet). */
  readonly lastCompleteAtMs: number;
  /** Keys taken from the peer (its versions merged here). */
  readonly keysPulled: number;
  /** Keys handed to the peer. */
  readonly keysPushed: number;
}

/** An on-demand repair (`dynamo repair`): a full exchange of the node's partitions with every other replica. */
export interface RepairStatus {
  /** Per node, increasing; names the repair the Repair call started. */
  readonly id: number;
  readonly state: 'running' | 'done' | 'failed';
  /** The one partition repaired; undefined: every partition the node replicates. */
  readonly partition?: number;
  readonly partitionsTotal: number;
  /** Partitions exchanged with every replica believed up (or given up on). */
  readonly partitionsDone: number;
  /** Exchanges run (one partition with one peer, repeated until complete). */
  readonly exchanges: number;
  /** (partition, peer) pairs skipped: the peer was down or could not exchange. */
  readonly skipped: number;
  readonly keysPulled: number;
  readonly keysPushed: number;
  /** Payload bytes sent to peers, and received. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Wall-clock ms when it started, and how long it has run (or ran). */
  readonly startedAtMs: number;
  readonly elapsedMs: number;
  /** Why it failed (state 'failed'). */
  readonly error?: string;
}

/** Merkle-tree anti-entropy on the answering node (docs/antientropy.md). */
export interface AntiEntropyStatus {
  /** False when the node runs with --anti-entropy false (no trees, no exchanges). */
  readonly enabled: boolean;
  /** Partitions the node replicates, those whose tree is ready, and those being (re)built. */
  readonly partitions: number;
  readonly treesReady: number;
  readonly treesBuilding: number;
  /** Exchanges this node started since start. */
  readonly exchanges: number;
  /** Full passes over its partitions, and how long the last took (0: none yet). */
  readonly cycles: number;
  readonly lastCycleMs: number;
  /** Wall-clock ms by which every partition it replicates had a complete exchange (the oldest one's; 0: not every partition yet). */
  readonly lastFullExchangeAtMs: number;
  /** Keys repaired here from peers, and on peers from here. */
  readonly keysPulled: number;
  readonly keysPushed: number;
  /** Payload bytes of its exchanges, sent and received. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Exchanges started at the busy pace (the node handled many requests, so the next start waited longer). */
  readonly exchangesSlowed: number;
  /** Tombstones purged (every replica held them and the grace period had passed). */
  readonly tombstonesPurged: number;
  /** One row per peer it exchanged with. */
  readonly peers: readonly AntiEntropyPeerStatus[];
  /** The last on-demand repair, if any. */
  readonly repair?: RepairStatus;
}

export interface NodeStatus {
  readonly nodeId: NodeId;
  readonly members: readonly MemberStatus[];
  readonly partitionCount: number;
  readonly replicas: number;
  readonly engine: string;
  readonly ready: boolean;
  readonly readRepairs: number;
  /** Replicas whose digest differed from this coordinator's copy and were read whole (digest reads); absent from nodes that predate them. */
  readonly digestMismatches?: number;
  /** Failure-detector probes this node sent since start; absent from nodes that predate the count. */
  readonly probes?: number;
  /** Of those, the ones no answer came for in time, so this node suspected the member. */
  readonly probesFailed?: number;
  /** Reads for a write answered from a record summary (the value not read); absent from nodes that predate summaries. */
  readonly summaryReads?: number;
  /** Of those, writes that read the whole object after all (they keep a sibling known only by its fingerprint). */
  readonly summaryFallbacks?: number;
  readonly gets: number;
  readonly puts: number;
  readonly deletes: number;
  readonly ringChecksum: number;
  /** partitionOwners[p] owns partition p; empty while joining. */
  readonly partitionOwners: readonly NodeId[];
  /** Absent before the node has started. */
  readonly safety?: SafetyCounters;
  /** Ring version this node holds (0: none yet). Absent from nodes that predate membership. */
  readonly ringVersion?: number;
  /** Partition transfers this node takes part in. */
  readonly transfers?: readonly TransferStatus[];
  /** Hinted handoff on this node (absent from nodes that predate it). */
  readonly hints?: HintStatus;
  /** Merkle-tree anti-entropy. Absent from nodes that predate it. */
  readonly antiEntropy?: AntiEntropyStatus;
}

/** Hints this node holds for other nodes (hinted handoff), and what became of earlier ones. */
export interface HintStatus {
  /** False when the node runs with --hinted-handoff false (it neither stores nor sends hints). */
  readonly enabled: boolean;
  /** Hints stored since start (a hint merged into one already held for the same key counts again). */
  readonly stored: number;
  /** Hints the intended node acknowledged (then deleted here). */
  readonly delivered: number;
  /** Hints dropped: no replica of the key took them within twice the hint window, or refused because the store was full. */
  readonly dropped: number;
  /** Hints held now, per intended node. */
  readonly pending: readonly HintsPending[];
}

export interface HintsPending {
  readonly target: NodeId;
  readonly keys: number;
  readonly bytes: number;
}

/**
 * The operator API a node serves (admin.proto). The membership commands
 * resolve once the request was accepted (the change itself happens as the
 * cluster moves data; progress shows in `status`); they reject with
 * InvalidArgumentError for a request that makes no sense (remove an unknown or
 * live node, join twice, decommission the last node) and UnavailableError
 * when the node cannot act yet (no ring, not ready).
 */
export interface AdminHandler {
  status(): Promise<NodeStatus>;
  /** Ask the cluster to add this node to the ring (the manual path, for nodes started with --auto-join false). */
  join(): Promise<void>;
  /** Start decommissioning this node: stream every partition to its new owners, then leave and stop. */
  decommission(): Promise<void>;
  /** Remove a dead member from the ring; its partitions are rebuilt from surviving replicas. Any member can be asked. */
  remove(nodeId: NodeId): Promise<void>;
  /** The ring this node holds. */
  ring(): Promise<RingStatus>;
  /**
   * Start an on-demand repair: exchange `partition` (undefined: every
   * partition this node replicates) with every other replica believed up,
   * until complete. Resolves with its status once started (progress shows in
   * status().antiEntropy.repair); a repair of the same scope already running
   * is returned rather than started again. Rejects InvalidArgumentError for a
   * partition the node does not replicate, UnavailableError while it cannot
   * (anti-entropy off, another repair running, no ring yet).
   */
  repair(partition?: number): Promise<RepairStatus>;
}
