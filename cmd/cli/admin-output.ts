/**
 * What `dynamo status` and `dynamo ring` print: tables in text mode, and the
 * JSON shapes of `--json` (README "CLI"). Pure: a status or ring in, text or
 * a JSON-ready value out.
 */
import type { AntiEntropyStatus, MemberState, MemberStatus, NodeStatus, RingStatus, TransferStatus } from '../../lib/client/index.ts';
import { table } from './output.ts';

/** A ring checksum as 8 hex digits. */
export function hex(checksum: number): string {
  return checksum.toString(16).padStart(8, '0');
}

/** Bytes for people: B, KiB, MiB, GiB, TiB with one decimal above bytes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A member's state: what the node reports or, from a node that predates
 * membership (its members are all ring members), up or down by reachability.
 */
export function memberState(m: MemberStatus): MemberState {
  return m.state ?? (m.reachable ? 'up' : 'down');
}

/**
 * `dynamo status --json`: the node's status as the SDK reads it, with every
 * member's `state` filled in (memberState) and `transfers` always present
 * (empty when the node reports none, or predates them). Other fields a node
 * does not report are left out.
 */
export function statusJson(s: NodeStatus): NodeStatus & { transfers: readonly TransferStatus[] } {
  return { ...s, members: s.members.map((m) => ({ ...m, state: memberState(m) })), transfers: s.transfers ?? [] };
}

const orDash = (v: number | undefined, show: (n: number) => string = String): string => (v === undefined ? '-' : show(v));

/** How long ago wall-clock time `atMs` was, for people ("never" for 0). */
export function ago(atMs: number, nowMs: number): string {
  if (atMs === 0) return 'never';
  const s = Math.max(0, (nowMs - atMs) / 1000);
  return s < 60 ? `${s.toFixed(s < 10 ? 1 : 0)} s ago` : s < 3600 ? `${(s / 60).toFixed(1)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
}

/** The anti-entropy lines of `dynamo status`: trees, passes, keys repaired, then one row per peer. */
export function antiEntropyText(a: AntiEntropyStatus, nowMs: number): string {
  if (!a.enabled) return 'anti-entropy: off\n';
  const building = a.treesBuilding === 0 ? '' : ` (${a.treesBuilding} building)`;
  const cycle = a.cycles === 0 ? 'no full pass yet' : `${a.cycles} full passes (last ${(a.lastCycleMs / 1000).toFixed(1)} s)`;
  const slowed = a.exchangesSlowed > 0 ? ` (${a.exchangesSlowed} slowed: the node was busy)` : '';
  let out =
    `anti-entropy: ${a.treesReady}/${a.partitions} trees ready${building}, ${a.exchanges} exchanges${slowed}, ${cycle}; ` +
    `every partition fully compared: ${ago(a.lastFullExchangeAtMs, nowMs)}; keys repaired ${a.keysPulled} here, ${a.keysPushed} on peers; ` +
    `${a.tombstonesPurged} tombstones purged\n`;
  if (a.peers.length > 0) {
    const rows = a.peers.map((p) => [p.peer, String(p.exchanges), ago(p.lastExchangeAtMs, nowMs), ago(p.lastCompleteAtMs, nowMs), String(p.keysPulled), String(p.keysPushed)]);
    out += table(['PEER', 'EXCHANGES', 'LAST EXCHANGE', 'LAST COMPLETE', 'KEYS IN', 'KEYS OUT'], rows);
  }
  const r = a.repair;
  if (r !== undefined) {
    out +=
      `repair ${r.id}${r.partition === undefined ? '' : ` of partition ${r.partition}`}: ${r.state}${r.error === undefined ? '' : ` (${r.error})`}, ` +
      `${r.partitionsDone}/${r.partitionsTotal} partitions, ${r.exchanges} exchanges, ${r.skipped} skipped, keys ${r.keysPulled} in / ${r.keysPushed} out, ` +
      `${formatBytes(r.bytesSent)} sent, ${(r.elapsedMs / 1000).toFixed(1)} s\n`;
  }
  return out;
}

/** `dynamo status` in text: a summary line, the members, counters, safety counters, the node's transfers and anti-entropy. */
export function statusText(s: NodeStatus, nowMs = 0): string {
  const ae = s.antiEntropy === undefined ? '' : antiEntropyText(s.antiEntropy, nowMs);
  const version = s.ringVersion === undefined ? '' : ` v${s.ringVersion}`;
  let out = `node ${s.nodeId}: ${s.ready ? 'ready' : 'not ready'}, N=${s.replicas}, ${s.partitionCount} partitions, engine ${s.engine}, ring ${hex(s.ringChecksum)}${version}\n`;
  const zones = s.members.some((m) => (m.zone ?? '') !== '');
  const header = ['ID', 'ADDRESS', 'STATE', 'REACHABLE', 'OWNS%', 'PARTITIONS', 'HELD', 'KEYS', 'BYTES', ...(zones ? ['ZONE'] : [])];
  const rows = s.members.map((m) => [
    m.self ? `${m.id}*` : m.id,
    m.address,
    memberState(m),
    m.reachable ? 'yes' : 'NO',
    orDash(m.ownershipPct, (p) => p.toFixed(1)),
    String(m.partitionsOwned),
    orDash(m.partitionsHeld),
    orDash(m.loadKeys),
    orDash(m.loadBytes, formatBytes),
    ...(zones ? [m.zone || '-'] : []),
  ]);
  out += table(header, rows);
  const digests = s.digestMismatches === undefined ? '' : `, digest mismatches ${s.digestMismatches}`;
  out += `gets ${s.gets}, puts ${s.puts}, deletes ${s.deletes}, read repairs ${s.readRepairs}${digests}\n`;
  if (s.probes !== undefined) out += `probes ${s.probes}, failed ${s.probesFailed ?? 0} (members this node suspected)\n`;
  if (s.summaryReads !== undefined) out += `writes read from summaries ${s.summaryReads}, then read whole ${s.summaryFallbacks ?? 0}\n`;
  const f = s.safety;
  if (f !== undefined) {
    out +=
      `actor ${f.actor}; records set aside ${f.recordsSetAside}, local write failures ${f.localWriteFailures}, actors retired ${f.actorsRetired}, ` +
      `dot conflicts ${f.dotConflicts}, contexts clamped ${f.contextClamps}, context catch-ups ${f.contextCatchUps}, sibling-cap refusals ${f.siblingCapRefusals}, contexts refused ${f.contextsRefused ?? 0}\n`;
  }
  out += hintsText(s);
  if (s.transfers === undefined) return out + ae;
  if (s.transfers.length === 0) return out + 'transfers: none\n' + ae;
  out += `transfers (${s.transfers.length}):\n`;
  const transfers = s.transfers.map((t) => [String(t.partition), t.direction === 'in' ? 'in from' : 'out to', t.peer, t.state, String(t.keys), formatBytes(t.bytes)]);
  return out + table(['PARTITION', 'DIRECTION', 'PEER', 'STATE', 'KEYS', 'BYTES'], transfers) + ae;
}

/** The hinted-handoff lines of `dynamo status`: counters, then the hints held per intended node. */
function hintsText(s: NodeStatus): string {
  const h = s.hints;
  if (h === undefined) return '';
  if (!h.enabled) return 'hinted handoff: off\n';
  const out = `hints stored ${h.stored}, delivered ${h.delivered}, dropped ${h.dropped}; ${h.pending.length === 0 ? 'none pending' : 'pending:'}\n`;
  if (h.pending.length === 0) return out;
  return out + table(['FOR', 'KEYS', 'BYTES'], h.pending.map((p) => [p.target, String(p.keys), formatBytes(p.bytes)]));
}

/** `dynamo ring` in text: a summary line, then one row per partition: owner, replica set, and for a moving one `holders -> target`. */
export function ringText(r: RingStatus): string {
  if (r.version === 0 && r.owners.length === 0) return `node ${r.nodeId} holds no ring yet (N=${r.replicas}, ${r.partitionCount} partitions)\n`;
  const moving = new Map(r.moving.map((m) => [m.partition, m]));
  let out = `ring v${r.version} ${hex(r.checksum)} as ${r.nodeId} holds it: ${r.partitionCount} partitions, N=${r.replicas}, ${r.moving.length} moving\n`;
  const rows = r.owners.map((owner, p) => {
    const m = moving.get(p);
    return [String(p), owner, (r.replicaSets[p] ?? []).join(','), m === undefined ? '-' : `${m.holders.join(',')} -> ${m.target.join(',')}`];
  });
  out += table(['PARTITION', 'OWNER', 'REPLICAS', 'MOVING'], rows);
  return out;
}
