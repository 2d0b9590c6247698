/**
 * Internals of lib/membership for its tests (STYLE: `internal.ts` next to
 * `index.ts`). Nothing outside test/ imports this file.
 */
export * from './member-state.ts';
export * from './broadcast-queue.ts';
export * from './suspicion.ts';
export * from './awareness.ts';
export * from './failure-detector.ts';
export * from './gossip.ts';
export * from './ring-changes.ts';
