/**
 * runtime: the ports through which lib/ reaches the outside world — Time,
 * Random, Logger and Metrics — plus the operating-error classes with stable codes and
 * `assert`. Real implementations live in real-*.ts and are the only code in
 * lib/ allowed to touch timers, Date or Math.random; the simulator supplies its own.
 */
export * from './errors.ts';
export * from './time.ts';
export * from './random.ts';
export * from './logger.ts';
export * from './metrics.ts';
export { RealTime, atTurnEnd, keepAliveUntil } from './real-time.ts';
export { RealRandom } from './real-random.ts';

import type { Logger } from './logger.ts';
import type { Random } from './random.ts';
import type { Time } from './time.ts';

/** Everything ambient a component may use, injected as one object. */
export interface Runtime {
  readonly time: Time;
  readonly random: Random;
  readonly logger: Logger;
}
export { KeyLock } from './key-lock.ts';
