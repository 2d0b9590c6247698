/**
 * Ring checksum: murmur3 over a canonical binary encoding, so two nodes agree
 * on it exactly when they hold the same ring (with high probability).
 *
 * Encoding (all integers uint32 little-endian):
 *   partitionCount, memberCount, then per member (sorted) its UTF-8 byte length
 *   and bytes, then per partition the owner's index in the member table.
 * The member table makes the encoding canonical and compact, and it also tells
 * apart rings that differ only in members owning nothing (more members than partitions).
 *
 * Zones place replicas (ring.ts preferenceList), so they are part of the ring:
 * when any member names one, the encoding continues with each member's zone
 * (UTF-8 byte length and bytes, member order). A ring whose members name no
 * zone encodes exactly as before zones existed, so its checksum is unchanged.
 */
import type { NodeId } from '../protocol/index.ts';
import { assert } from '../runtime/index.ts';
import { murmur32 } from './hash.ts';

const utf8 = new TextEncoder();

/**
 * uint32 checksum of (partitionCount, members, owners, zones); `members`
 * sorted and unique, every owner a member, `zones` parallel to `members`
 * ('' for none; omitted: none).
 */
export function ringChecksum(
  partitionCount: number,
  members: readonly NodeId[],
  owners: readonly NodeId[],
  zones: readonly string[] = [],
): number {
  const names = members.map((m) => utf8.encode(m));
  const namesBytes = names.reduce((sum, b) => sum + 4 + b.length, 0);
  const zoneNames = zones.some((z) => z !== '') ? zones.map((z) => utf8.encode(z)) : [];
  const zonesBytes = zoneNames.reduce((sum, b) => sum + 4 + b.length, 0);
  const bytes = new Uint8Array(8 + namesBytes + 4 * owners.length + zonesBytes);
  const view = new DataView(bytes.buffer);
  let at = 0;
  view.setUint32(at, partitionCount, true);
  view.setUint32((at += 4), members.length, true);
  at += 4;
  for (const name of names) {
    view.setUint32(at, name.length, true);
    bytes.set(name, at + 4);
    at += 4 + name.length;
  }
  const indexOf = new Map(members.map((m, i) => [m, i]));
  for (const owner of owners) {
    const index = indexOf.get(owner);
    assert(index !== undefined, `ring owner ${owner} is not a member`);
    view.setUint32(at, index, true);
    at += 4;
  }
  for (const zone of zoneNames) {
    view.setUint32(at, zone.length, true);
    bytes.set(zone, at + 4);
    at += 4 + zone.length;
  }
  return murmur32(bytes);
}
