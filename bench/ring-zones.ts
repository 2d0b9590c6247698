/**
 * Zone-aware claim, measured: for 3 zones and 3..18 nodes at 256 partitions
 * (N = 3), a fresh claim and one built by joins (one node at a time, zones in
 * turn), print ownership balance, windows whose N consecutive owners repeat a
 * zone, replica load (partitions a node is a replica of, zone-aware
 * preference lists) relative to the mean, preference lists spanning fewer
 * than N zones (must be 0), and partitions and replica sets moved per join.
 *
 *   node --import=tsx bench/ring-zones.ts [partitions] [zones]
 */
import { claim, preferenceList, transfersBetween, type Ring } from '../lib/ring/index.ts';

const P = Number(process.argv[2] ?? 256);
const Z = Number(process.argv[3] ?? 3);
const N = 3;

const zoneOfNode = (id: string): string => `zone-${String.fromCharCode(97 + (Number(id.slice(1)) % Z))}`;

interface Stats {
  ownMaxMean: number;
  ownMinMean: number;
  windows: number;
  loadMaxMean: number;
  loadMinMean: number;
  /** Replica load relative to the mean of the node's own zone: max and min over nodes. */
  zoneLoadMax: number;
  zoneLoadMin: number;
  badLists: number;
}

function stats(ring: Ring): Stats {
  const zoneOf = new Map(ring.members.map((m, i) => [m, ring.zones[i] ?? '']));
  const owned = new Map(ring.members.map((m) => [m, 0]));
  const load = new Map(ring.members.map((m) => [m, 0]));
  let windows = 0;
  let badLists = 0;
  for (let p = 0; p < P; p++) {
    owned.set(ring.owners[p]!, owned.get(ring.owners[p]!)! + 1);
    const zs = new Set<string>();
    for (let i = 0; i < N; i++) zs.add(zoneOf.get(ring.owners[(p + i) % P]!)!);
    if (zs.size < Math.min(N, Z)) windows++;
    const list = preferenceList(ring, p, N);
    if (new Set(list.map((m) => zoneOf.get(m))).size < Math.min(N, Z)) badLists++;
    for (const m of list) load.set(m, load.get(m)! + 1);
  }
  const mean = P / ring.members.length;
  const loadMean = (P * N) / ring.members.length;
  const zoneMean = new Map<string, number>();
  for (const zone of new Set(ring.zones)) {
    const inZone = ring.members.filter((m) => zoneOf.get(m) === zone);
    zoneMean.set(zone, inZone.reduce((sum, m) => sum + load.get(m)!, 0) / inZone.length);
  }
  const relative = ring.members.map((m) => load.get(m)! / zoneMean.get(zoneOf.get(m)!)!);
  return {
    zoneLoadMax: Math.max(...relative),
    zoneLoadMin: Math.min(...relative),
    ownMaxMean: Math.max(...owned.values()) / mean,
    ownMinMean: Math.min(...owned.values()) / mean,
    windows,
    loadMaxMean: Math.max(...load.values()) / loadMean,
    loadMinMean: Math.min(...load.values()) / loadMean,
    badLists,
  };
}

const f = (x: number): string => x.toFixed(3);
const row = (s: Stats): string =>
  `${f(s.ownMaxMean)} ${f(s.ownMinMean)} ${String(s.windows).padStart(3)} ${f(s.loadMaxMean)} ${f(s.loadMinMean)} ${f(s.zoneLoadMax)} ${f(s.zoneLoadMin)} ${s.badLists}`;
console.log(`P=${P} N=${N} zones=${Z}`);
console.log('nodes | fresh claim:                                       | built by joins:');
console.log('      | own/mean max min, windows, load/mean max min, in-zone max min, lists<N zones | same..., partitions moved (P/n), replica sets changed');
let members: string[] = [];
for (let i = 0; i < Z; i++) members.push(`n${String(i).padStart(2, '0')}`);
let ring = claim(members, P, { zoneOf: zoneOfNode });
for (let n = Z + 1; n <= 18; n++) {
  const id = `n${String(n - 1).padStart(2, '0')}`;
  members = [...members, id];
  const next = claim(members, P, { zoneOf: zoneOfNode, previous: ring });
  let moved = 0;
  for (let p = 0; p < P; p++) if (next.owners[p] !== ring.owners[p]) moved++;
  const sets = transfersBetween(ring, next, N).length;
  ring = next;
  const fresh = stats(claim(members, P, { zoneOf: zoneOfNode }));
  const joined = stats(ring);
  console.log(
    `${String(n).padStart(5)} | ${row(fresh)} | ${row(joined)}` +
      ` ${String(moved).padStart(3)} (${(P / n).toFixed(1)}) ${sets}`,
  );
}
