/**
 * Seed lists: the static membership a node starts from, written as
 * `[id@]host:port` entries separated by commas. An entry without an id is
 * identified over the network when the node starts.
 */
import { InvalidArgumentError } from '../runtime/index.ts';
import type { Address, NodeId } from '../protocol/index.ts';
import { validateHostPort } from '../config/index.ts';

/** One seed: where a member listens and, when the operator knows it, its id. */
export interface SeedSpec {
  readonly id?: NodeId;
  readonly address: Address;
}

/** Same rule as the `--id` flag, so any id a node can have can be written in a seed. */
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Parse `"n1@127.0.0.1:7001,127.0.0.1:7002"`. Blank text means no seeds.
 * Throws InvalidArgumentError naming the bad entry: empty entries, bad ids,
 * addresses that are not host:port, and two entries for one id or one address.
 */
export function parseSeeds(text: string): SeedSpec[] {
  if (text.trim() === '') return [];
  const seeds = text.split(',').map((raw, i) => parseEntry(raw.trim(), i));
  checkSeeds(seeds);
  return seeds;
}

function parseEntry(entry: string, index: number): SeedSpec {
  const where = `seed #${index + 1} "${entry}"`;
  if (entry === '') throw new InvalidArgumentError(`${where} is empty (seeds are "[id@]host:port" separated by commas)`);
  const at = entry.indexOf('@');
  const id = at === -1 ? undefined : entry.slice(0, at);
  const address = at === -1 ? entry : entry.slice(at + 1);
  if (id !== undefined && !NODE_ID.test(id)) {
    throw new InvalidArgumentError(`${where}: node id "${id}" must be 1-63 letters, digits, '.', '_' or '-'`);
  }
  if (!validateHostPort(address)) throw new InvalidArgumentError(`${where}: "${address}" is not host:port`);
  return id === undefined ? { address } : { id, address };
}

/**
 * Reject seed lists that name one id at two addresses or one address twice:
 * either would give nodes different views of the membership.
 */
export function checkSeeds(seeds: readonly SeedSpec[]): void {
  const byAddress = new Map<Address, SeedSpec>();
  const byId = new Map<NodeId, SeedSpec>();
  for (const s of seeds) {
    if (byAddress.has(s.address)) throw new InvalidArgumentError(`seed address ${s.address} is listed twice`);
    byAddress.set(s.address, s);
    if (s.id !== undefined) {
      const other = byId.get(s.id);
      if (other !== undefined) throw new InvalidArgumentError(`seed id ${s.id} is listed at both ${other.address} and ${s.address}`);
      byId.set(s.id, s);
    }
  }
}
