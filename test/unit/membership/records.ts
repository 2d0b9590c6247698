/** Test helper (not a test file): a member record with defaults, overridable field by field. */
import type { MemberRecord } from '../../../lib/protocol/index.ts';

export function memberRecord(id: string, over: Partial<MemberRecord> = {}): MemberRecord {
  return {
    id,
    address: `sim://${id}`,
    zone: '',
    generation: 1,
    incarnation: 0,
    status: 'alive',
    intent: 'none',
    ringVersion: 0,
    ringChecksum: 0,
    donePlanId: 0,
    donePartitions: [],
    ...over,
  };
}
