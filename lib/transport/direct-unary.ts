/**
 * KV's unary methods (Get, Put, Delete) served straight off the HTTP/2
 * stream, beside grpc-js rather than through it. A stock gRPC client (Python,
 * Go, grpcurl, grpc-js) makes one HTTP/2 stream per call, and grpc-js's
 * server spends on each one an intercepting-call chain, metadata objects,
 * event emitters and a deadline timer: with an echo handler, 95 µs of
 * server CPU per call against 63 µs for the same calls answered from the
 * stream (same client, same loopback). This path does only what a unary
 * call of ours needs: read one length-prefixed message, run the method's
 * KvOperation (the very object grpc-js's handler and the Session stream
 * run), answer one message and the status trailers.
 *
 * It takes a stream only when the call is plain: a path it serves, a gRPC
 * content type, no message compression (grpc-encoding absent or identity)
 * and a well-formed grpc-timeout or none. Anything else goes to grpc-js
 * untouched (it has not been read from), which answers it as it always did:
 * compressed requests, bad deadlines, other services, the Peer and Session
 * streams. Servers that require bearer tokens do not use this path at all
 * (the check is a grpc-js interceptor); under TLS it serves the same calls,
 * since the client certificates the node asks for concern Peer calls only.
 */
import type * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import type { Time } from '../runtime/index.ts';
import type { KvOperation } from './kv-operation.ts';
import { toGrpcStatus } from './grpc-status.ts';

/** One unary method this path serves. */
export interface DirectMethod {
  readonly op: KvOperation;
}

/** What serveUnaryDirectly needs besides the methods. */
export interface DirectUnaryOptions {
  readonly time: Time;
  /** Cap on a request's timeout; a client deadline shortens it (as in the grpc-js handler). */
  readonly requestTimeoutMsDefault: number;
  /** Largest request message accepted (grpc.max_receive_message_length). */
  readonly messageBytesMax: number;
}

/** grpc-js's default response headers, and the encodings it says it accepts. */
const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
} as const;

const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': 'OK' } as const;

/** gRPC status codes this file answers itself (numbers from the gRPC spec; grpc-js's enum is not imported at run time here). */
const STATUS_INTERNAL = 13;
const STATUS_RESOURCE_EXHAUSTED = 8;
const STATUS_INVALID_ARGUMENT = 3;

/** Milliseconds per grpc-timeout unit (the gRPC over HTTP/2 spec). */
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };
const TIMEOUT_PATTERN = /^(\d{1,8})([HMSmun])$/;

/**
 * The call's timeout in ms from its grpc-timeout header: Infinity when there
 * is none, undefined when it is malformed (grpc-js answers those).
 */
export function grpcTimeoutMs(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return Number.POSITIVE_INFINITY;
  if (typeof header !== 'string') return undefined;
  const m = TIMEOUT_PATTERN.exec(header);
  if (m === null) return undefined;
  return Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]!;
}

/** Whether this path may take a call with these headers (see the module comment). */
function plain(headers: http2.IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  if (typeof type !== 'string' || !type.startsWith('application/grpc')) return false;
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return false;
  return grpcTimeoutMs(headers['grpc-timeout']) !== undefined;
}

/** gRPC length prefix: a compressed flag byte, then the message length (big-endian). */
const PREFIX_BYTES = 5;

function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, PREFIX_BYTES);
  return out;
}

type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, ...rest: unknown[]) => void;

/** What grpc-js keeps per listening http2 server (a private field, also read by receive-window.ts). */
type Http2Servers = Map<http2.Http2Server, unknown>;

/** The direct path once installed. */
export interface DirectUnary {
  /** Calls this path took (the rest went to grpc-js). */
  served(): number;
}

/**
 * Serve `methods` (keyed by full path) directly on every http2 server
 * `server` listens with, handing every other stream to grpc-js's own
 * listener. Call it after bindAsync. Returns undefined when grpc-js no longer
 * keeps its http2 servers or stream listeners where this looks; everything
 * then stays with grpc-js (correct, only slower), and the caller logs it.
 */
export function serveUnaryDirectly(server: grpc.Server, methods: ReadonlyMap<string, DirectMethod>, opts: DirectUnaryOptions): DirectUnary | undefined {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return undefined;
  const targets: [http2.Http2Server, StreamListener][] = [];
  for (const http2Server of (servers as Http2Servers).keys()) {
    const listeners = http2Server.listeners('stream') as StreamListener[];
    if (listeners.length !== 1) return undefined;
    targets.push([http2Server, listeners[0]!]);
  }
  let served = 0;
  for (const [http2Server, grpcListener] of targets) {
    http2Server.removeListener('stream', grpcListener);
    http2Server.on('stream', function (this: http2.Http2Server, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, ...rest: unknown[]) {
      const method = methods.get(headers[':path'] ?? '');
      if (method === undefined || !plain(headers)) {
        grpcListener.call(this, stream, headers, ...rest);
        return;
      }
      served++;
      serveCall(stream, headers, method.op, opts);
    });
  }
  return { served: () => served };
}

/** Read one request message, run it, answer it. Never throws: a stream that went away is left alone. */
function serveCall(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, op: KvOperation, opts: DirectUnaryOptions): void {
  const timeoutMs = grpcTimeoutMs(headers['grpc-timeout'])!;
  // The deadline runs from the moment the call arrived, as grpc-js's getDeadline does.
  const deadlineMs = opts.time.nowMs() + timeoutMs;
  const chunks: Buffer[] = [];
  let bytes = 0;
  let refused = false;
  // An error on the stream (a reset by the client) is followed by 'close'; nothing is left to answer.
  stream.on('error', () => {});
  stream.on('data', (chunk: Buffer) => {
    if (refused) return;
    bytes += chunk.length;
    if (bytes > PREFIX_BYTES + opts.messageBytesMax) {
      refused = true;
      fail(stream, STATUS_RESOURCE_EXHAUSTED, `request message is larger than the limit of ${opts.messageBytesMax} bytes`);
      return;
    }
    chunks.push(chunk);
  });
  stream.on('end', () => {
    if (refused) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
    if (body.length < PREFIX_BYTES || body.length !== PREFIX_BYTES + body.readUInt32BE(1)) {
      fail(stream, STATUS_INVALID_ARGUMENT, `expected exactly one length-prefixed request message, got ${body.length} bytes`);
      return;
    }
    if (body[0] !== 0) {
      fail(stream, STATUS_INTERNAL, 'request message is marked compressed but the call names no grpc-encoding');
      return;
    }
    const msg = op.decode(body.subarray(PREFIX_BYTES));
    const left = Math.min(Math.floor(deadlineMs - opts.time.nowMs()), opts.requestTimeoutMsDefault);
    op.run(msg, left).then(
      (value) => answer(stream, op, value),
      (e: unknown) => {
        op.report(e);
        const status = toGrpcStatus(e);
        respondTrailersOnly(stream, status.code, status.details, status.metadata.toHttp2Headers());
      },
    );
  });
}

function answer(stream: http2.ServerHttp2Stream, op: KvOperation, value: unknown): void {
  if (stream.destroyed || stream.closed) return;
  let message: Buffer;
  try {
    message = op.encode(value);
  } catch (e) {
    op.report(e);
    fail(stream, STATUS_INTERNAL, 'the response could not be encoded');
    return;
  }
  try {
    stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', () => {
      try {
        stream.sendTrailers(OK_TRAILERS);
      } catch {
        // the stream went away between the last DATA frame and the trailers
      }
    });
    stream.end(frame(message));
  } catch {
    // the client reset the stream while we answered: nobody is left to tell
  }
}

function fail(stream: http2.ServerHttp2Stream, code: number, details: string): void {
  respondTrailersOnly(stream, code, details, {});
}

/** A status without a message: one HEADERS frame that ends the stream (gRPC's Trailers-Only response). */
function respondTrailersOnly(stream: http2.ServerHttp2Stream, code: number, details: string, metadata: http2.OutgoingHttpHeaders): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  try {
    stream.respond({ ...RESPONSE_HEADERS, ...metadata, 'grpc-status': String(code), 'grpc-message': encodeURI(details) }, { endStream: true });
  } catch {
    // as in answer()
  }
}
