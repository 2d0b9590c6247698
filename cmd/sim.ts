/**
 * The history checker's command line (`npm run sim`, `npm run sim:swarm`):
 * parses flags, runs seeded whole-cluster simulations (lib/sim/run.ts) and
 * prints what they found. Exit 0 when every run is clean, 1 on a violation,
 * 2 on a usage error.
 */
import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { isConsistency, type Consistency } from '../lib/protocol/index.ts';
import {
  defaultRunOptions,
  FAULT_NAMES,
  formatReport,
  levelsFor,
  NO_FAULTS,
  runSimulation,
  seedFromEnv,
  swarmOptions,
  type FaultOptions,
  type SimRunReport,
} from '../lib/sim/index.ts';

function integer(min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new CommanderArgumentError(`expected an integer in ${min}..${max}`);
    return n;
  };
}

function faultList(raw: string): FaultOptions {
  const names = raw === 'all' ? [...FAULT_NAMES] : raw === 'none' || raw === '' ? [] : raw.split(',').map((s) => s.trim());
  const faults: FaultOptions = { ...NO_FAULTS };
  for (const name of names) {
    if (!(FAULT_NAMES as readonly string[]).includes(name)) {
      throw new CommanderArgumentError(`unknown fault "${name}" (known: ${FAULT_NAMES.join(', ')}, all, none)`);
    }
    (faults as unknown as Record<string, boolean>)[name] = true;
  }
  if (names.length > 0) Object.assign(faults, { lossRate: 0.01, duplicationRate: 0.01, spikeRate: 0.01 });
  return faults;
}

function levelList(raw: string): Consistency[] {
  const levels = raw.split(',').map((s) => s.trim().toUpperCase());
  for (const l of levels) if (!isConsistency(l) || l === 'ANY') throw new CommanderArgumentError(`"${l}" is not a level the workload can use`);
  return levels as Consistency[];
}

/** Counts of runs in which each rare path was taken at least once. */
function tally(reports: readonly SimRunReport[]): Record<string, number> {
  const hits: Record<string, number> = {};
  const bump = (name: string, hit: boolean): void => {
    hits[name] = (hits[name] ?? 0) + (hit ? 1 : 0);
  };
  for (const r of reports) {
    bump('local write failure', r.rare.localWriteFailures > 0);
    bump('actor retired', r.rare.actorRetirements > 0);
    bump('write built on a pending one', r.rare.writesOverPending > 0);
    bump('failed write built on by a later', r.rare.failuresUnderLaterWrite > 0);
    bump('tail loss (unsynced writes lost)', r.rare.tailWritesLost > 0);
    bump('dot conflict', r.rare.dotConflicts > 0);
    bump('sibling cap', r.rare.siblingCap > 0);
    bump('context refused (unverifiable)', r.rare.contextRefusals > 0);
    bump('context refused (forged)', r.rare.forgedContextRefusals > 0);
    bump('record set aside', r.rare.setAside > 0);
    bump('read failed its checksum', r.rare.checksumFailures > 0);
    bump('write failed, maybe applied', r.rare.maybeAppliedErrors > 0);
    bump('tombstones purged (GC)', r.rare.tombstonePurges > 0);
    bump('tree rebuilt (untrusted)', r.rare.treeRebuilds > 0);
    bump('trees loaded (clean start)', r.rare.treesLoaded > 0);
    bump('tombstone list loaded (no walk)', r.rare.tombstoneListsLoaded > 0);
    bump('hints handed over', r.rare.hintsDelivered > 0);
    bump('exchanges slowed (node busy)', r.rare.exchangesSlowed > 0);
    bump('digest differed (copy read whole)', r.rare.digestMismatches > 0);
    bump('write read from a summary', r.rare.summaryReads > 0);
    bump('summary, then read whole', r.rare.summaryFallbacks > 0);
    bump('hints retired to other replicas', r.rare.hintsRetired > 0);
    bump('hints dropped (2x hint window)', r.rare.hintsDropped > 0);
    bump('anti-entropy off', r.options.antiEntropy === false);
    bump('hinted handoff off', r.options.handoff?.enabled === false);
    for (const [fault, n] of Object.entries(r.faults)) bump(`fault: ${fault}`, n > 0);
  }
  return hits;
}

const program = new Command('sim')
  .description('seeded whole-cluster simulations with fault injection, judged by the history checker')
  .showHelpAfterError()
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));

program
  .command('run')
  .description('run one simulation (the seed comes from --seed, else DYNAMO_SEED, else 1)')
  .option('--seed <n>', 'seed', integer(0, 2 ** 32 - 1))
  .option('--swarm', 'use the swarm options of this seed (what `sim:swarm` ran for it) instead of the flags below')
  .option('--nodes <n>', 'cluster size', integer(1, 64), 3)
  .option('--replicas <n>', 'replication factor N', integer(1, 7), 3)
  .option('--ops <n>', 'operations per client', integer(1, 100_000), 25)
  .option('--clients <n>', 'concurrent clients', integer(1, 256), 4)
  .option('--keys <n>', 'keys written', integer(1, 10_000), 4)
  .option('--levels <list>', 'consistency levels to use, e.g. ONE,QUORUM,ALL', levelList)
  .addOption(new Option('--faults <list>', `faults to inject: ${FAULT_NAMES.join(',')}, all or none`).argParser(faultList).default(NO_FAULTS, 'none'))
  .option('--sync-writes', 'every landed write is durable at once (the node flag of that name)')
  .option('--verbose', 'print the rare-path counters')
  .action(async (flags: Record<string, unknown>) => {
    const seed = (flags['seed'] as number | undefined) ?? seedFromEnv();
    const options =
      flags['swarm'] === true
        ? swarmOptions(seed)
        : {
            ...defaultRunOptions(seed),
            nodes: flags['nodes'] as number,
            replicas: Math.min(flags['replicas'] as number, flags['nodes'] as number),
            opsPerClient: flags['ops'] as number,
            clients: flags['clients'] as number,
            keys: flags['keys'] as number,
            levels: (flags['levels'] as Consistency[] | undefined) ?? levelsFor(Math.min(flags['replicas'] as number, flags['nodes'] as number)),
            faults: flags['faults'] as FaultOptions,
          };
    if (flags['syncWrites'] === true) options.disk = { ...options.disk, syncWrites: true };
    const report = await runSimulation(options);
    process.stdout.write(formatReport(report) + '\n');
    if (flags['verbose'] === true) process.stdout.write(`rare paths: ${JSON.stringify(report.rare)}\nfaults: ${JSON.stringify(report.faults)}\n`);
    process.exitCode = report.violations.length === 0 ? 0 : 1;
  });

program
  .command('swarm')
  .description('run many seeds, each with its own randomized options (DYNAMO_SEED=<n> runs just that seed)')
  .option('--seeds <n>', 'how many seeds', integer(1, 10_000_000), 200)
  .option('--first <n>', 'first seed', integer(0, 2 ** 32 - 1), 1)
  .option('--until-violation', 'stop at the first seed with a violation (how many seeds a bug takes to find)')
  .action(async (flags: { seeds: number; first: number; untilViolation?: boolean }) => {
    const single = process.env['DYNAMO_SEED'];
    const seeds = single !== undefined && single !== '' ? [seedFromEnv()] : Array.from({ length: flags.seeds }, (_, i) => flags.first + i);
    const started = Date.now();
    const reports: SimRunReport[] = [];
    const failed: SimRunReport[] = [];
    for (const seed of seeds) {
      const report = await runSimulation(swarmOptions(seed));
      reports.push(report);
      if (report.violations.length > 0) {
        failed.push(report);
        process.stdout.write(formatReport(report) + `\n(swarm options; rerun with: DYNAMO_SEED=${seed} npm run sim:swarm)\n`);
        if (flags.untilViolation === true) break;
      }
      if (process.stderr.isTTY && reports.length % 50 === 0) process.stderr.write(`\r${reports.length}/${seeds.length} runs, ${failed.length} with violations`);
    }
    if (process.stderr.isTTY) process.stderr.write('\n');
    const ops = reports.reduce((n, r) => n + r.ops, 0);
    const acked = reports.reduce((n, r) => n + r.acknowledgedWrites, 0);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(`runs: ${reports.length}, violations: ${failed.reduce((n, r) => n + r.violations.length, 0)} in ${failed.length} run(s)` +
      `${failed.length > 0 ? ` (seeds ${failed.map((r) => r.seed).join(', ')})` : ''}\n`);
    process.stdout.write(`operations: ${ops}, acknowledged writes: ${acked}, wall time: ${seconds} s\n`);
    process.stdout.write('runs that took each rare path:\n');
    for (const [name, n] of Object.entries(tally(reports))) process.stdout.write(`  ${name.padEnd(34)} ${n}\n`);
    process.exitCode = failed.length === 0 ? 0 : 1;
  });

await program.parseAsync(process.argv);
