/**
 * The node's one gRPC server: the public KV (unary methods and Session
 * streams) and Admin services, the internal Peer stream,
 * grpc.health.v1.Health and server reflection (so
 * `grpcurl -plaintext host:port list` works without proto files).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as HEALTH_PROTO, type ServingStatus } from 'grpc-health-check';
import type { Logger, Metrics, Time } from '../runtime/index.ts';
import type { AdminHandler, Consistency, KvHandler, PeerHandler } from '../protocol/index.ts';
import { authInterceptor } from './auth.ts';
import { FLOW_CONTROL_WINDOW_BYTES, SERVER_OPTIONS } from './grpc-options.ts';
import { widenReceiveWindows } from './receive-window.ts';
import { serverCredentials, type TlsMaterial } from './tls.ts';
import { kvServices } from './kv-service.ts';
import { PEER_SERVICE, PeerStreamServer, type PeerStreamStats } from './peer-service.ts';
import { QUEUED_BYTES_MAX_DEFAULT, STALL_MS_MAX_DEFAULT } from './outbound-queue.ts';
import type { ServedStreamOptions } from './served-stream.ts';
import type { SessionStats } from './session-service.ts';
import { ADMIN_PROTO, KV_PROTO } from './proto-files.ts';

/** What startGrpcServer serves and with what. */
export interface GrpcServerOptions {
  /** host:port to bind; port 0 picks a free port (see GrpcServer.address). */
  listen: string;
  kv: KvHandler;
  admin: AdminHandler;
  peer: PeerHandler;
  logger: Logger;
  time: Time;
  /** Cap on a KV request's timeout; a client deadline shortens it. */
  requestTimeoutMsDefault: number;
  /** Requests in flight per KV Session stream; beyond it they are refused with RESOURCE_EXHAUSTED. Default 10,000. */
  sessionInflightMax?: number;
  /**
   * Reply bytes a Session or peer stream may hold that its caller has not
   * read: requests start only while their replies fit in half of it, replies
   * beyond it become errors (served-stream.ts). Default 16 MiB.
   */
  streamQueuedBytesMax?: number;
  /** How long such a stream may take no reply at all while holding half that before it is cut off. Default 20 s. */
  streamStallMsMax?: number;
  /** Serve TLS with this material, and accept Peer calls only with a certificate from its CA (tls.ts, auth.ts). Default plaintext. */
  tls?: TlsMaterial;
  /** Bearer tokens KV and Admin calls must present (auth.ts); default none needed. */
  authTokens?: readonly string[];
  /** Where finished KV requests are counted and timed (kv-service.ts); default none. */
  metrics?: Metrics;
  /** The node's default consistency level, the label of requests that name none. */
  defaultConsistency?: Consistency;
  /** HTTP/2 receive window of every accepted connection and stream (receive-window.ts). Default FLOW_CONTROL_WINDOW_BYTES. */
  receiveWindowBytes?: number;
}

/** Default of GrpcServerOptions.sessionInflightMax. */
export const SESSION_INFLIGHT_MAX_DEFAULT = 10_000;

/** A running server. */
export interface GrpcServer {
  /** The bound host:port (the real port when listening on port 0). */
  readonly address: string;
  /**
   * Readiness: health status of '' and 'dynamo.v1.KV' (starts SERVING). The
   * `liveness` service is not affected: it answers SERVING for as long as
   * the server runs (see LIVENESS_SERVICE).
   */
  setServing(serving: boolean): void;
  /** Counters of the KV Session streams (how well requests are being batched). */
  sessionStats(): SessionStats;
  /** Counters of the peer streams this server accepted. */
  peerStats(): PeerStreamStats;
  /**
   * Stop accepting, let in-flight calls and Session requests finish (up to
   * graceMs; Sessions refuse new requests meanwhile), then force.
   */
  shutdown(graceMs: number): Promise<void>;
}

/** Health service names that follow readiness (setServing): the whole server and the KV API. */
const HEALTH_SERVICES = ['', 'dynamo.v1.KV'];

/**
 * Health service that answers SERVING whenever the server answers at all:
 * "the process is responsive", for a liveness probe, which must not fail
 * while the node is alive but not ready (waiting for peers, joining,
 * decommissioned) or Kubernetes would restart a healthy node.
 */
export const LIVENESS_SERVICE = 'liveness';

function hostOf(listen: string): string {
  const colon = listen.lastIndexOf(':');
  return colon < 0 ? listen : listen.slice(0, colon);
}

/** Bind and start serving; rejects if the address cannot be bound. */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const auth = authInterceptor({ peerCertificates: opts.tls !== undefined, tokens: opts.authTokens ?? [], logger: opts.logger.child('auth'), time: opts.time });
  const server = new grpc.Server(auth === undefined ? SERVER_OPTIONS : { ...SERVER_OPTIONS, interceptors: [auth] });
  const streams: ServedStreamOptions = {
    logger: opts.logger,
    time: opts.time,
    queuedBytesMax: opts.streamQueuedBytesMax ?? QUEUED_BYTES_MAX_DEFAULT,
    stallMsMax: opts.streamStallMsMax ?? STALL_MS_MAX_DEFAULT,
  };
  const kv = kvServices({
    ...opts,
    sessionInflightMax: opts.sessionInflightMax ?? SESSION_INFLIGHT_MAX_DEFAULT,
    streamQueuedBytesMax: streams.queuedBytesMax,
    streamStallMsMax: streams.stallMsMax,
  });
  for (const { service, implementation } of kv.services) server.addService(service, implementation);
  const peers = new PeerStreamServer(opts.peer, streams);
  server.addService(PEER_SERVICE, peers.implementation());

  const health = new HealthImplementation(
    Object.fromEntries([...HEALTH_SERVICES, LIVENESS_SERVICE].map((s) => [s, 'SERVING' as ServingStatus])),
  );
  health.addToServer(server);

  // Reflection describes the public surface only (Peer is internal).
  const described = protoLoader.loadSync([KV_PROTO, ADMIN_PROTO, HEALTH_PROTO], { keepCase: true, enums: Number });
  new ReflectionService(described).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.listen, serverCredentials(opts.tls), (e, p) => (e ? reject(e) : resolve(p)));
  });
  const address = `${hostOf(opts.listen)}:${port}`;
  const receiveWindowBytes = opts.receiveWindowBytes ?? FLOW_CONTROL_WINDOW_BYTES;
  if (!widenReceiveWindows(server, receiveWindowBytes)) {
    opts.logger.warn('cannot reach the http2 sessions of grpc-js; receive windows stay at 64 KiB (large values go through one round trip at a time)', { receiveWindowBytes });
  }
  opts.logger.info('gRPC server listening', { address, tls: opts.tls !== undefined, tokens: opts.authTokens?.length ?? 0 });

  let stopping: Promise<void> | undefined;
  return {
    address,
    sessionStats: () => kv.sessions.stats(),
    peerStats: () => peers.stats(),
    setServing(serving: boolean): void {
      for (const s of HEALTH_SERVICES) health.setStatus(s, serving ? 'SERVING' : 'NOT_SERVING');
    },
    shutdown(graceMs: number): Promise<void> {
      stopping ??= new Promise<void>((resolve) => {
        let done = false;
        const finish = (): void => {
          if (done) return;
          done = true;
          resolve();
        };
        const timer = opts.time.setTimer(graceMs, () => {
          if (done) return;
          opts.logger.warn('in-flight calls outlived the shutdown grace period; forcing', { graceMs });
          server.forceShutdown();
          finish();
        });
        server.tryShutdown(() => {
          opts.time.cancelTimer(timer);
          finish();
        });
        // Peer and Session streams never end on their own: end each once its in-flight requests are answered.
        peers.drain();
        kv.sessions.drain();
      });
      return stopping;
    },
  };
}
