/**
 * A node as a real process: the DynamoNode core wired to an on-disk (or
 * memory) storage engine, the gRPC transport between nodes, the gRPC server
 * clients and peers talk to (TLS and bearer tokens when configured), the
 * process clock, a pino JSON-lines logger and, with `--metrics-listen`, a
 * Prometheus endpoint. cmd/dynamo.ts only parses flags and calls `startNodeProcess`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, RealRandom, RealTime, keepAliveUntil, parseTraceSet, type Logger, type Runtime } from '../runtime/index.ts';
import type { NodeConfig } from '../config/index.ts';
import { createStorage } from '../storage/index.ts';
import { CONTEXT_SECRET_BYTES_MIN, ContextCodec } from '../vclock/index.ts';
import {
  GrpcTransport,
  MeteredTransport,
  checkTlsMaterial,
  startGrpcServer,
  validToken,
  type GrpcServer,
  type TlsMaterial,
  type Transport,
} from '../transport/index.ts';
import { PrometheusMetrics, startMetricsServer, type MetricsServer } from '../metrics/index.ts';
import { pinoLogger } from './pino-logger.ts';
import { StorageSize } from './storage-size.ts';
import { DynamoNode } from './node.ts';
import { installFatalHandlers } from './fatal.ts';
import { parseSeeds } from './seeds.ts';
import { BACKGROUND_DEFAULTS } from './node.ts';

export interface RunningNode {
  readonly node: DynamoNode;
  /** The bound host:port (the real port when listening on port 0). */
  readonly address: string;
  readonly logger: Logger;
  /** Graceful stop: refuse new calls, finish in-flight ones, close storage. Idempotent. */
  stop(): Promise<void>;
  /** Resolves the first time the node serves (it knows a ring); health is SERVING from then on while it does. */
  readonly serving: Promise<void>;
  /** The bound host:port of the metrics endpoint, when `--metrics-listen` is set. */
  readonly metricsAddress: string | undefined;
}

function readFlagFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new InvalidArgumentError(`${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The TLS files the config names, read and checked (undefined without TLS). */
export function loadTls(config: NodeConfig): TlsMaterial | undefined {
  if (config.tlsCert === '') return undefined;
  return checkTlsMaterial({
    cert: readFlagFile('--tls-cert', config.tlsCert),
    key: readFlagFile('--tls-key', config.tlsKey),
    ca: readFlagFile('--tls-ca', config.tlsCa),
  });
}

/** The bearer tokens of `--auth-token-file`: one per line; blank lines and lines starting with # are skipped. */
export function loadTokens(config: NodeConfig): string[] | undefined {
  if (config.authTokenFile === '') return undefined;
  const lines = readFlagFile('--auth-token-file', config.authTokenFile).toString('utf8').split(/\r?\n/).map((l) => l.trim());
  const tokens = lines.filter((l) => l !== '' && !l.startsWith('#'));
  if (tokens.length === 0) throw new InvalidArgumentError(`--auth-token-file ${config.authTokenFile} holds no token`);
  const bad = tokens.findIndex((t) => !validToken(t));
  if (bad >= 0) throw new InvalidArgumentError(`--auth-token-file ${config.authTokenFile}: token ${bad + 1} must be 1-4096 visible ASCII characters without spaces`);
  return tokens;
}

/**
 * The context codec the config names: the secrets of `--context-secret-file`
 * (one per line, blank lines and lines starting with # skipped, each at least
 * CONTEXT_SECRET_BYTES_MIN bytes; the first signs), or the default secret.
 */
export function loadContexts(config: NodeConfig): ContextCodec {
  let secrets: Uint8Array[] | undefined;
  if (config.contextSecretFile !== '') {
    const file = config.contextSecretFile;
    const lines = readFlagFile('--context-secret-file', file).toString('utf8').split(/\r?\n/).map((l) => l.trim());
    secrets = lines.filter((l) => l !== '' && !l.startsWith('#')).map((l) => Buffer.from(l, 'utf8'));
    if (secrets.length === 0) throw new InvalidArgumentError(`--context-secret-file ${file} holds no secret`);
    const short = secrets.findIndex((s) => s.length < CONTEXT_SECRET_BYTES_MIN);
    if (short >= 0) throw new InvalidArgumentError(`--context-secret-file ${file}: secret ${short + 1} is shorter than ${CONTEXT_SECRET_BYTES_MIN} bytes`);
  }
  return new ContextCodec({ ...(secrets === undefined ? {} : { secrets }), acceptUnsigned: config.acceptUnsignedContexts });
}

/** Start a node from a validated config. Logs go to stderr as JSON lines. */
export async function startNodeProcess(config: NodeConfig, env: Record<string, string | undefined> = {}): Promise<RunningNode> {
  const time = new RealTime();
  const logger: Logger = pinoLogger({ nodeId: config.id, level: config.logLevel, trace: parseTraceSet(env['DYNAMO_TRACE']) });
  // An error nobody handled leaves the node in an unknown state: log it and exit for the supervisor to restart.
  installFatalHandlers(process, logger, { node: config.id });
  const runtime: Runtime = { time, random: new RealRandom(), logger };
  const storage = createStorage({
    engine: config.engine,
    dataDir: config.engine === 'memory' ? undefined : path.resolve(config.dataDir),
    syncWrites: config.syncWrites,
    readMode: config.readMode,
    valueLogMinBytes: config.valueLogMinBytes,
  });
  const tls = loadTls(config);
  const authTokens = loadTokens(config);
  const contexts = loadContexts(config);
  if (config.contextSecretFile === '') logger.info('client contexts are signed with the public default secret; set --context-secret-file to refuse contexts forged with it', {});
  if (authTokens !== undefined && tls === undefined) logger.warn('bearer tokens travel in plaintext without --tls-cert/--tls-key/--tls-ca', {});
  const grpcTransport = new GrpcTransport({ time, logger: logger.child('transport'), ...(tls === undefined ? {} : { tls }) });
  // Metrics read the node's status and storage when scraped; `node` exists by then.
  const storageSize = new StorageSize(storage, time, logger.child('storage'));
  const metrics =
    config.metricsListen === ''
      ? undefined
      : new PrometheusMetrics({ status: () => node.admin.status(), storage: () => storageSize.read() });
  const transport: Transport = metrics === undefined ? grpcTransport : new MeteredTransport(grpcTransport, metrics, time);
  const node = new DynamoNode({
    runtime,
    id: config.id,
    address: config.advertise,
    seeds: parseSeeds(config.seeds),
    storage,
    transport,
    partitionCount: config.partitions,
    contexts,
    ...(config.zone === '' ? {} : { zone: config.zone }),
    // With an expected size, found the first ring only once that many nodes are up, however long
    // that takes (as Consul's bootstrap_expect): founding after a timeout with whoever answered would
    // let pods that started late or apart (Pending, image pull, volume attach) found rings of their own.
    membership: {
      autoJoin: config.autoJoin,
      bootstrapExpectCount: config.bootstrapExpect,
      ...(config.bootstrapExpect > 0 ? { bootstrapWaitMs: 0 } : {}),
    },
    background: { ...BACKGROUND_DEFAULTS, bytesPerSecond: config.backgroundBytesPerS },
    handoff: {
      enabled: config.hintedHandoff,
      windowMs: config.hintWindowMs,
      bytesMax: config.hintsBytesMax,
      // Part of the SIGTERM grace: hand hints over first, leave time for requests in flight.
      drainOnStopMs: Math.floor(config.shutdownGraceMs / 2),
    },
    antiEntropy: {
      enabled: config.antiEntropy,
      config: {
        exchangeIntervalMs: config.antiEntropyIntervalMs,
        exchangeIntervalBusyMs: config.antiEntropyBusyIntervalMs,
        tombstoneGraceMs: config.tombstoneGraceMs,
      },
    },
    replication: {
      replicas: config.replicas,
      defaultConsistency: config.defaultConsistency,
      requestTimeoutMsDefault: config.requestTimeoutMs,
      readRepair: true,
      digestReads: config.digestReads,
    },
    ...(metrics === undefined ? {} : { metrics }),
  });
  await node.start();
  let server: GrpcServer;
  let metricsServer: MetricsServer | undefined;
  try {
    server = await startGrpcServer({
      listen: config.listen,
      kv: node.kv,
      admin: node.admin,
      peer: node.peer,
      logger: logger.child('grpc'),
      time,
      requestTimeoutMsDefault: config.requestTimeoutMs,
      defaultConsistency: config.defaultConsistency,
      receiveWindowBytes: config.receiveWindowBytes,
      ...(tls === undefined ? {} : { tls }),
      ...(authTokens === undefined ? {} : { authTokens }),
      ...(metrics === undefined ? {} : { metrics }),
    });
    if (metrics !== undefined) {
      await storageSize.start();
      metricsServer = await startMetricsServer(config.metricsListen, metrics, logger.child('metrics'));
    }
  } catch (e) {
    storageSize.stop();
    await node.stop();
    await transport.close();
    throw e;
  }
  // Readiness: health reports SERVING while the node knows a ring and is part of the cluster
  // (NOT_SERVING while it bootstraps, and again once it has left).
  let readyTimer: ReturnType<RealTime['setTimer']> | undefined;
  let serving = false;
  let markServing!: () => void;
  const servingOnce = new Promise<void>((resolve) => (markServing = resolve));
  const watchReady = (): void => {
    readyTimer = undefined;
    if (node.ready !== serving) {
      serving = node.ready;
      server.setServing(serving);
      logger.info(serving ? 'serving' : 'not serving', { address: server.address, ...(node.departed === undefined ? {} : { departed: node.departed }) });
      if (serving) markServing();
    }
    readyTimer = time.setTimer(serving ? 500 : 100, watchReady);
  };
  server.setServing(false);
  watchReady();
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    // Held open until the storage is closed: see keepAliveUntil.
    stopping ??= keepAliveUntil(
      (async () => {
        if (readyTimer !== undefined) time.cancelTimer(readyTimer);
        server.setServing(false);
        storageSize.stop();
        await server.shutdown(config.shutdownGraceMs);
        await metricsServer?.close();
        await node.stop();
        await transport.close();
      })(),
    );
    return stopping;
  };
  return { node, address: server.address, logger, stop, serving: servingOnce, metricsAddress: metricsServer?.address };
}
