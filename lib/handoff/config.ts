/** Hinted handoff settings and their defaults (Cassandra's: a 3 h hint window). */
import { InvalidArgumentError } from '../runtime/index.ts';

export interface HandoffConfig {
  /** Off: this node neither stores hints for others nor asks fallbacks to (every request is strict). */
  readonly enabled: boolean;
  /** Hints older than this whose target is still down go to the key's other replicas; those no replica took within twice this are dropped (counted). */
  readonly windowMs: number;
  /** Bound on the bytes of all hints held; a hint that would overflow is refused. */
  readonly bytesMax: number;
  /** Hints handed over at once to one target. */
  readonly inflightMax: number;
  /** How often the holder looks for targets back up (gossip's member-up also starts a replay at once). */
  readonly scanIntervalMs: number;
  /** On shutdown, how long the node tries to hand its hints over before stopping with them on disk. */
  readonly drainOnStopMs: number;
}

export const HANDOFF_DEFAULTS: HandoffConfig = {
  enabled: true,
  windowMs: 3 * 3600_000,
  bytesMax: 1 << 30,
  inflightMax: 64,
  scanIntervalMs: 1000,
  drainOnStopMs: 5000,
};

export function validateHandoffConfig(c: HandoffConfig): HandoffConfig {
  const positive = (name: keyof HandoffConfig, v: number): void => {
    if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`hinted handoff: ${name} must be a positive number, got ${v}`);
  };
  positive('windowMs', c.windowMs);
  positive('bytesMax', c.bytesMax);
  positive('inflightMax', c.inflightMax);
  positive('scanIntervalMs', c.scanIntervalMs);
  if (!Number.isFinite(c.drainOnStopMs) || c.drainOnStopMs < 0) throw new InvalidArgumentError(`hinted handoff: drainOnStopMs must be >= 0, got ${c.drainOnStopMs}`);
  return c;
}
