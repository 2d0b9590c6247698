#!/usr/bin/env node
/**
 * The `dynamo` command line: `node` starts one node, `cluster` a local
 * cluster of node processes; `get`/`put`/`del`/`status`/`where` talk to a
 * running cluster through the SDK. Only flag parsing, printing and process
 * plumbing live here. Every failure is one line on stderr (`dynamo: ...`)
 * and an exit code saying what kind of failure it was (cli/exit-codes.ts),
 * the same in text and `--json` modes; with `--json`, stdout carries the
 * result — or the error — as one JSON object.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import type { Consistency, DynamoClient, RequestOptions } from '../lib/client/index.ts';
import { envName, flagName, NODE_FLAGS, resolveNodeConfig, validateHostPort, type NodeConfig } from '../lib/config/index.ts';
import { DynamoError, RealTime } from '../lib/runtime/index.ts';
import { EXIT, EXIT_CODES, UsageError, exitCodeOf } from './cli/exit-codes.ts';
import { base64, errorJson, errorLine, jsonValues, table } from './cli/output.ts';

const DEFAULT_ENDPOINT = '127.0.0.1:7001';
const TIMEOUT_MS_DEFAULT = 5000;
const time = new RealTime();

/** Levels a read can use (ANY never can). */
const READ_LEVELS: readonly Consistency[] = ['ONE', 'TWO', 'THREE', 'QUORUM', 'ALL'];
/** Levels a write can use today; ANY (sloppy quorum with hinted handoff) joins once nodes accept it. */
const WRITE_LEVELS: readonly Consistency[] = READ_LEVELS;

/**
 * The SDK, loaded by the first command that talks to a cluster: help,
 * --version and usage errors never pay for gRPC (nor `node` for the client).
 */
let sdk: typeof import('../lib/client/index.ts') | undefined;

/** Set by a command that prints JSON: its failures go to stdout as JSON too. */
let jsonMode = false;
/** What the command was doing, prefixed to its failure ("put failed: ..."). */
let step = '';
/** The failure, if any, is of a write: say whether it may have been applied. */
let writing = false;

/** This package's version: the nearest package.json above this file (cmd/ from source, dist/cmd/ when built). */
function version(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dynamo-kv' && pkg.version) return pkg.version;
    } catch {
      // not here; look further up
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

const program = new Command();
program
  .name('dynamo')
  .description('A Dynamo-style, leaderless, replicated key-value store')
  .version(version(), '-V, --version', 'print the version')
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(`dynamo: ${str.replace(/^error: /, '').trim()}\n`) })
  .addHelpText('after', `\nExit codes:\n${EXIT_CODES.map((e) => `  ${e.code}  ${e.meaning.replace(/`/g, '')}`).join('\n')}\n`);

// ---------------------------------------------------------------- node
const nodeCmd = program.command('node').description('start one node (every flag also from DYNAMO_<FLAG>)');
for (const f of NODE_FLAGS) {
  nodeCmd.addOption(new Option(`--${flagName(f.field)} ${f.arg}`, `${f.help} [${envName(f.field)}]`));
}
nodeCmd.action(async (opts: Record<string, string | boolean | undefined>) => {
  const flags: Partial<Record<keyof NodeConfig, string | boolean | undefined>> = {};
  for (const f of NODE_FLAGS) flags[f.field] = opts[camel(flagName(f.field))];
  const config = resolveNodeConfig(flags, process.env);
  // Loaded here: the client commands never pay for storage engines and server code.
  const { READY_LINE_PREFIX, SERVING_LINE_PREFIX, startNodeProcess } = await import('../lib/node/index.ts');
  step = 'node failed to start: ';
  const running = await startNodeProcess(config, process.env);
  step = '';
  process.stdout.write(`${READY_LINE_PREFIX}: ${config.id} on ${running.address} (engine ${config.engine}, data ${config.dataDir})\n`);
  void running.serving.then(() => process.stdout.write(`${SERVING_LINE_PREFIX}: ${config.id} knows the ring and serves\n`));
  // A local cluster's children get the terminal's SIGINT and the runner's
  // SIGTERM together: only the same signal twice means "stop now".
  const seen = new Set<string>();
  const onSignal = (signal: string): void => {
    if (seen.has(signal)) exit(new Error(`second ${signal}: exiting without finishing in-flight requests`));
    const first = seen.size === 0;
    seen.add(signal);
    if (!first) return;
    running.logger.info('shutting down', { signal });
    running.stop().then(
      () => process.exit(EXIT.ok),
      (e: unknown) => exit(e, 'shutdown failed: '),
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
  .option('--log-level <level>', 'node log level: error | warn | info | silent', 'warn')
  .option('--json', 'once every node serves, print {"endpoints","members"} as one JSON line')
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    jsonMode = opts['json'] === true;
    const nodes = parseWhole('--nodes', String(opts['nodes']), 1, 64);
    const engine = opts['engine'];
    if (engine !== 'leveldb' && engine !== 'rocksdb' && engine !== 'memory') throw new UsageError(`--engine must be leveldb, rocksdb or memory, not "${String(engine)}"`);
    const logLevel = opts['logLevel'];
    if (logLevel !== 'error' && logLevel !== 'warn' && logLevel !== 'info' && logLevel !== 'silent') {
      throw new UsageError(`--log-level must be error, warn, info or silent, not "${String(logLevel)}"`);
    }
    const dataDir = String(opts['dataDir']);
    const basePort = parseWhole('--base-port', String(opts['basePort']), 0, 65535);
    const replicas = parseWhole('--replicas', String(opts['replicas']), 1, 9);
    const partitions = parseWhole('--partitions', String(opts['partitions']), 1, 65536);
    const { LocalCluster } = await import('../lib/node/index.ts');
    step = 'cluster failed to start: ';
    const cluster = await LocalCluster.start({ nodes, dataDir, basePort, engine, replicas, partitions, logLevel });
    step = '';
    process.on('exit', () => cluster.killAllSync());
    if (jsonMode) {
      process.stdout.write(JSON.stringify({ endpoints: cluster.endpoints, members: cluster.members }) + '\n');
    } else {
      process.stdout.write(`dynamo cluster: ${nodes} nodes, data in ${dataDir}\n`);
      process.stdout.write(table(['ID', 'ADDRESS', 'DATA'], cluster.members.map((m) => [m.id, m.address, m.dataDir])));
      process.stdout.write(`endpoints: ${cluster.endpoints.join(',')}\n`);
      process.stdout.write(`try: npx dynamo put hello world --endpoint ${cluster.endpoints[0]} && npx dynamo get hello --endpoint ${cluster.endpoints[0]}\n`);
      process.stdout.write('Ctrl-C stops the cluster.\n');
    }
    const stop = (): void => {
      cluster.stop('SIGTERM').then(() => process.exit(EXIT.ok));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

// ---------------------------------------------------------------- client commands
function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

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
  json?: boolean;
}

/** --endpoint, else DYNAMO_ENDPOINT, else 127.0.0.1:7001: host:port, comma-separated. */
function endpointsOf(flag: string | undefined): string[] {
  const fromEnv = flag === undefined && process.env['DYNAMO_ENDPOINT'] !== undefined;
  const raw = flag ?? process.env['DYNAMO_ENDPOINT'] ?? DEFAULT_ENDPOINT;
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const where = fromEnv ? ' (from DYNAMO_ENDPOINT)' : '';
  if (list.length === 0) throw new UsageError(`--endpoint is empty${where}`);
  for (const e of list) if (!validateHostPort(e)) throw new UsageError(`--endpoint must be host:port[,host:port...]; "${e}" is not host:port${where}`);
  return list;
}

function levelOf(raw: string | undefined, allowed: readonly Consistency[]): Consistency | undefined {
  if (raw === undefined) return undefined;
  const level = raw.toUpperCase();
  if (!(allowed as readonly string[]).includes(level)) {
    const why = level === 'ANY' ? ' (ANY is reserved for hinted handoff: no read, and no write yet, can use it)' : '';
    throw new UsageError(`--consistency must be one of ${allowed.join(', ')}, not "${raw}"${why}`);
  }
  return level as Consistency;
}

function endpointOption(cmd: Command): Command {
  return cmd
    .option('--endpoint <list>', `node(s) to talk to, host:port comma-separated, tried in order [DYNAMO_ENDPOINT] (default ${DEFAULT_ENDPOINT})`)
    .option('--timeout-ms <ms>', 'deadline of the whole command', String(TIMEOUT_MS_DEFAULT));
}

function clientOptions(cmd: Command, levels: readonly Consistency[]): Command {
  return endpointOption(cmd).option('--consistency <level>', `${levels.join(' | ')} (default: the node's)`);
}

/**
 * Run `fn` with a client of the named endpoints (no discovery: the CLI talks
 * to the nodes it is given, in order) and one deadline for the whole
 * command, then close the client.
 */
async function withClient<T>(opts: ClientOpts, fn: (client: DynamoClient, call: RequestOptions) => Promise<T>): Promise<T> {
  const endpoints = endpointsOf(opts.endpoint);
  const timeoutMs = parseWhole('--timeout-ms', opts.timeoutMs ?? String(TIMEOUT_MS_DEFAULT), 1, 3_600_000);
  sdk ??= await import('../lib/client/index.ts');
  const client = new sdk.DynamoClient({ endpoints, timeoutMs, routing: 'round-robin', discovery: false });
  try {
    return await fn(client, { deadline: time.nowMs() + timeoutMs });
  } finally {
    await client.close();
  }
}

function decodeContextFlag(b64: string | undefined): Uint8Array | undefined {
  if (b64 === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new UsageError('--context must be the base64 text printed by `dynamo get --show-context`');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/**
 * The context `put`/`del` write with: what a read sees now. That read is
 * the command's own business, so it must not fail the command where the
 * write could succeed, nor in the read's words: it asks QUORUM (or the
 * write's own level when that is ONE or TWO) and, when too few replicas
 * answer, ONE. A write at ALL with one replica down then fails as the
 * write it is.
 */
async function currentContext(client: DynamoClient, key: string, write: Consistency | undefined, call: RequestOptions, command: string): Promise<Uint8Array> {
  const levels: Consistency[] = write === 'ONE' ? ['ONE'] : write === 'TWO' ? ['TWO', 'ONE'] : ['QUORUM', 'ONE'];
  step = `${command} not attempted, the key's current context could not be read: `;
  let last: unknown;
  for (const consistency of levels) {
    try {
      const { context } = await client.get(key, { ...call, consistency });
      step = `${command} failed: `;
      return context;
    } catch (e) {
      if (!(e instanceof DynamoError) || e.code !== 'DYNAMO_UNAVAILABLE') throw e;
      last = e;
    }
  }
  throw last;
}

function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

clientOptions(program.command('get <key>'), READ_LEVELS)
  .description('read a key; prints each sibling value on its own line (exit 1 when not found)')
  .option('--show-context', 'also print the causal context (base64) on stderr')
  .option('--json', 'print {"key","found","values","encoding","context"}; values are UTF-8 text, or base64 when any is not UTF-8 ("encoding" says which)')
  .action(async (key: string, opts: ClientOpts & { showContext?: boolean }) => {
    jsonMode = opts.json === true;
    const consistency = levelOf(opts.consistency, READ_LEVELS);
    await withClient(opts, async (client, call) => {
      const res = await client.get(key, consistency === undefined ? call : { ...call, consistency });
      const context = base64(res.context);
      if (!res.found) process.exitCode = EXIT.notFound;
      if (jsonMode) {
        printJson({ key, found: res.found, ...jsonValues(res.values), context });
        return;
      }
      if (opts.showContext) process.stderr.write(`context: ${context}\n`);
      if (!res.found) {
        process.stderr.write(`dynamo: key not found: ${key}\n`);
        return;
      }
      if (res.values.length > 1) process.stderr.write(`(${res.values.length} siblings)\n`);
      for (const v of res.values) process.stdout.write(Buffer.concat([v, Buffer.from('\n')]));
    });
  });

clientOptions(program.command('put <key> <value>'), WRITE_LEVELS)
  .description('write a value; by default it replaces what a read sees now (use --blind to add a sibling instead)')
  .option('--context <base64>', 'causal context from `get --show-context` (replaces exactly what that read saw)')
  .option('--blind', 'write without any context: concurrent with every stored version (creates a sibling)')
  .option('--json', 'print {"ok","context"}')
  .action(async (key: string, value: string, opts: ClientOpts & { context?: string; blind?: boolean }) => {
    jsonMode = opts.json === true;
    const consistency = levelOf(opts.consistency, WRITE_LEVELS);
    let context = decodeContextFlag(opts.context);
    if (context !== undefined && opts.blind) throw new UsageError('--blind and --context exclude each other');
    await withClient(opts, async (client, call) => {
      if (context === undefined && !opts.blind) context = await currentContext(client, key, consistency, call, 'put');
      step = 'put failed: ';
      writing = true;
      const res = await client.put(key, value, { ...call, ...(consistency ? { consistency } : {}), ...(context ? { context } : {}) });
      step = '';
      if (jsonMode) printJson({ ok: true, context: base64(res.context) });
      else process.stdout.write('OK\n');
    });
  });

clientOptions(program.command('del <key>'), WRITE_LEVELS)
  .alias('delete')
  .description('delete a key (writes a tombstone covering what a read sees now)')
  .option('--context <base64>', 'causal context from `get --show-context`')
  .option('--json', 'print {"ok"}')
  .action(async (key: string, opts: ClientOpts & { context?: string }) => {
    jsonMode = opts.json === true;
    const consistency = levelOf(opts.consistency, WRITE_LEVELS);
    const given = decodeContextFlag(opts.context);
    await withClient(opts, async (client, call) => {
      const context = given ?? (await currentContext(client, key, consistency, call, 'del'));
      step = 'del failed: ';
      writing = true;
      await client.delete(key, { ...call, ...(consistency ? { consistency } : {}), context });
      step = '';
      if (jsonMode) printJson({ ok: true });
      else process.stdout.write('OK\n');
    });
  });

endpointOption(program.command('status'))
  .description('show the cluster as a node sees it: members, reachability, ring (the first endpoint that answers)')
  .option('--json', 'print the status as JSON')
  .action(async (opts: ClientOpts) => {
    jsonMode = opts.json === true;
    await withClient(opts, async (client, call) => {
      const s = await client.status(undefined, call);
      if (jsonMode) {
        printJson(s);
        return;
      }
      process.stdout.write(
        `node ${s.nodeId}: ${s.ready ? 'ready' : 'joining'}, N=${s.replicas}, ${s.partitionCount} partitions, engine ${s.engine}, ring ${hex(s.ringChecksum)}\n`,
      );
      const rows = s.members.map((m) => [m.self ? `${m.id}*` : m.id, m.address, m.reachable ? 'yes' : 'NO', String(m.partitionsOwned)]);
      process.stdout.write(table(['ID', 'ADDRESS', 'REACHABLE', 'PARTITIONS'], rows));
      process.stdout.write(`gets ${s.gets}, puts ${s.puts}, deletes ${s.deletes}, read repairs ${s.readRepairs}\n`);
      const f = s.safety;
      if (f !== undefined) {
        process.stdout.write(
          `actor ${f.actor}; records set aside ${f.recordsSetAside}, local write failures ${f.localWriteFailures}, actors retired ${f.actorsRetired}, ` +
            `dot conflicts ${f.dotConflicts}, contexts clamped ${f.contextClamps}, context catch-ups ${f.contextCatchUps}, sibling-cap refusals ${f.siblingCapRefusals}\n`,
        );
      }
    });
  });

endpointOption(program.command('where <key>'))
  .description("show the key's partition and preference list (its N replicas, in the order coordinators ask them), as a node sees the ring")
  .option('--json', 'print {"key","nodeId","partition","partitionCount","ringChecksum","replicas"}')
  .action(async (key: string, opts: ClientOpts) => {
    jsonMode = opts.json === true;
    await withClient(opts, async (client, call) => {
      const where = await client.locate(key, call);
      const replicas = where.replicas.map((m) => ({ id: m.id, address: m.address, reachable: m.reachable }));
      if (jsonMode) {
        printJson({ key, nodeId: where.nodeId, partition: where.partition, partitionCount: where.partitionCount, ringChecksum: where.ringChecksum, replicas });
        return;
      }
      process.stdout.write(
        `key ${key}: partition ${where.partition} of ${where.partitionCount}, N=${replicas.length}, ring ${hex(where.ringChecksum)} (as ${where.nodeId} sees it)\n`,
      );
      process.stdout.write(table(['#', 'ID', 'ADDRESS', 'REACHABLE'], replicas.map((m, i) => [String(i + 1), m.id, m.address, m.reachable ? 'yes' : 'NO'])));
    });
  });

function hex(checksum: number): string {
  return checksum.toString(16).padStart(8, '0');
}

/** Report `e` (one stderr line; JSON on stdout in --json mode) and exit with its code. */
function exit(e: unknown, prefix = step): never {
  const code = exitCodeOf(e);
  // A write that failed may still have been stored: the node says so, or a replica acknowledged it.
  const maybeApplied = writing && e instanceof DynamoError && sdk !== undefined && !sdk.provablyNotApplied(e);
  const line = `${prefix}${errorLine(e)}${maybeApplied && !/may have been applied/.test(errorLine(e)) ? ' (it may have been applied)' : ''}`;
  if (jsonMode) process.stdout.write(errorJson(e, code, line, maybeApplied));
  process.stderr.write(`dynamo: ${line}\n`);
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? EXIT.ok : EXIT.usage);
  exit(e);
}
