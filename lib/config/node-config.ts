/**
 * Typed node configuration: one interface, defaults plus named profiles, and a
 * validator that names the offending field. Pure: flags and environment come
 * in as plain records so cmd/ only parses argv and passes them on.
 */
import { InvalidArgumentError, LOG_LEVELS, type LogLevel } from '../runtime/index.ts';
import { isConsistency, type Consistency } from '../protocol/index.ts';

export type EngineName = 'leveldb' | 'rocksdb' | 'memory';
export type LogLevelName = LogLevel;

export interface NodeConfig {
  /** Stable node id (ring ownership is by id). */
  id: string;
  /** host:port the gRPC server binds. */
  listen: string;
  /** host:port peers and clients should use; defaults to `listen`. */
  advertise: string;
  /** Directory holding this node's database (ignored by the memory engine). */
  dataDir: string;
  /** Cluster members as `[id@]host:port`, comma-separated; may include this node. */
  seeds: string;
  /** Replication factor N. Must match across the cluster. */
  replicas: number;
  /** Ring partitions (virtual nodes); fixed when the cluster is created. */
  partitions: number;
  engine: EngineName;
  /** Consistency used when a request leaves it unspecified. */
  defaultConsistency: Consistency;
  /** Deadline of a request when the client sets none (or a longer one). */
  requestTimeoutMs: number;
  /** fsync every storage batch (group commit keeps this affordable). */
  syncWrites: boolean;
  /** 'sync' reads (cheapest CPU, may block on a cold disk) or 'batched' async reads. */
  readMode: 'sync' | 'batched';
  /** Records at least this long go to the disk engine's value log (docs/value-log.md); 0: none do. */
  valueLogMinBytes: number;
  /** How long SIGTERM waits for in-flight requests before forcing shutdown. */
  shutdownGraceMs: number;
  logLevel: LogLevelName;
  /** Failure domain (rack / availability zone); '' when unset. */
  zone: string;
  /** Ask to join the ring at start when not a member (false: wait for `dynamo join`). */
  autoJoin: boolean;
  /** Found the first ring once this many nodes are up (the initial cluster size); 0: after a short wait with whoever is known. */
  bootstrapExpect: number;
  /** Background budget shared by partition streaming and anti-entropy: sustained bytes per second. */
  backgroundBytesPerS: number;
  /** Keep hints for replicas that are down and use fallbacks (sloppy quorum); false: every request is strict. */
  hintedHandoff: boolean;
  /** Hints older than this are dropped (anti-entropy repairs those keys). */
  hintWindowMs: number;
  /** Bound on the bytes of all hints a node holds. */
  hintsBytesMax: number;
  /** host:port of the Prometheus endpoint (GET /metrics over HTTP); '' serves none. */
  metricsListen: string;
  /** PEM certificate (chain) this node presents to clients and peers; '' without TLS. Set with tlsKey and tlsCa. */
  tlsCert: string;
  /** PEM private key of tlsCert. */
  tlsKey: string;
  /** PEM CA certificate(s) peers' certificates must chain to (node-to-node mutual TLS). */
  tlsCa: string;
  /** File of bearer tokens clients must present (one per line); '' accepts any client. */
  authTokenFile: string;
  /** File of the cluster's context secrets (one per line, the first signs); '' uses the public default secret. */
  contextSecretFile: string;
  /** Accept clients' unsigned (format 2) contexts: only during a rolling upgrade from a build that issued them. */
  acceptUnsignedContexts: boolean;
  /** Merkle-tree anti-entropy and tombstone GC (trees kept per partition, periodic exchanges). */
  antiEntropy: boolean;
  /** Reads ask the other replicas for a version digest of their copy instead of its bytes when this node reads its own (Cassandra's digest reads). */
  digestReads: boolean;
  /** Pause between the starts of two anti-entropy exchanges of this node (256 partitions: a full pass in 26 s at 100). */
  antiEntropyIntervalMs: number;
  /** The pause instead while the node is busy with requests (never below antiEntropyIntervalMs; 256 partitions: 4.3 min at 1000). */
  antiEntropyBusyIntervalMs: number;
  /** Wall-clock time after a delete before its tombstone may be purged (once every replica holds it). */
  tombstoneGraceMs: number;
  /** HTTP/2 receive window of the gRPC server's connections and their streams, bytes (65535: HTTP/2's default). */
  receiveWindowBytes: number;
}

/** Defaults for a production node. */
export function defaultConfig(): NodeConfig {
  return {
    id: '',
    listen: '0.0.0.0:7001',
    advertise: '',
    dataDir: './data',
    seeds: '',
    replicas: 3,
    partitions: 256,
    engine: 'leveldb',
    defaultConsistency: 'QUORUM',
    requestTimeoutMs: 5000,
    syncWrites: false,
    readMode: 'sync',
    // The storage's own default (config depends on no storage code; a test keeps the two equal).
    valueLogMinBytes: 8192,
    shutdownGraceMs: 10_000,
    logLevel: 'info',
    zone: '',
    autoJoin: true,
    bootstrapExpect: 0,
    backgroundBytesPerS: 32 * 1024 * 1024,
    hintedHandoff: true,
    hintWindowMs: 3 * 3600_000,
    hintsBytesMax: 1024 * 1024 * 1024,
    metricsListen: '',
    tlsCert: '',
    tlsKey: '',
    tlsCa: '',
    authTokenFile: '',
    contextSecretFile: '',
    acceptUnsignedContexts: false,
    antiEntropy: true,
    digestReads: true,
    antiEntropyIntervalMs: 100,
    antiEntropyBusyIntervalMs: 1000,
    tombstoneGraceMs: 86_400_000,
    // The transport's own default (config depends on no transport code; a test keeps the two equal).
    receiveWindowBytes: 8 * 1024 * 1024,
  };
}

/** Profile for tests and the local cluster: quick shutdown, quieter logs. */
export function localConfig(): NodeConfig {
  return { ...defaultConfig(), listen: '127.0.0.1:7001', shutdownGraceMs: 2000, logLevel: 'warn' };
}

const FLAG_NAMES: Record<keyof NodeConfig, string> = {
  id: 'id',
  listen: 'listen',
  advertise: 'advertise',
  dataDir: 'data-dir',
  seeds: 'seeds',
  replicas: 'replicas',
  partitions: 'partitions',
  engine: 'engine',
  defaultConsistency: 'consistency',
  requestTimeoutMs: 'request-timeout-ms',
  syncWrites: 'sync-writes',
  readMode: 'read-mode',
  valueLogMinBytes: 'value-log-min-bytes',
  shutdownGraceMs: 'shutdown-grace-ms',
  logLevel: 'log-level',
  zone: 'zone',
  autoJoin: 'auto-join',
  bootstrapExpect: 'bootstrap-expect',
  backgroundBytesPerS: 'background-bytes-per-s',
  hintedHandoff: 'hinted-handoff',
  hintWindowMs: 'hint-window-ms',
  hintsBytesMax: 'hints-bytes-max',
  metricsListen: 'metrics-listen',
  tlsCert: 'tls-cert',
  tlsKey: 'tls-key',
  tlsCa: 'tls-ca',
  authTokenFile: 'auth-token-file',
  contextSecretFile: 'context-secret-file',
  acceptUnsignedContexts: 'accept-unsigned-contexts',
  antiEntropy: 'anti-entropy',
  digestReads: 'digest-reads',
  antiEntropyIntervalMs: 'anti-entropy-interval-ms',
  antiEntropyBusyIntervalMs: 'anti-entropy-busy-interval-ms',
  tombstoneGraceMs: 'tombstone-grace-ms',
  receiveWindowBytes: 'receive-window-bytes',
};

/** One `dynamo node` flag: its config field, argument placeholder and what it does. */
export interface NodeFlag {
  readonly field: keyof NodeConfig;
  readonly arg: string;
  readonly help: string;
}

/**
 * Every `dynamo node` flag, in the order help lists them. The CLI's help is
 * built from this list and a test checks that README documents each flag
 * and its environment variable.
 */
export const NODE_FLAGS: readonly NodeFlag[] = [
  { field: 'id', arg: '<id>', help: 'stable node id, 1-63 of [A-Za-z0-9._-] (e.g. the pod name); required' },
  { field: 'listen', arg: '<host:port>', help: 'address the gRPC server binds (default 0.0.0.0:7001)' },
  { field: 'advertise', arg: '<host:port>', help: 'address peers and clients dial (default: --listen); set it when --listen is 0.0.0.0' },
  { field: 'dataDir', arg: '<dir>', help: 'data directory (default ./data; unused by --engine memory)' },
  { field: 'seeds', arg: '<list>', help: 'bootstrap list: [id@]host:port of members, comma-separated; any live one lets this node learn the cluster' },
  { field: 'replicas', arg: '<n>', help: 'replication factor N, 1-9 (default 3; the same on every node)' },
  { field: 'partitions', arg: '<n>', help: 'ring partitions (virtual nodes), 1-65536 (default 256; fixed when the cluster is created)' },
  { field: 'engine', arg: '<engine>', help: 'storage engine: leveldb | rocksdb | memory (default leveldb)' },
  { field: 'defaultConsistency', arg: '<level>', help: 'level for requests that name none: ONE | TWO | THREE | QUORUM | ALL (default QUORUM)' },
  { field: 'requestTimeoutMs', arg: '<ms>', help: 'deadline of a request whose client sets none, and cap of those that do (default 5000)' },
  { field: 'syncWrites', arg: '[bool]', help: 'fsync every storage batch (default false)' },
  { field: 'readMode', arg: '<mode>', help: 'storage reads: sync (default; cheapest CPU) | batched (never blocks the event loop on a cold disk)' },
  { field: 'valueLogMinBytes', arg: '<bytes>', help: 'records this long or longer are kept out of the LSM tree, in a value log (default 8192; 0: none)' },
  { field: 'shutdownGraceMs', arg: '<ms>', help: 'how long SIGTERM waits for requests in flight (default 10000)' },
  { field: 'logLevel', arg: '<level>', help: 'error | warn | info | debug | silent (default info)' },
  { field: 'zone', arg: '<zone>', help: "failure domain (rack / availability zone) of this node: a key's replicas go to distinct zones (default none)" },
  { field: 'autoJoin', arg: '[bool]', help: 'join the ring at start when not a member (default true; false: wait for dynamo join)' },
  {
    field: 'bootstrapExpect',
    arg: '<n>',
    help: 'a new cluster founds its first ring once this many nodes are up, however long that takes (set it to the initial size; default 0: after a 5 s wait)',
  },
  { field: 'hintedHandoff', arg: '[bool]', help: 'keep hints for replicas that are down and stand in for them (sloppy quorum; default true; false: every request is strict)' },
  { field: 'hintWindowMs', arg: '<ms>', help: "hints older than this whose node is still down go to the key's other replicas; those none took within twice this are dropped (default 10800000, 3 h)" },
  { field: 'hintsBytesMax', arg: '<n>', help: 'bound on the bytes of all hints this node holds (default 1073741824)' },
  { field: 'metricsListen', arg: '<host:port>', help: 'serve Prometheus metrics at http://HOST:PORT/metrics (default: off)' },
  { field: 'tlsCert', arg: '<file>', help: 'PEM certificate for the client API and node-to-node traffic (with --tls-key and --tls-ca)' },
  { field: 'tlsKey', arg: '<file>', help: 'PEM private key of --tls-cert' },
  { field: 'tlsCa', arg: '<file>', help: "PEM CA certificate: peers must present a certificate it signed (node-to-node mutual TLS)" },
  { field: 'authTokenFile', arg: '<file>', help: 'clients must send one of the bearer tokens in this file (one per line) on KV and Admin calls (default: no token)' },
  {
    field: 'contextSecretFile',
    arg: '<file>',
    help: "secrets that sign the contexts clients get, one per line of at least 16 bytes, the same file on every node; the first signs, any verifies (default: a public built-in secret)",
  },
  {
    field: 'acceptUnsignedContexts',
    arg: '[bool]',
    help: 'also accept the unsigned contexts older builds issued: only while upgrading from one, then turn it off (default false)',
  },
  { field: 'backgroundBytesPerS', arg: '<n>', help: 'bytes per second partition streaming and anti-entropy may use together (default 33554432)' },
  { field: 'antiEntropy', arg: '[bool]', help: 'Merkle-tree anti-entropy and tombstone GC (default true)' },
  {
    field: 'digestReads',
    arg: '[bool]',
    help: "a read takes this node's own copy whole and only a version digest from the other replicas, reading a copy whole only if it differs (default true)",
  },
  {
    field: 'antiEntropyIntervalMs',
    arg: '<ms>',
    help: 'pause between two anti-entropy exchanges of this node, one partition with one peer each (default 100: 256 partitions in 26 s)',
  },
  {
    field: 'antiEntropyBusyIntervalMs',
    arg: '<ms>',
    help: 'the pause instead while the node handles 50 or more requests a second, so exchanges yield to clients (default 1000; never below --anti-entropy-interval-ms)',
  },
  {
    field: 'tombstoneGraceMs',
    arg: '<ms>',
    help: 'time after a delete before its tombstone may be purged, once every replica holds it (default 86400000; keep it above the age of any backup you might restore)',
  },
  {
    field: 'receiveWindowBytes',
    arg: '<bytes>',
    help: "HTTP/2 receive window of each connection and stream the gRPC server accepts: how much a peer or client may send before waiting for this node to read it (default 8388608; 65535-2147483647)",
  },
];

/** The command-line flag for a config field (`dataDir` → `--data-dir`). */
export function flagName(field: keyof NodeConfig): string {
  return FLAG_NAMES[field];
}

/** The environment variable for a config field (`dataDir` → `DYNAMO_DATA_DIR`). */
export function envName(field: keyof NodeConfig): string {
  return 'DYNAMO_' + FLAG_NAMES[field].toUpperCase().replace(/-/g, '_');
}

function fail(field: keyof NodeConfig, why: string): never {
  throw new InvalidArgumentError(`invalid --${FLAG_NAMES[field]} (${envName(field)}): ${why}`);
}

function parseIntField(field: keyof NodeConfig, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) fail(field, `"${raw}" is not a whole number`);
  const n = Number(raw);
  if (n < min || n > max) fail(field, `${n} is outside ${min}..${max}`);
  return n;
}

function parseBool(field: keyof NodeConfig, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return fail(field, `"${raw}" is not a boolean`);
}

/** Whether `id` is a valid node id: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit. */
export function validateNodeId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(id);
}

/** host:port with a port in 0..65535. */
export function validateHostPort(text: string): boolean {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  return m !== null && Number(m[2]) <= 65535;
}

/**
 * Build a config from raw string values (flags win over environment, which
 * wins over `base`), then validate it. Throws InvalidArgumentError naming
 * the flag and its environment variable.
 */
export function resolveNodeConfig(
  flags: Partial<Record<keyof NodeConfig, string | boolean | undefined>>,
  env: Record<string, string | undefined>,
  base: NodeConfig = defaultConfig(),
): NodeConfig {
  const raw = (field: keyof NodeConfig): string | undefined => {
    const f = flags[field];
    if (f !== undefined) return String(f);
    return env[envName(field)];
  };
  const c: NodeConfig = { ...base };
  const s = (
    field: 'id' | 'listen' | 'advertise' | 'dataDir' | 'seeds' | 'zone' | 'metricsListen' | 'tlsCert' | 'tlsKey' | 'tlsCa' | 'authTokenFile' | 'contextSecretFile',
  ): void => {
    const v = raw(field);
    if (v !== undefined) c[field] = v.trim();
  };
  s('id');
  s('listen');
  s('advertise');
  s('dataDir');
  s('seeds');
  s('zone');
  s('metricsListen');
  s('tlsCert');
  s('tlsKey');
  s('tlsCa');
  s('authTokenFile');
  s('contextSecretFile');
  const unsigned = raw('acceptUnsignedContexts');
  if (unsigned !== undefined) c.acceptUnsignedContexts = parseBool('acceptUnsignedContexts', unsigned === '' ? 'true' : unsigned);
  const autoJoin = raw('autoJoin');
  if (autoJoin !== undefined) c.autoJoin = parseBool('autoJoin', autoJoin === '' ? 'true' : autoJoin);
  const expect = raw('bootstrapExpect');
  if (expect !== undefined) c.bootstrapExpect = parseIntField('bootstrapExpect', expect, 0, 1024);
  const hinted = raw('hintedHandoff');
  if (hinted !== undefined) c.hintedHandoff = parseBool('hintedHandoff', hinted === '' ? 'true' : hinted);
  const window = raw('hintWindowMs');
  if (window !== undefined) c.hintWindowMs = parseIntField('hintWindowMs', window, 1, 30 * 24 * 3600_000);
  const hintBytes = raw('hintsBytesMax');
  if (hintBytes !== undefined) c.hintsBytesMax = parseIntField('hintsBytesMax', hintBytes, 1024, 2 ** 44);
  const budget = raw('backgroundBytesPerS');
  if (budget !== undefined) c.backgroundBytesPerS = parseIntField('backgroundBytesPerS', budget, 1024, 2 ** 40);
  const antiEntropy = raw('antiEntropy');
  if (antiEntropy !== undefined) c.antiEntropy = parseBool('antiEntropy', antiEntropy === '' ? 'true' : antiEntropy);
  const digestReads = raw('digestReads');
  if (digestReads !== undefined) c.digestReads = parseBool('digestReads', digestReads === '' ? 'true' : digestReads);
  const aaeInterval = raw('antiEntropyIntervalMs');
  if (aaeInterval !== undefined) c.antiEntropyIntervalMs = parseIntField('antiEntropyIntervalMs', aaeInterval, 1, 3_600_000);
  const aaeBusyInterval = raw('antiEntropyBusyIntervalMs');
  if (aaeBusyInterval !== undefined) c.antiEntropyBusyIntervalMs = parseIntField('antiEntropyBusyIntervalMs', aaeBusyInterval, 1, 3_600_000);
  const receiveWindow = raw('receiveWindowBytes');
  if (receiveWindow !== undefined) c.receiveWindowBytes = parseIntField('receiveWindowBytes', receiveWindow, 65_535, 2 ** 31 - 1);
  const graceMs = raw('tombstoneGraceMs');
  if (graceMs !== undefined) c.tombstoneGraceMs = parseIntField('tombstoneGraceMs', graceMs, 0, 2 ** 40);
  const replicas = raw('replicas');
  if (replicas !== undefined) c.replicas = parseIntField('replicas', replicas, 1, 9);
  const partitions = raw('partitions');
  if (partitions !== undefined) c.partitions = parseIntField('partitions', partitions, 1, 65536);
  const timeout = raw('requestTimeoutMs');
  if (timeout !== undefined) c.requestTimeoutMs = parseIntField('requestTimeoutMs', timeout, 1, 600_000);
  const grace = raw('shutdownGraceMs');
  if (grace !== undefined) c.shutdownGraceMs = parseIntField('shutdownGraceMs', grace, 0, 600_000);
  const valueLogMin = raw('valueLogMinBytes');
  if (valueLogMin !== undefined) c.valueLogMinBytes = parseIntField('valueLogMinBytes', valueLogMin, 0, 2 ** 31);
  const sync = raw('syncWrites');
  if (sync !== undefined) c.syncWrites = parseBool('syncWrites', sync);
  const engine = raw('engine');
  if (engine !== undefined) {
    if (engine !== 'leveldb' && engine !== 'rocksdb' && engine !== 'memory') fail('engine', `"${engine}" is not one of leveldb, rocksdb, memory`);
    c.engine = engine;
  }
  const consistency = raw('defaultConsistency');
  if (consistency !== undefined) {
    const v = consistency.trim().toUpperCase();
    if (!isConsistency(v) || v === 'ANY') fail('defaultConsistency', `"${consistency}" is not one of ONE, TWO, THREE, QUORUM, ALL`);
    c.defaultConsistency = v;
  }
  const readMode = raw('readMode');
  if (readMode !== undefined) {
    if (readMode !== 'sync' && readMode !== 'batched') fail('readMode', `"${readMode}" is not one of sync, batched`);
    c.readMode = readMode;
  }
  const level = raw('logLevel');
  if (level !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(level)) fail('logLevel', `"${level}" is not one of ${LOG_LEVELS.join(', ')}`);
    c.logLevel = level as LogLevelName;
  }
  return validateConfig(c);
}

/** Check cross-field rules and fill derived defaults. */
export function validateConfig(c: NodeConfig): NodeConfig {
  if (!validateNodeId(c.id)) fail('id', `"${c.id}" must be 1-63 letters, digits, '.', '_' or '-'`);
  if (!validateHostPort(c.listen)) fail('listen', `"${c.listen}" is not host:port`);
  const advertise = c.advertise || c.listen;
  if (!validateHostPort(advertise)) fail('advertise', `"${advertise}" is not host:port`);
  if (c.engine !== 'memory' && c.dataDir.trim() === '') fail('dataDir', 'a data directory is required unless --engine memory');
  if (c.metricsListen !== '' && !validateHostPort(c.metricsListen)) fail('metricsListen', `"${c.metricsListen}" is not host:port`);
  // One port serves clients and peers: TLS is all or nothing, and peers are always mutually authenticated.
  const tls = (['tlsCert', 'tlsKey', 'tlsCa'] as const).filter((f) => c[f] !== '');
  if (tls.length > 0 && tls.length < 3) {
    const missing = (['tlsCert', 'tlsKey', 'tlsCa'] as const).filter((f) => c[f] === '')[0]!;
    fail(missing, `TLS needs --tls-cert, --tls-key and --tls-ca together (${tls.map((f) => `--${FLAG_NAMES[f]}`).join(', ')} given)`);
  }
  return { ...c, advertise };
}
