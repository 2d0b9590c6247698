/**
 * Zones (failure domains: availability zones, racks) as the ring sees them.
 *
 * Every member has a zone name; '' means "no zone given". A member without
 * a zone is a zone of its own: it constrains nothing beyond being a distinct
 * node (Riak's location-aware claim treats an unset location the same way),
 * so a cluster where no node names a zone places replicas exactly as one
 * without zone support did, and one unzoned node in a zoned cluster counts
 * as one more failure domain rather than joining a shared "unknown" one.
 *
 * Zones are compared as small integers: `zoneIndices` gives every distinct
 * named zone an index in sorted-name order and every unzoned member a fresh
 * index after those, so the mapping depends only on (members, zones), never
 * on input or Map iteration order.
 */
import type { NodeId } from '../protocol/index.ts';
import { InvalidArgumentError } from '../runtime/index.ts';

/** Longest accepted zone name in bytes of UTF-16 code units (a Kubernetes label value is at most 63). */
export const ZONE_LENGTH_MAX = 253;

/** Throws InvalidArgumentError unless `zones` is one string per member, each at most ZONE_LENGTH_MAX long. */
export function validateZones(members: readonly NodeId[], zones: readonly string[]): void {
  if (zones.length !== members.length) {
    throw new InvalidArgumentError(`ring has ${members.length} members but ${zones.length} zones`);
  }
  for (const zone of zones) {
    if (typeof zone !== 'string' || zone.length > ZONE_LENGTH_MAX) {
      throw new InvalidArgumentError(`a zone must be a string of at most ${ZONE_LENGTH_MAX} characters, got ${JSON.stringify(zone)}`);
    }
  }
}

/** Whether any member names a zone (otherwise the ring behaves exactly as a zone-less one). */
export function hasZones(zones: readonly string[]): boolean {
  return zones.some((z) => z !== '');
}

/**
 * Zone index of each member (same order as `zones`): named zones get
 * 0..k-1 in sorted-name order, unzoned members k, k+1, ... in member order.
 */
export function zoneIndices(zones: readonly string[]): Int32Array {
  const names = [...new Set(zones.filter((z) => z !== ''))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const indexOf = new Map(names.map((name, i) => [name, i]));
  let next = names.length;
  return Int32Array.from(zones, (z) => (z === '' ? next++ : (indexOf.get(z) ?? -1)));
}

/** Number of distinct failure domains among `zones` (each unzoned member counting as one). */
export function distinctZoneCount(zones: readonly string[]): number {
  const named = new Set(zones.filter((z) => z !== '')).size;
  return named + zones.filter((z) => z === '').length;
}
