/**
 * Runs a local cluster of real node processes on 127.0.0.1: what
 * `dynamo cluster` (and so `npm start`), the integration tests and the
 * benchmark use. Every child is tracked by pid and killed on stop, so a
 * failing test never leaves nodes behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RealRandom } from '../runtime/index.ts';
import { NODE_HEAP_FLAGS } from './heap-flags.ts';

/**
 * The CLI the nodes run unless told otherwise: the one beside this module.
 * Built (dist/lib/node/cluster-runner.js) that is dist/cmd/dynamo.js, run by
 * plain `node`; from source under tsx (development) it is cmd/dynamo.ts,
 * which the children load with tsx as well.
 */
const CLI_DEFAULT = fileURLToPath(new URL(`../../cmd/dynamo.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));

/** Node.js flags a CLI entry point needs: a TypeScript one runs under tsx (a development dependency). */
function loaderArgs(cli: string): string[] {
  return cli.endsWith('.ts') ? ['--import=tsx'] : [];
}

/** Line a node prints on stdout once it serves; the runner waits for it. */
export const READY_LINE_PREFIX = 'dynamo node ready';
/** What a node process prints the first time it serves (it knows the ring). */
export const SERVING_LINE_PREFIX = 'dynamo node serving';

export interface LocalClusterOptions {
  nodes: number;
  /** Parent directory; node i keeps its data in `<dataDir>/n<i>`. */
  dataDir: string;
  /** First port; nodes use basePort, basePort+1, … . 0 picks free ports. */
  basePort?: number;
  engine?: 'leveldb' | 'rocksdb' | 'memory';
  replicas?: number;
  partitions?: number;
  logLevel?: 'error' | 'warn' | 'info' | 'debug' | 'silent';
  /** Extra environment for every node (DYNAMO_* settings). */
  env?: Record<string, string>;
  /** Where children's stderr (JSON log lines) goes: inherit it, or drop it. */
  stderr?: 'inherit' | 'ignore';
  /** How long to wait for a node's ready line. */
  startTimeoutMs?: number;
  /** Extra Node.js flags for every node process (e.g. --cpu-prof), after NODE_HEAP_FLAGS. */
  execArgv?: string[];
  /**
   * Entry point of the `dynamo` CLI the nodes run (default: the one beside
   * this module). Tests pass the built dist/cmd/dynamo.js; a `.ts` entry
   * runs under tsx.
   */
  cli?: string;
  /** Runs once the members are known and before any starts (e.g. to bulk-load their data dirs). */
  prepare?: (members: readonly LocalMember[]) => Promise<void>;
  /** Give every node a Prometheus endpoint on a free loopback port (LocalMember.metricsAddress). */
  metrics?: boolean;
}

export interface LocalMember {
  readonly id: string;
  readonly address: string;
  readonly dataDir: string;
  /** host:port of its /metrics endpoint, when the cluster was started with `metrics`. */
  readonly metricsAddress?: string;
}

/** Lowest port freePorts hands out (above the registered services people run on a dev machine). */
const PORT_FLOOR = 10_000;

/** The range the kernel takes the local ports of outgoing connections from (Linux's default when unreadable). */
function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! <= high!) return [low!, high!];
  } catch {
    // not Linux: assume its default
  }
  return [32_768, 60_999];
}

/** Try to listen on 127.0.0.1:`port`; the server while held, undefined if it is taken. */
function hold(port: number): Promise<net.Server | undefined> {
  const srv = net.createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/**
 * `count` distinct free loopback ports for nodes that will listen on them
 * later, drawn below the kernel's ephemeral range. A port the OS hands out
 * for port 0 comes from that range, and once closed any outgoing connection
 * may take it as its local port meanwhile, so a node started on it later (a
 * pod scaled out, a node restarted on its address) could fail to bind it:
 * a flake seen once in the deploy rehearsal. Ports below the range are never
 * taken that way. Where the range starts too low to leave room, the OS picks.
 */
export async function freePorts(count: number): Promise<number[]> {
  const [ephemeralLow] = ephemeralPortRange();
  const below = ephemeralLow - PORT_FLOOR;
  const random = new RealRandom();
  const held: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let tries = 0; ports.length < count; tries++) {
      if (tries >= 10 * count + 100) throw new Error(`found only ${ports.length} of ${count} free loopback ports`);
      const srv = await hold(below >= 1000 ? PORT_FLOOR + random.int(below) : 0);
      if (srv === undefined) continue;
      held.push(srv);
      const port = (srv.address() as net.AddressInfo).port;
      if (!ports.includes(port)) ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

type ResolvedOptions = Required<LocalClusterOptions>;

export class LocalCluster {
  readonly #members: LocalMember[];
  readonly #opts: ResolvedOptions;
  readonly #children = new Map<string, ChildProcess>();
  /** Extra `dynamo node` flags of a member (e.g. --auto-join false for one added by hand). */
  readonly #extraArgs = new Map<string, readonly string[]>();

  private constructor(members: LocalMember[], opts: ResolvedOptions) {
    this.#members = members;
    this.#opts = opts;
  }

  /** Every member ever started (added ones included), in id order of creation. */
  get members(): readonly LocalMember[] {
    return this.#members;
  }

  /**
   * Start one more node on a free port with an empty data dir and the current
   * members as seeds: it joins the running cluster (or, with `--auto-join
   * false` among `extraArgs`, waits for `dynamo join`). Resolves once it serves.
   */
  async addMember(extraArgs: readonly string[] = []): Promise<LocalMember> {
    const [port] = await freePorts(1);
    const n = this.#members.length + 1;
    const m: LocalMember = { id: `n${n}`, address: `127.0.0.1:${port}`, dataDir: path.join(this.#opts.dataDir, `n${n}`) };
    const seeds = this.seeds;
    this.#members.push(m);
    this.#extraArgs.set(m.id, ['--seeds', seeds, ...extraArgs]);
    await this.startMember(m.id);
    return m;
  }

  /** Start every node and wait until each has printed its ready line. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const opts: ResolvedOptions = {
      basePort: 7001,
      engine: 'leveldb',
      replicas: 3,
      partitions: 256,
      logLevel: 'warn',
      stderr: 'inherit',
      startTimeoutMs: 30_000,
      env: {},
      execArgv: [],
      cli: CLI_DEFAULT,
      prepare: async () => {},
      metrics: false,
      ...options,
    };
    const ports = opts.basePort === 0 ? await freePorts(opts.nodes) : Array.from({ length: opts.nodes }, (_, i) => opts.basePort + i);
    const metricsPorts = opts.metrics ? await freePorts(opts.nodes) : [];
    const members = ports.map((port, i) => ({
      id: `n${i + 1}`,
      address: `127.0.0.1:${port}`,
      dataDir: path.join(opts.dataDir, `n${i + 1}`),
      ...(opts.metrics ? { metricsAddress: `127.0.0.1:${metricsPorts[i]}` } : {}),
    }));
    const cluster = new LocalCluster(members, opts);
    await opts.prepare(members);
    try {
      await Promise.all(members.map((m) => cluster.startMember(m.id)));
    } catch (e) {
      await cluster.stop('SIGKILL');
      throw e;
    }
    return cluster;
  }

  /** Client endpoints (host:port) of every member. */
  get endpoints(): string[] {
    return this.members.map((m) => m.address);
  }

  /** The seeds flag every member gets: `n1@127.0.0.1:7001,...`. */
  get seeds(): string {
    return this.members.map((m) => `${m.id}@${m.address}`).join(',');
  }

  member(id: string): LocalMember {
    const m = this.members.find((x) => x.id === id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  /** Pid of a running member, undefined when it is stopped. */
  pid(id: string): number | undefined {
    return this.#children.get(id)?.pid;
  }

  /**
   * (Re)start one member on its address and data dir; resolves when it
   * serves (knows the ring), or with `waitServing: false` once its process is up.
   */
  async startMember(id: string, opts: { waitServing?: boolean } = {}): Promise<void> {
    const until = opts.waitServing === false ? READY_LINE_PREFIX : SERVING_LINE_PREFIX;
    if (this.#children.has(id)) throw new Error(`${id} is already running`);
    const m = this.member(id);
    mkdirSync(m.dataDir, { recursive: true });
    const args = [
      // First, so a test's or the bench's own flags (execArgv) override them.
      ...NODE_HEAP_FLAGS,
      ...this.#opts.execArgv,
      ...loaderArgs(this.#opts.cli),
      this.#opts.cli,
      'node',
      '--id', m.id,
      '--listen', m.address,
      '--data-dir', m.dataDir,
      '--seeds', this.seeds,
      '--bootstrap-expect', String(this.#opts.nodes),
      '--engine', this.#opts.engine,
      '--replicas', String(this.#opts.replicas),
      '--partitions', String(this.#opts.partitions),
      '--log-level', this.#opts.logLevel,
      ...(m.metricsAddress === undefined ? [] : ['--metrics-listen', m.metricsAddress]),
      ...(this.#extraArgs.get(id) ?? []),
    ];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', this.#opts.stderr],
      env: { ...process.env, ...this.#opts.env },
    });
    this.#children.set(id, child);
    child.once('exit', () => {
      if (this.#children.get(id) === child) this.#children.delete(id);
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        reject(new Error(`node ${id} did not print "${until}" within ${this.#opts.startTimeoutMs} ms`));
      }, this.#opts.startTimeoutMs);
      const onExit = (code: number | null, signal: string | null): void => {
        clearTimeout(timer);
        reject(new Error(`node ${id} exited during start (code ${code}, signal ${signal})`));
      };
      child.once('exit', onExit);
      const onData = (chunk: Buffer): void => {
        // Only the ready line matters: keep what could be its start, not the whole output.
        out = (out + chunk.toString('utf8')).slice(-(until.length + chunk.length));
        if (out.includes(until)) {
          clearTimeout(timer);
          child.off('exit', onExit);
          // Whatever the node prints later is drained unread, so its pipe never fills.
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', onData);
    });
  }

  /** Send `signal` to one member and wait for it to exit; returns its exit code. */
  async stopMember(id: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.#children.get(id);
    if (!child) return null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    const code = await exited;
    this.#children.delete(id);
    return code;
  }

  /** Stop every member (SIGTERM by default) and wait for all to exit. Safe to call twice. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await Promise.all([...this.#children.keys()].map((id) => this.stopMember(id, signal)));
  }

  /** Last-resort synchronous kill, for process 'exit' handlers. */
  killAllSync(): void {
    for (const child of this.#children.values()) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
