import type { Consistency } from './types.ts';

export const CONSISTENCY_LEVELS: readonly Consistency[] = ['ONE', 'TWO', 'THREE', 'QUORUM', 'ALL', 'ANY'];

export function isConsistency(value: string): value is Consistency {
  return (CONSISTENCY_LEVELS as readonly string[]).includes(value);
}
