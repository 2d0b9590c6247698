/**
 * The one number a simulation is reproduced from. Tests take it from
 * DYNAMO_SEED when set, so a failure report's seed replays the exact run.
 */
import { InvalidArgumentError } from '../runtime/index.ts';

/** Seed used when DYNAMO_SEED is unset. */
export const DEFAULT_SEED = 1;

/** DYNAMO_SEED as a uint32, or `fallback`. Rejects anything but a decimal integer. */
export function seedFromEnv(fallback: number = DEFAULT_SEED, env: Record<string, string | undefined> = process.env): number {
  const raw = env['DYNAMO_SEED'];
  if (raw === undefined || raw.trim() === '') return fallback >>> 0;
  if (!/^\d+$/.test(raw.trim())) throw new InvalidArgumentError(`DYNAMO_SEED must be a non-negative integer, got "${raw}"`);
  return Number(raw.trim()) >>> 0;
}

/** The line every failing simulation prints. */
export function reproduceHint(seed: number): string {
  return `reproduce with DYNAMO_SEED=${seed}`;
}
