/**
 * Child process of the value-log crash test: writes and deletes large records
 * on LevelDB with syncWrites, from several lanes at once (so batches
 * coalesce), and prints `ack <key> <seq>` after each write resolves, and
 * `gc <runs>` as GC progresses. Runs until killed.
 *
 * usage: node --import=tsx crash-writer.ts <dataDir> <firstSeq>
 */
import { LevelStorage } from '../../../../lib/storage/index.ts';
import { CRASH_OPTIONS, isDelete, KEYS_PER_LANE, keyOf, LANES, PARTITION, recordFor } from './crash-workload.ts';

const [dataDir, firstSeqArg] = process.argv.slice(2);
const firstSeq = Number(firstSeqArg);
const storage = new LevelStorage({ ...CRASH_OPTIONS, dataDir: dataDir! });
await storage.open();
// Pipes to a parent are written synchronously on Linux: once printed, an ack survives our death.
process.stdout.write('ready\n');

let gcRuns = -1;
async function lane(l: number): Promise<void> {
  for (let round = 0; ; round++) {
    for (let j = 0; j < KEYS_PER_LANE; j++) {
      const i = l * KEYS_PER_LANE + j;
      const seq = firstSeq + round;
      await storage.write([{ partition: PARTITION, key: keyOf(i), record: isDelete(seq) ? undefined : recordFor(i, seq) }]);
      process.stdout.write(`ack ${i} ${seq}\n`);
      const runs = storage.stats().valueLog.gcRuns;
      if (runs !== gcRuns) process.stdout.write(`gc ${(gcRuns = runs)}\n`);
    }
  }
}

await Promise.all(Array.from({ length: LANES }, (_, l) => lane(l)));
