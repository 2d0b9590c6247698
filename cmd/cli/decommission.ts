/**
 * `dynamo decommission` after the node accepted: follow the hand-over until
 * the node has left the ring. Each poll asks the node for its status; once
 * it stops answering (it leaves, then stops), the other members it reported
 * are asked instead. The node has left when it no longer lists itself among
 * its members, or another member no longer lists it.
 *
 * HandOff is the pure part (statuses in, a phase and progress out); watch()
 * drives it on an injected clock, sleep and status calls; the progress display is the
 * caller's (a bar on a terminal, plain lines otherwise).
 */
import type { MemberState, NodeStatus, TransferStatus } from '../../lib/client/index.ts';
import { TimeoutError, type Time } from '../../lib/runtime/index.ts';
import { formatBytes, memberState } from './admin-output.ts';

/** Where a decommission stands, as the last poll saw it. */
export type Phase =
  /** Accepted; the cluster has not made the node leaving yet. */
  | { readonly kind: 'planning' }
  /** Leaving: handing its partitions over. */
  | { readonly kind: 'leaving' }
  /** The node does not answer; `peer` (if any answered) still lists it, as `peerState`. */
  | { readonly kind: 'silent'; readonly peer?: string; readonly peerState?: MemberState }
  /** It has left: it said so itself (`by` is its own id), or member `by` no longer lists it. */
  | { readonly kind: 'left'; readonly by: string }
  /** It was leaving and is up again: the decommission was called off. */
  | { readonly kind: 'cancelled' };

/** Partitions handed over so far and the data they carried. */
export interface HandOffProgress {
  readonly done: number;
  readonly total: number;
  readonly keys: number;
  readonly bytes: number;
}

/**
 * The progress of one node's decommission from the statuses polled. An
 * outgoing transfer counts as handed over once the node reports it done, or
 * stops reporting it (a switched partition is released); the total is every
 * outgoing transfer seen, as the node learns its plan as it goes.
 */
export class HandOff {
  /** Outgoing transfers seen, by `partition>peer`, as last reported. */
  readonly #transfers = new Map<string, TransferStatus>();
  readonly #done = new Set<string>();
  #leavingSeen = false;
  #phase: Phase = { kind: 'planning' };

  constructor(readonly nodeId: string) {}

  get phase(): Phase {
    return this.#phase;
  }

  /** The node answered with `s`. */
  fromNode(s: NodeStatus): Phase {
    const self = s.members.find((m) => m.id === this.nodeId);
    if (self === undefined) return (this.#phase = { kind: 'left', by: this.nodeId });
    const reported = new Set<string>();
    for (const t of s.transfers ?? []) {
      if (t.direction !== 'out') continue;
      const key = `${t.partition}>${t.peer}`;
      reported.add(key);
      this.#transfers.set(key, t);
      if (t.state === 'done') this.#done.add(key);
    }
    for (const key of this.#transfers.keys()) if (!reported.has(key)) this.#done.add(key);
    const state = memberState(self);
    if (state === 'leaving') {
      this.#leavingSeen = true;
      return (this.#phase = { kind: 'leaving' });
    }
    return (this.#phase = this.#leavingSeen && state === 'up' ? { kind: 'cancelled' } : { kind: 'planning' });
  }

  /** The node did not answer; member `peer` answered with `s`, or (both undefined) no member did. */
  fromPeer(peer: string | undefined, s: NodeStatus | undefined): Phase {
    if (peer === undefined || s === undefined) return (this.#phase = { kind: 'silent' });
    const m = s.members.find((x) => x.id === this.nodeId);
    if (m === undefined) return (this.#phase = { kind: 'left', by: peer });
    return (this.#phase = { kind: 'silent', peer, peerState: memberState(m) });
  }

  progress(): HandOffProgress {
    let keys = 0;
    let bytes = 0;
    for (const t of this.#transfers.values()) {
      keys += t.keys;
      bytes += t.bytes;
    }
    return { done: this.#done.size, total: this.#transfers.size, keys, bytes };
  }

  /** The phase in a few words (the progress bar's label). */
  phaseText(): string {
    const p = this.#phase;
    switch (p.kind) {
      case 'planning':
        return 'waiting for the cluster to plan the hand-over';
      case 'leaving':
        return 'leaving';
      case 'silent':
        return p.peer === undefined ? 'not answering, nor is any other member' : `not answering; ${p.peer} sees it as ${p.peerState}`;
      case 'left':
        return 'has left the ring';
      case 'cancelled':
        return 'is up again (the decommission was called off)';
    }
  }

  /** The closing line once it has left: what was handed over (every outgoing transfer the polls saw). */
  summary(): string {
    const { total, keys, bytes } = this.progress();
    return `${this.nodeId} has left the ring${total === 0 ? '' : ` (${partitions(total)} handed over: ${keys} keys, ${formatBytes(bytes)})`}`;
  }

  /** One line: the node, its phase and the hand-over so far. */
  describe(): string {
    const { done, total, keys, bytes } = this.progress();
    const handedOver = total === 0 ? '' : `, ${done}/${total} partitions handed over (${keys} keys, ${formatBytes(bytes)})`;
    return `${this.nodeId}: ${this.phaseText()}${handedOver}`;
  }
}

const partitions = (n: number): string => (n === 1 ? '1 partition' : `${n} partitions`);

/** What watch() needs. */
export interface WatchOptions {
  readonly handOff: HandOff;
  /** The node's address. */
  readonly endpoint: string;
  /** Other members (id -> address) to ask once the node stops answering; updated from every status read. */
  readonly peers: Map<string, string>;
  /** Wall-clock time (nowMs) for the deadline. */
  readonly time: Pick<Time, 'nowMs'>;
  /** Wait `ms` between polls (keeping the process alive). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Pause between polls. */
  readonly intervalMs: number;
  /** Wall-clock time (Time.nowMs) by which the node must have left (the last poll may end one request timeout later). */
  readonly deadlineMs: number;
  /** Deadline of each status request. */
  readonly requestTimeoutMs: number;
  /** Status of the node at `endpoint`; rejects when it does not answer. */
  readonly status: (endpoint: string, timeoutMs: number) => Promise<NodeStatus>;
  /** Called after every poll. */
  readonly onPoll: (handOff: HandOff) => void;
}

/**
 * Poll until the node has left (resolves). Rejects with TimeoutError when it
 * has not by the deadline, and with an Error when the decommission was
 * called off (the node is up again after leaving).
 */
export async function watch(o: WatchOptions): Promise<void> {
  const { handOff } = o;
  for (;;) {
    const phase = await poll(o);
    o.onPoll(handOff);
    if (phase.kind === 'left') return;
    if (phase.kind === 'cancelled') throw new Error(`decommission of ${handOff.nodeId} was called off: it is up again and no longer leaving`);
    const leftMs = o.deadlineMs - o.time.nowMs();
    if (leftMs <= 0) {
      const message = `${handOff.describe()}; it has not left within --timeout-s (the decommission goes on: watch dynamo status)`;
      throw new TimeoutError(message, { answered: 0, required: 0 });
    }
    await o.sleep(Math.min(o.intervalMs, leftMs));
  }
}

/** One poll: the node, or else the first other member that answers. */
async function poll(o: WatchOptions): Promise<Phase> {
  // Not cut short by the deadline: the last poll, right at it, must still be able to see the node leave.
  const timeoutMs = o.requestTimeoutMs;
  try {
    const s = await o.status(o.endpoint, timeoutMs);
    learnPeers(o, s);
    return o.handOff.fromNode(s);
  } catch {
    // It does not answer (it may have left and stopped): ask the others.
  }
  for (const [id, address] of o.peers) {
    try {
      const s = await o.status(address, timeoutMs);
      learnPeers(o, s);
      return o.handOff.fromPeer(id, s);
    } catch {
      // the next member
    }
  }
  return o.handOff.fromPeer(undefined, undefined);
}

function learnPeers(o: WatchOptions, s: NodeStatus): void {
  for (const m of s.members) if (m.id !== o.handOff.nodeId && m.address !== o.endpoint) o.peers.set(m.id, m.address);
}
