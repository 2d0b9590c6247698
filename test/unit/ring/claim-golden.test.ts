import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { claim, ownershipMoves, type Ring } from '../../../lib/ring/index.ts';
import { ownedCounts, spacingViolations } from './ring-checks.ts';

/**
 * claim() output for a few small rings, printed as text and compared with
 * test/testdata/ring/claim.txt, so any change to claim shows up as a readable diff.
 * After an intended change: UPDATE_GOLDEN=1 npx mocha test/unit/ring/claim-golden.test.ts
 */
const GOLDEN = new URL('../../testdata/ring/claim.txt', import.meta.url);

interface GoldenCase {
  name: string;
  members: string[];
  partitions: number;
  replicas: number;
  previous?: string;
}

const letters = (s: string): string[] => s.split('');
const CASES: GoldenCase[] = [
  { name: 'fresh-4x16', members: letters('abcd'), partitions: 16, replicas: 3 },
  { name: 'fresh-3x8', members: letters('abc'), partitions: 8, replicas: 3 },
  { name: 'fresh-5x16', members: letters('abcde'), partitions: 16, replicas: 3 },
  { name: 'fresh-6x20', members: letters('abcdef'), partitions: 20, replicas: 3 },
  { name: 'fresh-6x25-r4', members: letters('abcdef'), partitions: 25, replicas: 4 },
  { name: 'fresh-2x4', members: letters('ab'), partitions: 4, replicas: 3 },
  { name: 'fresh-5x3', members: letters('abcde'), partitions: 3, replicas: 3 },
  { name: 'same-members', members: letters('abcd'), partitions: 16, replicas: 3, previous: 'fresh-4x16' },
  { name: 'add-e', members: letters('abcde'), partitions: 16, replicas: 3, previous: 'fresh-4x16' },
  { name: 'remove-b', members: letters('acd'), partitions: 16, replicas: 3, previous: 'fresh-4x16' },
  { name: 'add-b-back', members: letters('abcd'), partitions: 16, replicas: 3, previous: 'remove-b' },
  { name: 'replace-b-with-e', members: letters('acde'), partitions: 16, replicas: 3, previous: 'fresh-4x16' },
  { name: 'add-f-g', members: letters('abcdefg'), partitions: 16, replicas: 3, previous: 'fresh-5x16' },
  { name: 'remove-a-c', members: letters('bdef'), partitions: 20, replicas: 3, previous: 'fresh-6x20' },
];

function render(): string {
  const rings = new Map<string, Ring>();
  const lines = [
    '# Golden output of claim() (lib/ring/claim.ts): a change to claim shows up as a diff here.',
    '# Regenerate after an intended change: UPDATE_GOLDEN=1 npx mocha test/unit/ring/claim-golden.test.ts',
    '# violations: partitions p whose window p..p+replicas-1 repeats an owner.',
  ];
  for (const c of CASES) {
    const previous = c.previous === undefined ? undefined : rings.get(c.previous);
    const ring = claim(c.members, c.partitions, { replicas: c.replicas, ...(previous ? { previous } : {}) });
    rings.set(c.name, ring);
    const counts = ownedCounts(ring);
    const bad = spacingViolations(ring, c.replicas);
    lines.push(
      '',
      `case ${c.name}`,
      `  members    ${c.members.join(' ')}`,
      `  partitions ${c.partitions}   replicas ${c.replicas}   previous ${c.previous ?? '-'}`,
      `  owners     ${ring.owners.join(' ')}`,
      `  owned      ${ring.members.map((m, i) => `${m}=${counts[i]}`).join(' ')}`,
      `  moves      ${previous ? ownershipMoves(previous, ring) : '-'}`,
      `  violations ${bad.length === 0 ? 'none' : bad.join(' ')}`,
      `  checksum   0x${ring.checksum.toString(16).padStart(8, '0')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

describe('claim golden file (test/testdata/ring/claim.txt)', () => {
  it('matches claim() output', () => {
    const actual = render();
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, actual);
    expect(actual).to.equal(readFileSync(GOLDEN, 'utf8'));
  });
});
