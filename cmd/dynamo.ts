/**
 * The `dynamo` command line: `node` starts one node, `cluster` a local
 * cluster of node processes, `get`/`put`/`del`/`status` talk to a running
 * cluster through the SDK. Only flag parsing and process plumbing live here;
 * every error is printed as one readable line with a non-zero exit.
 */
import { Command, CommanderError, Option } from 'commander';
import { DynamoClient, DynamoError } from '../lib/client/index.ts';
import { flagName, envName, resolveNodeConfig, type NodeConfig } from '../lib/config/index.ts';
import { LocalCluster, READY_LINE_PREFIX, startNodeProcess } from '../lib/node/index.ts';
import { isConsistency, type Consistency } from '../lib/protocol/index.ts';

const DEFAULT_ENDPOINT = '127.0.0.1:7001';

/** Thrown for bad CLI usage; printed as one line, exit code 2. */
class UsageError extends Error {}

function fail(message: string, exitCode = 1): never {
  process.stderr.write(`dynamo: ${message}\n`);
  process.exit(exitCode);
}

function errorLine(e: unknown): string {
  if (e instanceof DynamoError) return `${e.message} [${e.code}]`;
  if (e instanceof Error) return e.message;
  return String(e);
}

const program = new Command();
program
  .name('dynamo')
  .description('A Dynamo-style, leaderless, replicated key-value store')
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(`dynamo: ${str.replace(/^error: /, '').trim()}\n`) });

// ---------------------------------------------------------------- node
const NODE_FLAGS: [keyof NodeConfig, string, string][] = [
  ['id', '<id>', 'stable node id (e.g. the pod name)'],
  ['listen', '<host:port>', 'address the gRPC server binds'],
  ['advertise', '<host:port>', 'address peers and clients use (default: --listen)'],
  ['dataDir', '<dir>', 'data directory'],
  ['seeds', '<list>', 'cluster members, [id@]host:port comma-separated'],
  ['replicas', '<n>', 'replication factor N (default 3)'],
  ['partitions', '<n>', 'ring partitions / virtual nodes (default 256)'],
  ['engine', '<engine>', 'leveldb | rocksdb | memory (default leveldb)'],
  ['defaultConsistency', '<level>', 'default consistency (default QUORUM)'],
  ['requestTimeoutMs', '<ms>', 'default request deadline (default 5000)'],
  ['syncWrites', '[bool]', 'fsync every storage batch (default false)'],
  ['readMode', '<mode>', 'sync (default; cheapest) | batched (never blocks the event loop on a cold disk)'],
  ['shutdownGraceMs', '<ms>', 'how long shutdown waits for in-flight requests'],
  ['logLevel', '<level>', 'error | warn | info | silent'],
];

const nodeCmd = program.command('node').description('start one node (every flag also from DYNAMO_<FLAG>)');
for (const [field, arg, help] of NODE_FLAGS) {
  nodeCmd.addOption(new Option(`--${flagName(field)} ${arg}`, `${help} [${envName(field)}]`));
}
nodeCmd.action(async (opts: Record<string, string | boolean | undefined>) => {
  const flags: Partial<Record<keyof NodeConfig, string | boolean | undefined>> = {};
  for (const [field] of NODE_FLAGS) {
    const key = flagName(field).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    flags[field] = opts[key];
  }
  const config = resolveNodeConfig(flags, process.env);
  const running = await startNodeProcess(config, process.env);
  process.stdout.write(`${READY_LINE_PREFIX}: ${config.id} on ${running.address} (engine ${config.engine}, data ${config.dataDir})\n`);
  // A local cluster's children get the terminal's SIGINT and the runner's
  // SIGTERM together: only the same signal twice means "stop now".
  const seen = new Set<string>();
  const onSignal = (signal: string): void => {
    if (seen.has(signal)) fail(`second ${signal}: exiting without finishing in-flight requests`);
    const first = seen.size === 0;
    seen.add(signal);
    if (!first) return;
    running.logger.info('shutting down', { signal });
    running.stop().then(
      () => process.exit(0),
      (e: unknown) => fail(`shutdown failed: ${errorLine(e)}`),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
});

// ---------------------------------------------------------------- cluster
program
  .command('cluster')
  .description('start a local cluster of node processes on 127.0.0.1 (Ctrl-C stops it)')
  .option('--nodes <n>', 'number of nodes', '3')
  .option('--data-dir <dir>', 'parent data directory (one sub-directory per node)', './data')
  .option('--base-port <port>', 'first port (0 = random free ports)', '7001')
  .option('--engine <engine>', 'leveldb | rocksdb | memory', 'leveldb')
  .option('--replicas <n>', 'replication factor N', '3')
  .option('--partitions <n>', 'ring partitions', '256')
  .option('--log-level <level>', 'node log level', 'warn')
  .action(async (opts: Record<string, string>) => {
    const nodes = parseWhole('--nodes', opts['nodes']!, 1, 64);
    const engine = opts['engine'];
    if (engine !== 'leveldb' && engine !== 'rocksdb' && engine !== 'memory') throw new UsageError(`--engine must be leveldb, rocksdb or memory, not "${engine}"`);
    const logLevel = opts['logLevel'] as 'error' | 'warn' | 'info' | 'silent';
    const cluster = await LocalCluster.start({
      nodes,
      dataDir: opts['dataDir']!,
      basePort: parseWhole('--base-port', opts['basePort']!, 0, 65535),
      engine,
      replicas: parseWhole('--replicas', opts['replicas']!, 1, 9),
      partitions: parseWhole('--partitions', opts['partitions']!, 1, 65536),
      logLevel,
    });
    process.on('exit', () => cluster.killAllSync());
    process.stdout.write(`dynamo cluster: ${nodes} nodes, data in ${opts['dataDir']}\n`);
    for (const m of cluster.members) process.stdout.write(`  ${m.id}  ${m.address}\n`);
    process.stdout.write(`endpoints: ${cluster.endpoints.join(',')}\n`);
    process.stdout.write(`try: npx dynamo put hello world --endpoint ${cluster.endpoints[0]} && npx dynamo get hello --endpoint ${cluster.endpoints[0]}\n`);
    process.stdout.write('Ctrl-C stops the cluster.\n');
    const stop = (): void => {
      cluster.stop('SIGTERM').then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

// ---------------------------------------------------------------- client commands
function parseWhole(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} must be a whole number, not "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}`);
  return n;
}

interface ClientOpts {
  endpoint?: string;
  consistency?: string;
  timeoutMs?: string;
}

function clientOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <list>', `node(s) to talk to, host:port comma-separated [DYNAMO_ENDPOINT] (default ${DEFAULT_ENDPOINT})`)
    .option('--consistency <level>', 'ONE | TWO | THREE | QUORUM | ALL (default: the node\'s)')
    .option('--timeout-ms <ms>', 'request deadline', '5000');
}

function consistencyOf(opts: ClientOpts): Consistency | undefined {
  if (opts.consistency === undefined) return undefined;
  const level = opts.consistency.toUpperCase();
  if (!isConsistency(level)) throw new UsageError(`--consistency must be one of ONE, TWO, THREE, QUORUM, ALL, ANY, not "${opts.consistency}"`);
  return level;
}

async function withClient<T>(opts: ClientOpts, fn: (client: DynamoClient, common: { consistency?: Consistency; timeoutMs: number }) => Promise<T>): Promise<T> {
  const endpoints = (opts.endpoint ?? process.env['DYNAMO_ENDPOINT'] ?? DEFAULT_ENDPOINT).split(',').map((s) => s.trim()).filter(Boolean);
  const timeoutMs = parseWhole('--timeout-ms', opts.timeoutMs ?? '5000', 1, 3_600_000);
  const consistency = consistencyOf(opts);
  const client = new DynamoClient({ endpoints, timeoutMs });
  try {
    return await fn(client, consistency === undefined ? { timeoutMs } : { consistency, timeoutMs });
  } finally {
    client.close();
  }
}

function decodeContextFlag(b64: string | undefined): Uint8Array | undefined {
  if (b64 === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new UsageError('--context must be the base64 text printed by `dynamo get --show-context`');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

clientOptions(program.command('get <key>'))
  .description('read a key; prints each sibling value on its own line')
  .option('--show-context', 'also print the causal context (base64) on stderr')
  .option('--json', 'print {"found","values","context"} as JSON (values as UTF-8 text)')
  .action(async (key: string, opts: ClientOpts & { showContext?: boolean; json?: boolean }) => {
    await withClient(opts, async (client, common) => {
      const res = await client.get(key, common);
      const context = Buffer.from(res.context).toString('base64');
      if (opts.json) {
        const values = res.values.map((v) => Buffer.from(v).toString('utf8'));
        process.stdout.write(JSON.stringify({ found: res.found, values, context }) + '\n');
        return;
      }
      if (opts.showContext) process.stderr.write(`context: ${context}\n`);
      if (!res.found) {
        process.stderr.write(`dynamo: key not found: ${key}\n`);
        process.exitCode = 1;
        return;
      }
      if (res.values.length > 1) process.stderr.write(`(${res.values.length} siblings)\n`);
      for (const v of res.values) process.stdout.write(Buffer.from(v).toString('utf8') + '\n');
    });
  });

clientOptions(program.command('put <key> <value>'))
  .description('write a value; by default it replaces what a read sees now (use --blind to add a sibling instead)')
  .option('--context <base64>', 'causal context from `get --show-context` (replaces exactly what that read saw)')
  .option('--blind', 'write without any context: concurrent with every stored version (creates a sibling)')
  .action(async (key: string, value: string, opts: ClientOpts & { context?: string; blind?: boolean }) => {
    await withClient(opts, async (client, common) => {
      let context = decodeContextFlag(opts.context);
      if (context === undefined && !opts.blind) context = (await client.get(key, common)).context;
      await client.put(key, value, { ...common, ...(context ? { context } : {}) });
      process.stdout.write('OK\n');
    });
  });

clientOptions(program.command('del <key>'))
  .alias('delete')
  .description('delete a key (writes a tombstone covering what a read sees now)')
  .option('--context <base64>', 'causal context from `get --show-context`')
  .action(async (key: string, opts: ClientOpts & { context?: string }) => {
    await withClient(opts, async (client, common) => {
      const context = decodeContextFlag(opts.context) ?? (await client.get(key, common)).context;
      await client.delete(key, { ...common, context });
      process.stdout.write('OK\n');
    });
  });

program
  .command('status')
  .description("show the cluster as a node sees it: members, reachability, ring")
  .option('--endpoint <host:port>', `node to ask [DYNAMO_ENDPOINT] (default ${DEFAULT_ENDPOINT})`)
  .option('--json', 'print the raw status as JSON')
  .action(async (opts: { endpoint?: string; json?: boolean }) => {
    const endpoint = (opts.endpoint ?? process.env['DYNAMO_ENDPOINT'] ?? DEFAULT_ENDPOINT).split(',')[0]!.trim();
    const client = new DynamoClient({ endpoints: [endpoint], timeoutMs: 5000 });
    try {
      const s = await client.status(endpoint);
      if (opts.json) {
        process.stdout.write(JSON.stringify(s) + '\n');
        return;
      }
      process.stdout.write(
        `node ${s.nodeId}: ${s.ready ? 'ready' : 'joining'}, N=${s.replicas}, ${s.partitionCount} partitions, engine ${s.engine}, ring ${s.ringChecksum.toString(16).padStart(8, '0')}\n`,
      );
      process.stdout.write(`${'ID'.padEnd(12)}${'ADDRESS'.padEnd(24)}${'REACHABLE'.padEnd(11)}PARTITIONS\n`);
      for (const m of s.members) {
        const id = m.self ? `${m.id}*` : m.id;
        process.stdout.write(`${id.padEnd(12)}${m.address.padEnd(24)}${(m.reachable ? 'yes' : 'NO').padEnd(11)}${m.partitionsOwned}\n`);
      }
      process.stdout.write(`gets ${s.gets}, puts ${s.puts}, deletes ${s.deletes}, read repairs ${s.readRepairs}\n`);
    } finally {
      client.close();
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  if (e instanceof UsageError) fail(e.message, 2);
  fail(errorLine(e));
}
