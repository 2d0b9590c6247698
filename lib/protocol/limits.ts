/**
 * Limits that are part of the API contract (README "Limits"). Values over a
 * limit are refused with INVALID_ARGUMENT (sizes) or LIMIT_EXCEEDED (siblings,
 * object size) before anything is written.
 */
export const LIMITS = {
  /** Longest key, in bytes. */
  keyBytesMax: 1024,
  /** Largest single value, in bytes. */
  valueBytesMax: 1024 * 1024,
  /** Largest stored object (all siblings plus metadata); keeps every message under gRPC's 4 MiB. */
  objectBytesMax: 3 * 1024 * 1024,
  /** Sibling count at which a warning is logged (Riak: 25). */
  siblingsWarn: 25,
  /** Sibling count a write may not exceed (Riak: 100). */
  siblingsMax: 100,
  /** Longest accepted context, in bytes. */
  contextBytesMax: 64 * 1024,
} as const;
