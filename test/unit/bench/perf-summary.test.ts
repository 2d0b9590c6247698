import { expect } from 'chai';
import { byCategory, categoryOf, parseReport } from '../../../bench/perf-summary.ts';

// Lines as `perf report --stdio --sort dso,sym` prints them for a node process run with --perf-basic-prof.
const REPORT = [
  '# Samples: 12K of event \'cpu-clock:ppp\'',
  '# Event count (approx.): 25130430234',
  '#',
  '     4.31%  classic-level.node   [.] leveldb::MemTable::KeyComparator::operator()',
  '     2.71%  libc.so.6            [.] _int_malloc',
  '     2.14%  node                 [.] Builtins_LoadIC',
  '     1.30%  [kernel.kallsyms]    [k] _raw_spin_unlock_irqrestore',
  '     0.92%  node                 [.] v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>',
  '     0.62%  [JIT] tid 22931      [.] JS:*versionDigest file:///srv/app/dist/lib/antientropy/version-digest.js:43:30',
  '     0.52%  [JIT] tid 22930      [.] JS:*versionDigest file:///srv/app/dist/lib/antientropy/version-digest.js:43:30',
  '     0.40%  [JIT] tid 22930      [.] JS:*write /srv/app/node_modules/@grpc/grpc-js/build/src/stream-decoder.js:37:10',
  '     0.30%  [JIT] tid 22930      [.] JS:*addChunk node:internal/streams/readable:550:18',
  '     0.20%  node                 [.] node::http2::Http2Session::OnStreamRead(long, uv_buf_t const&)',
  '',
].join('\n');

describe('bench/perf-summary', () => {
  it('parses every sample row of a perf report, and nothing else', () => {
    const rows = parseReport(REPORT);
    expect(rows).to.have.length(10);
    expect(rows[0]).to.deep.equal({ percent: 4.31, dso: 'classic-level.node', space: '.', symbol: 'leveldb::MemTable::KeyComparator::operator()' });
    expect(rows[3]).to.deep.include({ dso: '[kernel.kallsyms]', space: 'k' });
    expect(rows[5]).to.deep.include({ dso: '[JIT] tid 22931', percent: 0.62 });
  });

  it('puts each row in the bucket its CPU belongs to, and sums the buckets', () => {
    const rows = parseReport(REPORT);
    expect(rows.map(categoryOf)).to.deep.equal([
      'storage engine (native)',
      'allocator (libc)',
      'v8 builtins',
      'kernel',
      'v8 garbage collection',
      'js srv/app/dist/lib/antientropy/version-digest.js',
      'js srv/app/dist/lib/antientropy/version-digest.js',
      'js dependency @grpc/grpc-js',
      'js node core',
      'v8 / node runtime',
    ]);
    const buckets = new Map(byCategory(rows));
    expect(buckets.get('js srv/app/dist/lib/antientropy/version-digest.js')).to.be.closeTo(1.14, 1e-9);
    expect(byCategory(rows)[0]).to.deep.equal(['storage engine (native)', 4.31]);
  });
});
