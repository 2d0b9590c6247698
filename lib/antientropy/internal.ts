/**
 * Internals of lib/antientropy for its tests (STYLE: `internal.ts` next to
 * `index.ts`). Nothing outside test/ and bench/ imports this file.
 */
export * from './hash.ts';
export * from './key-id.ts';
export * from './tictac-tree.ts';
export * from './wire-size.ts';
