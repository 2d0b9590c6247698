/**
 * handoff: hinted handoff (Dynamo §4.6; Riak's fallback vnodes, Cassandra's
 * hints). While a primary replica is down, a fallback node stores its share
 * of a write as a hint naming it, and hands the hint back once the primary
 * is up. This module owns the hint store (hints apart from the node's own
 * data, merged per key by causal metadata, bounded in bytes, compare-and-
 * delete on delivery), the hint value format and the settings; the node
 * wires it to the transport, membership and a clock (lib/node/handoff.ts).
 * No sockets or timers here.
 */
export { type Hint, encodeHint, decodeHint } from './hint-codec.ts';
export { HintStore, type HintStoreConfig, type PendingHint, type HintCounters } from './hint-store.ts';
export { type HandoffConfig, HANDOFF_DEFAULTS, validateHandoffConfig } from './config.ts';
