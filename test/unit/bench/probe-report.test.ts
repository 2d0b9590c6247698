import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeLines, readProbes, type NodeProbe } from '../../../bench/probe-report.ts';

const node = (pid: number, gc: NodeProbe['gc'], allocSites: NodeProbe['allocSites'] = []): NodeProbe => ({ pid, seconds: 10, gc, allocSites });

describe('bench: probe report (--gc)', () => {
  it('gives GCs per node per second, per 1,000 ops of the whole cluster, pause length and pause share', () => {
    const probes = [node(1, { major: { count: 20, ms: 400 }, minor: { count: 10, ms: 100 } }), node(2, { major: { count: 30, ms: 600 }, minor: { count: 30, ms: 300 } })];
    // Per node: major 25 in 10 s, 500 ms; minor 20, 200 ms. Cluster: 50 majors over 5,000 ops = 10 per 1,000.
    const [line, ...rest] = probeLines('dynamo-unary', probes, 5_000);
    expect(line).to.equal(
      'dynamo-unary: GC per node over 10 s: major 2.5/s (10.0 per 1,000 ops, 20.0 ms each), minor 2.0/s (8.0 per 1,000 ops, 10.0 ms each); main-thread GC pauses 7.0% of the window',
    );
    expect(rest).to.deep.equal([]);
  });

  it('sums allocation sites over nodes and ranks them by bytes per op', () => {
    const probes = [
      node(1, {}, [
        { site: 'a', count: 100, bytes: 100 * 65536 },
        { site: 'b', count: 300, bytes: 300 * 65536 },
      ]),
      node(2, {}, [{ site: 'a', count: 300, bytes: 300 * 65536 }]),
    ];
    const lines = probeLines('dynamo', probes, 200);
    expect(lines[1]).to.equal('dynamo: large allocations, all nodes: 224 KiB per op at the sites below (top 2)');
    expect(lines[2]).to.equal('  2.00/op   128 KiB/op  a');
    expect(lines[3]).to.equal('  1.50/op    96 KiB/op  b');
  });

  it('says so when no node wrote a probe file, and reads only probe files', () => {
    expect(probeLines('dynamo', [], 100)).to.deep.equal(['dynamo: no GC probe output (were the nodes started with --gc?)']);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-report-'));
    try {
      writeFileSync(path.join(dir, 'probe-42.json'), JSON.stringify(node(42, { minor: { count: 1, ms: 2 } })));
      writeFileSync(path.join(dir, 'other.json'), '{}');
      expect(readProbes(dir).map((p) => p.pid)).to.deep.equal([42]);
      expect(readProbes(path.join(dir, 'missing'))).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
