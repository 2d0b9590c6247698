#!/usr/bin/env -S node --initial-old-space-size=256
/**
 * The `dynamo` command line: `node` starts one node, `cluster` a local
 * cluster of node processes; `get`/`put`/`del`/`status`/`where`/`ring` talk
 * to a running cluster through the SDK, `join`/`decommission`/`remove`
 * change its membership, and `repair` runs anti-entropy on a node now. Only flag parsing, printing and process
 * plumbing live here. Every failure is one line on stderr (`dynamo: ...`)
 * and an exit code saying what kind of failure it was (cli/exit-codes.ts),
 * the same in text and `--json` modes; with `--json`, stdout carries the
 * result — or the error — as one JSON object.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import type { CallOptions, Consistency, DynamoClient, RequestOptions } from '../lib/client/index.ts';
import { envName, flagName, NODE_FLAGS, resolveNodeConfig, validateHostPort, validateNodeId, type NodeConfig } from '../lib/config/index.ts';
import { DynamoError, RealTime } from '../lib/runtime/index.ts';
import { hex, ringText, statusJson, statusText } from './cli/admin-output.ts';
import { HandOff, watch } from './cli/decommission.ts';
import { EXIT, EXIT_CODES, UsageError, exitCodeOf } from './cli/exit-codes.ts';
import { base64, errorJson, errorLine, jsonValues, table } from './cli/output.ts';
import { progressDisplay, repairProgressDisplay } from './cli/progress.ts';
import { RepairWatch, watchRepair } from './cli/repair.ts';

const DEFAULT_ENDPOINT = '127.0.0.1:7001';
const TIMEOUT_MS_DEFAULT = 5000;
const time = new RealTime();

/** Levels a read can use (ANY never can). */
const READ_LEVELS: readonly Consistency[] = ['ONE', 'TWO', 'THREE', 'QUORUM', 'ALL'];
/** ANY (stored by any node, even only as a hint holder) is a write level only. */
const WRITE_LEVELS: readonly Consistency[] = [...READ_LEVELS, 'ANY'];

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
  .option('--log-level <level>', 'node log level: error | warn | info | debug | silent', 'warn')
  .option('--json', 'once every node serves, print {"endpoints","members"} as one JSON line')
  .action(async (opts: Record<string, string | boolean | undefined>) => {
    jsonMode = opts['json'] === true;
    const nodes = parseWhole('--nodes', String(opts['nodes']), 1, 64);
    const engine = opts['engine'];
    if (engine !== 'leveldb' && engine !== 'rocksdb' && engine !== 'memory') throw new UsageError(`--engine must be leveldb, rocksdb or memory, not "${String(engine)}"`);
    const logLevel = opts['logLevel'];
    if (logLevel !== 'error' && logLevel !== 'warn' && logLevel !== 'info' && logLevel !== 'debug' && logLevel !== 'silent') {
      throw new UsageError(`--log-level must be error, warn, info, debug or silent, not "${String(logLevel)}"`);
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
  strict?: boolean;
  timeoutMs?: string;
  json?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
  token?: string;
  tokenFile?: string;
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

/** --tls-* and --token* of every command that talks to a node. */
function authOptions(cmd: Command): Command {
  return cmd
    .option('--tls-ca <file>', 'connect with TLS, trusting this PEM CA certificate [DYNAMO_TLS_CA]')
    .option('--tls-cert <file>', 'client certificate to present, with --tls-key (optional) [DYNAMO_TLS_CERT]')
    .option('--tls-key <file>', 'private key of --tls-cert [DYNAMO_TLS_KEY]')
    .option('--tls-server-name <name>', "host name to check the node's certificate against (default: the endpoint's host) [DYNAMO_TLS_SERVER_NAME]")
    .option('--token <token>', 'bearer token for nodes started with --auth-token-file [DYNAMO_TOKEN]')
    .option('--token-file <file>', 'read the bearer token from this file (its first token) [DYNAMO_TOKEN_FILE, else DYNAMO_AUTH_TOKEN_FILE]');
}

function endpointOption(cmd: Command): Command {
  return authOptions(
    cmd
      .option('--endpoint <list>', `node(s) to talk to, host:port comma-separated, tried in order [DYNAMO_ENDPOINT] (default ${DEFAULT_ENDPOINT})`)
      .option('--timeout-ms <ms>', 'deadline of the whole command', String(TIMEOUT_MS_DEFAULT)),
  );
}

/** --endpoint and --timeout-ms of a command that acts on one node (join, decommission). */
function nodeOption(cmd: Command): Command {
  return authOptions(
    cmd
      .option('--endpoint <host:port>', 'the node to act on (required; or DYNAMO_ENDPOINT)')
      .option('--timeout-ms <ms>', 'deadline of each request', String(TIMEOUT_MS_DEFAULT)),
  );
}

function readFileFlag(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The SDK's tls and token options from the flags, else the environment (a pod's own DYNAMO_TLS_* and DYNAMO_AUTH_TOKEN_FILE work as they are). */
function authOf(opts: ClientOpts): { tls?: { ca: string; cert?: string; key?: string; serverName?: string }; token?: string } {
  const env = process.env;
  const ca = opts.tlsCa ?? env['DYNAMO_TLS_CA'];
  const cert = opts.tlsCert ?? env['DYNAMO_TLS_CERT'];
  const key = opts.tlsKey ?? env['DYNAMO_TLS_KEY'];
  const serverName = opts.tlsServerName ?? env['DYNAMO_TLS_SERVER_NAME'];
  if ((cert === undefined || cert === '') !== (key === undefined || key === '')) throw new UsageError('--tls-cert and --tls-key go together');
  if ((cert || serverName) && !ca) throw new UsageError('--tls-cert and --tls-server-name need --tls-ca (the CA the nodes chain to)');
  const out: { tls?: { ca: string; cert?: string; key?: string; serverName?: string }; token?: string } = {};
  if (ca) {
    out.tls = {
      ca: readFileFlag('--tls-ca', ca),
      ...(cert ? { cert: readFileFlag('--tls-cert', cert), key: readFileFlag('--tls-key', key!) } : {}),
      ...(serverName ? { serverName } : {}),
    };
  }
  const tokenFile = opts.tokenFile ?? env['DYNAMO_TOKEN_FILE'] ?? env['DYNAMO_AUTH_TOKEN_FILE'];
  const token = opts.token ?? env['DYNAMO_TOKEN'];
  if (opts.token !== undefined && opts.tokenFile !== undefined) throw new UsageError('--token and --token-file exclude each other');
  if (token) out.token = token;
  else if (tokenFile) {
    const first = readFileFlag('--token-file', tokenFile).split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
    if (first === undefined) throw new UsageError(`--token-file ${tokenFile} holds no token`);
    out.token = first;
  }
  if (out.token !== undefined && !/^[\x21-\x7e]{1,4096}$/.test(out.token)) throw new UsageError('the token must be 1-4096 visible ASCII characters without spaces');
  return out;
}

/**
 * The one node a command acts on: --endpoint, else DYNAMO_ENDPOINT, and no
 * default — decommissioning 127.0.0.1:7001 because nothing was said would
 * take the wrong node out.
 */
function oneEndpoint(flag: string | undefined, command: string): string {
  if (flag === undefined && process.env['DYNAMO_ENDPOINT'] === undefined) {
    throw new UsageError(`${command} acts on one node: name it with --endpoint HOST:PORT (or DYNAMO_ENDPOINT)`);
  }
  const list = endpointsOf(flag);
  if (list.length !== 1) throw new UsageError(`${command} acts on one node: --endpoint must be one host:port, not ${list.length}`);
  return list[0]!;
}

function clientOptions(cmd: Command, levels: readonly Consistency[]): Command {
  return endpointOption(cmd)
    .option('--consistency <level>', `${levels.join(' | ')} (default: the node's)`)
    .option('--strict', 'count only the key\'s primary replicas: no fallback stands in for one that is down (fails UNAVAILABLE instead)');
}

/**
 * Run `fn` with a client of the named endpoints (no discovery: the CLI talks
 * to the nodes it is given, in order) and one deadline for the whole
 * command, then close the client.
 */
async function withClient<T>(opts: ClientOpts, fn: (client: DynamoClient, call: CallOptions) => Promise<T>): Promise<T> {
  const endpoints = endpointsOf(opts.endpoint);
  const timeoutMs = parseWhole('--timeout-ms', opts.timeoutMs ?? String(TIMEOUT_MS_DEFAULT), 1, 3_600_000);
  sdk ??= await import('../lib/client/index.ts');
  const client = new sdk.DynamoClient({ endpoints, timeoutMs, routing: 'round-robin', discovery: false, ...authOf(opts) });
  try {
    return await fn(client, { deadline: time.nowMs() + timeoutMs, ...(opts.strict === true ? { strict: true } : {}) });
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
async function currentContext(client: DynamoClient, key: string, write: Consistency | undefined, call: CallOptions, command: string): Promise<Uint8Array> {
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

/**
 * Run `wait` with a progress display on; Ctrl-C meanwhile gives the terminal
 * back (the bar first), says `interrupted` and exits 130 — the work on the
 * node goes on. The display is stopped however `wait` ends.
 */
async function whileShowing<T>(display: { stop(): void }, interrupted: string, wait: () => Promise<T>): Promise<T> {
  const onInterrupt = (): void => {
    display.stop();
    process.stderr.write(`dynamo: ${interrupted}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await wait();
  } finally {
    process.off('SIGINT', onInterrupt);
    display.stop();
  }
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

/** A command that shows what one Admin read returns: `json(value)` with --json, `text(value)` otherwise. */
function viewCommand<T>(name: string, description: string, jsonHelp: string, read: (client: DynamoClient, call: RequestOptions) => Promise<T>, json: (v: T) => unknown, text: (v: T) => string): void {
  endpointOption(program.command(name))
    .description(description)
    .option('--json', jsonHelp)
    .action(async (opts: ClientOpts) => {
      jsonMode = opts.json === true;
      await withClient(opts, async (client, call) => {
        const value = await read(client, call);
        if (jsonMode) printJson(json(value));
        else process.stdout.write(text(value));
      });
    });
}

viewCommand(
  'status',
  'show the cluster as a node sees it: members (state, reachability, ownership, load), ring, transfers (the first endpoint that answers)',
  'print the status as JSON (members[].state always set; transfers always present)',
  (client, call) => client.status(undefined, call),
  statusJson,
  (s) => statusText(s, time.nowMs()),
);

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

viewCommand(
  'ring',
  "show the ring a node holds: each partition's owner and replica set, and where moving partitions go",
  'print {"nodeId","version","checksum","partitionCount","replicas","owners","replicaSets","moving"}',
  (client, call) => client.ring(undefined, call),
  (r) => r,
  ringText,
);

nodeOption(program.command('join'))
  .description('ask the node at --endpoint (started with --auto-join false) to join the ring; it then shows as joining in `dynamo status`')
  .option('--json', 'print {"ok","endpoint"}')
  .action(async (opts: ClientOpts) => {
    jsonMode = opts.json === true;
    const endpoint = oneEndpoint(opts.endpoint, 'join');
    await withClient({ ...opts, endpoint }, async (client, call) => {
      step = 'join failed: ';
      writing = true;
      await client.join(endpoint, call);
      step = '';
      if (jsonMode) printJson({ ok: true, endpoint });
      else process.stdout.write(`${endpoint} asked to join: it shows as joining in \`dynamo status\` until it holds its share of partitions\n`);
    });
  });

nodeOption(program.command('decommission'))
  .description('hand every partition of the node at --endpoint over to its new owners and have it leave the ring; shows progress and returns once it has left')
  .option('--no-wait', 'return once the node accepted, without waiting for it to leave')
  .option('--timeout-s <s>', 'how long to wait for the node to leave (exit 4 after; the decommission goes on)', '3600')
  .option('--interval-ms <ms>', 'pause between status polls while waiting', '1000')
  .option('--json', 'print {"ok","nodeId","left","partitions","keys","bytes"} when done; no progress output')
  .action(async (opts: ClientOpts & { wait: boolean; timeoutS: string; intervalMs: string }) => {
    jsonMode = opts.json === true;
    const endpoint = oneEndpoint(opts.endpoint, 'decommission');
    const timeoutS = parseWhole('--timeout-s', opts.timeoutS, 1, 30 * 24 * 3600);
    const intervalMs = parseWhole('--interval-ms', opts.intervalMs, 10, 600_000);
    const requestTimeoutMs = parseWhole('--timeout-ms', opts.timeoutMs ?? String(TIMEOUT_MS_DEFAULT), 1, 3_600_000);
    await withClient({ ...opts, endpoint }, async (client, call) => {
      step = `decommission not started: `;
      const before = await client.status(endpoint, call);
      const nodeId = before.nodeId;
      step = `decommission of ${nodeId} failed: `;
      writing = true;
      await client.decommission(endpoint, call);
      writing = false;
      if (!opts.wait) {
        if (jsonMode) printJson({ ok: true, nodeId, left: false });
        else process.stdout.write(`${nodeId} (${endpoint}) is decommissioning: it leaves once its partitions are handed over (watch: dynamo status)\n`);
        return;
      }
      step = '';
      const handOff = new HandOff(nodeId);
      const peers = new Map(before.members.filter((m) => m.id !== nodeId && m.address !== endpoint).map((m) => [m.id, m.address]));
      const display = await progressDisplay(nodeId, process.stdout, jsonMode);
      // Ctrl-C stops the waiting, not the decommission.
      await whileShowing(display, `stopped waiting for ${nodeId} to leave; the decommission goes on (watch: dynamo status)`, () =>
        watch({
          handOff,
          endpoint,
          peers,
          time,
          sleep: (ms) => time.sleep(ms),
          intervalMs,
          deadlineMs: time.nowMs() + timeoutS * 1000,
          requestTimeoutMs,
          status: (address, timeoutMs) => client.status(address, { timeoutMs }),
          onPoll: (h) => display.update(h),
        }),
      );
      const p = handOff.progress();
      if (jsonMode) printJson({ ok: true, nodeId, left: true, partitions: p.total, keys: p.keys, bytes: p.bytes });
      else process.stdout.write(`${handOff.summary()}\n`);
    });
  });

endpointOption(program.command('remove <node-id>'))
  .description('remove a dead member from the ring; its partitions are rebuilt on their new owners from the surviving replicas (any member can be asked)')
  .option('--json', 'print {"ok","nodeId"}')
  .action(async (nodeId: string, opts: ClientOpts) => {
    jsonMode = opts.json === true;
    if (!validateNodeId(nodeId)) throw new UsageError(`"${nodeId}" is not a node id (1-63 letters, digits, '.', '_' or '-')`);
    await withClient(opts, async (client, call) => {
      step = `remove ${nodeId} failed: `;
      writing = true;
      await client.remove(nodeId, undefined, call);
      step = '';
      if (jsonMode) printJson({ ok: true, nodeId });
      else process.stdout.write(`${nodeId} is being removed: its partitions are rebuilt on their new owners from the surviving replicas (watch: dynamo status)\n`);
    });
  });

endpointOption(program.command('repair'))
  .description('run a full anti-entropy exchange now on one node (--endpoint, default the first): every partition it replicates, or --partition, with each other replica; shows progress and a summary')
  .option('--partition <p>', 'repair only this partition (see dynamo where KEY)')
  .option('--no-wait', 'return once the node started the repair')
  .option('--timeout-s <s>', 'how long to wait for the repair to finish (exit 4 after; it goes on)', '3600')
  .option('--interval-ms <ms>', 'pause between status polls while waiting', '500')
  .option('--json', 'print {"ok","nodeId","repair"} when done (repair: partitionsTotal, partitionsDone, exchanges, skipped, keysPulled, keysPushed, bytesSent, bytesReceived, elapsedMs, ...); no progress output')
  .action(async (opts: ClientOpts & { partition?: string; wait: boolean; timeoutS: string; intervalMs: string }) => {
    jsonMode = opts.json === true;
    const endpoint = endpointsOf(opts.endpoint)[0]!;
    const partition = opts.partition === undefined ? undefined : parseWhole('--partition', opts.partition, 0, 65535);
    const timeoutS = parseWhole('--timeout-s', opts.timeoutS, 1, 30 * 24 * 3600);
    const intervalMs = parseWhole('--interval-ms', opts.intervalMs, 10, 600_000);
    const requestTimeoutMs = parseWhole('--timeout-ms', opts.timeoutMs ?? String(TIMEOUT_MS_DEFAULT), 1, 3_600_000);
    await withClient({ ...opts, endpoint }, async (client, call) => {
      step = 'repair not started: ';
      const nodeId = (await client.status(endpoint, call)).nodeId;
      const started = await client.repair(endpoint, { ...call, ...(partition === undefined ? {} : { partition }) });
      step = `repair ${started.id} on ${nodeId}: `;
      const w = new RepairWatch(nodeId, started);
      if (!opts.wait) {
        if (jsonMode) printJson({ ok: true, nodeId, repair: started });
        else process.stdout.write(`${nodeId} (${endpoint}) runs repair ${started.id} over ${started.partitionsTotal} partitions (watch: dynamo status)\n`);
        return;
      }
      step = '';
      const display = await repairProgressDisplay(nodeId, process.stdout, jsonMode);
      // Ctrl-C stops the waiting, not the repair.
      const done = await whileShowing(display, `stopped waiting for repair ${started.id} on ${nodeId}; it goes on (watch: dynamo status)`, () =>
        watchRepair({
          watch: w,
          endpoint,
          time,
          sleep: (ms) => time.sleep(ms),
          intervalMs,
          deadlineMs: time.nowMs() + timeoutS * 1000,
          requestTimeoutMs,
          status: (address, timeoutMs) => client.status(address, { timeoutMs }),
          onPoll: (x) => display.update(x),
        }),
      );
      // Not every replica could be compared (a peer down): the repair is partial.
      if (done.state !== 'done') process.exitCode = EXIT.failed;
      else if (done.skipped > 0) process.exitCode = EXIT.unavailable;
      if (jsonMode) printJson({ ok: done.state === 'done' && done.skipped === 0, nodeId, repair: done });
      else process.stdout.write(w.summary());
    });
  });

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
