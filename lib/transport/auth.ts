/**
 * Who may call what on the node's one port, checked once per call (a
 * Session or Peer stream is one call) by a grpc-js server interceptor,
 * before any handler runs:
 *
 * | service                    | needs                                                      |
 * | -------------------------- | ---------------------------------------------------------- |
 * | dynamo.v1.Peer             | with TLS: a client certificate that chains to the cluster CA |
 * | dynamo.v1.KV, dynamo.v1.Admin | with a token file: `authorization: Bearer <token>` metadata |
 * | health, reflection         | nothing (Kubernetes probes, grpcurl)                        |
 *
 * A refusal is UNAUTHENTICATED with `dynamo-code: DYNAMO_UNAUTHENTICATED`
 * and a message saying what was missing, and is logged at warn — once per
 * remote address and reason, then at most once a minute with a count, so a
 * foreign process retrying cannot flood the log. Tokens are compared in
 * constant time (over their SHA-256 digests).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { UnauthenticatedError, type Logger, type Time } from '../runtime/index.ts';
import { toGrpcStatus } from './grpc-status.ts';

export interface AuthPolicy {
  /** Peer calls must come with a certificate from the cluster CA (the server runs TLS with it). */
  readonly peerCertificates: boolean;
  /** Bearer tokens a client may present on KV and Admin calls; empty or absent: no token needed. */
  readonly tokens?: readonly string[];
  readonly logger: Logger;
  readonly time: Time;
}

/** How often refusals from one remote address are logged after the first. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Remote addresses remembered for that; beyond it the memory starts over. */
const REFUSAL_LOG_REMOTES_MAX = 1_000;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Whether `t` can travel in an HTTP/2 header as a bearer token: 1-4096 visible ASCII characters. */
export function validToken(t: string): boolean {
  return /^[\x21-\x7e]{1,4096}$/.test(t);
}

type Refusal = 'no certificate' | 'no token' | 'wrong token';

/** The interceptor enforcing `policy`, or undefined when it asks for nothing (no interceptor, no cost). */
export function authInterceptor(policy: AuthPolicy): grpc.ServerInterceptor | undefined {
  const tokens = (policy.tokens ?? []).map(digest);
  if (!policy.peerCertificates && tokens.length === 0) return undefined;
  const logged = new Map<string, { atMs: number; suppressed: number }>();

  const tokenOk = (presented: string): boolean => {
    const d = digest(presented);
    let ok = false;
    for (const t of tokens) ok = timingSafeEqual(d, t) || ok;
    return ok;
  };

  const report = (call: grpc.ServerInterceptingCallInterface, path: string, reason: Refusal): void => {
    const remote = call.getPeer().replace(/:\d+$/, '');
    const key = `${remote} ${reason}`;
    const now = policy.time.monotonicMs();
    const seen = logged.get(key);
    if (seen !== undefined && now - seen.atMs < REFUSAL_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    if (logged.size >= REFUSAL_LOG_REMOTES_MAX) logged.clear();
    logged.set(key, { atMs: now, suppressed: 0 });
    const what = path.startsWith('/dynamo.v1.Peer/') ? 'node-to-node call' : 'client call';
    policy.logger.warn(`refused a ${what}: ${reason}`, { remote, method: path, reason, ...(seen === undefined ? {} : { refusedSinceLastLine: seen.suppressed }) });
  };

  const refuse = (call: grpc.ServerInterceptingCallInterface, path: string, reason: Refusal, message: string): void => {
    report(call, path, reason);
    call.sendStatus(toGrpcStatus(new UnauthenticatedError(message)));
  };

  return (method, call) => {
    const path = method.path;
    const peer = path.startsWith('/dynamo.v1.Peer/');
    const client = path.startsWith('/dynamo.v1.KV/') || path.startsWith('/dynamo.v1.Admin/');
    if (peer && policy.peerCertificates) {
      return new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, done) => {
              // grpc-js reports a peer certificate only when it verified against the CA.
              if (call.getAuthContext().sslPeerCertificate !== undefined) return done(metadata);
              refuse(call, path, 'no certificate', 'node-to-node calls need a client certificate signed by the cluster CA (--tls-cert, --tls-key, --tls-ca)');
            },
          }),
      });
    }
    if (client && tokens.length > 0) {
      return new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, done) => {
              const header = metadata.get('authorization')[0];
              const value = typeof header === 'string' ? header : header?.toString('utf8');
              if (value === undefined || value === '') {
                return refuse(call, path, 'no token', 'this node requires a bearer token: send `authorization: Bearer <token>` metadata (SDK option token, CLI --token or --token-file)');
              }
              const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
              if (m === null || !tokenOk(m[1]!)) return refuse(call, path, 'wrong token', 'the bearer token was not accepted');
              done(metadata);
            },
          }),
      });
    }
    return new grpc.ServerInterceptingCall(call);
  };
}
