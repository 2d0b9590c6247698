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
 * Documented bounds (defaults; asserted at 16 and 64 nodes with 1-50 ms
 * delay and 1% loss by test/unit/membership/harness-failures.test.ts):
 *  - a stopped node is suspected by every member, so no longer routed to,
 *    within 10 s (measured 2-6.5 s), and declared dead everywhere within 20 s
 *    (measured 6-14 s up to 128 nodes);
 *  - a restarted node (higher generation) is up everywhere within 5 s (measured <= 3 s);
 *  - a temporary failure never changes the ring.
 * Cold start to full agreement (same table and ring checksum everywhere),
 * rounds of 1 s: 10 nodes 4.6-5.4, 16: 4.5-5.5, 50: 8.5-9.1, 100: 10.8-12.1,
 * 128: 10.9-11.9 (harness-convergence.test.ts prints the table); idle cost
 * about 4 packets per node per second at any size.
 *
 * Ring changes: only the claimant (lowest-id target member not believed
 * dead, while it believes a majority of the ring alive) commits version N+1,
 * computed with lib/ring's incremental claim; a moving partition is written to
 * old and new replicas and read from the old until every new replica reported
 * transfer-complete; old replicas release data only once every ring node holds
 * the same ring; conflicting versions from two would-be claimants are ordered
 * by (version, lower claimant id, checksum) so every node keeps the same one.
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
