/**
 * A node as a real process: the DynamoNode core wired to an on-disk (or
 * memory) storage engine, the gRPC transport between nodes, the gRPC server
 * clients and peers talk to, the process clock and a JSON-lines logger.
 * cmd/dynamo.ts only parses flags and calls `startNodeProcess`.
 */
import path from 'node:path';
import { LineLogger, RealRandom, RealTime, parseTraceSet, type Logger, type Runtime } from '../runtime/index.ts';
import type { NodeConfig } from '../config/index.ts';
import { createStorage } from '../storage/index.ts';
import { GrpcTransport, startGrpcServer, type GrpcServer } from '../transport/index.ts';
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
}

/** Start a node from a validated config. Logs go to stderr as JSON lines. */
export async function startNodeProcess(config: NodeConfig, env: Record<string, string | undefined> = {}): Promise<RunningNode> {
  const time = new RealTime();
  const logger: Logger = new LineLogger(
    { level: config.logLevel, trace: parseTraceSet(env['DYNAMO_TRACE']), write: (line) => process.stderr.write(line + '\n'), nowMs: () => time.nowMs() },
    'node',
    { node: config.id },
  );
  // An error nobody handled leaves the node in an unknown state: log it and exit for the supervisor to restart.
  installFatalHandlers(process, logger, { node: config.id });
  const runtime: Runtime = { time, random: new RealRandom(), logger };
  const storage = createStorage({
    engine: config.engine,
    dataDir: config.engine === 'memory' ? undefined : path.resolve(config.dataDir),
    syncWrites: config.syncWrites,
    readMode: config.readMode,
  });
  const transport = new GrpcTransport({ time, logger: logger.child('transport') });
  const node = new DynamoNode({
    runtime,
    id: config.id,
    address: config.advertise,
    seeds: parseSeeds(config.seeds),
    storage,
    transport,
    partitionCount: config.partitions,
    ...(config.zone === '' ? {} : { zone: config.zone }),
    membership: { autoJoin: config.autoJoin, bootstrapExpectCount: config.bootstrapExpect },
    background: { ...BACKGROUND_DEFAULTS, bytesPerSecond: config.backgroundBytesPerS },
    antiEntropy: {
      enabled: config.antiEntropy,
      config: { exchangeIntervalMs: config.antiEntropyIntervalMs, tombstoneGraceMs: config.tombstoneGraceMs },
    },
    replication: {
      replicas: config.replicas,
      defaultConsistency: config.defaultConsistency,
      requestTimeoutMsDefault: config.requestTimeoutMs,
      readRepair: true,
    },
  });
  await node.start();
  let server: GrpcServer;
  try {
    server = await startGrpcServer({
      listen: config.listen,
      kv: node.kv,
      admin: node.admin,
      peer: node.peer,
      logger: logger.child('grpc'),
      time,
      requestTimeoutMsDefault: config.requestTimeoutMs,
    });
  } catch (e) {
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
    stopping ??= (async () => {
      if (readyTimer !== undefined) time.cancelTimer(readyTimer);
      server.setServing(false);
      await server.shutdown(config.shutdownGraceMs);
      await node.stop();
      await transport.close();
    })();
    return stopping;
  };
  return { node, address: server.address, logger, stop, serving: servingOnce };
}
