/**
 * membership: who is in the cluster, who is up, and which ring version holds,
 * as a pure state machine the node drives (`Membership.step(input) -> effects`,
 * `view()`). No I/O, timers, clock or Math.random: time arrives as `nowMs`,
 * randomness through the injected Random, and packets, wake-up times and
 * events leave as effects. One mechanism per file: member-state (records and
 * their merge order), failure-detector (SWIM probes + Lifeguard suspicion,
 * awareness), broadcast-queue (piggyback dissemination), gossip (digest
 * anti-entropy), ring-changes (claimant, plans, transfers, switches), config.
 * See docs/membership.md for the protocol, diagram, bounds and figures.
 *
 * Failure detector: SWIM with Lifeguard (why not phi-accrual: see
 * failure-detector.ts). Defaults: probe every 1 s, ping timeout 500 ms,
 * 3 indirect probes, suspicion timeout 4 x max(1, log10 n) x 1 s falling from
 * 6x that as other members confirm, gossip every 1 s, each change piggybacked
 * 4 x ceil(log10(n + 1)) times.
 *
 * Documented bounds (defaults; measured by test/unit/membership/harness-*.test.ts):
 *  - a stopped node is suspected — and no longer routed to — by every member
 *    within 10 s, and declared dead everywhere within 30 s (16 nodes; 50 ms
 *    network delay, 1% loss);
 *  - a restarted node (higher generation) is up everywhere within 10 s;
 *  - cold start to full agreement (same member table and ring checksum on
 *    every node): see the convergence table in docs/membership.md; the rounds
 *    grow with log n.
 *
 * Ring changes: only the claimant (lowest-id target member believed alive,
 * holding a majority) commits version N+1, computed with lib/ring's
 * incremental claim; a moving partition is written to old and new replicas
 * and read from the old until every new replica reported transfer-complete;
 * conflicting versions from two would-be claimants are ordered by (version,
 * lower claimant id, checksum) so every node keeps the same one.
 */
export type { MembershipConfig } from './config.ts';
export {
  defaultMembershipConfig,
  localMembershipConfig,
  testMembershipConfig,
  validateMembershipConfig,
  suspicionTimeoutMs,
  retransmitLimit,
} from './config.ts';
export type {
  Liveness,
  MemberInfo,
  MembershipEffects,
  MembershipEvent,
  MembershipInput,
  MembershipOptions,
  MembershipStats,
  MembershipView,
  OutboundPacket,
  SelfIdentity,
} from './membership.ts';
export { Membership } from './membership.ts';
export type { IncomingTransfer, Lifecycle, MovingPlacement, Replicas, RingCheck } from './ring-changes.ts';
export { checkRing, compareRingStates, ringSummary } from './ring-changes.ts';
