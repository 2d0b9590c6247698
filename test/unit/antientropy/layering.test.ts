import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// .dependency-cruiser.cjs lets lib/antientropy import lib/storage, but only
// its types (records stay opaque bytes here; the node reads and writes them).
// The swc parser dependency-cruiser uses cannot tell type-only imports apart,
// so this checks the sources.
describe('lib/antientropy layering', () => {
  it('imports lib/storage for types only', () => {
    const dir = fileURLToPath(new URL('../../../lib/antientropy/', import.meta.url));
    const offending: string[] = [];
    let storageImports = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(dir + file, 'utf8');
      for (const m of source.matchAll(/^(import|export)\s+([^;]*?)\s+from\s+'\.\.\/storage\/[^']*';/gms)) {
        storageImports++;
        const clause = m[2]!;
        const typeOnly = clause.startsWith('type ') || /^\{[^}]*\}$/s.test(clause) && clause.slice(1, -1).split(',').every((s) => s.trim() === '' || s.trim().startsWith('type '));
        if (!typeOnly) offending.push(`${file}: ${m[0]}`);
      }
    }
    expect(storageImports).to.be.greaterThan(0);
    expect(offending).to.deep.equal([]);
  });
});
