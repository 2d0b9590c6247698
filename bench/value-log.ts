/**
 * Storage-level overwrite benchmark for the value log (docs/value-log.md): 32
 * writers overwrite records of `keys` keys straight into a LevelStorage for
 * `seconds`, and it prints writes/s, latency, CPU per write and the value
 * log's counters (segments, disk and live bytes, GC work, writes that waited
 * for GC). `minBytes` 0 keeps every record in LevelDB, for comparison.
 *
 *   npm run bench:value-log -- [minBytes=8192] [seconds=30] [keys=1000] [recordBytes=65536]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { LevelStorage } from '../lib/storage/index.ts';
import { ValueSource } from './values.ts';

const minBytes = Number(process.argv[2] ?? 8192);
const seconds = Number(process.argv[3] ?? 30);
const keys = Number(process.argv[4] ?? 1000);
const size = Number(process.argv[5] ?? 65536);
const dir = mkdtempSync(join(tmpdir(), 'vlw-'));
const s = new LevelStorage({ dataDir: dir, valueLogMinBytes: minBytes });
await s.open();
const h = hdr.build();
const values = new ValueSource('compressible', size, 1);
const enc = new TextEncoder();
const end = performance.now() + seconds * 1000;
let n = 0;
const cpu0 = process.cpuUsage();
await Promise.all(Array.from({ length: 32 }, async (_, c) => {
  let i = c;
  while (performance.now() < end) {
    i = (i * 1103515245 + 12345) >>> 0;
    const key = enc.encode(`k${i % keys}`);
    const rec = new Uint8Array(size + 1);
    rec[0] = 1;
    rec.set(values.next(), 1);
    const t0 = performance.now();
    await s.write([{ partition: i % 256, key, record: rec }]);
    h.recordValue(Math.round((performance.now() - t0) * 1000));
    n++;
  }
}));
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ minBytes, writesPerSec: Math.round(n / seconds), p50ms: h.getValueAtPercentile(50) / 1000, p99ms: h.getValueAtPercentile(99) / 1000, maxMs: h.maxValue / 1000, cpuUsPerWrite: Math.round((cpu.user + cpu.system) / n), valueLog: s.stats().valueLog }));
await s.close();
rmSync(dir, { recursive: true, force: true });
